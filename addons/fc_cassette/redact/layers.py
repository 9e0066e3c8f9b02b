"""Redaction inside an encoding layer: decode a span (percent-escapes, ``\\uXXXX``
escapes, base64 in either alphabet), let the redactor rewrite the decoded text, and put
the result back in the same encoding, changing only what changed.

The functions take the redactor's ``rewrite(text, depth)`` (its built-in rules over one
string, looking through further layers; the numbering of placeholders stays the
redactor's) and, for base64, its ``probe`` (what any of its rules could act on: a
decoding without a match is left alone unread). Escaped secrets themselves are
:func:`.patterns.sub_escaped_secret`'s. This module knows the encodings, not the
secrets: it imports no pattern.
"""

from __future__ import annotations

import binascii
import re
from collections.abc import Callable

from fc_cassette.redact.codecs import (
    _B64_RUN,
    _PCT_TOKEN,
    _TO_URL,
    _UESC_TOKEN,
    _b64_windows,
    _decode_mapped,
    _pct_encode,
    _pct_one,
    _splice,
    _uesc_encode,
    _uesc_one,
)
from fc_cassette.redact.runs import as_bytes, b64_runs

Rewrite = Callable[[str, int], str]
# base64 runs of a longer string are located over class marks (see .runs): the regex
# tries every position, which costs more than the translation from about this length
_MARKS_FROM = 256


def sub_pct(m: re.Match[str], depth: int, rewrite: Rewrite) -> str:
    span = m.group(0)
    if "%" not in span:
        return span
    text, starts = _decode_mapped(span, _PCT_TOKEN, _pct_one)
    if text == span:
        return span
    red = rewrite(text, depth + 1)
    return span if red == text else _splice(span, starts, text, red, _pct_encode)


def sub_uesc(m: re.Match[str], depth: int, rewrite: Rewrite) -> str:
    span = m.group(0)
    if "\\" not in span:
        return span
    text, starts = _decode_mapped(span, _UESC_TOKEN, _uesc_one)
    red = rewrite(text, depth + 1)
    return span if red == text else _splice(span, starts, text, red, _uesc_encode)


def sub_b64_runs(s: str, depth: int, rewrite: Rewrite, probe: re.Pattern[str]) -> str:
    """``_B64_RUN.sub`` of :func:`sub_b64` over ``s``."""
    if len(s) < _MARKS_FROM:
        return _B64_RUN.sub(lambda m: sub_b64(m.group(0), depth, rewrite, probe), s)
    parts: list[str] = []
    last = 0
    for start, end in b64_runs(as_bytes(s)):
        parts += [s[last:start], sub_b64(s[start:end], depth, rewrite, probe)]
        last = end
    return "".join(parts) + s[last:] if parts else s


def sub_b64(run: str, depth: int, rewrite: Rewrite, probe: re.Pattern[str]) -> str:
    """A base64-looking run with whatever its decoding (at any alignment) holds
    rewritten, re-encoded in the run's alphabet and padding; a decoding ``probe``
    does not match is not rewritten."""
    for _ in range(8):  # a run may hold more than one encoded blob
        windows = _b64_windows(run)
        if not probe.search("\x01".join(w[1] for w in windows)):
            return run  # the usual case, in one search (nothing matches across "\x01")
        for k, text, used in windows:
            if not probe.search(text):
                continue
            red = rewrite(text, depth + 1)
            if red == text:
                continue
            body = run.rstrip("=")
            padded = len(run) > len(body)
            enc = binascii.b2a_base64(red.encode("latin-1", "replace"), newline=False).decode()
            if "-" in body or "_" in body:
                enc = enc.translate(_TO_URL)
            rest = body[k + used :]
            if not padded or rest:
                enc = enc.rstrip("=")
                rest += run[len(body) :]
            run = body[:k] + enc + rest
            break
        else:
            return run
    return run

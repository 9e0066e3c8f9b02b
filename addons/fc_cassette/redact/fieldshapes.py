"""Secret fields (``client_secret``, ``secret``) in the two shapes the ``name=value``
rule of :mod:`.patterns` does not read, shared by the redactor and the scanner:

- a multipart/form-data part (``Content-Disposition: form-data; name="client_secret"``,
  also ``name=client_secret``, ``name*=UTF-8''client_secret``, ``intent[client_secret]``),
  whose value runs from the blank line to the next boundary line, in raw text (a body)
  or with its line breaks escaped (``\\r\\n`` in YAML, JSON or ``repr`` text: a cassette,
  a miss explanation);
- a value holding bytes that are not text (a body that is not valid UTF-8 is read one
  byte per character, latin-1): ``client_secret=\\xff\\xfe…`` up to ``&``, a space, a
  quote, ``;`` or ``,``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from urllib.parse import unquote

from fc_cassette.redact.kinds import (
    REDACTED,
    SECRET_FIELDS,
    _is_placeholder_token,
    field_alternation,
)
from fc_cassette.redact.runs import as_bytes

_BR_RAW = r"\r?\n"
_BR_ESC = r"(?:\\r\\n|\\n)"


def _part(br: str, val: str) -> re.Pattern[str]:
    line = rf"(?:(?!{br})[^\r\n])"
    return re.compile(
        rf"(?i:content-disposition)[ \t]*:{line}*?"
        rf"(?<![A-Za-z0-9_*-])(?i:name)(?P<star>\*?)[ \t]*=[ \t]*(?:\\{{0,3}}[\"'])?"
        r"(?P<name>(?:[A-Za-z0-9_-]*'[A-Za-z-]*')?[^\s;\"'\\]+)"
        rf"{line}*{br}(?:{line}+{br})*{br}(?P<val>{val})",
        re.S,
    )


# raw: the value may span lines, up to the next "--boundary" line (or the end);
# escaped: one line of text, up to an escaped "\r\n--", an unescaped '"' or the end
_PART_RAW = _part(_BR_RAW, r"(?:(?!\r?\n--).)*")
_PART_ESC = _part(_BR_ESC, rf"(?:(?!{_BR_ESC}--)(?:\\.|[^\r\n\"\\]))*")
_DISPOSITION = re.compile(r"(?i)content-disposition")

# a quoted value runs to its closing quote, an unquoted one to "&", a space, a quote,
# ";" or ","
_BINARY_FIELD = re.compile(
    rf"(?<![A-Za-z0-9_])(?P<name>{field_alternation()})"
    r"\]?\\{0,3}[\"']?[ \t]*[:=][ \t]*"
    r"(?:\\{0,3}(?P<q>[\"'])(?P<val>(?:(?!\\{0,3}(?P=q))[^\r\n])*)"
    r"|(?P<bare>[^ \t\r\n&\"';,]+))"
)
_BINARY_CHAR = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\xff]")
# A placeholder followed by bytes: the scanner decodes base64 runs joined across lines
# and at every alignment, so a redacted value can run on into decoded noise.
_LEADING_PLACEHOLDER = re.compile(r"[A-Za-z0-9_]*REDACTED(?:_[0-9]+)?(?![A-Za-z0-9_])")


_NOT_BINARY = bytes(i for i in range(256) if not _BINARY_CHAR.match(chr(i)))


def _has_disposition(text: str) -> bool:
    """``_DISPOSITION.search(text)``; faster on ASCII text (the usual case), where
    ignoring case is exactly lower-casing."""
    if text.isascii():
        return "content-disposition" in text.lower()
    return _DISPOSITION.search(text) is not None


def _has_binary_char(text: str) -> bool:
    """``_BINARY_CHAR.search(text)`` at C speed: what is left of the text (one byte per
    character) once every other byte is deleted."""
    return bool(as_bytes(text).translate(None, _NOT_BINARY))


def _is_secret_name(raw: str) -> bool:
    """A part's name (RFC 2231 charset prefix and percent-escapes undone) is a secret
    field's, itself or as the last ``[...]`` of a nested form name."""
    name = unquote(raw.rsplit("'", 1)[-1]).lower()
    parts = [p for p in re.split(r"[\[\]]+", name) if p]
    return bool(parts) and parts[-1] in SECRET_FIELDS


def value_is_secret(val: str) -> bool:
    """Not empty and not already a placeholder."""
    v = val.strip()
    return bool(v) and not (_is_placeholder_token(v) or v == REDACTED)


def secret_values(text: str) -> Iterator[tuple[int, int]]:
    """``(start, end)`` of every secret value in ``text`` in either shape, in order,
    not overlapping."""
    spans: list[tuple[int, int]] = []
    if _has_disposition(text):
        for rx in (_PART_RAW, _PART_ESC):
            spans += [
                m.span("val")
                for m in rx.finditer(text)
                if _is_secret_name(m.group("name")) and value_is_secret(m.group("val"))
            ]
    if _has_binary_char(text):
        for m in _BINARY_FIELD.finditer(text):
            g = "bare" if m.group("bare") is not None else "val"
            v = m.group(g)
            if _BINARY_CHAR.search(v) and value_is_secret(v) and not _LEADING_PLACEHOLDER.match(v):
                spans.append(m.span(g))
    end = 0
    for s, e in sorted(spans):
        if s >= end:
            end = e
            yield s, e


def sub_values(text: str, repl: Callable[[str], str]) -> str:
    """``text`` with every secret value ``v`` of :func:`secret_values` as ``repl(v)``."""
    parts: list[str] = []
    last = 0
    for s, e in secret_values(text):
        parts += [text[last:s], repl(text[s:e])]
        last = e
    return "".join(parts) + text[last:] if parts else text

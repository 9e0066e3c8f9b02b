"""Encoding layers: decoding a span while remembering where each character came from,
re-encoding a redacted piece in place, and the base64/hex/base32/HTML/gzip readers the
scanner looks through."""

from __future__ import annotations

import base64
import binascii
import html
import re
import zlib
from collections.abc import Callable, Iterator
from urllib.parse import quote

_PCT_SPAN = re.compile(r"[A-Za-z0-9%._~+/-]+")
_PCT_TOKEN = re.compile(r"%[0-9A-Fa-f]{2}|.", re.S)
_UESC_SPAN = re.compile(r"(?:\\{1,4}u[0-9A-Fa-f]{4}|[A-Za-z0-9_.~=+/%-])+")
_UESC_TOKEN = re.compile(r"\\{1,4}u[0-9A-Fa-f]{4}|.", re.S)
_B64_RUN = re.compile(r"[A-Za-z0-9+/_-]{16,}={0,2}")
_B64_MIN = 16
_B64_CRED = re.compile(r"[A-Za-z0-9+/_-]+={0,2}")
_TO_STD = str.maketrans("-_", "+/")
_TO_URL = str.maketrans("+/", "-_")
_WORD = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")


def _decode_mapped(
    span: str, token_re: re.Pattern[str], decode_one: Callable[[str], str]
) -> tuple[str, list[int]]:
    """Decode ``span`` token by token; ``starts[i]`` is where decoded char i came from."""
    chars: list[str] = []
    starts: list[int] = []
    for m in token_re.finditer(span):
        t = m.group(0)
        chars.append(decode_one(t) if len(t) > 1 else t)
        starts.append(m.start())
    starts.append(len(span))
    return "".join(chars), starts


def _pct_one(t: str) -> str:
    return chr(int(t[1:], 16))


def _uesc_one(t: str) -> str:
    return chr(int(t[-4:], 16))


_ESC_TOKEN = re.compile(r"%([0-9A-Fa-f]{2})|\\{1,4}u([0-9A-Fa-f]{4})")


def _unescape(s: str) -> str:
    """Every percent-escape and ``\\uXXXX`` escape of ``s`` decoded, in one pass."""
    return _ESC_TOKEN.sub(lambda m: chr(int(m.group(1) or m.group(2), 16)), s)


def _splice(span: str, starts: list[int], text: str, red: str, encode: Callable[[str], str]) -> str:
    """Put ``red`` (the redacted ``text``) back into the encoded ``span``.

    Only the changed middle (widened to whole words, so a placeholder comes out in one
    literal piece) is re-encoded; the rest of the span is kept exactly as it was.
    """
    n, r = len(text), len(red)
    p = 0
    while p < n and p < r and text[p] == red[p]:
        p += 1
    q = 0
    while q < n - p and q < r - p and text[n - 1 - q] == red[r - 1 - q]:
        q += 1
    while p > 0 and text[p - 1] in _WORD:
        p -= 1
    while q > 0 and text[n - q] in _WORD:
        q -= 1
    return span[: starts[p]] + encode(red[p : r - q]) + span[starts[n - q] :]


def _pct_encode(s: str) -> str:
    return quote(s.encode("latin-1", "replace"), safe="")


def _uesc_encode(s: str) -> str:
    return "".join(c if c in _WORD or c in ".-" else f"\\u{ord(c):04x}" for c in s)


def _b64_decode(seg: str) -> tuple[bytes, int] | None:
    """Decode a run of either alphabet (no padding needed); returns (bytes, chars used)."""
    used = len(seg) - (len(seg) % 4 == 1)
    chunk = seg[:used]
    if "-" in chunk or "_" in chunk:
        chunk = chunk.translate(_TO_STD)
    try:
        return binascii.a2b_base64(chunk + "=" * (-used % 4), strict_mode=True), used
    except (binascii.Error, ValueError):
        return None


_PAD = ("", "===", "==", "=")  # by length modulo 4


def _b64_windows(run: str) -> list[tuple[int, str, int]]:
    """(offset, decoded latin-1 text, chars used) for the 4 alignments of a run: what
    :func:`_b64_decode` gives for each of them (of at least 16 characters), inlined
    (called for every base64-looking run of every recorded entry)."""
    body = run.rstrip("=")
    if "-" in body or "_" in body:
        body = body.translate(_TO_STD)
    n = len(body)
    out = []
    for k in range(min(4, n - _B64_MIN + 1)):
        used = n - k - ((n - k) % 4 == 1)
        try:
            raw = binascii.a2b_base64(body[k : k + used] + _PAD[used % 4], strict_mode=True)
        except (binascii.Error, ValueError):
            continue
        out.append((k, raw.decode("latin-1"), used))
    return out


def _b64_fragments(needle: bytes) -> tuple[str, ...]:
    """Base64 characters that encode ``needle`` alone, at each of the 3 byte alignments."""
    out = []
    for pad in range(3):
        enc = binascii.b2a_base64(b"\0" * pad + needle, newline=False).decode()
        start, end = -(-8 * pad // 6), 8 * (pad + len(needle)) // 6
        out.append(enc[start:end])
        out.append(enc[start:end].translate(_TO_URL))
    return tuple(set(out))


# --------------------------------------------------------------------------- scanner layers
# Read by the scanner only: the redactor does not rewrite inside these layers, so an
# entry with a secret in one of them is refused (not written) rather than redacted.

_HEX_RUN = re.compile(r"[0-9a-fA-F]{16,}")
_B32_RUN = re.compile(r"[A-Z2-7]{16,}=*|[a-z2-7]{16,}=*")
_HTML_SPAN = re.compile(
    r"(?:&#[0-9]{1,7};?|&#[xX][0-9a-fA-F]{1,6};?|&[A-Za-z][A-Za-z0-9]{1,31};?"
    r"|[A-Za-z0-9_.~+/=:-])+"
)
# Base64 broken into lines (MIME wraps at 76 characters), as the scanned YAML shows it:
# real line breaks with indentation (a block scalar), "\n" escapes, folded lines.
_MIME_SEP = r"(?:(?:\\[rn]|\r?\n|\\\r?\n)[ \t]*)+"
# Lines of 16 to 100 characters (MIME: 76, PEM: 64), bounded so that a long run costs
# one attempt, not one per position.
_MIME_RUN = re.compile(
    rf"(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{{16,100}}"
    rf"(?:{_MIME_SEP}[A-Za-z0-9+/]{{4,100}}(?![A-Za-z0-9+/]))+={{0,2}}"
)
_MIME_STRIP = re.compile(rf"{_MIME_SEP}")
_GZIP_MAGIC = (b"\x1f\x8b\x08", b"\x78\x9c", b"\x78\x01", b"\x78\xda", b"\x78\x5e")
_DEFLATE_PROBE = tuple(m.decode("latin-1") for m in _GZIP_MAGIC)
_INFLATE_MAX = 1024 * 1024


_HEX_MAX = 256 * 1024  # a hex-encoded secret is a short run: longer ones are skipped


def hex_windows(run: str) -> Iterator[tuple[int, str]]:
    """(offset, text) of a hex run read as bytes, at both alignments; nothing for a
    run longer than 256 KiB."""
    if len(run) > _HEX_MAX:
        return
    for k in (0, 1):
        seg = run[k:]
        seg = seg[: len(seg) // 2 * 2]
        if len(seg) >= 16:
            yield k, bytes.fromhex(seg).decode("latin-1")


_B32_MAX = 4096  # the standard library decodes base32 in Python: longer runs are skipped


def base32_windows(run: str) -> Iterator[tuple[int, str]]:
    """(offset, text) of a base32 run (either case), at the 8 character alignments;
    nothing for a run longer than 4 KiB (a base32-encoded secret is a short run)."""
    body = run.rstrip("=")
    if len(body) > _B32_MAX:
        return
    for k in range(8):
        seg = body[k:]
        seg = seg[: len(seg) // 8 * 8]
        if len(seg) < 16:
            return
        try:
            yield k, _b32(seg)
        except (binascii.Error, ValueError):
            continue


def _b32(seg: str) -> str:
    return base64.b32decode(seg, casefold=True).decode("latin-1")


def html_unescaped(span: str) -> str:
    """``span`` with HTML character references (numeric and named) resolved."""
    return html.unescape(span)


def mime_joined(run: str) -> str:
    """A line-wrapped base64 run as one run (its separators removed)."""
    return _MIME_STRIP.sub("", run)


def inflated(text: str) -> str | None:
    """Decoded bytes (one per character) that hold gzip or zlib data: the first such
    stream inflated (bounded), as text one byte per character; None if there is none."""
    if not any(m in text for m in _DEFLATE_PROBE):
        return None
    raw = text.encode("latin-1")
    for magic in _GZIP_MAGIC:
        i = raw.find(magic)
        if i < 0:
            continue
        d = zlib.decompressobj(31 if magic[0] == 0x1F else 15)
        try:
            out = d.decompress(raw[i:], _INFLATE_MAX)
        except zlib.error:
            continue
        if out:
            return out.decode("latin-1")
    return None

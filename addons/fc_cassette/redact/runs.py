"""Character-class runs found at C speed, for the scanner's hot path.

Python's ``re`` tries a pattern such as ``[0-9a-fA-F]{16,}`` at every position, and in
text made mostly of letters and digits (a cassette entry) each try walks up to 16
characters before failing: most of the scanner's time went there. Here the text is
read once as bytes (one per character: :func:`as_bytes`), mapped by ``bytes.translate``
to one mark per character class, and runs are located with ``bytes.find``.

Each function yields exactly what the regex it replaces yields (named beside it): the
scanner's findings must not change, and ``tests/unit/test_fast_paths.py`` compares
both on generated text.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

_IN = 0x61  # b"a": a character of the class
_SEP = 0x6E  # b"n": a character a MIME line break starts with
_OUT = 0x20  # b" ": anything else


def as_bytes(text: str) -> bytes:
    """``text`` one byte per character (offsets kept): a character above U+00FF is
    ``?``, which is in none of the classes below."""
    return text.encode("latin-1", "replace")


def _table(chars: str, seps: str = "") -> bytes:
    return bytes(_IN if chr(i) in chars else _SEP if chr(i) in seps else _OUT for i in range(256))


_HEX = _table("0123456789abcdefABCDEF")
_B64 = bytes(
    0x3D if i == 0x3D else b
    for i, b in enumerate(
        _table("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/_-")
    )
)
# codecs._B64_RUN on the marks: a literal 16-mark prefix, which re finds by a fast scan
_B64_MARKS = re.compile(rb"aaaaaaaaaaaaaaaaa*={0,2}")
_B32_UPPER = _table("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
_B32_LOWER = _table("abcdefghijklmnopqrstuvwxyz234567")
_MIME_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_MIME = _table(_MIME_CHARS, "\\\r\n")
_RUN16 = bytes([_IN]) * 16


def hex_runs(raw: bytes, min_len: int = 16) -> Iterator[tuple[int, int]]:
    """``(start, end)`` of each maximal run of at least ``min_len`` hex digits: the
    spans of ``re.finditer(r"[0-9a-fA-F]{16,}", text)`` (greedy, so maximal)."""
    marks = raw.translate(_HEX)
    needle = bytes([_IN]) * min_len
    i = marks.find(needle)
    while i >= 0:
        end = marks.find(b" ", i + min_len)
        end = len(marks) if end < 0 else end
        yield i, end
        i = marks.find(needle, end)


def b64_runs(raw: bytes) -> Iterator[tuple[int, int]]:
    """``(start, end)`` of each match of ``codecs._B64_RUN``
    (``[A-Za-z0-9+/_-]{16,}={0,2}``): the same regex over the class marks, where a
    character of the class is ``a`` and ``=`` is itself."""
    for m in _B64_MARKS.finditer(raw.translate(_B64)):
        yield m.span()


def has_b32_run(raw: bytes) -> bool:
    """Whether ``[A-Z2-7]{16,}=*|[a-z2-7]{16,}=*`` can match at all: 16 characters in a
    row of one of its classes."""
    return _RUN16 in raw.translate(_B32_UPPER) or _RUN16 in raw.translate(_B32_LOWER)


def mime_starts(raw: bytes) -> set[int]:
    """Every place a line-wrapped base64 run (``codecs._MIME_RUN``) can start.

    Its first line is 16 to 100 base64 characters with none before it, directly
    followed by a line break (``\\n``, ``\\r\\n``, or their escapes, which start with a
    backslash): so it is a whole run of those characters ending right before ``\\``,
    CR or LF, and it starts where that run starts."""
    marks = raw.translate(_MIME)
    needle = _RUN16 + bytes([_SEP])
    starts = set()
    i = marks.find(needle)
    while i >= 0:
        end = i + 16
        starts.add(max(marks.rfind(b" ", 0, end), marks.rfind(b"n", 0, end)) + 1)
        i = marks.find(needle, end + 1)
    return starts

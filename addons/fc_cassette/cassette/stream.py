"""A cassette file read in chunks, never held whole: what replay's load needs to know
of it before parsing (:func:`scan`), and a reader that hands the parser the same bytes
(:class:`Bounded`).

:func:`scan` makes the checks the whole-file load made on the file's bytes, with the
same results: its size against the limit, CRLF line ends, whether it ends with a
complete document (``\\n...\\n``) and the first byte that is not UTF-8 (with its line).
Chunks are cut after a newline, which is never part of a multi-byte character, so a
chunk's UTF-8 error is at the same byte as in the whole file, and a ``\\r\\n`` pair is
never split.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import BinaryIO

from fc_cassette.cassette import yamlio

CHUNK = 256 << 10  # bytes read at a time (the parser reads its own, smaller, chunks)
TAIL = b"\n...\n"


@dataclass
class Scan:
    size: int  # bytes in the file (what the parse reads: nothing appended later)
    crlf: bool
    complete: bool  # ends with a complete document
    bad_utf8: tuple[int, int] | None  # (byte offset, line) of the first non-UTF-8 byte


def _read(fh: BinaryIO, n: int) -> bytes:
    try:
        return fh.read(n)
    except OSError as e:
        raise ValueError(f"cannot read: {e.strerror}") from None


class _Checker:
    """The checks of :func:`scan`, fed pieces that end after a newline (the last may not)."""

    def __init__(self) -> None:
        self.offset = self.lines = 0  # bytes and newlines before the next piece
        self.crlf = False
        self.bad: tuple[int, int] | None = None
        self.tail = b""

    def feed(self, piece: bytes) -> None:
        if not piece:
            return
        self.crlf = self.crlf or b"\r\n" in piece
        self.tail = (self.tail + piece[-len(TAIL) :])[-len(TAIL) :]
        if self.bad is None:
            try:
                piece.decode("utf-8")
            except UnicodeDecodeError as e:
                self.bad = (self.offset + e.start, self.lines + piece.count(b"\n", 0, e.start) + 1)
            self.lines += piece.count(b"\n")
        self.offset += len(piece)


def scan(fh: BinaryIO, limit: int, max_line: int | None = None) -> Scan:
    """Read ``fh`` from where it is to its end, in chunks; ``ValueError`` (a message)
    when it holds more than ``limit`` bytes, a line longer than ``max_line``, or cannot
    be read. Linear: a line spanning chunks is gathered in a bytearray (it used to be
    copied again with each chunk: quadratic on one long line)."""
    check, carry, max_line = _Checker(), bytearray(), max_line or yamlio.MAX_LINE
    while chunk := _read(fh, CHUNK):
        if check.offset + len(carry) + len(chunk) > limit:
            raise ValueError(yamlio.too_large(limit))
        cut = chunk.rfind(b"\n") + 1
        if not cut:
            carry += chunk
            if len(carry) > max_line:
                raise ValueError(yamlio.line_too_long(check.offset, max_line))
            continue
        if len(carry) + chunk.find(b"\n") > max_line:
            raise ValueError(yamlio.line_too_long(check.offset, max_line))
        check.feed(bytes(carry) + chunk[:cut])
        carry = bytearray(chunk[cut:])
    check.feed(bytes(carry))
    return Scan(check.offset, check.crlf, check.tail == TAIL, check.bad)


class Bounded:
    """The first ``size`` bytes of ``fh`` from its start, for the YAML parser to read in
    its own chunks (libyaml asks for a few KiB at a time): bytes appended to the file
    after :func:`scan` are not read."""

    name = "<cassette>"

    def __init__(self, fh: BinaryIO, size: int):
        self._fh, self.size, self._left = fh, size, size
        fh.seek(0)

    def read(self, n: int = -1) -> bytes:
        n = self._left if n is None or n < 0 else min(n, self._left)
        data = _read(self._fh, n) if n else b""
        self._left -= len(data)
        return data

    def whole(self) -> bytes:
        """All ``size`` bytes (for an error's location; the parse is over then)."""
        self._fh.seek(0)
        return _read(self._fh, self.size)


def looks_like_cassette(path: str | os.PathLike) -> bool:
    """Whether the file at ``path`` starts with an fc-cassette header (its first
    document, read from the first 64 KiB): the only kind of file a recorder replaces."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(1 << 16)
    except OSError:
        return False
    text = head.decode("utf-8", "replace").replace("\r\n", "\n")
    end = text.find("\n...\n")
    if end < 0:
        return False
    try:
        doc = yamlio.load(text[: end + 1])
    except (yamlio.YamlError, ValueError):
        return False
    return isinstance(doc, dict) and type(doc.get("fc_cassette")) is int


DOC_START = "---\n"  # as the store writes documents


def line_at(text: str, offset: int) -> int:
    """The 1-based line of ``offset`` in ``text``."""
    return text.count("\n", 0, offset) + 1


def doc_starts(text: str) -> list[int]:
    """Offset of each document's ``---`` line in a cassette's text."""
    starts, pos = [], 0
    while (i := text.find(DOC_START, pos)) >= 0:
        if i == 0 or text[i - 1] == "\n":
            starts.append(i)
        pos = i + len(DOC_START)
    return starts


def entry_line(text: str, i: int, keys: list[str | int]) -> int | None:
    """Line of ``keys`` in document ``i`` of ``text`` (its ``---`` line if not found)."""
    starts = doc_starts(text)
    if i >= len(starts):
        return None
    end = starts[i + 1] if i + 1 < len(starts) else len(text)
    first = line_at(text, starts[i])
    found = yamlio.line_of(text[starts[i] : end], keys) if keys else None
    return first + found - 1 if found else first

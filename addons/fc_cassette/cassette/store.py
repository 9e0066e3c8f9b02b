"""Cassette format v1: an append-only YAML stream, durable and loadable after any crash.

Layout: every document starts with ``---`` and ends with ``...``. The first document is
the header (``fc_cassette: 1`` plus versions; the creation time only with config
``record.timing``, so re-recording gives identical bytes); each following one is
an interaction, appended with one ``write`` and fsynced before the client gets its
response. So:

- a crash (even ``kill -9``) leaves every complete interaction loadable;
- a file cut short at any byte loads every interaction before the cut: the loader keeps
  the text up to the last ``...`` line and reports where it was cut;
- a new or re-recorded cassette is first written beside its final name and renamed
  over it once it holds an interaction, so re-recording never destroys the old one
  before the new one has content;
- the writer appends only to the file it loaded or created: before and after each
  append it compares that file's identity with the path's, and a cassette deleted or
  replaced meanwhile raises :class:`CassetteGone` (for good).

Loading uses libyaml's safe loader with aliases refused (see :mod:`.yamlio`).
"""

from __future__ import annotations

import datetime as _dt
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fc_cassette._version import __version__
from fc_cassette.cassette import entries, stream as cassette_stream, yamlio

FORMAT_VERSION = 1
DOC_START = "---\n"
DOC_END = "...\n"
MAX_CASSETTE_BYTES = 512 << 20
MAX_MESSAGE = 300


def _redact_text(text: str) -> str:
    from fc_cassette.redact import Redactor

    return Redactor().redact_text(text)


class CassetteFull(Exception):
    """An append would make the cassette too large to load again; nothing was written."""


class CassetteGone(Exception):
    """The cassette file was deleted or replaced while recording: nothing more is
    written into it (an append would land in an unlinked or foreign file)."""


class CassetteError(Exception):
    """A cassette that cannot be used. ``str()`` is one line: ``file:line:col: problem``."""

    def __init__(self, path: str | os.PathLike, message: str, line: int | None = None,
                 column: int | None = None):
        # the message may quote cassette content: never a secret, never a huge line
        message = " ".join(_redact_text(message).split())
        if len(message) > MAX_MESSAGE:
            message = message[:MAX_MESSAGE] + "..."
        self.path, self.message, self.line, self.column = str(path), message, line, column
        where = self.path + (f":{line}" if line else "") + (f":{column}" if line and column else "")
        super().__init__(f"{where}: {message}")


# The interaction models live in .entries (strict types, no control characters where
# replay writes to the wire); re-exported here for code that names them.
Interaction, RecordedRequest, RecordedResponse = (entries.Interaction, entries.RecordedRequest,
                                                  entries.RecordedResponse)


@dataclass
class Cassette:
    path: Path
    header: dict[str, Any]
    interactions: list[dict[str, Any]]
    warnings: list[str] = field(default_factory=list)
    text: str = ""
    complete_bytes: int = 0  # bytes of the file that hold complete documents


def new_header(stripe_version: str | None, timing: bool = False) -> dict[str, Any]:
    """A cassette's header; the creation time only with ``timing`` (config
    ``record.timing``), so re-recording an unchanged flow gives identical bytes."""
    import mitmproxy.version

    header = {
        "fc_cassette": FORMAT_VERSION,
        "generator": f"fc-cassette {__version__}",
        "mitmproxy": mitmproxy.version.VERSION,
        "stripe_version": stripe_version,
    }
    if timing:
        header["created"] = _dt.datetime.now(_dt.UTC).replace(
            microsecond=0).isoformat()
    return header


def serialize(doc: dict[str, Any]) -> str:
    return DOC_START + yamlio.dump(doc) + DOC_END


def _line_at(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def doc_starts(text: str) -> list[int]:
    """Offset of each document's ``---`` line in a cassette's text."""
    starts, pos = [], 0
    while (i := text.find(DOC_START, pos)) >= 0:
        if i == 0 or text[i - 1] == "\n":
            starts.append(i)
        pos = i + len(DOC_START)
    return starts


Compact = Callable[[dict[str, Any]], dict[str, Any]]


def load(path: str | os.PathLike, compact: Compact | None = None) -> Cassette:
    """Load and check a cassette; raises :class:`CassetteError` with file and location.

    ``compact`` (replay's loader, see :class:`fc_cassette.playback.Compactor`) turns each
    checked interaction into what the caller keeps, as it is parsed, so the decoded
    form of every interaction is never held at once; the file's text is then not kept
    either (``Cassette.text`` is empty). ValueError or TypeError from it is reported
    as an interaction that cannot be replayed."""
    p = Path(path)
    if compact is not None:
        return _load_compact(p, compact)
    return parse(_text(_read_raw(p), p), p)


def _read_raw(p: Path) -> bytes:
    try:
        return yamlio.read_file(p, "cassette", MAX_CASSETTE_BYTES)
    except ValueError as e:
        raise CassetteError(p, str(e)) from None


def _text(raw: bytes, p: Path) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise CassetteError(p, f"not valid UTF-8 (byte {e.start})",
                            _line_at(raw.decode("latin-1"), e.start)) from None


def _load_compact(p: Path, compact: Compact) -> Cassette:
    """:func:`parse` for a ``compact`` load, reading the file as it is parsed: neither
    its bytes nor its text are ever held whole (:mod:`.cassette_stream` makes the
    whole-file checks first, in chunks). A file with CRLF line ends or a torn tail
    takes :func:`parse`'s way."""
    try:
        fh = yamlio.open_file(p, "cassette")
    except ValueError as e:
        raise CassetteError(p, str(e)) from None
    with fh:
        try:
            scan = cassette_stream.scan(fh, MAX_CASSETTE_BYTES)
        except ValueError as e:
            raise CassetteError(p, str(e)) from None
        if scan.bad_utf8 is not None:
            byte, line = scan.bad_utf8
            raise CassetteError(p, f"not valid UTF-8 (byte {byte})", line)
        source = cassette_stream.Bounded(fh, scan.size)
        if scan.crlf or not scan.complete:
            return parse(_text(source.whole(), p), p, compact)
        header, interactions = _documents(source, p, compact,
                                          lambda: source.whole().decode("utf-8"))
    return Cassette(p, header, interactions, [], "", scan.size)


_LAST_DOC_END = re.compile(r"\n\.\.\.\r?\n")


def _complete_bytes(original: str) -> int:
    """Bytes of the file up to its last complete document, whatever its line endings."""
    ends = [m.end() for m in _LAST_DOC_END.finditer(original)]
    return len(original[:ends[-1]].encode("utf-8")) if ends else 0


def _entry_line(text: str, i: int, keys: list[str | int]) -> int | None:
    """Line of ``keys`` in document ``i`` of ``text`` (its ``---`` line if not found)."""
    starts = doc_starts(text)
    if i >= len(starts):
        return None
    end = starts[i + 1] if i + 1 < len(starts) else len(text)
    first = _line_at(text, starts[i])
    found = yamlio.line_of(text[starts[i]:end], keys) if keys else None
    return first + found - 1 if found else first


def _header(docs: list[Any], path: Path) -> dict[str, Any]:
    if not docs or not isinstance(docs[0], dict) or "fc_cassette" not in docs[0]:
        raise CassetteError(path, "not an fc-cassette cassette (no 'fc_cassette' header)", 1)
    version = docs[0].get("fc_cassette")
    if type(version) is not int or version != FORMAT_VERSION:  # True == 1 in Python
        shown = repr(version) if type(version) is int else repr(_redact_text(str(version))[:40])
        raise CassetteError(path, f"unknown cassette format version {shown} (this "
                                  f"fc-cassette reads {FORMAT_VERSION})", 1)
    return docs[0]


def _interactions(docs: Iterator[Any], text: Callable[[], str], path: Path,
                  compact: Compact | None) -> list[dict[str, Any]]:
    """The documents after the header, checked (:mod:`.entries`), defaults filled in,
    each passed through ``compact`` as soon as it is parsed."""
    out: list[dict[str, Any]] = []
    for i, doc in enumerate(docs, start=1):
        problem = entries.check(doc)
        if problem is not None:
            keys, message = problem
            loc = ".".join(str(x) for x in keys) or "(entry)"
            raise CassetteError(path, f"interaction {i}: {loc}: {message}",
                                _entry_line(text(), i, keys)) from None
        req = doc["request"]  # the optional parts, as the format's defaults say
        req.setdefault("query", {})
        req.setdefault("headers", {})
        req.setdefault("body", None)
        doc["response"].setdefault("headers", {})
        doc["response"].setdefault("body", None)
        if compact is not None:
            try:
                doc = compact(doc)
            except (ValueError, TypeError) as e:
                raise CassetteError(path, f"interaction {doc.get('seq')}: the response "
                                          f"cannot be replayed: {e}") from None
        out.append(doc)
    return out


def _documents(source: str | cassette_stream.Bounded, path: Path, compact: Compact | None,
               text: Callable[[], str]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The header and the checked interactions of a cassette's complete documents
    (``source``: their text, or a reader of their bytes), parsed one document at a
    time; ``text()`` gives their text for an error's location."""
    docs = yamlio.load_all(source, strict=True)
    try:
        first = next(docs, None)
        header = _header([] if first is None else [first], path)
        return header, _interactions(docs, text, path, compact)
    except yamlio.YamlError as e:
        raise CassetteError(path, e.message, e.line, e.column) from None


def parse(text: str, path: Path, compact: Compact | None = None) -> Cassette:
    if not text.strip():
        raise CassetteError(path, "empty file, not a cassette")
    original = text
    if "\r\n" in text:  # e.g. checked out with git's core.autocrlf (or partly so)
        text = text.replace("\r\n", "\n")
    warnings: list[str] = []
    complete = len(text)
    if not text.endswith("\n" + DOC_END) and text != DOC_END:
        cut = text.rfind("\n" + DOC_END)
        complete = cut + 1 + len(DOC_END) if cut >= 0 else 0
        if complete == 0 and text.lstrip().startswith(("---", "fc_cassette")):
            raise CassetteError(path, "cut short inside its header: no complete document",
                                _line_at(text, len(text)))
        if complete:
            warnings.append(f"{path}:{_line_at(text, complete)}: cassette cut short at byte "
                            f"{complete} of {len(text)}; kept the complete interactions "
                            f"before the cut")
    body = text[:complete] if complete else text
    header, interactions = _documents(body, path, compact, lambda: body)
    complete_bytes = (_complete_bytes(original) if warnings else len(original)
                      if original.isascii() else len(original.encode("utf-8")))
    return Cassette(path, header, interactions, warnings, "" if compact else text,
                    complete_bytes)


def _identity(path: Path) -> tuple[int, int] | None:
    """(st_dev, st_ino) of the file at ``path`` (through symlinks), None if there is none."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_dev, st.st_ino


# fdatasync syncs the data and the size, which is all an append needs; macOS and
# Windows do not have it.
def _datasync(fd: int) -> None:
    getattr(os, "fdatasync", os.fsync)(fd)


class Writer:
    """Appends interactions durably; see the module docstring for the guarantees.

    ``replace=True`` (record mode ``all``, or a new cassette) writes a fresh file that
    replaces ``path`` on the first append; otherwise interactions are appended to the
    existing cassette (``existing``: its loaded form, whose torn tail, if any, is cut).
    """

    def __init__(self, path: str | os.PathLike, *, existing: Cassette | None = None,
                 fsync: bool = True, timing: bool = False):
        self.path = Path(path)  # as given (messages)
        # the file itself: through a symlink, 'all' and a new cassette write the file the
        # link names (the one the recording lock covers), never replace the link
        self._file = Path(os.path.realpath(path))
        self.fsync, self.timing = fsync, timing
        self.existing = existing
        self.gone: str | None = None  # why nothing more is written (see CassetteGone)
        # the file that was loaded: appends go to it and to nothing else
        self._identity = _identity(self._file) if existing is not None else None
        # after the highest seq, not the count: an entry pruned by hand leaves a gap
        self.count = max([len(existing.interactions)] + [
            i["seq"] for i in existing.interactions if isinstance(i.get("seq"), int)
        ]) if existing else 0
        self._fd: int | None = None

    def append(self, entry: dict[str, Any], stripe_version: str | None = None,
               check: Callable[[str], None] | None = None) -> int:
        """Write one interaction durably, numbering it; returns its seq.

        ``check`` sees the exact text about to be written (with the cassette's header
        when this append creates the file) and may raise to refuse it. A write that
        fails leaves the file as it was before this append.
        """
        if self.gone is None and (self._fd is not None or self.existing is not None):
            self._check_identity()
        if self.gone is not None:
            raise CassetteGone(self.gone)
        seq = self.count + 1
        text = serialize({"seq": seq, **{k: v for k, v in entry.items() if k != "seq"}})
        if self._fd is None and self.existing is None:
            text = serialize(new_header(stripe_version, self.timing)) + text
        if check is not None:
            check(text)
        data = text.encode("utf-8")
        if self._size() + len(data) > MAX_CASSETTE_BYTES:
            raise CassetteFull(f"{self.path} would grow past {MAX_CASSETTE_BYTES >> 20} MiB, "
                               "the most a cassette may hold to be loaded again")
        if self._fd is None:
            self._open(data)
        else:
            self._append(self._fd, data)
        self._check_identity()  # replaced while writing: the entry is not in the cassette
        if self.gone is not None:
            raise CassetteGone(self.gone)
        self.count = seq
        return seq

    def _check_identity(self) -> None:
        """Compare the file appended to (or loaded) with the one at the path; on a
        mismatch set :attr:`gone` (for good: a replaced cassette is someone else's)."""
        if self._fd is not None:
            st = os.fstat(self._fd)
            mine: tuple[int, int] | None = (st.st_dev, st.st_ino)
        else:
            mine = self._identity
        now = _identity(self._file)
        if now is None:
            self.gone = f"{self.path} was deleted while recording"
        elif now != mine:
            self.gone = f"{self.path} was replaced by another file while recording"

    def _size(self) -> int:
        if self._fd is not None:
            return os.fstat(self._fd).st_size
        if self.existing is not None:
            return self.existing.complete_bytes
        return 0

    def _open(self, first: bytes) -> None:
        if self.existing is not None:
            fd = os.open(self._file, os.O_RDWR)
            try:
                st = os.fstat(fd)
                if (st.st_dev, st.st_ino) != self._identity:  # swapped since the check
                    self.gone = f"{self.path} was replaced by another file while recording"
                    raise CassetteGone(self.gone)
                size = os.fstat(fd).st_size
                os.ftruncate(fd, min(size, self.existing.complete_bytes))  # drop a torn tail
                os.lseek(fd, 0, os.SEEK_END)
                self._append(fd, first)
            except BaseException:
                os.close(fd)
                raise
            self._fd = fd
            return
        self._file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self._file.with_name(f".{self._file.name}.{os.getpid()}.recording")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0),
                     0o644)
        try:
            self._write_all(fd, first)
            os.replace(tmp, self._file)
        except BaseException:
            os.close(fd)
            tmp.unlink(missing_ok=True)
            raise
        self._fd = fd  # only once the cassette holds its first interaction
        self._sync_dir()

    def _append(self, fd: int, data: bytes) -> None:
        """Append ``data``; on failure (e.g. a full disk) cut the file back as it was."""
        offset = os.lseek(fd, 0, os.SEEK_END)
        try:
            self._write_all(fd, data)
        except BaseException:
            os.ftruncate(fd, offset)
            os.lseek(fd, offset, os.SEEK_SET)
            raise

    def _write_all(self, fd: int, data: bytes) -> None:
        view = memoryview(data)
        while view:
            n = os.write(fd, view)
            view = view[n:]
        if self.fsync:
            _datasync(fd)

    def _sync_dir(self) -> None:
        if not self.fsync:
            return
        dfd = os.open(self._file.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

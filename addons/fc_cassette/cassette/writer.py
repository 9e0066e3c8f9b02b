"""The durable writer: appends one document at a time, fsynced, to the file it loaded or
created (see :mod:`.store` for the guarantees)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fc_cassette.cassette import entries, format as cformat, stream as cassette_stream
from fc_cassette.cassette.format import (
    Cassette,
    CassetteFull,
    CassetteGone,
    Unloadable,
    new_header,
    serialize,
)


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

    def __init__(
        self,
        path: str | os.PathLike,
        *,
        existing: Cassette | None = None,
        fsync: bool = True,
        timing: bool = False,
    ):
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
        self.count = (
            max(
                [len(existing.interactions)]
                + [i["seq"] for i in existing.interactions if isinstance(i.get("seq"), int)]
            )
            if existing
            else 0
        )
        self._fd: int | None = None

    def append(
        self,
        entry: dict[str, Any],
        stripe_version: str | None = None,
        check: Callable[[str], None] | None = None,
        numbered: bool = True,
    ) -> int:
        """Write one interaction durably, numbering it; returns its seq (``numbered``
        False: a webhook document, written as it is; returns the last seq).

        ``check`` sees the exact text about to be written (with the cassette's header
        when this append creates the file) and may raise to refuse it. A write that
        fails leaves the file as it was before this append.
        """
        if self.gone is None and (self._fd is not None or self.existing is not None):
            self._check_identity()
        if self.gone is not None:
            raise CassetteGone(self.gone)
        seq = self.count + 1 if numbered else self.count
        doc = {"seq": seq, **{k: v for k, v in entry.items() if k != "seq"}} if numbered else entry
        # the loader's own rules: never a poisoned cassette
        problem = entries.check(doc) if numbered else entries.check_webhook(doc)
        if problem is not None:
            where = ".".join(str(k) for k in problem[0]) or "(entry)"
            raise Unloadable(f"the cassette would not load with it: {where}: {problem[1]}")
        try:  # a lone surrogate (bytes that were not UTF-8) cannot be written as text
            text = serialize(doc)
        except ValueError as e:
            raise Unloadable(f"the cassette could not be loaded with it: {e}") from None
        if self._fd is None and self.existing is None:
            text = serialize(new_header(stripe_version, self.timing)) + text
        if check is not None:
            check(text)
        data = text.encode("utf-8")
        if self._size() + len(data) > cformat.MAX_CASSETTE_BYTES:
            raise CassetteFull(
                f"{self.path} would grow past "
                f"{cformat.MAX_CASSETTE_BYTES >> 20} MiB, "
                "the most a cassette may hold to be loaded again"
            )
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
        if (
            os.path.lexists(self._file)
            and not os.path.isdir(self._file)
            and not cassette_stream.looks_like_cassette(self._file)
        ):
            self.gone = (
                f"{self.path} is not an fc-cassette cassette: the recorder does not replace it"
            )
            raise CassetteGone(self.gone)
        self._file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self._file.with_name(f".{self._file.name}.{os.getpid()}.recording")
        fd = os.open(
            tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0), 0o644
        )
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

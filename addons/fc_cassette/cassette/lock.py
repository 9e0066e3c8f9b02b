"""One recorder per cassette: a lock file beside the cassette, held while recording.

Two recorders appending to one cassette would interleave their entries and number
them twice, and two ``all`` recordings would each replace the other's file. A
recorder therefore takes an exclusive, non-blocking ``flock`` on ``.NAME.lock``
beside the cassette before it reads the cassette, and a second recorder fails at
start-up naming the holder's pid. The kernel releases the lock when its holder
dies, so a crash (kill -9) leaves at most an unlocked lock file, which the next
recorder takes over; a clean stop removes it.

One cassette can have several names that are not one path: hard links. So the
recorder also takes an ``flock`` on the cassette file itself (its inode) when it
exists, and on the file it creates once it has created it (:meth:`RecordingLock.cover`):
a second recorder reaching the same file through another name fails at start-up too.

Where ``fcntl`` does not exist (Windows) recording is not locked.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from fc_cassette.cassette.errors import CassetteError


class CassetteBusy(CassetteError):
    """Another process is recording the cassette."""


def lock_path(cassette: str | os.PathLike[str]) -> Path:
    """``.NAME.lock`` beside the cassette's real file, so that every path to one
    cassette (a symlink, ``sub/../c.yaml``) names one lock."""
    real = Path(os.path.realpath(cassette))
    return real.with_name(f".{real.name}.lock")


class RecordingLock:
    """Held from :meth:`acquire` until :meth:`release`."""

    def __init__(self, path: Path, fd: int | None):
        self.path, self._fd = path, fd
        self._file_fd: int | None = None  # the flock on the cassette file (its inode)

    @classmethod
    def acquire(cls, cassette: str | os.PathLike[str]) -> RecordingLock:
        """Lock ``cassette`` for recording; raises CassetteBusy, or OSError when the
        lock file cannot be created or is not a regular file."""
        path = lock_path(cassette)
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows
            return cls(path, None)
        path.parent.mkdir(parents=True, exist_ok=True)
        while True:
            fd = _open(path)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _read_pid(fd)
                os.close(fd)
                who = f"pid {holder}" if holder else "another process"
                raise CassetteBusy(
                    cassette,
                    f"being recorded by another fc-cassette "
                    f"({who}); stop it first (lock file {path})",
                ) from None
            except BaseException:
                os.close(fd)
                raise
            # A holder that released removed the file first: if the file we locked is
            # no longer the one at ``path``, lock the new one instead.
            try:
                current = os.stat(path, follow_symlinks=False)
            except FileNotFoundError:
                os.close(fd)
                continue
            except OSError:
                os.close(fd)
                raise
            mine = os.fstat(fd)
            if (current.st_dev, current.st_ino) != (mine.st_dev, mine.st_ino):
                os.close(fd)
                continue
            try:  # the pid is for the message only: a full disk must not stop recording
                os.ftruncate(fd, 0)
                os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
            except OSError:
                pass
            lock = cls(path, fd)
            try:
                if not lock.cover(cassette):
                    raise CassetteBusy(
                        cassette,
                        "being recorded by another fc-cassette "
                        "through another name of the same file (a hard "
                        "link); stop it first",
                    )
            except BaseException:
                lock.release()
                raise
            return lock

    def cover(self, cassette: str | os.PathLike[str]) -> bool:
        """Also lock the cassette file itself, so that its hard links share this lock;
        False if another recorder holds that file. Nothing to do (True) while there is
        no file yet, or when the file locked is the one at ``cassette`` already."""
        if self._fd is None:
            return True
        import fcntl

        try:  # non-blocking: a FIFO put there must not hang the recorder
            fd = os.open(cassette, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
        except OSError:  # none yet (the writer creates it), or unreadable: the loader says
            return True
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode) or self._covers(st):
                os.close(fd)
                return True
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        except BaseException:
            os.close(fd)
            raise
        if self._file_fd is not None:
            os.close(self._file_fd)  # e.g. 'all' replaced the old file: not ours any more
        self._file_fd = fd
        return True

    def _covers(self, st: os.stat_result) -> bool:
        if self._file_fd is None:
            return False
        mine = os.fstat(self._file_fd)
        return (mine.st_dev, mine.st_ino) == (st.st_dev, st.st_ino)

    def release(self) -> None:
        if self._file_fd is not None:
            os.close(self._file_fd)
            self._file_fd = None
        if self._fd is None:
            return
        try:
            self.path.unlink(missing_ok=True)  # while still holding it (see acquire)
        except OSError:
            pass  # e.g. a read-only folder: the file stays, unlocked
        finally:
            os.close(self._fd)
            self._fd = None

    @property
    def held(self) -> bool:
        return self._fd is not None


def _open(path: Path) -> int:
    """The lock file, never through a symlink (it would truncate the link's target); a
    stale one owned by another user is opened read-only (flock needs no write access)."""
    flags = os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, os.O_RDWR | flags, 0o644)
    except PermissionError:
        fd = os.open(path, os.O_RDONLY | flags)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise OSError(errno.EINVAL, "not a regular file", str(path))
    return fd


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None

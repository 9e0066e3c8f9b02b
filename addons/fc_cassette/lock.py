"""One recorder per cassette: a lock file beside the cassette, held while recording.

Two recorders appending to one cassette would interleave their entries and number
them twice, and two ``all`` recordings would each replace the other's file. A
recorder therefore takes an exclusive, non-blocking ``flock`` on ``.NAME.lock``
beside the cassette before it reads the cassette, and a second recorder fails at
start-up naming the holder's pid. The kernel releases the lock when its holder
dies, so a crash (kill -9) leaves at most an unlocked lock file, which the next
recorder takes over; a clean stop removes it.

Where ``fcntl`` does not exist (Windows) recording is not locked.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from .cassette import CassetteError


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
                raise CassetteBusy(cassette, f"being recorded by another fc-cassette "
                                   f"({who}); stop it first (lock file {path})") from None
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
            return cls(path, fd)

    def release(self) -> None:
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

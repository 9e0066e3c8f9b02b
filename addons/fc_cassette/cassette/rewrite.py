"""Rewriting a whole cassette in place, atomically: the one home of that operation.

``redact`` (new rules over old cassettes) and ``prune`` (drop interactions no test
used) both replace a cassette by an edited copy. :func:`editing` takes the
cassette's recording lock (no recorder appends meanwhile, see :mod:`fc_cassette.cassette.lock`)
and loads it; :func:`replace` writes the new text to a temporary file beside it
(``.NAME.PID.rewrite``), fsyncs it, renames it over the cassette and fsyncs the
folder. A process killed at any point leaves either the old cassette or the new one,
never a mix; at most a stray ``.NAME.PID.rewrite`` file stays behind (it is not a
cassette name: nothing loads it).

:func:`documents` gives the text of each document of a loaded cassette, so an edit
keeps the documents it does not change byte for byte (comments included) and the
review diff shows only what changed.

``FC_CASSETTE_PAUSE_AT`` (fault tests only): ``half-written`` or ``before-rename``
stops the process (SIGSTOP) at that point of :func:`replace`, so a test can kill it
there with SIGKILL.
"""

from __future__ import annotations

import os
import signal
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fc_cassette.cassette import store as cassette_io
from fc_cassette.cassette.lock import RecordingLock

PAUSE_ENV = "FC_CASSETTE_PAUSE_AT"
TEMP_SUFFIX = ".rewrite"


def _pause(point: str) -> None:
    if os.environ.get(PAUSE_ENV) == point:
        os.kill(os.getpid(), signal.SIGSTOP)


def _oserror(path: str | os.PathLike[str], what: str, e: OSError) -> cassette_io.CassetteError:
    return cassette_io.CassetteError(path, f"{what}: {e.strerror or e}; the cassette is unchanged")


def documents(c: cassette_io.Cassette) -> list[str] | None:
    """The text of each complete document of ``c`` (header first), each with the
    comments and blank lines before its ``---`` line; None when its text was not kept or
    does not split into one document per interaction (the caller then serializes every
    document). A torn tail is left out."""
    if not c.text:
        return None
    starts = cassette_io.doc_starts(c.text)
    if len(starts) < 1 + len(c.interactions):
        return None
    bounds = [0]
    for start in starts[1 : 1 + len(c.interactions)]:
        end = c.text.rfind("\n" + cassette_io.DOC_END, 0, start)
        if end < 0:
            return None
        bounds.append(end + 1 + len(cassette_io.DOC_END))
    bounds.append(_complete_end(c.text, starts[len(c.interactions)]))
    out = [c.text[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]
    return out if all(d.endswith(cassette_io.DOC_END) for d in out) else None


def _complete_end(text: str, last: int) -> int:
    """Where the last complete document starting at ``last`` ends (a torn tail after
    it is left out)."""
    end = text.find("\n" + cassette_io.DOC_END, last)
    return len(text) if end < 0 else end + 1 + len(cassette_io.DOC_END)


@contextmanager
def editing(path: str | os.PathLike[str]) -> Iterator[cassette_io.Cassette]:
    """Lock ``path`` for recording and load it; the lock is held until the block ends,
    so no recorder appends between the load and :func:`replace`. Raises
    :class:`~fc_cassette.cassette.store.CassetteError` (one line) when it cannot."""
    p = Path(path)
    try:
        st = os.stat(p)
    except OSError:
        st = None  # the loader says what is wrong
    if st is not None and stat.S_ISREG(st.st_mode) and not st.st_mode & 0o222:
        raise cassette_io.CassetteError(
            p,
            f"the cassette is read-only (mode "
            f"{stat.S_IMODE(st.st_mode):04o}); make it "
            "writable to change it; nothing was changed",
        )
    cassette_io.load(p)  # refuses what is not a cassette before any lock file appears
    try:
        lock = RecordingLock.acquire(p)
    except OSError as e:
        raise cassette_io.CassetteError(
            p, f"cannot create the recording lock {e.filename or ''}: {e.strerror or e}"
        ) from None
    try:
        yield cassette_io.load(p)  # again: what a recorder appended before the lock counts
    finally:
        lock.release()


def replace(path: str | os.PathLike[str], text: str, fsync: bool = True) -> None:
    """Replace the cassette at ``path`` (through a symlink: the file it names) with
    ``text``, atomically; the file keeps its permission bits. Raises
    :class:`~fc_cassette.cassette.store.CassetteError` and leaves the cassette unchanged
    when any step fails."""
    real = Path(os.path.realpath(path))
    data = text.encode("utf-8")
    try:
        mode = stat.S_IMODE(os.stat(real).st_mode)
    except OSError as e:
        raise _oserror(path, "cannot read the cassette's permissions", e) from None
    tmp = real.with_name(f".{real.name}.{os.getpid()}{TEMP_SUFFIX}")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(tmp, flags, mode)
    except OSError as e:
        raise _oserror(path, f"cannot write beside it ({tmp.name})", e) from None
    try:
        try:
            half = len(data) // 2
            _write_all(fd, data[:half])
            _pause("half-written")
            _write_all(fd, data[half:])
            if fsync:
                os.fsync(fd)
        finally:
            os.close(fd)
        _pause("before-rename")
        os.replace(tmp, real)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise _oserror(path, "cannot write the new cassette", e) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if fsync:
        _sync_dir(real.parent)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _sync_dir(folder: Path) -> None:
    try:
        dfd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dfd)
    except OSError:
        pass
    finally:
        os.close(dfd)

"""One recorder per cassette: the lock file beside the cassette."""

from __future__ import annotations

import fcntl
import os

import pytest

from fc_cassette.cassette import lock as lock_mod
from fc_cassette.cassette.lock import CassetteBusy, RecordingLock, lock_path


def test_second_recorder_is_refused_until_the_first_releases(tmp_path):
    cassette = tmp_path / "sub" / "fc.yaml"  # the folder is created
    first = RecordingLock.acquire(cassette)
    path = tmp_path / "sub" / ".fc.yaml.lock"
    assert first.path == path == lock_path(cassette) and first.held
    assert path.read_text() == f"{os.getpid()}\n"
    with pytest.raises(CassetteBusy) as e:
        RecordingLock.acquire(cassette)
    assert str(e.value) == (
        f"{cassette}: being recorded by another fc-cassette "
        f"(pid {os.getpid()}); stop it first (lock file {path})"
    )
    first.release()
    assert not path.exists() and not first.held
    first.release()  # idempotent
    again = RecordingLock.acquire(cassette)
    again.release()


def test_other_cassettes_in_the_same_folder_are_independent(tmp_path):
    a = RecordingLock.acquire(tmp_path / "a.yaml")
    b = RecordingLock.acquire(tmp_path / "b.yaml")
    a.release()
    b.release()


def test_a_stale_lock_file_is_taken_over(tmp_path):
    """A recorder killed with -9 leaves its file behind, but not its lock."""
    path = lock_path(tmp_path / "fc.yaml")
    path.write_text("999999999\n")
    held = RecordingLock.acquire(tmp_path / "fc.yaml")
    assert path.read_text() == f"{os.getpid()}\n"
    held.release()


@pytest.mark.parametrize("then", ["removed", "replaced"])
def test_a_lock_file_released_while_locking_it_is_not_trusted(tmp_path, monkeypatch, then):
    """B opens the holder's file; the holder releases (removes it) before B locks it, and
    maybe a third recorder creates a new one. B must not count the file it locked as
    held: it locks the one now at the path."""
    cassette = tmp_path / "fc.yaml"
    path = lock_path(cassette)
    holder = RecordingLock.acquire(cassette)
    real_flock, calls = fcntl.flock, []

    def flock(fd, op):
        calls.append(fd)
        if len(calls) == 1:
            holder.release()  # between B's open and B's lock
            if then == "replaced":
                path.write_text("")
        return real_flock(fd, op)

    monkeypatch.setattr(fcntl, "flock", flock)
    b = RecordingLock.acquire(cassette)
    monkeypatch.undo()
    assert len(calls) == 2  # it noticed, and locked again
    assert path.read_text() == f"{os.getpid()}\n"
    with pytest.raises(CassetteBusy):  # B holds the file now at the path
        RecordingLock.acquire(cassette)
    b.release()


def test_a_lock_file_that_cannot_be_created_is_an_oserror(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(OSError):  # mkdir: FileExistsError
        RecordingLock.acquire(tmp_path / "file" / "fc.yaml")


def test_without_fcntl_recording_is_not_locked(tmp_path, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_fcntl(name, *a, **kw):
        if name == "fcntl":
            raise ImportError(name)
        return real_import(name, *a, **kw)

    monkeypatch.setattr(builtins, "__import__", no_fcntl)
    held = lock_mod.RecordingLock.acquire(tmp_path / "fc.yaml")
    assert not held.held and not lock_path(tmp_path / "fc.yaml").exists()
    held.release()


def test_every_path_to_one_cassette_names_one_lock(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sub").mkdir()
    (tmp_path / "fc.yaml").write_text("")
    os.symlink(tmp_path / "fc.yaml", tmp_path / "alias.yaml")
    os.symlink(tmp_path / "sub", tmp_path / "linkdir")
    held = RecordingLock.acquire(tmp_path / "fc.yaml")
    for other in ("fc.yaml", "alias.yaml", "sub/../fc.yaml", "linkdir/../fc.yaml"):
        assert lock_path(other) == tmp_path / ".fc.yaml.lock", other
        with pytest.raises(CassetteBusy):
            RecordingLock.acquire(other)
    held.release()


def test_a_lock_file_that_is_a_symlink_is_refused_and_its_target_untouched(tmp_path):
    precious = tmp_path / "precious.txt"
    precious.write_text("keep me")
    os.symlink(precious, tmp_path / ".fc.yaml.lock")
    with pytest.raises(OSError):
        RecordingLock.acquire(tmp_path / "fc.yaml")
    assert precious.read_text() == "keep me"


def test_a_lock_file_that_is_not_a_regular_file_is_refused(tmp_path):
    os.mkfifo(tmp_path / ".fc.yaml.lock")
    with pytest.raises(OSError, match="not a regular file"):
        RecordingLock.acquire(tmp_path / "fc.yaml")


def test_a_pid_that_cannot_be_written_still_locks(tmp_path, monkeypatch):
    """The pid is for the message; a full disk must not cost the lock or leak the file."""

    def full(*_a):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "pwrite", full)
    held = RecordingLock.acquire(tmp_path / "fc.yaml")
    monkeypatch.undo()
    assert held.held
    with pytest.raises(CassetteBusy, match=r"\(another process\)"):
        RecordingLock.acquire(tmp_path / "fc.yaml")
    held.release()
    assert not lock_path(tmp_path / "fc.yaml").exists()

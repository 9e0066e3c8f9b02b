"""A recording lock held by another (forked) process that is killed is released."""

from __future__ import annotations

import multiprocessing
import os
import signal

import pytest

from fc_cassette.cassette.lock import CassetteBusy, RecordingLock, lock_path


def _hold(cassette: str, ready) -> None:
    RecordingLock.acquire(cassette)
    ready.set()
    signal.pause()


def test_a_killed_holder_releases_the_lock(tmp_path):
    cassette = tmp_path / "fc.yaml"
    mp = multiprocessing.get_context("fork")
    ready = mp.Event()
    child = mp.Process(target=_hold, args=(str(cassette), ready))
    child.start()
    try:
        assert ready.wait(30)
        with pytest.raises(CassetteBusy, match=rf"\(pid {child.pid}\)"):
            RecordingLock.acquire(cassette)
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.join(30)
    assert lock_path(cassette).exists()  # left behind by the crash, but unlocked
    RecordingLock.acquire(cassette).release()

"""The shared process helper (fc_cassette.harness.procs) with real child processes."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest

from fc_cassette.harness import procs

IGNORES_SIGINT = (
    "import signal, time; signal.signal(signal.SIGINT, signal.SIG_IGN); "
    "print('listening at 127.0.0.1:4321', flush=True); time.sleep(60)"
)


def test_procs_reads_the_port_and_climbs_the_ladder(tmp_path):
    log = tmp_path / "p.log"
    proc = procs.spawn(["-c", IGNORES_SIGINT], log, command=[sys.executable])
    try:
        assert procs.wait_listening(proc, log, timeout=30) == 4321
        started = time.monotonic()
        code = procs.stop(
            proc, ((signal.SIGINT, 0.5), (signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0))
        )
        assert code == -signal.SIGTERM  # SIGINT ignored, SIGTERM ended it
        assert time.monotonic() - started < 5
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_procs_start_error_carries_the_log(tmp_path):
    log = tmp_path / "p.log"
    proc = procs.spawn(["-c", "print('boom'); raise SystemExit(3)"], log, command=[sys.executable])
    with pytest.raises(procs.StartError) as e:
        procs.wait_listening(proc, log, timeout=30)
    assert "exited (3)" in str(e.value) and "boom" in e.value.output


def test_procs_stop_on_an_exited_process_is_its_code():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    assert procs.stop(proc) == 0

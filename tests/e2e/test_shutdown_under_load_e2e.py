"""Replay's shutdown under load is clean (issue #27): SIGINT while many clients hold
connections prints no asyncio task warning ("Task was destroyed but it is pending!")."""

from __future__ import annotations

import signal
import threading

import requests

from builders import write_cassette
from support import FC, Proc


def test_sigint_under_load_prints_no_task_warning(tmp_path):
    a = write_cassette(tmp_path / "a.yaml", "fcsess_fakeA")
    proc = Proc(
        [FC, "replay", a, "--port", "0", "--set", f"confdir={tmp_path / 'conf'}"],
        0,
        tmp_path / "fc.log",
        cwd=tmp_path,
    )
    url = f"http://127.0.0.1:{proc.port}/v1/financial_connections/sessions/fcsess_fakeA"
    stop, answered = threading.Event(), threading.Semaphore(0)

    def client() -> None:
        s = requests.Session()  # a kept-alive connection each; a new one after an error,
        s.trust_env = False  # so connections keep arriving while the proxy shuts down
        while not stop.is_set():
            try:
                s.get(url, timeout=30)
                answered.release()
            except requests.RequestException:
                s.close()
                s = requests.Session()
                s.trust_env = False
        s.close()

    threads = [threading.Thread(target=client, daemon=True) for _ in range(24)]
    for t in threads:
        t.start()
    try:
        for _ in range(400):  # well under load: hundreds answered, every client connected
            assert answered.acquire(timeout=60)
        code = proc.stop(signal.SIGINT)
    finally:
        stop.set()
        proc.stop()
    for t in threads:
        t.join(60)
    out = proc.output()
    assert "Task was destroyed" not in out, out[-2000:]
    assert "Traceback" not in out
    assert code == 0, out[-2000:]

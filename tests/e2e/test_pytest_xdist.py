"""The pytest plugin under pytest-xdist (``-n 2``): a proxy per worker, the summary
through xdist's channel, and no fc-cassette process of the run left alive afterwards,
not even when a worker is killed (the proxies watch a pipe from their worker)."""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from support import run_pytest

pytest.importorskip("xdist")

HELPERS = """
KEY = "sk_test_" + "fakeXdistKey0123456789ab"


def create_and_retrieve(fc_proxy, customer):
    sessions = fc_proxy.client(KEY).v1.financial_connections.sessions
    s = sessions.create(params={"account_holder": {"type": "customer", "customer": customer},
                                "permissions": ["balances"]})
    assert sessions.retrieve(s.id).id == s.id


def create_only(fc_proxy, customer):
    fc_proxy.client(KEY).v1.financial_connections.sessions.create(params={
        "account_holder": {"type": "customer", "customer": customer},
        "permissions": ["balances"]})
"""

SUITE = (
    "import pytest\nfrom xdhelp import create_and_retrieve\n"
    + "".join(
        f"""

@pytest.mark.fc_cassette
def test_x{i}(fc_proxy):
    create_and_retrieve(fc_proxy, "cus_fakeX{i}")
"""
        for i in range(6)
    )
    + """

@pytest.mark.fc_cassette("cassettes/shared.yaml")
def test_shared(fc_proxy):
    create_and_retrieve(fc_proxy, "cus_fakeShared")
"""
)

CRASH = """
import os
import signal

import pytest
from xdhelp import create_and_retrieve


@pytest.mark.fc_cassette("cassettes/shared.yaml")
def test_the_worker_dies(fc_proxy):
    create_and_retrieve(fc_proxy, "cus_fakeShared")
    os.kill(os.getpid(), signal.SIGKILL)  # its proxy is orphaned: it must exit by itself
"""


def run_marked(cwd: Path, *args: str) -> tuple[subprocess.CompletedProcess, str]:
    """pytest in ``cwd`` with a run id in its environment (inherited by every process
    it starts), and that id."""
    run_id = uuid.uuid4().hex
    r = run_pytest(cwd, *args, env={"FC_XDIST_TEST_RUN": run_id}, timeout=600)
    return r, run_id


def alive_of(run_id: str) -> list[str]:
    """Command lines of the live fc-cassette processes started under ``run_id``."""
    found = []
    marker = f"FC_XDIST_TEST_RUN={run_id}".encode()
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            environ = Path(f"/proc/{pid}/environ").read_bytes()
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if marker in environ.split(b"\0") and b"fc_cassette" in cmdline and state != "Z":
            found.append(cmdline.replace(b"\0", b" ").decode(errors="replace"))
    return found


def assert_none_left(run_id: str) -> None:
    deadline = time.monotonic() + 60  # a killed worker's proxy sees the pipe close
    while alive_of(run_id) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert alive_of(run_id) == []


def test_a_suite_under_xdist_records_replays_reports_and_leaves_no_proxy(simulate, tmp_path):
    upstream, sim = simulate
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "xdhelp.py").write_text(HELPERS)
    (suite / "test_xd.py").write_text(SUITE)
    r, run_id = run_marked(suite, "-n", "2", "--fc-record-mode=once", f"--fc-upstream={upstream}")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "7 passed" in r.stdout
    assert_none_left(run_id)
    assert sim.stop() == 0  # offline from here on

    # replayed: the shared cassette's retrieve is left unused
    (suite / "test_xd.py").write_text(
        SUITE.replace(
            'create_and_retrieve(fc_proxy, "cus_fakeShared")',
            'create_only(fc_proxy, "cus_fakeShared")',
        ).replace("import create_and_retrieve", "import create_and_retrieve, create_only")
    )
    r, run_id = run_marked(suite, "-n", "2")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "7 passed" in r.stdout
    # the summary comes through xdist's channel: one proxy per worker that ran a test
    assert "fc-cassette: 2 proxy process(es) started" in r.stdout, r.stdout
    assert "shared.yaml: interactions no test used: 2" in r.stdout, r.stdout
    assert_none_left(run_id)

    # a worker killed in the middle of a test: xdist reports it; its proxy exits too
    (suite / "test_xd.py").unlink()
    (suite / "test_crash.py").write_text(CRASH)
    r, run_id = run_marked(suite, "-n", "2")
    assert r.returncode != 0, r.stdout + r.stderr
    assert "crashed" in r.stdout + r.stderr
    assert_none_left(run_id)

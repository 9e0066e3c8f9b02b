"""End to end: acknowledged => durable, or the client is told. A real ``fc-cassette
record`` process in front of ``fc-cassette simulate``, real stripe-python clients, and
real write failures: a full filesystem (a 200 KiB tmpfs), a file-size limit on the
recorder (RLIMIT_FSIZE: EFBIG, no mount needed), a deleted cassette, hard links and a
read-only folder."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import threading
from pathlib import Path

import pytest
import requests
import stripe

from fc_cassette.cassette import store as cio
from support import FC, dead_url, run_fc, start, wait_listening

KEY = "sk_test_" + "fakeDurableE2EKey0123456789"
CREATE = {
    "account_holder": {"type": "customer", "customer": "cus_fakeDur1"},
    "permissions": ["balances", "ownership", "payment_method"],
    "prefetch": ["balances"],
    "filters": {"countries": ["US"]},
    "return_url": "https://example.test/return",
}


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    stack = start(["simulate", "--seed", "3"], tmp_path_factory.mktemp("sim"), "sim")
    yield stack
    assert stack.proc.stop() == 0


def mount_tmpfs(where: Path, size: str) -> None:
    where.mkdir(exist_ok=True)
    r = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
        capture_output=True,
        text=True,
    )
    if r.returncode:
        pytest.skip(
            f"cannot mount a tmpfs here ({r.stderr.strip() or r.returncode}); "
            "test_a_file_size_limit_* covers a real failed write without mount"
        )


@pytest.fixture
def small_fs(tmp_path):
    fs = tmp_path / "fs"
    mount_tmpfs(fs, "200k")
    yield fs
    subprocess.run(["umount", "-l", str(fs)], capture_output=True)


def hammer(client: stripe.StripeClient, total: int, threads: int = 4):
    """``total`` creates from ``threads`` threads: [(session id | None, error | None)]."""
    results, lock = [], threading.Lock()
    left = iter(range(total))

    def work():
        while True:
            with lock:
                if next(left, None) is None:
                    return
            try:
                got = (client.v1.financial_connections.sessions.create(params=CREATE).id, None)
            except stripe.StripeError as e:
                got = (None, e)
            with lock:
                results.append(got)

    pool = [threading.Thread(target=work) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(120)
    return results


def assert_acknowledged_is_durable(results, cassette: Path, log: str, extra: int = 0) -> None:
    """``extra``: more withheld responses than ``results`` shows (other clients')."""
    ok = [sid for sid, _ in results if sid]
    failed = [e for sid, e in results if not sid]
    assert ok and failed, (len(ok), len(failed))  # the disk filled up during the run
    for e in failed:
        assert isinstance(e, stripe.APIError) and e.http_status == 500, repr(e)
        assert e.json_body["error"]["code"] == "fc_cassette_not_recorded"
        assert "could not record" in e.user_message and "already happened" in e.user_message
    recorded = [i["response"]["body"]["json"]["id"] for i in cio.load(cassette).interactions]
    assert sorted(recorded) == sorted(ok)  # every 2xx is on disk, and nothing else
    assert "Traceback" not in log
    n = len(failed) + extra
    assert (
        f"{n} in-scope exchange(s) not recorded ({n} response(s) "
        "withheld because they could not be recorded, 0 without a response): exit 1" in log
    )
    assert KEY not in log


def test_a_full_filesystem_never_acknowledges_a_lost_recording(sim, small_fs, tmp_path):
    cassette = small_fs / "fc.yaml"
    rec = start(["record", str(cassette), "--upstream", sim.base], tmp_path, "rec")
    results = hammer(rec.client(KEY), 160)
    # the error tells clients (whatever their SDK) not to retry: the effect happened
    r = requests.post(
        f"{rec.base}/v1/financial_connections/sessions",
        data={
            "account_holder[type]": "customer",
            "account_holder[customer]": "cus_fakeDur2",
            "permissions[]": "balances",
        },
        headers={"Authorization": f"Bearer {KEY}"},
        timeout=10,
    )
    assert r.status_code == 500 and r.headers["Stripe-Should-Retry"] == "false"
    assert rec.proc.stop() == 1  # like replay --strict: the run lost something
    log = rec.proc.output()
    assert_acknowledged_is_durable(results, cassette, log, extra=1)
    assert "No space left on device (ENOSPC)" in log


def _limit_file_size(limit: int):
    def preexec():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of a kill
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return preexec


def test_a_file_size_limit_never_acknowledges_a_lost_recording(sim, tmp_path):
    """The same guarantee without mount: the recorder may not write files past 96 KiB,
    so its cassette's appends fail with EFBIG (real writes, a real process)."""
    cassette = tmp_path / "fc.yaml"
    log_path = tmp_path / "rec.log"
    with open(log_path, "w") as out:
        proc = subprocess.Popen(
            [
                FC,
                "record",
                str(cassette),
                "--upstream",
                sim.base,
                "--port",
                "0",
                "--set",
                f"confdir={tmp_path / 'mitmconf'}",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            preexec_fn=_limit_file_size(96 << 10),
            start_new_session=True,
        )
    try:
        port = wait_listening(log_path, proc)
        client = stripe.StripeClient(
            KEY, base_addresses={"api": f"http://127.0.0.1:{port}"}, max_network_retries=2
        )  # must not retry the error
        results = hammer(client, 80)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(30) == 1
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
    log = log_path.read_text()
    assert_acknowledged_is_durable(results, cassette, log)
    assert "File too large (EFBIG)" in log


def test_a_cassette_deleted_while_recording_stops_acknowledging(sim, tmp_path):
    cassette = tmp_path / "fc.yaml"
    rec = start(["record", str(cassette), "--upstream", sim.base], tmp_path, "rec")
    sessions = rec.client(KEY).v1.financial_connections.sessions
    first = sessions.create(params=CREATE)
    cassette.unlink()
    for _ in range(2):
        with pytest.raises(stripe.APIError) as e:
            sessions.create(params=CREATE)
        assert e.value.http_status == 500 and "was deleted while recording" in str(e.value)
    assert rec.proc.stop() == 1
    log = rec.proc.output()
    assert log.count("nothing more is recorded into it") == 1
    assert not cassette.exists() and first.id


def test_two_recorders_on_hard_links_do_not_both_run(sim, tmp_path):
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    rec = start(["record", str(a), "--upstream", sim.base], tmp_path, "rec")
    rec.client(KEY).v1.financial_connections.sessions.create(params=CREATE)
    assert rec.proc.stop() == 0
    os.link(a, b)
    first = start(
        ["record", str(a), "--upstream", sim.base, "--record-mode", "new_episodes"],
        tmp_path,
        "first",
    )
    second = run_fc(
        [
            "record",
            str(b),
            "--upstream",
            sim.base,
            "--record-mode",
            "new_episodes",
            "--port",
            "0",
            "--set",
            f"confdir={tmp_path / 'mitmconf'}",
        ]
    )
    assert second.returncode == 1
    lines = second.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("fc-cassette:"), second.stderr
    assert f"{b}: being recorded by another fc-cassette" in lines[0] and "hard link" in lines[0]
    first.client(KEY).v1.financial_connections.sessions.retrieve(
        cio.load(a).interactions[0]["response"]["body"]["json"]["id"]
    )
    assert first.proc.stop() == 0
    assert len(cio.load(a).interactions) == 2


@pytest.fixture
def readonly_cassette(sim, tmp_path):
    """A cassette with one create, in a folder on a read-only filesystem (root ignores
    chmod 0555, so a tmpfs remounted read-only)."""
    fs = tmp_path / "ro"
    mount_tmpfs(fs, "1m")
    try:
        cassette = fs / "fc.yaml"
        rec = start(["record", str(cassette), "--upstream", sim.base], tmp_path, "rec")
        sid = rec.client(KEY).v1.financial_connections.sessions.create(params=CREATE).id
        assert rec.proc.stop() == 0
        r = subprocess.run(["mount", "-o", "remount,ro", str(fs)], capture_output=True, text=True)
        if r.returncode:
            pytest.skip(f"cannot remount the tmpfs read-only: {r.stderr.strip()}")
        yield cassette, sid
    finally:
        subprocess.run(["umount", "-l", str(fs)], capture_output=True)


@pytest.mark.parametrize("mode", ["once", "none"])
def test_a_mode_that_only_replays_works_in_a_read_only_folder(readonly_cassette, tmp_path, mode):
    cassette, sid = readonly_cassette
    before = cassette.read_bytes()
    dead = dead_url()  # nothing listens here (a port bound, then closed)
    rec = start(
        ["record", str(cassette), "--upstream", dead, "--record-mode", mode],
        tmp_path,
        f"rec-{mode}",
    )
    assert rec.client(KEY).v1.financial_connections.sessions.create(params=CREATE).id == sid
    assert rec.proc.stop() == 0
    assert cassette.read_bytes() == before
    assert "Traceback" not in rec.proc.output()


def test_a_mode_that_writes_refuses_a_read_only_folder_in_one_line(readonly_cassette, tmp_path):
    cassette, _ = readonly_cassette
    r = run_fc(
        [
            "record",
            str(cassette),
            "--record-mode",
            "new_episodes",
            "--port",
            "0",
            "--set",
            f"confdir={tmp_path / 'mitmconf'}",
        ]
    )
    assert r.returncode == 1
    assert r.stderr.strip() == (
        f"fc-cassette: {cassette}: cannot create the recording lock "
        f"{cassette.parent / '.fc.yaml.lock'}: Read-only file system"
    )

"""End to end (issue #26, items 6 and 7): the fix a miss prints works when copied.

A flow is recorded against a real simulator, which is then restarted (it forgets the
session it created). The flow grows a request naming that session: replay misses, and
the miss says to record the whole test again, with the simulator's URL as
``--upstream``. ``new_episodes`` would forward the new request alone and get a 404:
it refuses to keep that 404 (exit 1, cassette unchanged). The printed command, run as
printed (plus ``--port 0`` so the test can find it), records a cassette that then
replays the grown flow under ``--strict``.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import stripe

from fc_cassette.cassette import store as cio
from support import fc, run_pytest, start

KEY = "sk_test_" + "FakeMissHintKey0001"
CREATE = {
    "account_holder": {"type": "customer", "customer": "cus_FakeMissHint"},
    "permissions": ["balances"],
}


def create(client) -> str:
    return client.v1.financial_connections.sessions.create(params=CREATE).id


def grown(client) -> str:
    """The flow after the change: create, then retrieve the session created."""
    sid = create(client)
    return client.v1.financial_connections.sessions.retrieve(sid).id


def hint(message: str) -> str:
    """The CLI command a miss's "To fix" line prints (up to its pytest form)."""
    fix = message.split("To fix: ", 1)[1]
    return fix[fix.index("fc-cassette record") : fix.index(" (pytest: ")]


def test_the_printed_fix_records_a_cassette_that_replays(tmp_path: Path):
    sim = start(["simulate", "--seed", "5"], tmp_path, "sim1")
    cassette = tmp_path / "flow.yaml"
    rec = start(["record", str(cassette), "--upstream", sim.base], tmp_path, "rec1")
    create(rec.client(KEY))
    assert rec.proc.stop() == 0, rec.proc.output()
    port = sim.port
    assert sim.proc.stop() == 0
    sim2 = fc(["simulate", "--seed", "5"], tmp_path, "sim2", port=port)  # it forgot
    try:
        # replay: the new request misses; the fix names the id and the upstream
        rep = start(["replay", str(cassette)], tmp_path, "rep1")
        with pytest.raises(stripe.InvalidRequestError) as e:
            grown(rep.client(KEY))
        rep.proc.stop()
        message = e.value.user_message or str(e.value)
        assert "record the whole test again" in message, message
        cmd = hint(message)
        assert cmd == (
            f"fc-cassette record --record-mode all {cassette} --upstream http://127.0.0.1:{port}"
        ), message
        assert f"--fc-record-mode=all --fc-upstream http://127.0.0.1:{port}" in message

        # new_episodes forwards the retrieve alone: the simulator answers 404, which is
        # not kept (the client gets a 500 that says why; the run exits 1)
        before = cassette.read_bytes()
        epi = start(
            [
                "record",
                "--record-mode",
                "new_episodes",
                str(cassette),
                "--upstream",
                f"http://127.0.0.1:{port}",
            ],
            tmp_path,
            "epi",
        )
        with pytest.raises(stripe.APIError) as e2:
            grown(epi.client(KEY))
        assert "404" in str(e2.value) and "record the whole test again" in str(e2.value)
        assert epi.proc.stop() == 1, epi.proc.output()
        assert cassette.read_bytes() == before

        # the printed command, as printed (a free port added), then the grown flow
        argv = shlex.split(cmd)
        assert argv[0] == "fc-cassette"
        fixer = start(argv[1:], tmp_path, "fix")
        grown(fixer.client(KEY))
        assert fixer.proc.stop() == 0, fixer.proc.output()
        assert [it["request"]["method"] for it in cio.load(cassette).interactions] == [
            "POST",
            "GET",
        ]

        strict = start(["replay", str(cassette), "--strict"], tmp_path, "rep2")
        grown(strict.client("sk_test_" + "FakeOtherCiKey0002"))
        assert strict.proc.stop() == 0, strict.proc.output()
    finally:
        sim2.stop()


SUITE = """
import pytest

CREATE = {"account_holder": {"type": "customer", "customer": "cus_FakeMissHint"},
          "permissions": ["balances"]}


@pytest.mark.fc_cassette
def test_flow(fc_proxy):
    fc = fc_proxy.client("sk_test_" + "FakeMissHintKey0001").v1.financial_connections
    sid = fc.sessions.create(params=CREATE).id
    if GROWN:
        assert fc.sessions.retrieve(sid).id == sid
"""


def test_the_printed_pytest_options_fix_the_miss(tmp_path: Path):
    """The pytest form of the fix, copied as printed, against a restarted simulator."""
    suite = tmp_path / "suite"
    suite.mkdir()
    test = suite / "test_app.py"
    test.write_text("GROWN = False\n" + SUITE)
    sim = start(["simulate", "--seed", "6"], tmp_path, "sim1")
    port = sim.port
    r = run_pytest(suite, "--fc-record-mode=once", f"--fc-upstream={sim.base}")
    assert r.returncode == 0, r.stdout + r.stderr
    assert sim.proc.stop() == 0
    sim2 = fc(["simulate", "--seed", "6"], tmp_path, "sim2", port=port)
    try:
        test.write_text("GROWN = True\n" + SUITE)
        r = run_pytest(suite)  # replay: the retrieve misses
        out = r.stdout + r.stderr
        assert r.returncode == 1, out
        options = re.search(r"\(pytest: (--fc-record-mode=all --fc-upstream \S+?)\)", out)
        assert options, out
        assert options.group(1) == f"--fc-record-mode=all --fc-upstream http://127.0.0.1:{port}"
        r = run_pytest(suite, *shlex.split(options.group(1)))  # as printed
        assert r.returncode == 0, r.stdout + r.stderr
        r = run_pytest(suite)  # replay, offline
        assert r.returncode == 0, r.stdout + r.stderr
    finally:
        sim2.stop()

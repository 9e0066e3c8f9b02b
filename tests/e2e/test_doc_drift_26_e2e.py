"""Issue #26, item 16: what the tool and its docs say matches what it does."""

from __future__ import annotations

from pathlib import Path

from fc_cassette.mitm import record
from support import ROOT, run_fc, start

DOCS = Path(ROOT) / "docs"


def test_help_says_stripe_not_fc_sessions_only():
    for argv in (["--help"], ["record", "--help"]):
        out = run_fc(argv).stdout
        assert "FC Session traffic" not in out and "Stripe" in out, out


def test_replay_does_not_claim_an_upstream(tmp_path):
    rep = start(["replay", str(ROOT / "cassettes" / "fc_sessions.yaml")], tmp_path, "rep")
    assert rep.proc.stop() == 0
    out = rep.proc.output()
    assert "reverse proxy to" not in out, out
    assert "fc-cassette replay (offline: no upstream connection) listening at 127.0.0.1:" in out


def test_the_live_key_hint_works_inside_pytest():
    class Flow:
        response = None

    flow = Flow()
    record._refuse_live(flow)  # type: ignore[arg-type]
    text = flow.response.get_text()
    assert "fc_cassette_config" in text and "--set does not apply" in text


def test_the_pages_say_what_the_tool_does():
    simulator = (DOCS / "simulator.md").read_text()
    assert "Until the default record scope covers every Stripe path" not in simulator
    assert "The default scope covers every path" in simulator
    forward = (DOCS / "forward-mode.md").read_text()
    assert "NODE_EXTRA_CA_CERTS" in forward and "httpAgent" in forward
    pytest_page = (DOCS / "pytest.md").read_text()
    assert "with its `test` extra for the stripe SDK" not in pytest_page
    assert '"fc-cassette[sdk]"' in pytest_page

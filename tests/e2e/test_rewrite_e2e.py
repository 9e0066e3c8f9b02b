"""Record mode ``rewrite`` (issue #24), end to end: real ``fc-cassette record`` and real
pytest runs in front of ``fc-cassette simulate``, the real stripe SDK. The cassette is
replaced by what the run records, never appended to; one the run records nothing into
is removed."""

from __future__ import annotations

import textwrap

import pytest

from fc_cassette.cassette import store as cio
from support import run_pytest, start

KEY = "sk_test_" + "fakeRewriteKey0123456789"


def create(customer: str) -> dict:
    return {
        "account_holder": {"type": "customer", "customer": customer},
        "permissions": ["balances"],
    }


def customers(cassette) -> list[str]:
    return [
        i["request"]["body"]["form"]["account_holder"]["customer"]
        for i in cio.load(cassette).interactions
    ]


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    stack = start(["simulate", "--seed", "9"], tmp_path_factory.mktemp("sim"), "sim")
    yield stack
    assert stack.proc.stop() == 0


def record(cassette, sim, tmp_path, name: str, mode: str, *names: str) -> None:
    rec = start(
        ["record", str(cassette), "--upstream", sim.base, "--record-mode", mode], tmp_path, name
    )
    for customer in names:
        rec.client(KEY).v1.financial_connections.sessions.create(params=create(customer))
    assert rec.proc.stop() == 0, rec.proc.output()


def test_the_cli_rewrite_replaces_never_appends(sim, tmp_path):
    cassette = tmp_path / "flow.yaml"
    record(cassette, sim, tmp_path, "first", "once", "cus_fakeOld1", "cus_fakeOld2")
    assert customers(cassette) == ["cus_fakeOld1", "cus_fakeOld2"]
    record(cassette, sim, tmp_path, "rewrite1", "rewrite", "cus_fakeNew1")
    assert customers(cassette) == ["cus_fakeNew1"]
    assert [i["seq"] for i in cio.load(cassette).interactions] == [1]
    record(cassette, sim, tmp_path, "rewrite2", "rewrite", "cus_fakeNew2")
    assert customers(cassette) == ["cus_fakeNew2"]  # not appended to the last run's
    record(cassette, sim, tmp_path, "rewrite3", "rewrite")  # records nothing
    assert not cassette.exists()


SUITE = """
import pytest

KEY = "sk_test_" + "fakeRewriteKey0123456789"


@pytest.mark.fc_cassette("cassettes/by_option.yaml")
def test_by_option(fc_proxy):
    fc_proxy.client(KEY).v1.financial_connections.sessions.create(params={
        "account_holder": {"type": "customer", "customer": "cus_fakeOption1"},
        "permissions": ["balances"]})


@pytest.mark.fc_cassette("cassettes/by_marker.yaml", record_mode="rewrite")
def test_by_marker(fc_proxy):
    fc_proxy.client(KEY).v1.financial_connections.sessions.create(params={
        "account_holder": {"type": "customer", "customer": "cus_fakeMarker1"},
        "permissions": ["balances"]})
"""


def ids(cassette) -> list[str]:
    """The recorded session ids: the simulator makes a new one per create, so a new id
    means recorded again, the same id replayed (or kept)."""
    return [i["response"]["body"]["json"]["id"] for i in cio.load(cassette).interactions]


def test_pytest_rewrite_by_option_and_by_marker(sim, tmp_path):
    (tmp_path / "test_app.py").write_text(textwrap.dedent(SUITE))
    by_option, by_marker = (
        tmp_path / "cassettes" / "by_option.yaml",
        tmp_path / "cassettes" / "by_marker.yaml",
    )
    r = run_pytest(tmp_path, "--fc-record-mode=new_episodes", f"--fc-upstream={sim.base}")
    assert r.returncode == 0, r.stdout + r.stderr
    before = ids(by_option), ids(by_marker)
    # the marker's rewrite wins over the option; new_episodes replays its recording
    r = run_pytest(tmp_path, "--fc-record-mode=new_episodes", f"--fc-upstream={sim.base}")
    assert r.returncode == 0, r.stdout + r.stderr
    assert ids(by_option) == before[0]  # replayed, not recorded again
    assert len(ids(by_marker)) == 1 and ids(by_marker) != before[1]  # replaced
    before = ids(by_option), ids(by_marker)
    r = run_pytest(tmp_path, "--fc-record-mode=rewrite", f"--fc-upstream={sim.base}")
    assert r.returncode == 0, r.stdout + r.stderr
    for cassette, old in zip((by_option, by_marker), before, strict=True):
        assert len(ids(cassette)) == 1 and ids(cassette) != old  # replaced, once
    assert customers(by_option) == ["cus_fakeOption1"]
    assert customers(by_marker) == ["cus_fakeMarker1"]

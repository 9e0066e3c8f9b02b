"""``fc_cassette.proxy(...)``: a cassette from Python outside pytest, with real processes:
recorded from a real ``fc-cassette simulate``, then replayed offline."""

from __future__ import annotations

import re

import pytest
import stripe

import fc_cassette
from fc_cassette.cassette import store as cio

KEY = "sk_test_" + "fakeApiKey0123456789abc"
CREATE = {
    "account_holder": {"type": "customer", "customer": "cus_fakeApi1"},
    "permissions": ["balances", "payment_method"],
}


@pytest.fixture
def recorded(tmp_path, simulate):
    """A cassette recorded through the API from the simulator, which is then stopped:
    everything after this replays offline."""
    url, sim = simulate
    cassette = tmp_path / "cassettes" / "c.yaml"
    with fc_cassette.proxy(cassette, record_mode="once", upstream=url) as p:
        assert p.recording is True and p.proxy_url is None
        sessions = p.client(KEY).v1.financial_connections.sessions
        created = sessions.create(params=CREATE)
        assert sessions.retrieve(created.id).id == created.id
        process = p.process
    assert process.poll() is not None  # leaving the block stopped the proxy
    sim.stop()
    return cassette, created.id


def test_record_from_the_simulator_then_replay_offline(recorded):
    cassette, session_id = recorded
    assert [it["request"]["method"] for it in cio.load(cassette).interactions] == ["POST", "GET"]
    with fc_cassette.proxy(cassette) as p:  # record_mode="none": replay only
        assert p.recording is False and p.proxy_url == p.url
        assert p.ca_bundle.is_file()
        sessions = p.client(KEY).v1.financial_connections.sessions
        assert sessions.create(params=CREATE).id == session_id
        assert sessions.retrieve(session_id).id == session_id
        assert p.misses == [] and p.status()["served"] == 2
        process = p.process
    assert process.poll() is not None


def test_a_miss_raises_replay_misses_on_exit_with_its_explanation(recorded):
    cassette, _ = recorded
    with pytest.raises(fc_cassette.ReplayMisses) as info:
        with fc_cassette.proxy(cassette) as p:
            changed = {**CREATE, "permissions": ["balances"]}
            with pytest.raises(stripe.StripeError):
                p.client(KEY).v1.financial_connections.sessions.create(params=changed)
            process = p.process
    assert process.poll() is not None
    error = info.value
    assert len(error.misses) == 1 and "permissions" in error.misses[0]
    text = str(error)
    assert text.startswith(f"fc-cassette: 1 replay miss(es) against {cassette}:")
    # the explanation's "To fix:" continuation is indented under its "  - " line
    assert re.search(r"\n  - .*permissions.*\n    To fix: ", text), text


def test_strict_false_keeps_the_misses_for_the_caller(recorded):
    cassette, _ = recorded
    with fc_cassette.proxy(cassette, strict=False) as p:
        with pytest.raises(stripe.StripeError):
            p.client(KEY).v1.financial_connections.sessions.retrieve("fcsess_nope")
    assert len(p.misses) == 1 and "fcsess_nope" in p.misses[0]  # kept after the exit
    assert p.status() is None  # the proxy is gone


def test_the_blocks_own_error_wins_and_carries_the_misses(recorded):
    cassette, _ = recorded
    with pytest.raises(KeyError) as info:
        with fc_cassette.proxy(cassette) as p:
            with pytest.raises(stripe.StripeError):
                p.client(KEY).v1.financial_connections.sessions.retrieve("fcsess_nope")
            raise KeyError("the block's own error")
    assert any("replay miss(es)" in n for n in info.value.__notes__)


def test_a_config_dict_changes_matching(recorded):
    cassette, session_id = recorded
    changed = {**CREATE, "return_url": "https://example.test/back"}
    config = {"matching": {"ignore_params": ["return_url"]}}
    with fc_cassette.proxy(cassette, config=config) as p:
        got = p.client(KEY).v1.financial_connections.sessions.create(params=changed)
        assert got.id == session_id


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (
            {"record_mode": "once", "upstream": "127.0.0.1:12111"},
            "fc-cassette: upstream= '127.0.0.1:12111': a scheme is required: use "
            "http://HOST[:PORT] or https://HOST[:PORT], e.g. http://127.0.0.1:12111",
        ),
        (
            {"record_mode": "sometimes"},
            "fc-cassette: record_mode='sometimes': must be one of none, once, new_episodes, all, "
            "rewrite, not 'sometimes'",
        ),
    ],
)
def test_bad_arguments_are_one_fc_cassette_line(tmp_path, kwargs, message):
    with pytest.raises(ValueError) as info:
        fc_cassette.proxy(tmp_path / "c.yaml", **kwargs)
    assert str(info.value) == message


def test_replaying_a_missing_cassette_says_how_to_record_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="record_mode='once'"):
        fc_cassette.proxy(tmp_path / "nope.yaml")
    assert not list(tmp_path.iterdir())


def test_a_proxy_that_dies_in_the_block_is_an_error_not_a_pass(recorded):
    import signal

    cassette, _ = recorded
    with pytest.raises(fc_cassette.ProxyError, match="exited during the block"):
        with fc_cassette.proxy(cassette) as p:
            p.process.send_signal(signal.SIGKILL)
            p.process.wait(10)

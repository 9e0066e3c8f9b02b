"""Issue #22 through the pytest plugin and the Python API: a suite records its webhook
events through ``fc_proxy.webhook_url`` (ini ``fc_webhooks_to``), then replays them to
another app signed with ``fc_webhook_secret``; ``fc_proxy.wait_for_webhooks`` waits for
them. ``fc_cassette.proxy(..., webhooks_to=...)`` does the same outside pytest."""

from __future__ import annotations

import json
import textwrap

import pytest
import stripe

import fc_cassette
from fc_cassette.cassette import store as cio
from support import run_pytest, start
from webhook_app import App

SECRET = "whsec_FakePytestReplay"
SUITE = """
import pytest
import requests

KEY = "sk_test_FakePytestHooks123"
ACC = "financial_connections.account."


@pytest.fixture
def fc_cassette_config():
    return {"matching": {"ignore_params": ["url"]}}  # the ingress URL's port changes


@pytest.mark.fc_cassette("cassettes/hooks.yaml")
def test_events_reach_the_app(fc_proxy):
    client = fc_proxy.client(KEY)
    client.v1.webhook_endpoints.create(params={"url": fc_proxy.webhook_url,
                                               "enabled_events": ["*"]})
    session = client.v1.financial_connections.sessions.create(params={
        "account_holder": {"type": "customer", "customer": "cus_FakePytest"},
        "permissions": ["balances"]})
    linked = requests.post(
        f"{fc_proxy.url}/_simulator/financial_connections/sessions/{session.id}/complete",
        data={"accounts": "1"}, headers={"Authorization": f"Bearer {KEY}"}, timeout=60).json()
    client.v1.financial_connections.accounts.refresh(linked["accounts"]["data"][0]["id"],
                                                     params={"features": ["balance"]})
    got = fc_proxy.wait_for_webhooks(2, timeout=60)
    assert [d["type"] for d in got] == [ACC + "created", ACC + "refreshed_balance"], got
    assert all(d["delivered"] for d in got), got
"""


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("pyhooks")
    (tmp / "sim").mkdir()
    (tmp / "test_hooks.py").write_text(textwrap.dedent(SUITE))
    sim = start(["simulate", "--seed", "5"], tmp / "sim", "sim")
    with App() as first, App() as second:
        recorded = run_pytest(
            tmp,
            "--fc-record-mode=once",
            f"--fc-upstream={sim.base}",
            "-o",
            f"fc_webhooks_to={first.url}",
        )
        sim.proc.stop()
        replayed = run_pytest(
            tmp, "-o", f"fc_webhooks_to={second.url}", "-o", f"fc_webhook_secret={SECRET}"
        )
        yield {
            "tmp": tmp,
            "recorded": recorded,
            "replayed": replayed,
            "first": list(first.received),
            "second": list(second.received),
        }


def test_the_suite_records_its_webhooks(runs):
    assert runs["recorded"].returncode == 0, runs["recorded"].stdout + runs["recorded"].stderr
    hooks = cio.load(runs["tmp"] / "cassettes" / "hooks.yaml").webhooks
    assert [d["webhook"]["id"] for d in hooks] == [json.loads(r.body)["id"] for r in runs["first"]]


def test_the_suite_replays_them_offline_signed_with_its_secret(runs):
    assert runs["replayed"].returncode == 0, runs["replayed"].stdout + runs["replayed"].stderr
    ids = [
        stripe.Webhook.construct_event(r.body, r.headers["Stripe-Signature"], SECRET).id
        for r in runs["second"]
    ]
    assert ids == [json.loads(r.body)["id"] for r in runs["first"]] and len(ids) == 2


def test_the_python_api_replays_webhooks_too(runs):
    first = [json.loads(r.body)["id"] for r in runs["first"]]
    with App() as app:
        with fc_cassette.proxy(
            runs["tmp"] / "cassettes" / "hooks.yaml",
            config={"matching": {"ignore_params": ["url"]}},
            webhooks_to=app.url,
        ) as p:
            client = p.client("sk_test_FakePytestHooks123")
            client.v1.webhook_endpoints.create(
                params={"url": p.webhook_url, "enabled_events": ["*"]}
            )
            assert p.wait_for_webhooks(0) == []  # nothing released before the completion
            session = client.v1.financial_connections.sessions.create(
                params={
                    "account_holder": {"type": "customer", "customer": "cus_FakePytest"},
                    "permissions": ["balances"],
                }
            )
            import requests

            linked = requests.post(
                f"{p.url}/_simulator/financial_connections/sessions/{session.id}/complete",
                data={"accounts": "1"},
                timeout=60,
                headers={"Authorization": "Bearer sk_test_FakePytestHooks123"},
            ).json()
            # the conversation as recorded: when each event went out depended on when the
            # simulator delivered it while recording (after the completion or after the
            # refresh), so the app makes the same calls and waits for both
            client.v1.financial_connections.accounts.refresh(
                linked["accounts"]["data"][0]["id"], params={"features": ["balance"]}
            )
            got = p.wait_for_webhooks(2)
            assert [d["event"] for d in got] == first and all(d["delivered"] for d in got)
        assert [json.loads(r.body)["id"] for r in app.received] == first

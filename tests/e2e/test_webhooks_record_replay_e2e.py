"""Issue #22 end to end, record and replay: deliveries from a real ``fc-cassette
simulate`` reach the real app through ``record --webhooks-to`` (the ingress), land in the
cassette without any signing secret, and ``replay --strict --webhooks-to`` delivers the
same events again, in order, signed with another secret. Adversarial: a malformed or huge
body at the ingress, secrets inside event payloads, an app that is down or answers 500."""

from __future__ import annotations

import json
import socket

import pytest
import requests
import stripe

from fc_cassette.cassette import store as cio
from support import start
from webhook_app import App

KEY = "sk_test_FakeHooksRec123"
ACC = "financial_connections.account."
OTHER_SECRET = "whsec_FakeReplaySecret"
INGRESS = "/__fc_cassette__/webhooks"
CREATE = {
    "account_holder": {"type": "customer", "customer": "cus_FakeHooks"},
    "permissions": ["balances"],
}


def _post(base: str, body: bytes, ctype: str = "application/json") -> requests.Response:
    return requests.post(base + INGRESS, data=body, headers={"Content-Type": ctype}, timeout=60)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """simulate <- record --webhooks-to app; a webhook endpoint (created through the
    recording proxy) points the simulator at the ingress."""
    tmp = tmp_path_factory.mktemp("rec")
    (tmp / "sim").mkdir()
    app = App()
    sim = start(["simulate", "--seed", "4"], tmp / "sim", "sim")
    cassette = tmp / "hooks.yaml"
    rec = start(
        ["record", str(cassette), "--upstream", sim.base, "--webhooks-to", app.url], tmp, "rec"
    )
    try:
        client = rec.client(KEY)
        ep = client.v1.webhook_endpoints.create(
            params={"url": rec.base + INGRESS, "enabled_events": ["*"]}
        )
        session = client.v1.financial_connections.sessions.create(params=CREATE)
        linked = rec.complete(session.id, KEY, accounts=2)
        acc = linked["accounts"]["data"][0]["id"]
        # Deliveries are asynchronous (as Stripe's): the completion's two events are
        # waited for before the refresh, so that each lands after the interaction that
        # caused it whatever the machine's load (an app that refreshed at once could see
        # them after the refresh, and the cassette would say so).
        app.wait(2)
        client.v1.financial_connections.accounts.refresh(acc, params={"features": ["balance"]})
        got = app.wait(3)
        adversarial = _adversarial(rec.base)
        client.v1.events.list()  # the proxy still serves (and records) after all that
    finally:
        rec_out = rec.proc.output()
        rec_code = rec.proc.stop()
        sim.proc.stop()
        app.close()
    yield {
        "cassette": cassette,
        "got": got,
        "secret": ep.secret,
        "acc": acc,
        "session": session,
        "adversarial": adversarial,
        "rec_code": rec_code,
        "rec_out": rec_out,
        "tmp": tmp,
        "ingress": rec.base + INGRESS,
    }


LEAKY_EVENT = {
    "id": "evt_FakeLeaky1",
    "object": "event",
    "api_version": None,
    "created": 1767225600,
    "livemode": False,
    "pending_webhooks": 1,
    "type": "payment_intent.created",
    "request": {"id": None, "idempotency_key": None},
    "data": {
        "object": {
            "id": "pi_FakePi1",
            "object": "payment_intent",
            "client_secret": "pi_FakePi1_secret_FakeLeakyClientSecret",
            "endpoint": {
                "id": "we_FakeWe1",
                "object": "webhook_endpoint",
                "secret": "whsec_FakeLeakyEndpointSecret",
            },
        }
    },
}


def _adversarial(base: str) -> dict[str, requests.Response]:
    return {
        "malformed": _post(base, b'{"object": "event", "id": '),
        "not_event": _post(base, b'{"object": "customer", "id": "cus_1"}'),
        "huge": _post(base, b'{"x": "' + b"a" * (3 << 20) + b'"}'),
        "form": _post(base, b"a=b", "application/x-www-form-urlencoded"),
        "get": requests.get(base + INGRESS, timeout=60),
        "leaky": requests.post(
            base + INGRESS,
            data=json.dumps(LEAKY_EVENT).encode(),
            headers={
                "Content-Type": "application/json",
                "Stripe-Signature": "t=1,v1=FakeSignatureHex",
            },
            timeout=60,
        ),
    }


def test_record_forwards_verbatim_and_answers_the_apps_status(recorded):
    got = recorded["got"]
    for r in got[:3]:  # the app verifies with the endpoint's secret: forwarded verbatim
        stripe.Webhook.construct_event(r.body, r.headers["Stripe-Signature"], recorded["secret"])
    types = [json.loads(r.body)["type"] for r in got[:3]]
    assert types == [ACC + "created", ACC + "created", ACC + "refreshed_balance"]
    assert recorded["rec_code"] == 0, recorded["rec_out"]


def test_the_cassette_holds_the_webhooks_in_place_and_no_secret(recorded):
    loaded = cio.load(recorded["cassette"])
    hooks = [d["webhook"] for d in loaded.webhooks]
    sent = [json.loads(r.body)["id"] for r in recorded["got"][:3]]
    assert [h["id"] for h in hooks][:3] == sent
    paths = {i["seq"]: i["request"]["path"] for i in loaded.interactions}
    assert paths[hooks[0]["after"]].endswith("/complete")
    assert paths[hooks[2]["after"]].endswith("/refresh")
    assert [h["app_status"] for h in hooks] == [200, 200, 200, 200]
    assert hooks[3]["id"] == "evt_FakeLeaky1"  # the event posted by hand (see below)
    text = recorded["cassette"].read_text()
    for secret in (
        recorded["secret"],
        "FakeLeakyClientSecret",
        "whsec_FakeLeakyEndpointSecret",
        "FakeSignatureHex",
        "Stripe-Signature",
        recorded["session"].client_secret,
    ):
        assert secret not in text, secret
    assert "v1=" not in text


def test_a_bad_body_at_the_ingress_is_a_clear_4xx_and_the_proxy_keeps_serving(recorded):
    adv = recorded["adversarial"]
    assert adv["malformed"].status_code == 400 and "not JSON" in adv["malformed"].text
    assert adv["not_event"].status_code == 400
    assert adv["huge"].status_code == 413
    assert adv["form"].status_code == 415
    assert adv["get"].status_code == 405
    assert adv["leaky"].status_code == 200  # forwarded to the app, recorded redacted
    paths = [i["request"]["path"] for i in cio.load(recorded["cassette"]).interactions]
    assert paths[-1] == "/v1/events"  # served after the adversarial deliveries


def _replay(recorded, tmp, app_url: str, *extra: str):
    return start(
        ["replay", str(recorded["cassette"]), "--strict", "--webhooks-to", app_url, *extra],
        tmp,
        "rep",
    )


def _short_retries(tmp, waits: int) -> str:
    """A config with ``waits`` waits of 0.1 s between delivery attempts (the default:
    0.5, 1, 2 and 4 s, five attempts in 7.5 s per event)."""
    path = tmp / "short-retries.yaml"
    path.write_text(f"webhooks:\n  retry_after_s: {[0.1] * waits}\n")
    return str(path)


def _drive(stack, recorded) -> None:
    client = stack.client("sk_test_FakeAnotherKey")
    client.v1.webhook_endpoints.create(params={"url": recorded["ingress"], "enabled_events": ["*"]})
    session = client.v1.financial_connections.sessions.create(params=CREATE)
    stack.complete(session.id, "sk_test_FakeAnotherKey", accounts=2)
    client.v1.financial_connections.accounts.refresh(
        recorded["acc"], params={"features": ["balance"]}
    )
    client.v1.events.list()


@pytest.fixture(scope="module")
def app_down(recorded, tmp_path_factory):
    """``replay --strict`` with nothing listening at ``--webhooks-to``, driven at once:
    each of its four events is tried five times (four waits of 0.1 s: the config's
    ``webhooks.retry_after_s``; by default 7.5 s per event, one event at a time), and the
    replay tests before the one that checks it (the last of this file) request it too,
    so that its waits go by while they run."""
    # a port bound and never listened on, held for the whole module: a connection to it
    # is refused, and no App started meanwhile can be given it (a closed port could be)
    hold = socket.socket()
    hold.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{hold.getsockname()[1]}"
    try:
        tmp = tmp_path_factory.mktemp("down")
        stack = _replay(recorded, tmp, url, "--config", _short_retries(tmp, 4))
        _drive(stack, recorded)
        yield stack
        stack.proc.stop(timeout=180)  # nothing to do once the test stopped it
    finally:
        hold.close()


@pytest.mark.usefixtures("app_down")  # its retries go by meanwhile
def test_replay_strict_delivers_the_same_events_in_order_signed_again(recorded, tmp_path):
    with App() as app:
        stack = _replay(recorded, tmp_path, app.url, "--webhook-secret", OTHER_SECRET)
        _drive(stack, recorded)
        got = app.wait(4)
        status = requests.get(stack.base + "/__fc_cassette__/status", timeout=60).json()
        code = stack.proc.stop()
    assert code == 0, stack.proc.output()
    events = [
        stripe.Webhook.construct_event(r.body, r.headers["Stripe-Signature"], OTHER_SECRET)
        for r in got
    ]
    recorded_ids = [d["webhook"]["id"] for d in cio.load(recorded["cassette"]).webhooks]
    assert [e.id for e in events] == recorded_ids
    assert [e.type for e in events][:3] == [
        ACC + "created",
        ACC + "created",
        ACC + "refreshed_balance",
    ]
    assert [(d["event"], d["status"], d["attempts"]) for d in status["webhooks"]["deliveries"]] == [
        (i, 200, 1) for i in recorded_ids
    ]
    assert status["webhooks"]["undelivered"] == []
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(
            got[0].body, got[0].headers["Stripe-Signature"], recorded["secret"]
        )


@pytest.mark.usefixtures("app_down")  # its retries go by meanwhile
def test_replay_strict_fails_when_the_app_answers_500_with_bounded_retries(recorded, tmp_path):
    hooks = [d["webhook"] for d in cio.load(recorded["cassette"]).webhooks]
    freed = [h["id"] for h in hooks if h["after"] <= 3]  # by the completion (#3)
    assert freed
    with App(statuses=[500] * 100) as app:
        stack = _replay(recorded, tmp_path, app.url, "--config", _short_retries(tmp_path, 2))
        client = stack.client("sk_test_FakeAnotherKey")
        client.v1.webhook_endpoints.create(
            params={"url": recorded["ingress"], "enabled_events": ["*"]}
        )
        session = client.v1.financial_connections.sessions.create(params=CREATE)
        stack.complete(session.id, "sk_test_FakeAnotherKey", accounts=2)
        app.wait(3 * len(freed))  # three attempts each: the config's two waits
        status = requests.get(stack.base + "/__fc_cassette__/status", timeout=60).json()
        code = stack.proc.stop(timeout=120)
        out = stack.proc.output()
    assert code == 1, out
    assert len(app.received) == 3 * len(freed)  # bounded: 3 attempts, then given up
    got = status["webhooks"]
    assert [d["event"] for d in got["deliveries"]] == freed
    assert all(
        (d["status"], d["attempts"], d["delivered"]) == (500, 3, False) for d in got["deliveries"]
    )
    assert [u["event"] for u in got["undelivered"]] == [h["id"] for h in hooks[len(freed) :]]
    assert "NOT delivered after 3 attempt(s)" in out and "never delivered" in out
    assert len(cio.load(recorded["cassette"]).webhooks) == len(hooks)  # nothing lost


def test_record_with_an_app_that_fails_still_records_and_reports(tmp_path):
    cassette = tmp_path / "c.yaml"
    with App(statuses=[500]) as app:
        rec = start(
            ["record", str(cassette), "--upstream", "http://127.0.0.1:9", "--webhooks-to", app.url],
            tmp_path,
            "rec",
        )
        event = {**LEAKY_EVENT, "id": "evt_FakeFails1"}
        first = _post(rec.base, json.dumps(event).encode())
        again = _post(rec.base, json.dumps(event).encode())  # a sender's retry
        assert rec.proc.stop() == 0
    assert (first.status_code, again.status_code) == (500, 200)
    hooks = [d["webhook"] for d in cio.load(cassette).webhooks]
    assert [(h["id"], h["app_status"], h["after"]) for h in hooks] == [("evt_FakeFails1", 500, 0)]


def test_record_without_webhooks_to_refuses_deliveries(tmp_path):
    rec = start(
        ["record", str(tmp_path / "c.yaml"), "--upstream", "http://127.0.0.1:9"], tmp_path, "rec"
    )
    r = _post(rec.base, json.dumps(LEAKY_EVENT).encode())
    assert rec.proc.stop() == 0
    assert r.status_code == 409 and "--webhooks-to" in r.text


def test_replay_strict_fails_when_the_app_is_down(app_down):
    code = app_down.proc.stop(timeout=180)
    out = app_down.proc.output()
    assert code == 1, out
    assert out.count("NOT delivered after") == 4 and "Connection refused" in out

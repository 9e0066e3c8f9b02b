"""Phase 1 of issue #22 in process: signing (against stripe-python), the simulator's
events and webhook endpoints, the scheduler's touch-first rule, determinism, and the
deliverer against a real loopback HTTP app."""

from __future__ import annotations

import json
import time

import pytest
import stripe

from fc_cassette.mitm.delivery import Deliverer
from fc_cassette.simulator import Simulator, Target
from fc_cassette.stripe_api import models as m, signing
from webhook_app import App

KEY = "sk_test_FakeHooksKey123"
SECRET = "whsec_FakeHooksSecret123"
FORM = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/x-www-form-urlencoded"}
CREATE = (
    b"account_holder[type]=customer&account_holder[customer]=cus_FakeHooks"
    b"&permissions[]=balances&permissions[]=ownership&permissions[]=transactions"
)
ACC = "financial_connections.account."


def call(
    sim: Simulator,
    method: str,
    path: str,
    body: bytes = b"",
    query: str = "",
    headers: dict | None = None,
) -> tuple[int, dict, dict]:
    r = sim.handle(method, path, query, {**FORM, **(headers or {})}, body)
    return r.status, json.loads(r.body), r.headers


def linked(sim: Simulator, n: int = 2) -> list[str]:
    _, session, _ = call(sim, "POST", "/v1/financial_connections/sessions", CREATE)
    status, done, _ = call(
        sim,
        "POST",
        f"/_simulator/financial_connections/sessions/{session['id']}/complete",
        f"accounts={n}".encode(),
    )
    assert status == 200
    return [a["id"] for a in done["accounts"]["data"]]


# ------------------------------------------------------------------------------ signing
def test_sign_is_what_stripe_python_verifies_and_builds():
    body = json.dumps({"id": "evt_1", "object": "event"}).encode()
    now = int(time.time())
    header = signing.sign(body, SECRET, now)
    assert header == stripe.WebhookSignature.generate_signature_header(
        body.decode(), SECRET, timestamp=now
    )
    event = stripe.Webhook.construct_event(body, header, SECRET)
    assert event.id == "evt_1"
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(body, header, "whsec_FakeWrong")
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(body.replace(b"evt_1", b"evt_2"), header, SECRET)
    assert signing.verify(body, header, SECRET, now) == now
    for bad in (body + b" ",):
        with pytest.raises(signing.SignatureError):
            signing.verify(bad, header, SECRET, now)
    with pytest.raises(signing.SignatureError):  # too old for the SDKs' tolerance
        signing.verify(body, signing.sign(body, SECRET, now - 1000), SECRET, now)
    with pytest.raises(signing.SignatureError):
        signing.parse("v1=abc")


# ------------------------------------------------------------------------------- events
def test_completion_emits_one_created_event_per_account_with_its_request():
    sim = Simulator(accept_unknown_customers=True, seed=3)
    _, session, _ = call(sim, "POST", "/v1/financial_connections/sessions", CREATE)
    _, done, hdrs = call(
        sim,
        "POST",
        f"/_simulator/financial_connections/sessions/{session['id']}/complete",
        b"accounts=3",
        headers={"Idempotency-Key": "fake-idem-1"},
    )
    created = [e for e in sim.events if e["type"] == ACC + "created"]
    assert [e["data"]["object"]["id"] for e in created] == [
        a["id"] for a in done["accounts"]["data"]
    ]
    for e in created:
        assert e["request"] == {"id": hdrs["Request-Id"], "idempotency_key": "fake-idem-1"}
        report = m.validate_event(e)
        assert report.valid and report.drift == [], report


def test_refresh_settles_by_itself_with_no_request():
    sim = Simulator(accept_unknown_customers=True, seed=3)
    acc = linked(sim)[0]
    _, pending, _ = call(
        sim,
        "POST",
        f"/v1/financial_connections/accounts/{acc}/refresh",
        b"features[]=balance&features[]=ownership",
    )
    assert pending["balance_refresh"]["status"] == "pending"
    before = len(sim.events)
    assert sim.next_due() is not None
    assert sim.run_due(now=sim.monotonic() - 10) == 0  # not due yet
    assert sim.run_due(now=sim.monotonic() + 60) == 1
    new = sim.events[before:]
    assert [e["type"] for e in new] == [ACC + "refreshed_balance", ACC + "refreshed_ownership"]
    assert all(e["request"] == {"id": None, "idempotency_key": None} for e in new)
    assert new[0]["data"]["object"]["balance_refresh"]["status"] == "succeeded"
    assert sim.next_due() is None


def test_a_request_that_touches_the_account_settles_it_first_and_once():
    sim = Simulator(accept_unknown_customers=True, seed=3)
    acc = linked(sim)[0]
    call(sim, "POST", f"/v1/financial_connections/accounts/{acc}/refresh", b"features[]=balance")
    _, now, _ = call(sim, "GET", f"/v1/financial_connections/accounts/{acc}")
    assert now["balance_refresh"]["status"] == "succeeded"
    assert [e["type"] for e in sim.events].count(ACC + "refreshed_balance") == 1
    assert sim.run_due(now=sim.monotonic() + 60) == 0  # the timer has nothing left
    assert [e["type"] for e in sim.events].count(ACC + "refreshed_balance") == 1


def _script(sim: Simulator, fire_timers: bool) -> list[bytes]:
    bodies = []
    acc = linked(sim)[0]
    for path, body in (
        (
            f"/v1/financial_connections/accounts/{acc}/refresh",
            b"features[]=transactions&features[]=balance",
        ),
        (f"/v1/financial_connections/accounts/{acc}", None),
        (f"/v1/financial_connections/accounts/{acc}/disconnect", b""),
    ):
        r = sim.handle("GET" if body is None else "POST", path, "", FORM, body or b"")
        bodies.append(r.body)
        if fire_timers:
            sim.run_due(now=sim.monotonic() + 60)
    return bodies


def test_same_seed_same_answers_and_events_whether_or_not_timers_fired():
    a, b = (
        Simulator(accept_unknown_customers=True, seed=9),
        Simulator(accept_unknown_customers=True, seed=9),
    )
    assert _script(a, fire_timers=True) == _script(b, fire_timers=False)
    assert json.dumps(a.events) == json.dumps(b.events)
    assert [e["type"] for e in a.events][-3:] == [
        ACC + "refreshed_balance",
        ACC + "refreshed_transactions",
        ACC + "disconnected",
    ]


def test_events_list_filters_and_pagination():
    sim = Simulator(accept_unknown_customers=True, seed=4)
    acc = linked(sim, 3)[0]
    call(sim, "POST", f"/v1/financial_connections/accounts/{acc}/disconnect")
    _, page, _ = call(sim, "GET", "/v1/events", query="limit=2")
    assert page["has_more"] is True and len(page["data"]) == 2
    assert page["data"][0]["type"] == ACC + "disconnected"  # newest first
    assert m.validate_object(m.EventList, page).valid
    _, rest, _ = call(sim, "GET", "/v1/events", query=f"starting_after={page['data'][1]['id']}")
    assert len(rest["data"]) == 2 and rest["has_more"] is False
    _, only, _ = call(sim, "GET", "/v1/events", query=f"type={ACC}created")
    assert len(only["data"]) == 3
    _, wild, _ = call(sim, "GET", "/v1/events", query=f"type={ACC}*")
    assert len(wild["data"]) == 4
    _, some, _ = call(sim, "GET", "/v1/events", query=f"types[]={ACC}disconnected")
    assert len(some["data"]) == 1
    _, late, _ = call(sim, "GET", "/v1/events", query=f"created[gt]={sim.events[0]['created']}")
    assert [e["type"] for e in late["data"]] == [ACC + "disconnected"]
    status, err, _ = call(sim, "GET", "/v1/events", query=f"type=x&types[]={ACC}created")
    assert status == 400
    status, err, _ = call(sim, "GET", "/v1/events/evt_FakeMissing")
    assert status == 404 and err["error"]["code"] == "resource_missing"
    status, one, _ = call(sim, "GET", f"/v1/events/{sim.events[0]['id']}")
    assert status == 200 and one == sim.events[0]
    status, err, _ = call(sim, "GET", "/v1/events", query="nope=1")
    assert status == 400 and err["error"]["code"] == "parameter_unknown"


def test_deactivate_and_reactivate_emit_events():
    sim = Simulator(accept_unknown_customers=True, seed=4)
    acc = linked(sim, 1)[0]
    base = f"/_simulator/financial_connections/accounts/{acc}/"
    status, obj, _ = call(sim, "POST", base + "deactivate")
    assert status == 200 and obj["status"] == "inactive"
    status, _, _ = call(
        sim, "POST", f"/v1/financial_connections/accounts/{acc}/refresh", b"features[]=balance"
    )
    assert status == 400  # an inactive account cannot be refreshed
    status, _, _ = call(sim, "POST", base + "deactivate")
    assert status == 400
    status, obj, _ = call(sim, "POST", base + "reactivate")
    assert status == 200 and obj["status"] == "active"
    kinds = [(e["type"], e["data"].get("previous_attributes")) for e in sim.events[-2:]]
    assert kinds == [
        (ACC + "deactivated", {"status": "active"}),
        (ACC + "reactivated", {"status": "inactive"}),
    ]
    assert all(m.validate_event(e).valid for e in sim.events)
    status, _, _ = call(sim, "POST", "/_simulator/financial_connections/accounts/fca_x/reactivate")
    assert status == 404


def test_validate_event_checks_the_account_and_reports_drift_inside_it():
    sim = Simulator(accept_unknown_customers=True, seed=4)
    linked(sim, 1)
    event = json.loads(json.dumps(sim.events[0]))
    event["data"]["object"]["new_field"] = 1
    event["brand_new"] = True
    report = m.validate_event(event)
    assert report.valid and report.drift == ["brand_new", "data.object.new_field"]
    event["data"]["object"]["status"] = 5
    report = m.validate_event(event)
    assert not report.valid and report.errors[0]["path"] == "data.object.status"
    assert not m.validate_event({"object": "event"}).valid
    assert not m.validate_event("nope").valid


# ---------------------------------------------------------------------- webhook endpoints
def test_webhook_endpoints_api_and_who_gets_what():
    sim = Simulator(
        accept_unknown_customers=True, seed=5, webhooks=[Target("http://127.0.0.1:9/cli", SECRET)]
    )
    status, ep, _ = call(
        sim,
        "POST",
        "/v1/webhook_endpoints",
        b"url=http://127.0.0.1:9/api&enabled_events[]=" + ACC.encode() + b"disconnected",
    )
    assert status == 200 and ep["secret"].startswith("whsec_")
    assert m.validate_webhook_endpoint(ep).as_dict() == {"valid": True, "errors": [], "drift": []}
    _, got, _ = call(sim, "GET", f"/v1/webhook_endpoints/{ep['id']}")
    assert "secret" not in got and got["url"] == ep["url"]
    _, listed, _ = call(sim, "GET", "/v1/webhook_endpoints")
    assert [e["id"] for e in listed["data"]] == [ep["id"]] and "secret" not in listed["data"][0]
    acc = linked(sim, 1)[0]
    call(sim, "POST", f"/v1/financial_connections/accounts/{acc}/disconnect")
    outs = [(o.target.url, o.event_type) for o in sim.take_deliveries()]
    assert outs == [
        ("http://127.0.0.1:9/cli", ACC + "created"),
        ("http://127.0.0.1:9/cli", ACC + "disconnected"),
        ("http://127.0.0.1:9/api", ACC + "disconnected"),
    ]
    assert sim.events[-1]["pending_webhooks"] == 2
    assert sim.take_deliveries() == []
    status, _, _ = call(sim, "POST", f"/v1/webhook_endpoints/{ep['id']}", b"disabled=true")
    assert status == 200
    status, gone, _ = call(sim, "DELETE", f"/v1/webhook_endpoints/{ep['id']}")
    assert gone == {"id": ep["id"], "object": "webhook_endpoint", "deleted": True}
    status, _, _ = call(sim, "GET", f"/v1/webhook_endpoints/{ep['id']}")
    assert status == 404
    for bad in (
        b"url=ftp://x&enabled_events[]=*",
        b"url=http://127.0.0.1:9/",
        b"enabled_events[]=*",
    ):
        status, err, _ = call(sim, "POST", "/v1/webhook_endpoints", bad)
        assert status == 400, err


def test_a_delivery_payload_is_the_event_and_secret_is_never_in_repr():
    sim = Simulator(
        accept_unknown_customers=True, seed=5, webhooks=[Target("http://127.0.0.1:9/cli", SECRET)]
    )
    linked(sim, 1)
    out = sim.take_deliveries()[0]
    assert json.loads(out.payload) == sim.events[0]
    assert SECRET not in repr(out)


# ------------------------------------------------------------------------------- delivery
def test_deliverer_signs_orders_and_retries_bounded():
    with App(statuses=[500, 500]) as app:
        d = Deliverer(backoff=(0.05, 0.05, 0.05))
        bodies = [json.dumps({"id": f"evt_{i}", "object": "event"}).encode() for i in range(3)]
        for i, body in enumerate(bodies):
            d.submit(app.url, SECRET, f"evt_{i}", "t", body)
        assert d.wait(3, timeout=60)
        got = app.accepted()
        assert [r.body for r in got] == bodies  # in order, the first after two 500s
        for r in got:
            assert r.headers["Content-Type"] == signing.CONTENT_TYPE
            assert r.headers["User-Agent"] == signing.USER_AGENT
            stripe.Webhook.construct_event(r.body, r.headers["Stripe-Signature"], SECRET)
        results = d.results()
        assert [(x["event"], x["attempts"], x["status"], x["delivered"]) for x in results] == [
            ("evt_0", 3, 200, True),
            ("evt_1", 1, 200, True),
            ("evt_2", 1, 200, True),
        ]
        d.close()


def test_deliverer_gives_up_on_an_app_that_is_down_or_always_fails():
    with App(statuses=[500] * 10) as app:
        dead = App()
        dead_url = dead.url
        dead.close()
        d = Deliverer(backoff=(0.05, 0.05))
        d.submit(app.url, SECRET, "evt_a", "t", b"{}")
        d.submit(dead_url, SECRET, "evt_b", "t", b"{}")
        assert d.wait(2, timeout=60)
        by_id = {x["event"]: x for x in d.results()}
        assert by_id["evt_a"]["attempts"] == 3 and by_id["evt_a"]["status"] == 500
        assert by_id["evt_a"]["delivered"] is False
        assert by_id["evt_b"]["attempts"] == 3 and by_id["evt_b"]["status"] is None
        assert by_id["evt_b"]["delivered"] is False and by_id["evt_b"]["error"]
        assert len(app.received) == 3  # bounded
        d.close()


# --------------------------------------------------------------------------------- config
def test_config_webhooks_are_checked_and_never_quoted(tmp_path):
    from fc_cassette.settings.config import ConfigError, load_settings

    good = tmp_path / "good.yaml"
    good.write_text(
        f"simulate:\n  webhooks:\n    - url: http://127.0.0.1:9/h\n      secret: {SECRET}\n"
    )
    hooks = load_settings(good).simulate.webhooks
    assert [(w.url, w.secret) for w in hooks] == [("http://127.0.0.1:9/h", SECRET)]
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "simulate:\n  webhooks:\n    - url: http://127.0.0.1:9/h\n"
        "      secret: sk_test_FakeNotAWebhookSecret\n"
    )
    with pytest.raises(ConfigError) as e:
        load_settings(bad)
    assert "whsec_" in str(e.value) and "sk_test_FakeNotAWebhookSecret" not in str(e.value)


# ------------------------------------------------------------------------ cassette format
WEBHOOK_DOC = (
    "---\nwebhook:\n  after: 1\n  id: evt_FakeDoc1\n  type: " + ACC + "created\n"
    "  app_status: 200\n  body:\n    json:\n      id: evt_FakeDoc1\n"
    "      object: event\n...\n"
)


def test_webhook_documents_load_beside_interactions_and_old_cassettes_still_load(tmp_path):
    from builders import write_cassette
    from fc_cassette.cassette import store as cio
    from fc_cassette.playback.state import Compactor
    from fc_cassette.settings.config import Settings

    path = tmp_path / "c.yaml"
    write_cassette(path, "fcsess_FakeOld", n=2)
    old = cio.load(path)
    assert len(old.interactions) == 2 and old.webhooks == []
    w = cio.Writer(path, existing=old, fsync=False)
    assert (
        w.append(
            {
                "webhook": {
                    "after": 2,
                    "id": "evt_FakeW",
                    "type": "x",
                    "app_status": None,
                    "body": {"json": {"id": "evt_FakeW"}},
                }
            },
            numbered=False,
        )
        == 2
    )
    w.close()
    with open(path, "a") as fh:
        fh.write(WEBHOOK_DOC)
    for loaded in (cio.load(path), cio.load(path, Compactor(Settings().matching))):
        assert len(loaded.interactions) == 2
        assert [d["webhook"]["id"] for d in loaded.webhooks] == ["evt_FakeW", "evt_FakeDoc1"]


@pytest.mark.parametrize(
    "doc, words",
    [
        (WEBHOOK_DOC.replace("after: 1", "after: '1'"), "webhook 2: webhook.after"),
        (WEBHOOK_DOC.replace("    json:\n", "    text: x\n    jsonx:\n"), "webhook 2"),
        (WEBHOOK_DOC.replace("  id: evt_FakeDoc1\n", ""), "webhook.id"),
    ],
)
def test_a_bad_webhook_document_is_one_line_with_its_place(tmp_path, doc, words):
    from builders import write_cassette
    from fc_cassette.cassette import store as cio

    path = tmp_path / "c.yaml"
    write_cassette(path, "fcsess_FakeOld", n=1)
    with open(path, "a") as fh:
        fh.write(doc)
    with pytest.raises(cio.CassetteError) as e:
        cio.load(path)
    assert words in str(e.value) and "\n" not in str(e.value)

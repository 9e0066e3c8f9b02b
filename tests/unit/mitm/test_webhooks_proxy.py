"""The proxy side of issue #22 in process: the ingress's checks of a delivery, and
replay's release order (an event after the interaction it followed, never before the
events recorded ahead of it)."""

from __future__ import annotations

import json

import pytest
from mitmproxy.test import tutils

from fc_cassette.mitm.webhooks_ingress import MAX_EVENT_BYTES, Refused, parse_event
from fc_cassette.mitm.webhooks_replay import Pending

EVENT = {
    "id": "evt_FakeUnit1",
    "object": "event",
    "type": "financial_connections.account.created",
    "data": {"object": {}},
}


def _request(body: bytes, method: str = "POST", ctype: str = "application/json; charset=utf-8"):
    req = tutils.treq(method=method.encode(), path=b"/__fc_cassette__/webhooks", content=body)
    req.headers["Content-Type"] = ctype
    return req


def test_parse_event_takes_a_stripe_event_only():
    assert parse_event(_request(json.dumps(EVENT).encode()))["id"] == "evt_FakeUnit1"
    cases = [
        (_request(b"{}", method="GET"), 405),
        (_request(b"a=b", ctype="application/x-www-form-urlencoded"), 415),
        (_request(b"x" * (MAX_EVENT_BYTES + 1)), 413),
        (_request(b"{not json"), 400),
        (_request(b"\xff\xfe"), 400),
        (_request(b"[1, 2]"), 400),
        (_request(json.dumps({**EVENT, "object": "customer"}).encode()), 400),
        (_request(json.dumps({**EVENT, "id": ""}).encode()), 400),
        (_request(json.dumps({**EVENT, "type": 5}).encode()), 400),
    ]
    for req, status in cases:
        with pytest.raises(Refused) as e:
            parse_event(req)
        assert e.value.status == status


def _doc(i: int, after: int) -> dict:
    return {
        "webhook": {
            "after": after,
            "id": f"evt_{i}",
            "type": "t",
            "app_status": 200,
            "body": {"json": {"id": f"evt_{i}"}},
        }
    }


def test_pending_releases_in_recorded_order_after_the_interaction_followed():
    p = Pending([_doc(1, 0), _doc(2, 2), _doc(3, 1), _doc(4, 3)])
    assert [w["id"] for w in p.release(None)] == ["evt_1"]  # after: 0, with the first answer
    assert p.release(1) == []  # evt_3 follows #1 but evt_2 (recorded first) waits for #2
    assert [w["id"] for w in p.release(2)] == ["evt_2", "evt_3"]
    assert p.failures() == 1 and p.status()["undelivered"] == [
        {"event": "evt_4", "type": "t", "after": 3}
    ]
    p.rewind()
    assert [w["id"] for w in p.release(3)] == ["evt_1"] and p.next == 1


def test_inspect_judges_a_webhook_delivery_passing_through():
    from fc_cassette.mitm.inspector import describe, judge

    event = {
        **EVENT,
        "api_version": None,
        "created": 1,
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "new_field": 1,
    }
    request = {
        "method": "POST",
        "path": "/webhooks",
        "query": {},
        "headers": {},
        "body": {"json": event},
    }
    response = {"status": 200, "headers": {}, "body": None}
    rep = judge(request, response)
    assert rep["event"]["valid"] is False  # data.object {} is not an account
    assert rep["event"]["errors"][0]["path"].startswith("data.object")
    assert rep["event"]["drift"] == ["new_field"]
    assert "event financial_connections.account.created ✗ drift: new_field" in describe(rep)
    assert "event" not in judge({**request, "body": {"json": {"object": "customer"}}}, response)

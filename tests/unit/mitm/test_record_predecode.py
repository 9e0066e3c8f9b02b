"""Record decodes a forwarded request while the upstream answers (off the response's
critical path); the response hook uses that decoding only while the request is
exactly what was decoded, and the entry is the same either way."""

from __future__ import annotations

import asyncio
import types

from mitmproxy import http
from mitmproxy.test import tflow

from fc_cassette.exchange import interaction
from fc_cassette.mitm.record import PRE_DECODED, _decode_while_forwarded, _request_record
from fc_cassette.settings.config import Settings

FORM = b"account_holder[type]=customer&account_holder[customer]=cus_1&permissions[0]=balances"


def _flow(body: bytes = FORM) -> http.HTTPFlow:
    req = http.Request.make(
        "POST",
        "https://api.stripe.com/v1/financial_connections/sessions",
        body,
        {
            "Content-Type": "application/x-www-form-urlencoded",
            "Authorization": "Bearer sk_test_fakePredecodeKey0123456789",
        },
    )
    f = tflow.tflow(req=req)
    f.response = None
    return f


def _active():
    return types.SimpleNamespace(settings=Settings())


def _decode_on_a_loop(flow: http.HTTPFlow) -> None:
    async def main():
        _decode_while_forwarded(flow, _active())
        assert PRE_DECODED not in flow.metadata  # scheduled, not done in the hook itself
        await asyncio.sleep(0)  # what mitmproxy does while the upstream answers

    asyncio.run(main())


def test_the_request_is_decoded_once_the_hook_has_returned_and_used_once():
    flow = _flow()
    _decode_on_a_loop(flow)
    fingerprint, record = flow.metadata[PRE_DECODED]
    assert record == interaction.request_record(flow)
    assert _request_record(flow) is record
    assert PRE_DECODED not in flow.metadata  # popped: a second call decodes again
    assert _request_record(flow) == record and _request_record(flow) is not record


def test_a_request_changed_after_decoding_is_decoded_again():
    flow = _flow()
    _decode_on_a_loop(flow)
    flow.request.content = FORM.replace(b"cus_1", b"cus_2")
    assert _request_record(flow) == interaction.request_record(flow)
    assert _request_record(flow)["body"]["form"]["account_holder"]["customer"] == "cus_2"
    flow2 = _flow()
    _decode_on_a_loop(flow2)
    flow2.request.headers["Stripe-Account"] = "acct_1"
    assert "Stripe-Account" in _request_record(flow2)["headers"]


def test_out_of_scope_answered_or_undecodable_requests_are_not_decoded_early():
    answered = _flow()
    answered.response = http.Response.make(200, b"{}")
    other = _flow()
    other.request.path = "/elsewhere"
    other.request.host = "example.com"
    bomb = _flow(b"\x1f\x8b not gzip")
    bomb.request.headers["Content-Encoding"] = "gzip"
    for flow in (answered, other, bomb):
        _decode_on_a_loop(flow)
        assert PRE_DECODED not in flow.metadata


def test_without_an_event_loop_nothing_is_scheduled():
    flow = _flow()
    _decode_while_forwarded(flow, _active())
    assert PRE_DECODED not in flow.metadata
    assert _request_record(flow) == interaction.request_record(flow)

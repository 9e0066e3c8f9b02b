"""exchange.wire: a recorded response as replay sends it, without mitmproxy's flows."""

from __future__ import annotations

import pytest

from fc_cassette.exchange.wire import WIRE_ERRORS, wire_fields
from fc_cassette.playback.state import wire


def test_the_fields_are_what_replay_sends():
    rec = {
        "status": 200,
        "reason": "OK",
        "headers": {"Content-Type": "application/json", "Content-Length": "999"},
        "body": {"json": {"id": "fcsess_1"}},
    }
    status, reason, fields, body = wire_fields(rec)
    assert (status, reason) == (200, b"OK")
    assert body == b'{\n  "id": "fcsess_1"\n}'  # Stripe's own JSON layout
    # the recorded Content-Length is replaced by the body's own
    assert fields == [(b"Content-Type", b"application/json"), (b"content-length", b"22")]
    h_status, h_reason, headers, h_body = wire(rec)  # replay's: the same in mitmproxy's Headers
    assert (h_status, h_reason, h_body) == (status, reason, body)
    assert headers.fields == tuple(fields)


@pytest.mark.parametrize("status, phrase", [(404, b"Not Found"), (402, b"Payment Required")])
def test_a_response_without_its_reason_gets_mitmproxys_phrase(status, phrase):
    assert wire_fields({"status": status, "body": ""})[1] == phrase


def test_a_body_that_cannot_be_sent_is_a_wire_error():
    with pytest.raises(WIRE_ERRORS):
        wire_fields({"status": 200, "body": {"base64": "not base64!"}})

"""An upstream failure's Stripe-shaped body is redacted with the redaction core hands
:mod:`fc_cassette.mitm.upstream_errors` (the active mode's redactor): mitmproxy's reason
can quote the request, and the body goes back to the client and into its logs."""

from __future__ import annotations

import json

from mitmproxy.proxy.layers.http import _http1

from fc_cassette.mitm import core, upstream_errors
from fc_cassette.redact.redactor import Redactor

KEY = "sk_test_" + "fakeUpstreamKey0123456789"


def _message(raw: bytes) -> str:
    body = raw.split(b"\r\n\r\n", 1)[1]
    return json.loads(body)["error"]["message"]


def test_the_message_of_an_upstream_failure_is_redacted():
    raw = upstream_errors.render(502, f"connect call failed for /v1/x?key={KEY}", core.redact_line)
    assert raw is not None
    message = _message(raw)
    assert KEY not in message and "REDACTED" in message
    assert "nothing accepts connections there" in message  # the likely cause is kept


def test_it_is_the_active_modes_redactor_that_redacts():
    """One numbering with the mode's cassette and lines: the redactor a mode shared."""
    shared = Redactor()
    first = shared.redact_text(f"Bearer {KEY}")  # the mode numbered this key already
    saved = list(core._shared)
    core.share_redactor(shared)
    try:
        raw = upstream_errors.render(502, f"reset by peer, Bearer {KEY}", core.redact_line)
        assert raw is not None
        assert first.split()[-1] in _message(raw) and KEY not in _message(raw)
    finally:
        core._shared[:] = saved


def test_the_installed_error_page_redacts():
    """What mitmproxy answers once core's load installed the page (as it does)."""
    upstream_errors.install(core.redact_line)
    raw = _http1.make_error_response(502, f"TLS handshake failed: {KEY}")
    assert KEY not in raw.decode() and b"fc_cassette_upstream_failed" in raw
    assert upstream_errors.render(404, "x", core.redact_line) is None  # mitmproxy's own

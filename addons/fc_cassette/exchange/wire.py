"""A recorded response as replay sends it: status, reason, header fields (Content-Length
set from the body) and body bytes.

Without mitmproxy's flow classes: the offline commands (``verify``, ``audit``, ``prune``)
check that each response builds exactly as replay builds it, and importing mitmproxy's
``http`` module cost each of them ~0.15 s of a 0.8 s run.
:func:`fc_cassette.playback.state.wire` wraps the fields in mitmproxy's ``Headers``.
"""

from __future__ import annotations

import binascii
from typing import Any

from fc_cassette.exchange.interaction import SKIP_HEADERS, encode_body, header_items

WIRE_ERRORS = (ValueError, TypeError, binascii.Error)  # a body that cannot be encoded
Fields = list[tuple[bytes, bytes]]


def wire_fields(rec: dict[str, Any]) -> tuple[int, bytes, Fields, bytes]:
    """A recorded response as status, reason, header fields (Content-Length included)
    and body. Raises :data:`WIRE_ERRORS` for one that cannot be sent."""
    body = encode_body(rec.get("body"))
    fields = [
        (k.encode("utf-8"), v.encode("utf-8"))
        for k, v in header_items(rec.get("headers") or {})
        if k.lower() not in SKIP_HEADERS
    ]
    fields.append((b"content-length", str(len(body)).encode()))
    status = int(rec["status"])
    reason = rec.get("reason")
    if not reason:  # (recorders write it) mitmproxy's phrase, as its Response.make gives
        from mitmproxy.net.http import status_codes  # a table: nothing of the proxy

        reason = status_codes.RESPONSES.get(status, "")
    return status, str(reason).encode("utf-8"), fields, body

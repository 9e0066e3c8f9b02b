"""Cassette entries from mitmproxy flows captured elsewhere (a HAR file, ``mitmdump -w``),
made exactly as the recorder makes them, and cassette interactions as mitmproxy flows.

:func:`entry_of` takes a flow through the recorder's steps (:mod:`fc_cassette.record`):
the request and response decoded (:func:`fc_cassette.interaction.request_record`,
``response_record``; a body that cannot be decoded is refused), validated against the
models, redacted by the cassette's one :class:`~fc_cassette.redact.Redactor`, and the
text about to be written scanned once more (:func:`fail_closed`): any secret left, or a
learned credential, refuses the entry. :func:`flow_of` is the inverse used by
``export``: the request as the client sent it, the response as replay sends it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from mitmproxy import connection, http

from fc_cassette.exchange import interaction
from fc_cassette.playback.state import wire
from fc_cassette.proxy.scope import in_scope
from fc_cassette.redact import Redactor, learned_pattern, scan
from fc_cassette.settings.config import ScopeRules

LOOPBACK = ("127.0.0.1", "localhost", "::1")


class Refused(Exception):
    """An exchange that must not be written (``str()`` is one redacted line)."""


def fail_closed(text: str, learned: dict[str, str] | None = None) -> None:
    """The recorder's last check of the exact text about to be written."""
    if learned and learned_pattern(learned).search(text):
        raise Refused("a credential learned from an Authorization header is left after "
                      "redaction")
    findings = scan(text)
    if findings:
        kinds = ", ".join(sorted({f.kind for f in findings}))
        raise Refused(f"the secret scanner found {len(findings)} secret(s) left after "
                      f"redaction ({kinds})")


def captured_in_scope(flow: http.HTTPFlow, rules: ScopeRules) -> bool:
    """The scope of a captured flow, which has no proxy mode to go by: a Stripe host of
    ``scope.hosts`` or a loopback one (a local stand-in such as ``fc-cassette
    simulate``), and a path the scope's regexes match."""
    local = rules.model_copy(update={"hosts": [*rules.hosts, *LOOPBACK]})
    return in_scope(flow, local)


def entry_of(flow: http.HTTPFlow, redactor: Redactor) -> dict[str, Any]:
    """The redacted cassette entry of a captured flow; raises :class:`Refused`."""
    try:
        request = interaction.request_record(flow)
        response = interaction.response_record(flow)
    except interaction.UndecodableBody as e:
        raise Refused(redactor.redact_text(str(e))) from None
    entry: dict[str, Any] = {"request": request, "response": response}
    reports = interaction.validate(request, response)
    if reports is not None:
        entry["validation"] = {k: r.as_dict() for k, r in reports.items()}
    return redactor.redact_entry(entry)


def stripe_version(entry: dict[str, Any]) -> str | None:
    for name, value in entry["request"]["headers"].items():
        if name.lower() == "stripe-version":
            return value if isinstance(value, str) else value[0]
    return None


def _url(req: dict[str, Any]) -> str:
    scheme, host, port = req.get("scheme") or "https", req.get("host") or "api.stripe.com", \
        req.get("port")
    default = {"http": 80, "https": 443}.get(scheme)
    netloc = f"[{host}]" if ":" in host else host
    if port and port != default:
        netloc += f":{port}"
    query = req.get("query") or {}
    if isinstance(query, dict):
        from fc_cassette.exchange import formcodec

        query = formcodec.encode(query, sort=False)
    return f"{scheme}://{netloc}{req['path']}" + (f"?{query}" if query else "")


def flow_of(it: dict[str, Any], start: dt.datetime) -> http.HTTPFlow:
    """An interaction as a mitmproxy flow (``start``: its request's time)."""
    req = it["request"]
    client = connection.Client(peername=("127.0.0.1", 0), sockname=("127.0.0.1", 0),
                               timestamp_start=start.timestamp())
    flow = http.HTTPFlow(client, connection.Server(address=None))
    headers = [(k.encode("utf-8"), v.encode("utf-8"))
               for k, v in interaction.header_items(req.get("headers") or {})
               if k.lower() not in interaction.SKIP_HEADERS]
    body = interaction.encode_body(req.get("body"))
    flow.request = http.Request.make(req["method"], _url(req), body, headers)
    status, reason, fields, content = wire(it["response"])
    end = start.timestamp() + float(it.get("duration_ms") or 0) / 1000
    flow.request.timestamp_start = start.timestamp()
    flow.request.timestamp_end = start.timestamp()
    flow.response = http.Response(b"HTTP/1.1", status, reason, fields, content, None,
                                  start.timestamp(), end)
    return flow

"""Captured flows and cassette interactions, for ``import`` and ``export``.

:func:`captured_in_scope` decides the scope of a flow captured elsewhere (a HAR file,
``mitmdump -w``), whose entry :func:`fc_cassette.cassette.ingest.entry_of` makes as the
recorder does; :func:`flow_of` is the inverse used by ``export``: the request as the
client sent it, the response as replay sends it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from mitmproxy import connection, http

from fc_cassette.exchange import interaction
from fc_cassette.mitm.scope import in_scope
from fc_cassette.playback.state import wire
from fc_cassette.settings.config import ScopeRules

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def captured_in_scope(flow: http.HTTPFlow, rules: ScopeRules) -> bool:
    """The scope of a captured flow, which has no proxy mode to go by: a Stripe host of
    ``scope.hosts`` or a loopback one (a local stand-in such as ``fc-cassette
    simulate``), and a path the scope's regexes match."""
    local = rules.model_copy(update={"hosts": [*rules.hosts, *LOOPBACK]})
    return in_scope(flow, local)


def _url(req: dict[str, Any]) -> str:
    scheme, host, port = (
        req.get("scheme") or "https",
        req.get("host") or "api.stripe.com",
        req.get("port"),
    )
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
    client = connection.Client(
        peername=("127.0.0.1", 0), sockname=("127.0.0.1", 0), timestamp_start=start.timestamp()
    )
    flow = http.HTTPFlow(client, connection.Server(address=None))
    headers = [
        (k.encode("utf-8"), v.encode("utf-8"))
        for k, v in interaction.header_items(req.get("headers") or {})
        if k.lower() not in interaction.SKIP_HEADERS
    ]
    body = interaction.encode_body(req.get("body"))
    flow.request = http.Request.make(req["method"], _url(req), body, headers)
    status, reason, fields, content = wire(it["response"])
    end = start.timestamp() + float(it.get("duration_ms") or 0) / 1000
    flow.request.timestamp_start = start.timestamp()
    flow.request.timestamp_end = start.timestamp()
    flow.response = http.Response(
        b"HTTP/1.1", status, reason, fields, content, None, start.timestamp(), end
    )
    return flow

"""One HTTP exchange as plain data: the shape stored in cassettes and used for matching.

``request_record`` / ``response_record`` turn a mitmproxy flow into dicts; bodies are
stored decompressed and decoded by content type (form -> mapping via the codec, JSON
-> value, other text -> text, binary -> base64); :func:`encode_body` turns them back
into bytes. What Stripe makes of an exchange is not this module's business: the
endpoint a request is for and the ids in its path are
:mod:`fc_cassette.stripe_api.endpoints`' (``name_of``, ``object_id_in_path``), the
check against the models :func:`fc_cassette.stripe_api.validation.validate`.
"""

from __future__ import annotations

import base64
import json
import math
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from fc_cassette.exchange import formcodec

# Re-exported (``X as X``): part of this module's interface.
from fc_cassette.exchange.codings import (
    MAX_BODY as MAX_BODY,
    MAX_JSON_DEPTH as MAX_JSON_DEPTH,
    UndecodableBody as UndecodableBody,
    charset_refusal as charset_refusal,
    content_of as content_of,
    nested_within as nested_within,
)

if TYPE_CHECKING:
    from mitmproxy import http
    from mitmproxy.http import Headers

# Not stored: hop-by-hop headers, and headers that describe the wire form of a body
# we store decoded (its length and compression change on replay).
SKIP_HEADERS = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
        "content-length",
        "content-encoding",
        "host",
    }
)

_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def headers_record(headers: Headers) -> dict[str, Any]:
    """mitmproxy Headers -> ``{name: value}`` (a list when a header repeats)."""
    out: dict[str, Any] = {}
    lower_seen: dict[str, str] = {}
    for name, value in headers.items(multi=True):
        low = name.lower()
        if low in SKIP_HEADERS:
            continue
        key = lower_seen.setdefault(low, name)
        if key in out:
            prev = out[key]
            out[key] = [*prev, value] if isinstance(prev, list) else [prev, value]
        else:
            out[key] = value
    return out


def header_items(headers: dict[str, Any]) -> list[tuple[str, str]]:
    items: list[tuple[str, str]] = []
    for name, value in headers.items():
        for v in value if isinstance(value, list) else [value]:
            items.append((str(name), str(v)))
    return items


def _not_json(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _finite(text: str) -> float:
    value = float(text)
    if value in (math.inf, -math.inf):
        raise ValueError(f"{text} overflows")
    return value


def decode_body(content: bytes | None, content_type: str) -> dict[str, Any] | None:
    if not content:
        return None
    ct = content_type.split(";", 1)[0].strip().lower()
    if ct == "application/x-www-form-urlencoded":
        try:
            return {"form": formcodec.decode(content)}
        except formcodec.FormDecodeError:
            pass
    elif ct == "application/json" or ct.endswith("+json"):
        try:
            # NaN, Infinity or 1e999 (no cassette can hold them): kept as text
            value = json.loads(content, parse_constant=_not_json, parse_float=_finite)
            if _SURROGATE_ESCAPE.search(content):  # "\ud800" alone: no YAML can hold it
                json.dumps(value, ensure_ascii=False).encode("utf-8")
            # JSON nested too deep is kept as text: every walk over it (redaction,
            # matching, the YAML emitter) would overflow the stack. Counting brackets
            # first spares the walk for nearly every body.
            if content.count(b"[") + content.count(b"{") <= MAX_JSON_DEPTH or nested_within(
                value, MAX_JSON_DEPTH
            ):
                return {"json": value}
        except (ValueError, UnicodeEncodeError, RecursionError):
            pass
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is not None and not _CONTROL.search(text):
        return {"text": text}
    return {"base64": base64.b64encode(content).decode("ascii")}


def encode_body(body: dict[str, Any] | None) -> bytes:
    if not body:
        return b""
    kind, value = next(iter(body.items()))
    if kind == "json":
        return json.dumps(value, indent=2, ensure_ascii=False).encode("utf-8")
    if kind == "form":
        return formcodec.encode(value, sort=False).encode("ascii")
    if kind == "text":
        return str(value).encode("utf-8")
    if kind == "base64":
        return base64.b64decode(value)
    raise ValueError(f"unknown body kind {kind!r}")


_URLSPLIT_SPECIAL = re.compile(r"[#\t\r\n]")


def split_path(path: str) -> tuple[str, str]:
    """``urlsplit(path)``'s path and query. A plain origin-form target (starting with
    one "/", no fragment, no TAB/CR/LF for urlsplit to strip) is split at its first
    "?" directly, which is what urlsplit does with it (once per request, twice)."""
    if path[:1] == "/" and path[1:2] != "/" and not _URLSPLIT_SPECIAL.search(path):
        p, _, q = path.partition("?")
        return p, q
    parts = urlsplit(path)
    return parts.path, parts.query


def decode_query(query: str) -> dict[str, Any] | str:
    """The query as data; a query the codec refuses is kept as its raw string."""
    if not query:
        return {}
    try:
        return formcodec.decode(query)
    except formcodec.FormDecodeError:
        return query


def request_record(
    flow: http.HTTPFlow,
    only: Sequence[str] | None = None,
    *,
    headers: dict[str, str] | None = None,
    with_host: bool = True,
) -> dict[str, Any]:
    """A request as a cassette records it; or, given ``only`` (the header names matched
    on), just the parts matching reads (see :mod:`fc_cassette.matching`): those headers
    (repeats folded), no scheme or port, the host only ``with_host``. One extractor for
    both, so what a live request is matched as and what was recorded cannot drift apart.
    ``headers``: the request's :func:`header_map`, when the caller has it already."""
    req = flow.request
    if headers is None:
        headers = header_map(req.headers)
    path, query = split_path(req.path)
    out: dict[str, Any] = {"method": req.method}
    if only is None:
        out.update(scheme=req.scheme, host=req.pretty_host, port=req.port)
    else:
        out["host"] = req.pretty_host if with_host else None  # (read only when matched on)
    out["path"], out["query"] = path, decode_query(query)
    out["headers"] = (
        headers_record(req.headers)
        if only is None
        else {name: v for name in only if (v := headers.get(name.lower())) is not None}
    )
    out["body"] = decode_body(request_content(req, headers), headers.get("content-type", ""))
    return out


def header_map(headers: Headers) -> dict[str, str]:
    """Lower-case header name -> value, repeats folded with ", " (what ``Headers.get``
    returns), built in one pass: mitmproxy's ``Headers.get`` scans every field per call,
    and the replay hot path asks for half a dozen headers."""
    out: dict[str, str] = {}
    for name, value in headers.fields:
        key = name.lower().decode("utf-8", "surrogateescape")
        val = value.decode("utf-8", "surrogateescape")
        out[key] = f"{out[key]}, {val}" if key in out else val
    return out


def request_content(req: http.Request, headers: dict[str, str]) -> bytes | None:
    """:func:`content_of` for a request whose :func:`header_map` is ``headers``: the raw
    bytes when nothing could need undoing or refusing (no Content-Encoding, no declared
    charset, within :data:`MAX_BODY`), else :func:`content_of` itself."""
    raw = req.raw_content
    if not raw or (
        "content-encoding" not in headers
        and len(raw) <= MAX_BODY
        and "charset" not in headers.get("content-type", "").lower()
    ):
        return raw
    return content_of(req)


def match_record(
    flow: http.HTTPFlow,
    header_names: Sequence[str],
    headers: dict[str, str] | None = None,
    with_host: bool = True,
) -> dict[str, Any]:
    """The parts of a request that matching compares: :func:`request_record` with
    ``only`` (cheaper: replay's hot path needs no full record)."""
    return request_record(flow, header_names, headers=headers, with_host=with_host)


def response_record(flow: http.HTTPFlow) -> dict[str, Any]:
    resp = flow.response
    assert resp is not None, "a flow with a response"
    return {
        "status": resp.status_code,
        "reason": resp.reason,
        "headers": headers_record(resp.headers),
        "body": decode_body(content_of(resp), resp.headers.get("content-type", "")),
    }


def body_value(body: dict[str, Any] | None) -> Any:
    return next(iter(body.values())) if body else None

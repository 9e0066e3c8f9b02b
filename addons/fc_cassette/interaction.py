"""One HTTP exchange as plain data: the shape stored in cassettes and used for matching.

``request_record`` / ``response_record`` turn a mitmproxy flow into dicts; bodies are
stored decompressed and decoded by content type (form -> mapping via the codec, JSON
-> value, other text -> text, binary -> base64); :func:`encode_body` turns them back
into bytes. :func:`validate` checks an exchange against the Stripe models, and
:func:`endpoint` names the FC endpoint a request is for (see :mod:`.validation`,
:mod:`.endpoints`).
"""

from __future__ import annotations

import base64
import codecs
import json
import math
import re
import zlib
from typing import Any
from urllib.parse import urlsplit

from . import endpoints, formcodec
from .validation import validate  # noqa: F401 - part of this module's interface

# Not stored: hop-by-hop headers, and headers that describe the wire form of a body
# we store decoded (its length and compression change on replay).
SKIP_HEADERS = frozenset({
    "connection", "keep-alive", "proxy-connection", "proxy-authenticate",
    "proxy-authorization", "te", "trailer", "trailers", "transfer-encoding", "upgrade",
    "content-length", "content-encoding", "host",
})

_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def endpoint(method: str, path: str) -> str | None:
    """The FC endpoint's name (``"create"``, ``"retrieve"`` for sessions, dotted names
    such as ``"accounts.refresh"`` for the others; see :mod:`.endpoints`) or None."""
    found = endpoints.match(method, path)
    return found[0].name if found else None


def session_id_in_path(path: str) -> str | None:
    return endpoints.id_in_path(path, "session")


def object_id_in_path(path: str) -> str | None:
    """The id an FC path names (a session, an account, a transaction), or None."""
    for kind in ("session", "account", "transaction"):
        found = endpoints.id_in_path(path, kind)
        if found is not None:
            return found
    return None


def headers_record(headers) -> dict[str, Any]:
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


class UndecodableBody(ValueError):
    """A body whose Content-Encoding cannot be undone: its bytes could hide a secret
    that redaction cannot see, so it is neither recorded nor quoted."""


_CODING_ALIASES = {"x-gzip": "gzip"}
MAX_BODY = 16 * 1024 * 1024  # decoded; Stripe FC Session bodies are kilobytes


def _too_large(what: str) -> UndecodableBody:
    return UndecodableBody(f"{what} is larger than {MAX_BODY // (1024 * 1024)} MiB")


def _inflate(data: bytes, coding: str) -> bytes:
    """gzip (every member) or deflate (zlib or raw), stopping at MAX_BODY: a few
    kilobytes of a compression bomb must not become gigabytes in the proxy."""
    out = b""
    for wbits in ((31,) if coding == "gzip" else (15, -15)):
        rest, out = data, b""
        try:
            while rest:
                d = zlib.decompressobj(wbits)
                out += d.decompress(rest, MAX_BODY + 1 - len(out))
                if len(out) > MAX_BODY or d.unconsumed_tail:
                    raise _too_large("the decompressed body")
                if not d.eof:
                    raise zlib.error("truncated")
                rest = d.unused_data if coding == "gzip" else b""
            return out
        except zlib.error:
            continue
    raise ValueError(f"not {coding} data")


def _unbrotli(data: bytes) -> bytes:
    """brotli, fed 16 bytes at a time so that the output is checked as it grows (the
    brotli module has no output limit: 421 bytes can hold 256 MiB)."""
    import brotli

    d, out = brotli.Decompressor(), bytearray()
    try:
        for i in range(0, len(data), 16):
            out += d.process(data[i:i + 16])
            if len(out) > MAX_BODY:
                raise _too_large("the decompressed body")
    except brotli.error as e:
        raise ValueError(str(e)) from None
    if not d.is_finished():
        raise ValueError("truncated brotli data")
    return bytes(out)


def _unzstd(data: bytes) -> bytes:
    """zstd (every frame), stopping at MAX_BODY. mitmproxy 11 brings the zstandard
    package; mitmproxy 12 the standard library's (PEP 784) or its backport."""
    try:
        import zstandard
    except ImportError:
        return _unzstd_pep784(data)
    import io

    try:
        with zstandard.ZstdDecompressor().stream_reader(
                io.BytesIO(data), read_across_frames=True) as reader:
            out = reader.read(MAX_BODY + 1)
    except zstandard.ZstdError as e:
        raise ValueError(str(e)) from None
    if len(out) > MAX_BODY:
        raise _too_large("the decompressed body")
    return out


def _unzstd_pep784(data: bytes) -> bytes:
    try:
        from compression import zstd  # type: ignore[import-not-found]
    except ImportError:
        from backports import zstd  # type: ignore[import-not-found,no-redef]
    out, rest = b"", data
    try:
        while rest:
            d = zstd.ZstdDecompressor()
            out += d.decompress(rest, MAX_BODY + 1 - len(out))
            if len(out) > MAX_BODY or (not d.eof and not d.needs_input):
                raise _too_large("the decompressed body")
            if not d.eof:
                raise ValueError("truncated zstd data")
            rest = d.unused_data
    except zstd.ZstdError as e:
        raise ValueError(str(e)) from None
    return out


# Only content codings, each bounded: mitmproxy's generic decoder would also run any
# Python codec a client names (zlib, bz2, rot13...) without a limit.
_DECODERS = {"gzip": lambda d: _inflate(d, "gzip"), "deflate": lambda d: _inflate(d, "deflate"),
             "br": _unbrotli, "zstd": _unzstd}


_CHARSET = re.compile(r";\s*charset\s*=\s*[\"']?([^\"';\s]+)", re.I)
_PRINTABLE = "".join(map(chr, range(32, 127)))


def charset_refusal(content_type: str) -> str | None:
    """Why a body in this declared charset cannot be stored, or None.

    Redaction and the secret scanner read bodies as ASCII-compatible text (UTF-16 and
    UTF-32, stored as base64, the scanner reads too): in EBCDIC (``cp500``), UTF-7 or
    a charset Python does not know, a secret could pass unseen, so such bodies are
    refused (fail closed)."""
    m = _CHARSET.search(content_type)
    if not m:
        return None
    name = m.group(1)
    try:
        codec = codecs.lookup(name).name
        ascii_ok = _PRINTABLE.encode(codec) == _PRINTABLE.encode("ascii")
    except (LookupError, ValueError, TypeError):
        return f"its charset {name!r} is not a text encoding fc-cassette knows"
    if ascii_ok or codec.startswith(("utf-16", "utf-32")):
        return None
    return f"its charset {name!r} is not ASCII-compatible"


def content_of(message) -> bytes | None:
    """A request's or response's body with every Content-Encoding undone (the last one
    applied first), or :class:`UndecodableBody` (which also refuses a body larger than
    :data:`MAX_BODY`, or a coding other than gzip, deflate, br, zstd). mitmproxy's own
    ``get_content(strict=False)`` returns the still-compressed bytes for an encoding it
    does not know (``x-gzip``, ``gzip, gzip``), which would be stored as opaque base64."""
    raw = message.raw_content
    if raw and len(raw) > MAX_BODY:
        raise _too_large("the body")
    if raw and (why := charset_refusal(message.headers.get("content-type", ""))):
        raise UndecodableBody(f"the body cannot be checked for secrets: {why}")
    codings = [c.strip().lower() for c in message.headers.get("content-encoding", "").split(",")]
    codings = [_CODING_ALIASES.get(c, c) for c in codings if c and c != "identity"]
    if not raw or not codings:
        return raw
    data = raw
    for coding in reversed(codings):
        decode = _DECODERS.get(coding)
        try:
            if decode is None:
                raise ValueError(coding)
            data = decode(data)
        except UndecodableBody:
            raise
        except ValueError:
            raise UndecodableBody(f"Content-Encoding {', '.join(codings)!r} cannot be "
                                  "undone") from None
    return data


MAX_JSON_DEPTH = 64  # Stripe objects nest a handful of levels


def nested_within(value: Any, limit: int) -> bool:
    """Whether ``value`` nests no deeper than ``limit`` (iteratively: any depth)."""
    stack = [(value, 1)]
    while stack:
        v, depth = stack.pop()
        if isinstance(v, (dict, list)):
            if depth > limit:
                return False
            stack.extend((x, depth + 1) for x in (v.values() if isinstance(v, dict) else v))
    return True


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
            if (content.count(b"[") + content.count(b"{") <= MAX_JSON_DEPTH
                    or nested_within(value, MAX_JSON_DEPTH)):
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


def split_path(path: str) -> tuple[str, str]:
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


def request_record(flow) -> dict[str, Any]:
    req = flow.request
    path, query = split_path(req.path)
    return {
        "method": req.method,
        "scheme": req.scheme,
        "host": req.pretty_host,
        "port": req.port,
        "path": path,
        "query": decode_query(query),
        "headers": headers_record(req.headers),
        "body": decode_body(content_of(req), req.headers.get("content-type", "")),
    }


def header_map(headers) -> dict[str, str]:
    """Lower-case header name -> value, repeats folded with ", " (what ``Headers.get``
    returns), built in one pass: mitmproxy's ``Headers.get`` scans every field per call,
    and the replay hot path asks for half a dozen headers."""
    out: dict[str, str] = {}
    for name, value in headers.fields:
        key = name.lower().decode("utf-8", "surrogateescape")
        val = value.decode("utf-8", "surrogateescape")
        out[key] = f"{out[key]}, {val}" if key in out else val
    return out


def request_content(req, headers: dict[str, str]) -> bytes | None:
    """:func:`content_of` for a request whose :func:`header_map` is ``headers``: the raw
    bytes when nothing could need undoing or refusing (no Content-Encoding, no declared
    charset, within :data:`MAX_BODY`), else :func:`content_of` itself."""
    raw = req.raw_content
    if not raw or ("content-encoding" not in headers and len(raw) <= MAX_BODY
                   and "charset" not in headers.get("content-type", "").lower()):
        return raw
    return content_of(req)


def match_record(flow, header_names: list[str],
                 headers: dict[str, str] | None = None) -> dict[str, Any]:
    """The parts of a request that matching compares (see :mod:`.matching`): cheaper
    than :func:`request_record`, which replay does not need on its hot path.
    ``headers``: the request's :func:`header_map`, when the caller has it already."""
    req = flow.request
    if headers is None:
        headers = header_map(req.headers)
    path, query = split_path(req.path)
    return {
        "method": req.method,
        "host": req.pretty_host,
        "path": path,
        "query": decode_query(query),
        "headers": {name: v for name in header_names
                    if (v := headers.get(name.lower())) is not None},
        "body": decode_body(request_content(req, headers), headers.get("content-type", "")),
    }


def response_record(flow) -> dict[str, Any]:
    resp = flow.response
    return {
        "status": resp.status_code,
        "reason": resp.reason,
        "headers": headers_record(resp.headers),
        "body": decode_body(content_of(resp), resp.headers.get("content-type", "")),
    }


def body_value(body: dict[str, Any] | None) -> Any:
    return next(iter(body.values())) if body else None

"""Content codings and charsets of HTTP bodies: undo every ``Content-Encoding``
(gzip, deflate, br, zstd), each bounded by :data:`MAX_BODY`, and refuse what cannot be
read as ASCII-compatible text (a body whose secrets redaction could not see).

:func:`content_of` is the one entry point; :class:`UndecodableBody` is what it raises.
"""

from __future__ import annotations

import codecs
import re
import zlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mitmproxy import http


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
    for wbits in (31,) if coding == "gzip" else (15, -15):
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
            out += d.process(data[i : i + 16])
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
            io.BytesIO(data), read_across_frames=True
        ) as reader:
            out = reader.read(MAX_BODY + 1)
    except zstandard.ZstdError as e:
        raise ValueError(str(e)) from None
    if len(out) > MAX_BODY:
        raise _too_large("the decompressed body")
    return out


def _unzstd_pep784(data: bytes) -> bytes:
    try:
        from compression import zstd
    except ImportError:
        from backports import zstd
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
_DECODERS = {
    "gzip": lambda d: _inflate(d, "gzip"),
    "deflate": lambda d: _inflate(d, "deflate"),
    "br": _unbrotli,
    "zstd": _unzstd,
}


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


def content_of(message: http.Message) -> bytes | None:
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
            raise UndecodableBody(
                f"Content-Encoding {', '.join(codings)!r} cannot be undone"
            ) from None
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

"""Which flows are FC Session traffic, by the config's ``scope`` rules.

Reverse mode: every request goes to the upstream, so only the path is checked.
Forward (regular) mode: the host must be one of ``scope.hosts``, except for requests
sent straight to the proxy's own address (a client using it as its API base).
"""

from __future__ import annotations

import ipaddress
import re
import socket
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from mitmproxy import http

from fc_cassette.exchange.interaction import split_path

if TYPE_CHECKING:
    from fc_cassette.settings.config import ScopeRules

_UNSPECIFIED = (ipaddress.ip_address("0.0.0.0"), ipaddress.ip_address("::"))
CLIENT_HOST = "fc-cassette/client-host"  # flow.metadata: the Host the client sent


def _address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """``host`` as the OS would connect to it, when it is an address literal in any
    spelling (``[::1]``, ``127.1``, ``0x7f.1``, ``::ffff:127.0.0.1``); None for a name."""
    h = host.strip().lower().rstrip(".")
    if h.startswith("[") and h.endswith("]"):
        h = h[1:-1]
    addr: ipaddress.IPv4Address | ipaddress.IPv6Address | None
    try:
        addr = ipaddress.ip_address(h.split("%", 1)[0])
    except ValueError:
        try:  # the shorthand forms inet_aton (and so connect) accepts
            addr = ipaddress.IPv4Address(socket.inet_aton(h)) if h and h[0].isdigit() else None
        except (OSError, ValueError):
            return None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    return addr


def is_loopback(host: str) -> bool:
    """``localhost`` (any case, a trailing dot) or a loopback address in any spelling."""
    if host.strip().lower().rstrip(".") == "localhost":
        return True
    addr = _address(host)
    return addr is not None and addr.is_loopback


def split_host(hostport: str) -> str:
    """The host of a ``Host`` header value (``h``, ``h:port``, ``[v6]:port``)."""
    value = hostport.strip()
    if value.startswith("["):
        return value[: value.find("]") + 1] if "]" in value else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


def same_host(a: str, b: str) -> bool:
    """Two hosts that are one address (or one name, in any case)."""
    x, y = _address(a), _address(b)
    if x is not None or y is not None:
        return x == y
    return a.strip().lower().rstrip(".") == b.strip().lower().rstrip(".")


def own_address(host: str, port: int | None, sockname: tuple[Any, ...] | None) -> bool:
    """Whether ``host:port`` is the proxy's own listening socket (``sockname``, the
    local address of a client connection), in any spelling: ``LOCALHOST``,
    ``127.1``, ``[::1]``, ``0.0.0.0`` (connecting to it reaches this host)."""
    if not sockname or port != sockname[1]:
        return False
    addr = _address(host)
    return (
        is_loopback(host)
        or (addr is not None and addr in _UNSPECIFIED)
        or same_host(host, str(sockname[0]))
    )


@lru_cache(maxsize=8)
def _compiled(paths: tuple[str, ...]) -> re.Pattern:
    return re.compile("|".join(f"(?:{p})" for p in paths) or r"(?!)")


def addressed_to_proxy(flow: http.HTTPFlow) -> bool:
    """A relative-form request sent to the proxy itself, not forwarded through it."""
    mode = flow.client_conn.proxy_mode
    if mode.type_name == "reverse":
        return True
    return flow.request.scheme == "http" and own_address(
        flow.request.host, flow.request.port, flow.client_conn.sockname
    )


def client_host(flow: http.HTTPFlow) -> str:
    """The ``Host`` the client sent (reverse mode rewrites the header to the upstream's
    before any addon sees it; :class:`~fc_cassette.core.FcCore` keeps the client's)."""
    kept = flow.metadata.get(CLIENT_HOST)
    if kept is not None:
        return kept
    if flow.request.host_header:
        return flow.request.host_header
    # no Host (HTTP/1.0): an absolute-form target's host in forward mode; in reverse
    # mode the host is the upstream's, not the client's
    return "" if flow.client_conn.proxy_mode.type_name == "reverse" else flow.request.host


_MEMO = "fc-cassette/in-scope"  # flow.metadata: (rules, host, path, verdict)


def in_scope(flow: http.HTTPFlow, rules: ScopeRules) -> bool:
    """Whether ``flow`` is in the scope; decided once per flow (the mode addon, the
    out-of-scope tracker and record's response and error hooks all ask), again only if
    the rules or the request's host or path changed."""
    r = flow.request
    memo = flow.metadata.get(_MEMO)
    if memo is not None and memo[0] is rules and memo[1] == r.host and memo[2] == r.path:
        return memo[3]
    verdict = _decide(flow, rules)
    flow.metadata[_MEMO] = (rules, r.host, r.path, verdict)
    return verdict


def _decide(flow: http.HTTPFlow, rules: ScopeRules) -> bool:
    if not addressed_to_proxy(flow) and flow.request.pretty_host not in rules.hosts:
        return False
    return _compiled(tuple(rules.paths)).search(split_path(flow.request.path)[0]) is not None

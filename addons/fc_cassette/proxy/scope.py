"""Which flows are FC Session traffic, by the config's ``scope`` rules.

Reverse mode: every request goes to the upstream, so only the path is checked.
Forward (regular) mode: the host must be one of ``scope.hosts``, except for requests
sent straight to the proxy's own address (a client using it as its API base).
"""

from __future__ import annotations

import re
from functools import lru_cache

from fc_cassette.exchange.interaction import split_path
from fc_cassette.settings.config import ScopeRules

_LOCAL = {"127.0.0.1", "localhost", "::1"}


@lru_cache(maxsize=8)
def _compiled(paths: tuple[str, ...]) -> re.Pattern:
    return re.compile("|".join(f"(?:{p})" for p in paths) or r"(?!)")


def addressed_to_proxy(flow) -> bool:
    """A relative-form request sent to the proxy itself, not forwarded through it."""
    mode = flow.client_conn.proxy_mode
    if mode.type_name == "reverse":
        return True
    sock = flow.client_conn.sockname
    return (flow.request.scheme == "http" and bool(sock)
            and flow.request.port == sock[1]
            and (flow.request.host in _LOCAL or flow.request.host == sock[0]))


_MEMO = "fc-cassette/in-scope"  # flow.metadata: (rules, host, path, verdict)


def in_scope(flow, rules: ScopeRules) -> bool:
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


def _decide(flow, rules: ScopeRules) -> bool:
    if not addressed_to_proxy(flow) and flow.request.pretty_host not in rules.hosts:
        return False
    return _compiled(tuple(rules.paths)).search(split_path(flow.request.path)[0]) is not None

"""Every endpoint row and simulator route has its handler, and every handler a row
(issue #21: the simulator dispatches ``_ep_<name>``; this test ties the two together, so
a row without a handler or a handler nobody routes to fails here, not at a request)."""

from __future__ import annotations

import re

from fc_cassette.simulator import Simulator
from fc_cassette.stripe_api import endpoints


def handler_name(name: str) -> str:
    return "_ep_" + name.replace(".", "_")


def rows() -> list[tuple[str, str, str]]:
    """(method, path pattern, handler name) of every row: the endpoint table's and the
    simulator's own routes (the session completion among them)."""
    table = [(ep.method, ep.pattern.pattern, ep.name) for ep in endpoints.ALL_ENDPOINTS]
    return [*table, *Simulator.ROUTES]


def test_every_row_has_a_handler():
    missing = [r for r in rows() if not callable(getattr(Simulator, handler_name(r[2]), None))]
    assert missing == []


def test_every_handler_has_a_row():
    routed = {handler_name(name) for _, _, name in rows()}
    handlers = {n for n in dir(Simulator) if n.startswith("_ep_")}
    assert handlers - routed == set()


def test_names_and_routes_are_unique():
    names = [name for _, _, name in rows()]
    assert len(names) == len(set(names))
    keyed = [(method, pattern) for method, pattern, _ in rows()]
    assert len(keyed) == len(set(keyed))


def test_rows_route_to_their_handler():
    """Each table row's example path reaches that row (no row shadows another)."""
    for ep in endpoints.ALL_ENDPOINTS:
        path = re.sub(r"\(\[\^/\?#\]\+\)", "x_1", ep.pattern.pattern[1:-1]).replace("/?", "")
        found = endpoints.match(ep.method, path)
        assert found is not None and found[0] is ep, (ep.name, path)

"""Simulate mode: a local, stateful FC API (sessions, accounts, owners, transactions)
answered by :class:`Simulator` (contract: docs/simulator.md).

Every request is answered in the ``request`` hook (relative-form requests to the
proxy and requests tunnelled through CONNECT alike), and the ``server_connect`` guard
refuses any upstream connection, so nothing ever leaves the machine. The seed comes
from ``fc_seed`` (the CLI's ``--seed``) or, when that is left at -1, from the config's
``simulate.seed``; the clock from ``simulate.clock_start``. Changing ``fc_mode``,
``fc_seed`` or ``fc_config`` starts a fresh simulator (all sessions and accounts are forgotten).

One INFO line per request: method, path (no query), status, and the object id or the
error type. Never a key, a client secret, or a request body.
"""

from __future__ import annotations

import json
import logging
from urllib.parse import urlsplit

from mitmproxy import http

from fc_cassette.proxy import core
from fc_cassette.redact import Redactor
from fc_cassette.simulator import Simulator

log = logging.getLogger("fc_cassette")
NO_UPSTREAM = "fc-cassette simulate never connects upstream"
USE_CONFIG_SEED = -1


class Simulate:
    def __init__(self) -> None:
        self.redactor = Redactor()
        self.simulator: Simulator | None = None

    def load(self, loader) -> None:
        loader.add_option("fc_seed", int, USE_CONFIG_SEED,
                          "Simulate: seed for ids and secrets (-1: the config's simulate.seed).")

    def configure(self, updated: set[str]) -> None:
        if not core.active("simulate"):
            self.simulator = None
            return
        if self.simulator is None or updated & {"fc_mode", "fc_seed", "fc_config"}:
            sim = core.settings().simulate
            seed = sim.seed  # fc_seed applied (core: config.with_options)
            self.simulator = Simulator(seed=seed, clock_start=sim.clock_start)
            log.info("fc-cassette simulate: seed %d, clock starts at %d", seed, sim.clock_start)

    def request(self, flow: http.HTTPFlow) -> None:
        if not core.active("simulate") or flow.response is not None:
            return
        if self.simulator is None:
            self.configure({"fc_mode"})
        assert self.simulator is not None
        req = flow.request
        split = urlsplit(req.path)
        body = req.get_content(strict=False) or b""
        resp = self.simulator.handle(req.method, split.path, split.query, req.headers, body)
        flow.response = http.Response.make(resp.status, resp.body, resp.headers)
        # redacted before clipping: a clip through a key would hide it from redaction
        log.info("simulate: %s %s -> %d %s", req.method,
                 _clip(self.redactor.redact_text(split.path)), resp.status,
                 _summary(resp.status, resp.body))

    def server_connect(self, data) -> None:
        if core.active("simulate"):
            data.server.error = NO_UPSTREAM


def _clip(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


def _summary(status: int, body: bytes) -> str:
    """The session id of a success, or ``type/code`` of an error: nothing secret."""
    try:
        obj = json.loads(body)
    except ValueError:
        return ""
    if not isinstance(obj, dict):
        return ""
    if 200 <= status < 300:
        sid = obj.get("id")
        return sid if isinstance(sid, str) else ""
    err = obj.get("error")
    if isinstance(err, dict):
        return "/".join(str(err[k]) for k in ("type", "code") if err.get(k))
    return ""

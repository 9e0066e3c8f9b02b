"""Traffic outside the scope, never silent.

Record passes a flow outside ``scope`` (another host in forward mode, or a path the
config leaves out) through unrecorded; replay, and the record modes that only replay,
refuse it with an explained miss. Either way the user must be able to learn that the
cassette does not hold it: each such flow is logged once (method, host and path,
redacted; the query is left out), counted for the shutdown summary, and listed by the
control endpoint's ``status`` under ``passthrough`` (the pytest plugin turns that into
a warning on the test that sent it).

It sits after the mode addons in the chain, so a flow the mode addon refused already
carries its response when this addon sees it.
"""

from __future__ import annotations

import logging

from mitmproxy import ctx, http

from fc_cassette.mitm import core
from fc_cassette.mitm.control import PREFIX, note_news
from fc_cassette.mitm.scope import addressed_to_proxy, in_scope
from fc_cassette.settings.config import Settings
from fc_cassette.settings.modes import CASSETTE_MODES

log = logging.getLogger("fc_cassette")
MODES = CASSETTE_MODES
MAX_KEPT = 1000  # flows listed per rewind (all are counted)
SUMMARY_LINES = 20  # distinct flows named in the shutdown summary


class Passthrough:
    def __init__(self) -> None:
        self.total = 0  # since start-up (across rewinds)
        self.distinct: dict[str, int] = {}  # "METHOD host/path (what)" -> count
        self.scope = Settings().scope  # the core's, read once per options update
        self.rewind()

    def configure(self, updated: set[str]) -> None:
        self.scope = core.settings().scope  # (the core's configure ran first)

    def rewind(self) -> None:
        """Start over (per test): ``flows`` lists what happened since."""
        self.flows: list[str] = []

    def request(self, flow: http.HTTPFlow) -> None:
        if ctx.options.fc_mode not in MODES or flow.request.method == "PRI":
            return  # (PRI: an HTTP/2 preface, not a request; see the h2c guard)
        if flow.request.path.startswith(PREFIX) and addressed_to_proxy(flow):
            return  # a control call
        if in_scope(flow, self.scope):
            return
        what = (
            "refused: outside the scope, replay never forwards"
            if flow.response
            else "passed through, NOT recorded: outside the scope"
        )
        self.note(flow, what)

    def note(self, flow: http.HTTPFlow, what: str) -> None:
        r = flow.request
        port = "" if r.port == {"http": 80, "https": 443}.get(r.scheme) else f":{r.port}"
        line = core.shared_redactor().redact_text(
            f"{r.method} {r.pretty_host}{port}{r.path.split('?', 1)[0]} ({what})"
        )
        self.total += 1
        self.distinct[line] = self.distinct.get(line, 0) + 1
        if len(self.flows) < MAX_KEPT:
            self.flows.append(line)
        note_news()
        log.warning("fc-cassette: %s", line)

    def done(self) -> None:
        if ctx.options.fc_mode not in MODES or not self.total:
            return
        log.warning(
            "fc-cassette: %d request(s) outside the scope (not in the cassette):", self.total
        )
        ranked = sorted(self.distinct.items(), key=lambda kv: (-kv[1], kv[0]))
        for line, n in ranked[:SUMMARY_LINES]:
            log.warning("fc-cassette:   %dx %s", n, line)
        if len(ranked) > SUMMARY_LINES:
            log.warning("fc-cassette:   ... and %d more distinct", len(ranked) - SUMMARY_LINES)

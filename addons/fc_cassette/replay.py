"""Replay mode: every request is answered from the cassette; nothing ever goes upstream.

Offline by construction: requests are answered in the ``request`` hook (so mitmproxy
has no reason to connect), out-of-scope requests get a miss too, and a
``server_connect`` guard refuses any upstream connection that would still be tried
(with ``connection_strategy=lazy``, CONNECT does not connect either). At shutdown the
summary lists served, missed and unused interactions; ``fc_strict`` makes any miss
an exit code of 1.
"""

from __future__ import annotations

import logging
from typing import Any

from mitmproxy import ctx, exceptions, http

from . import cassette as cassette_io
from . import control, core
from .config import Settings
from .interaction import UndecodableBody, match_record
from .matching import Miss
from .playback import Playback
from .redact import Redactor
from .scope import in_scope

log = logging.getLogger("fc_cassette")
OFFLINE = "fc-cassette replay is offline: upstream connections are refused"
KEY_CACHE_SIZE = 4096
KEY_CACHE_MAX_BODY = 16 * 1024


class Replay:
    def __init__(self) -> None:
        self.playback: Playback | None = None
        self.redactor = Redactor()
        self.upstream_attempts = 0
        self.exit_code = 0
        self.on = False  # fc_mode == "replay"; kept here: the hot path asks per request
        self.settings = Settings()
        self._keys: dict[tuple, tuple[str, dict[str, Any]]] = {}

    def load(self, loader) -> None:
        loader.add_option("fc_strict", bool, False,
                          "Replay: exit with code 1 at shutdown if any request missed.")

    def configure(self, updated: set[str]) -> None:
        if "fc_mode" in updated:
            self.on = ctx.options.fc_mode == "replay"
        if not self.on or not updated & {"fc_mode", "fc_cassette", "fc_config"}:
            return
        if not ctx.options.fc_cassette:
            raise exceptions.OptionsError("replay needs a cassette: --set fc_cassette=FILE")
        self.settings = settings = core.settings()
        # Two numberings: the one requests are matched with must not depend on what
        # was logged before; messages and log lines (ours and mitmproxy's) share the other.
        messages = Redactor(settings.redaction)
        try:
            loaded = cassette_io.load(ctx.options.fc_cassette)
            self.playback = Playback(loaded, settings, messages)
        except cassette_io.CassetteError as e:
            raise exceptions.OptionsError(str(e)) from None
        for w in loaded.warnings:
            log.warning("fc-cassette: %s", w)
        self.redactor = Redactor(settings.redaction)
        core.share_redactor(messages)
        self._keys.clear()
        log.info("fc-cassette replay: %d interactions from %s (offline: nothing is "
                 "forwarded)", len(loaded.interactions), loaded.path)

    def request(self, flow: http.HTTPFlow) -> None:
        if not self.on or self.playback is None or flow.response:
            return
        try:
            if not control.handle(flow, self.playback):
                self._answer(flow, self.playback)
        except Exception as e:  # never let a bug of ours send the request upstream
            messages = self.playback.redactor
            core.log_failure(f"replay failed to answer {flow.request.method} "
                             f"{messages.redact_text(flow.request.path)}", messages)
            flow.response = self.playback.error_response(type(e).__name__)

    def _answer(self, flow: http.HTTPFlow, pb: Playback) -> None:
        if not in_scope(flow, self.settings.scope):
            miss = Miss("out_of_scope", f"{flow.request.method} {flow.request.pretty_host}"
                        f"{flow.request.path} is outside fc-cassette's scope; replay never "
                        "forwards requests")  # (refuse redacts it)
            flow.response = pb.refuse(miss)
            log.warning("fc-cassette replay: %s", pb.last_miss)
            return
        try:
            key, req = self._prepared(flow, pb)
        except UndecodableBody as e:
            flow.response = pb.refuse(Miss("unmatched", f"{flow.request.method} "
                                           f"{flow.request.path.split('?', 1)[0]}: {e}, so "
                                           "it cannot be matched"))
            log.warning("fc-cassette replay miss: %s", pb.last_miss)
            return
        got = pb.take_prepared(key, req)
        if isinstance(got, Miss):
            flow.response = pb.refuse(got)
            log.warning("fc-cassette replay miss: %s", pb.last_miss)
        else:
            flow.response = pb.response_for(got)
            # Only when asked for (--set termlog_verbosity=debug): mitmproxy sends every
            # log record, even a DEBUG one, through the whole addon chain, which cost
            # more than the rest of a hit. The shutdown summary counts hits anyway.
            if getattr(ctx.options, "termlog_verbosity", "info") == "debug":
                log.debug("fc-cassette replay: %s %s -> %s (interaction %s)", req["method"],
                          req["path"], flow.response.status_code, got.get("seq"))

    def _prepared(self, flow: http.HTTPFlow, pb: Playback) -> tuple[str, dict[str, Any]]:
        """The request's match key and normalized form, memoized on everything they are
        computed from (method, path with query, body bytes, the headers that decode the
        body or are matched on): tests send the same requests again and again (the
        pytest plugin rewinds the cassette for every test), and decoding, redacting and
        normalizing them was a fifth of replay's cost per request. Bounded in entries
        and in body size."""
        r = flow.request
        headers = self.settings.matching.headers
        body = r.raw_content or b""
        raw = None
        if len(body) <= KEY_CACHE_MAX_BODY:  # the key holds the body: bound the memory
            host = r.pretty_host if self.settings.matching.match_host else None
            raw = (r.method, host, r.path, body, r.headers.get("content-type"),
                   r.headers.get("content-encoding"), *(r.headers.get(h) for h in headers))
            hit = self._keys.get(raw)
            if hit is not None:
                return hit
        req = self.redactor.redact_entry({"request": match_record(flow, headers)})["request"]
        hit = pb.matcher.prepare(req)
        if raw is not None:
            if len(self._keys) >= KEY_CACHE_SIZE:
                self._keys.clear()
            self._keys[raw] = hit
        return hit

    def server_connect(self, data) -> None:
        if self.on:
            self.upstream_attempts += 1
            data.server.error = OFFLINE

    def done(self) -> None:
        if not self.on or self.playback is None:
            return
        for line in self.playback.summary():
            log.info("fc-cassette %s", line)
        log.info("fc-cassette replay: upstream connections attempted: %d",
                 self.upstream_attempts)
        if ctx.options.fc_strict and self.playback.missed_total:  # rewinds included
            log.error("fc-cassette replay --strict: %d miss(es)", self.playback.missed_total)
            self.exit_code = 1

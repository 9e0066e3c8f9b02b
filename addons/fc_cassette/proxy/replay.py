"""Replay mode: every request is answered from a cassette; nothing ever goes upstream.

A thin mitmproxy adapter over :class:`~fc_cassette.player.Player`. Offline by
construction: requests are answered in the ``request`` hook (so mitmproxy has no
reason to connect), out-of-scope requests get a miss too, and a ``server_connect``
guard refuses any upstream connection that would still be tried (with
``connection_strategy=lazy``, CONNECT does not connect either).

One process serves many cassettes: the control endpoint's ``use`` switches the active
one (see :mod:`.control`); cassettes are loaded on first use into a cache bounded by
bytes (:mod:`.cassette_cache`). A request is answered entirely inside its ``request``
hook, from the cassette active when it arrived: a switch cannot come in between. At
shutdown the summary lists, per cassette, served, missed and unused interactions;
``fc_strict`` makes any miss (on any cassette) an exit code of 1.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from mitmproxy import ctx, exceptions, http

from fc_cassette.cassette import store as cassette_io
from fc_cassette.playback.state import Playback
from fc_cassette.proxy import control, core
from fc_cassette.proxy.player import Player, load_player
from fc_cassette.proxy.players import PlayerCache
from fc_cassette.settings.config import Settings

log = logging.getLogger("fc_cassette")
OFFLINE = "fc-cassette replay is offline: upstream connections are refused"


class Replay:
    record_modes = ("none",)  # what the control endpoint's ``use`` accepts

    def __init__(self) -> None:
        self.player: Player | None = None
        self.path = ""  # the active cassette, as given (the option, or a ``use``)
        self.cache = PlayerCache()
        self.upstream_attempts = 0  # before any cassette was loaded (none are then)
        self.exit_code = 0
        self.on = False  # fc_mode == "replay"; kept here: the hot path asks per request
        self.settings = Settings()

    @property
    def playback(self) -> Playback | None:
        return self.player.playback if self.player is not None else None

    def configure(self, updated: set[str]) -> None:
        if "fc_mode" in updated:
            self.on = ctx.options.fc_mode == "replay"
        if not self.on or not updated & {"fc_mode", "fc_cassette", "fc_config"}:
            return
        # a cassette chosen through the control endpoint stays (unless fc_cassette changes)
        path = self.path if "fc_cassette" not in updated and self.path else \
            ctx.options.fc_cassette
        if not path:
            raise exceptions.OptionsError("replay needs a cassette: --set fc_cassette=FILE")
        settings = core.settings()
        if settings is not self.settings:  # another config: players built on it go
            self.cache.clear()
            self.settings = settings
        try:
            self._switch(path)
        except cassette_io.CassetteError as e:
            raise exceptions.OptionsError(str(e)) from None

    def _switch(self, path: str) -> None:
        real = os.path.realpath(path)
        if not os.path.isfile(real):  # cassette_io.load says what it is instead
            load_player(path, self.settings, "replay")
        self.player = self.cache.get(real, lambda: load_player(path, self.settings, "replay"))
        self.path = path
        core.share_redactor(self.player.playback.redactor)

    # the control endpoint's target (see control.Target)
    def use(self, cassette: str, record_mode: str | None) -> None:
        try:
            self._switch(cassette)
        except cassette_io.CassetteError as e:
            raise control.Refused("cassette", str(e)) from None
        # (not written back to the fc_cassette option: an options update goes through
        # every addon of mitmproxy, which doubled the cost of a switch)

    def rewind(self) -> bool:
        if self.player is None:
            return False
        self.player.playback.rewind()
        return True

    def control_status(self) -> dict[str, Any] | None:
        if self.player is None:
            return None
        return {**self.player.playback.status(), "record_mode": "none", "recording": False,
                "not_recorded": [], "passthrough": control.passthrough()}

    def request(self, flow: http.HTTPFlow) -> None:
        if not self.on or self.player is None or flow.response:
            return
        if control.handle(flow, self):
            return
        player = self.player  # the cassette active when the request arrived
        try:
            player.answer(flow)
        except Exception as e:  # never let a bug of ours send the request upstream
            player.fail(flow, e)

    def server_connect(self, data) -> None:
        if not self.on:
            return
        if self.player is not None:
            self.player.refuse_connect(data, OFFLINE)
        else:
            self.upstream_attempts += 1
            data.server.error = OFFLINE

    def done(self) -> None:
        if not self.on or self.player is None:
            return
        for line in self.cache.summary():
            log.info("fc-cassette %s", line)
        attempts = self.upstream_attempts + self.cache.upstream_refused()
        log.info("fc-cassette replay: upstream connections attempted: %d", attempts)
        missed = self.cache.missed_total()
        if ctx.options.fc_strict and missed:  # rewinds and every cassette included
            log.error("fc-cassette replay --strict: %d miss(es)", missed)
            self.exit_code = 1

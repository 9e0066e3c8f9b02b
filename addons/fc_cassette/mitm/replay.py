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

import json
import logging
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from mitmproxy import ctx, exceptions, http
from mitmproxy.addonmanager import Loader
from mitmproxy.proxy.server_hooks import ServerConnectionHookData

from fc_cassette.cassette import store as cassette_io, usage as cassette_usage
from fc_cassette.mitm import control, core
from fc_cassette.mitm.players import PlayerCache
from fc_cassette.mitm.webhooks_replay import WebhookReplayer
from fc_cassette.playback.state import Playback
from fc_cassette.settings import modes
from fc_cassette.settings.config import Settings

if TYPE_CHECKING:
    from fc_cassette.mitm.player import LoadPlayer, Player

log = logging.getLogger("fc_cassette")
OFFLINE = "fc-cassette replay is offline: upstream connections are refused"


class Replay:
    record_modes = modes.OFFLINE_MODES  # what the control endpoint's ``use`` accepts

    def __init__(self, load: LoadPlayer) -> None:
        self.load_player = load  # handed by the addon chain (see .addon)
        self.player: Player | None = None
        self.path = ""  # the active cassette, as given (the option, or a ``use``)
        self.cache = PlayerCache()
        self.upstream_attempts = 0  # before any cassette was loaded (none are then)
        self.exit_code = 0
        self.on = False  # fc_mode == "replay"; kept here: the hot path asks per request
        self.started = False  # the proxy listens: a big cassette's rest loads at once
        self.settings = Settings()
        self.webhooks = WebhookReplayer()
        self.addons = [self.webhooks]  # its response hook hands released events on

    @property
    def playback(self) -> Playback | None:
        return self.player.playback if self.player is not None else None

    def load(self, loader: Loader) -> None:
        loader.add_option(
            "fc_usage_out",
            str,
            "",
            "Replay: at shutdown, write which interactions were served to "
            "this file (a usage file for 'fc-cassette prune').",
        )

    def configure(self, updated: set[str]) -> None:
        if "fc_mode" in updated:
            self.on = ctx.options.fc_mode == "replay"
        if not self.on or not updated & {"fc_mode", "fc_cassette", "fc_config"}:
            return
        # a cassette chosen through the control endpoint stays (unless fc_cassette changes)
        path = self.path if "fc_cassette" not in updated and self.path else ctx.options.fc_cassette
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
            self.load_player(path, self.settings, "replay")
        self.player = self.cache.get(
            real, lambda: self.load_player(path, self.settings, "replay", start=self.started)
        )
        self.path = path
        core.share_redactor(self.player.playback.redactor)

    def running(self) -> None:
        """The proxy listens: the rest of the cassettes loaded so far is parsed now (a
        background thread; before, it would slow mitmproxy's start-up down)."""
        self.started = True
        core.PARENT_LINES.append(self.parent_line)
        for entry in self.cache.entries.values():
            entry.player.playback.start_loading()

    # the control endpoint's target (see control.Target)
    def preload(
        self, cassette: str, record_mode: modes.RecordMode | None
    ) -> Callable[[], None] | None:
        """A job parsing ``cassette`` off the event loop before ``use`` (None: cached)."""
        settings = self.settings
        return self.cache.preload(
            os.path.realpath(cassette),
            lambda: self.load_player(cassette, settings, "replay", whole=True),
        )

    def parent_line(self, line: bytes) -> None:
        """A line from the harness on the parent pipe (issue #25): a control call
        (:func:`.control.parent_call`), or ``{"preload": PATH}``, a hint at the cassette
        its next test will use, parsed now, while the proxy waits for that test (its
        ``use`` then finds it parsed). Only a small cassette inside the cassette root;
        anything else is ignored. Nothing changes for the clients: the cassette in use
        stays, and a ``use`` takes the parsed cassette only if the file is unchanged
        since."""
        try:
            hint = json.loads(line)
        except ValueError:
            return
        if not self.on or not isinstance(hint, dict):
            return
        if "call" in hint:
            control.parent_call(hint, self, core.reply_to_parent)
            return
        path = hint.get("preload")
        if not isinstance(path, str):
            return
        try:
            control.confine(path)
        except (control.Refused, OSError, ValueError):
            return
        settings = self.settings
        self.cache.hint(
            os.path.realpath(path),
            lambda: self.load_player(path, settings, "replay", whole=True),
        )

    def use(self, cassette: str, record_mode: modes.RecordMode | None) -> None:
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
        self.webhooks.rewind(self.player)
        return True

    def control_status(self) -> dict[str, Any] | None:
        if self.player is None:
            return None
        return {
            **self.player.playback.status(),
            "record_mode": "none",
            "recording": False,
            "not_recorded": [],
            "passthrough": control.passthrough(),
            "webhooks": self.webhooks.status(self.player),
        }

    def request(self, flow: http.HTTPFlow) -> None:
        if not self.on or self.player is None or flow.response:
            return
        if control.handle(flow, self):
            return
        player = self.player  # the cassette active when the request arrived
        missed = player.playback.missed
        if self.webhooks.on:  # releasing webhooks needs all of the cassette's
            player.playback.complete()
        try:
            player.answer(flow)
        except Exception as e:  # never let a bug of ours send the request upstream
            player.fail(flow, e)
        if player.playback.missed != missed:
            control.note_news()  # a harness asks for the status only on news
        if player.webhooks:
            self.webhooks.answered(player, flow, flow.metadata.get(core.SERVED_SEQ))

    def server_connect(self, data: ServerConnectionHookData) -> None:
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
        self.cache.finish_loads()  # the summary and the verdict of whole cassettes
        for line in self.cache.summary():
            log.info("fc-cassette %s", line)
        attempts = self.upstream_attempts + self.cache.upstream_refused()
        log.info("fc-cassette replay: upstream connections attempted: %d", attempts)
        self._write_usage()
        for error in self.cache.failed_loads():  # today's start-up refusal, found late
            log.error("fc-cassette: %s", error)
            self.exit_code = 1
        missed = self.cache.missed_total()
        if ctx.options.fc_strict and missed:  # rewinds and every cassette included
            log.error("fc-cassette replay --strict: %d miss(es)", missed)
            self.exit_code = 1
        if self.webhooks.finish(ctx.options.fc_strict) and ctx.options.fc_strict:
            self.exit_code = 1

    def _write_usage(self) -> None:
        target = ctx.options.fc_usage_out
        if not target:
            return
        try:
            cassette_usage.write(target, self.cache.usage())
        except (OSError, cassette_usage.UsageError) as e:
            log.error(
                "fc-cassette replay: cannot write the usage file %s: %s",
                target,
                getattr(e, "strerror", None) or e,
            )
            self.exit_code = 1
            return
        log.info("fc-cassette replay: usage written to %s", target)

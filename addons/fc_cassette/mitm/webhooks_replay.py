"""Replay's webhooks: each recorded event delivered to ``--webhooks-to`` after the
response of the interaction it followed, in recorded order, signed again.

``fc-cassette replay C --webhooks-to APP_URL [--webhook-secret whsec_...]`` (options
``fc_webhooks_to``, ``fc_webhook_secret``; default secret
:data:`fc_cassette.stripe_api.signing.TEST_SECRET`). A webhook document recorded with
``after: N`` is released once interaction ``N`` has been served (``after: 0``: with the
first answer), and never before the webhooks recorded ahead of it. Released events are
handed to a :class:`~fc_cassette.mitm.delivery.Deliverer` from the ``response``
hook's next loop turn (the response goes out first; a delivery never holds it), which
signs each attempt with a fresh timestamp and retries with bounded backoff.

Per cassette: ``status`` lists its deliveries (event id, type, the app's status,
attempts, delivered) and the events not yet released; a rewind starts over. Events are
released only by answers from their own cassette, so a test's events are delivered only
while its cassette is in use. ``--strict`` exits
1 when a delivery failed or an event was never delivered.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import TYPE_CHECKING, Any

from mitmproxy import ctx, http

from fc_cassette.mitm import core
from fc_cassette.mitm.delivery import Deliverer, Delivery
from fc_cassette.stripe_api import signing

if TYPE_CHECKING:
    from fc_cassette.mitm.player import Player

log = logging.getLogger("fc_cassette")
RELEASED = "fc_cassette_webhooks_released"  # flow.metadata: the events its response frees
DRAIN_S = 60.0  # at shutdown: how long deliveries under way may still take


class Pending:
    """One cassette's webhooks: what was served, what was released and delivered."""

    def __init__(self, docs: list[dict[str, Any]]) -> None:
        self.docs = [d["webhook"] for d in docs]
        self.rewind()

    def rewind(self) -> None:
        self.next = 0
        self.served: set[int] = {0}
        self.deliveries: list[Delivery] = []

    def release(self, seq: int | None) -> list[dict[str, Any]]:
        """The webhooks ``seq``'s response frees, in order."""
        if seq is not None:
            self.served.add(seq)
        out = []
        while self.next < len(self.docs) and self.docs[self.next]["after"] in self.served:
            out.append(self.docs[self.next])
            self.next += 1
        return out

    def status(self) -> dict[str, Any]:
        return {
            "deliveries": [d.as_dict() for d in self.deliveries],
            "undelivered": [
                {"event": w["id"], "type": w["type"], "after": w["after"]}
                for w in self.docs[self.next :]
            ],
        }

    def failures(self) -> int:
        return sum(1 for d in self.deliveries if not d.delivered) + len(self.docs) - self.next


class WebhookReplayer:
    """Owned by Replay: it calls :meth:`answered` after each answer, :meth:`response`
    comes as a sub-addon hook."""

    def __init__(self) -> None:
        self.pending: dict[int, tuple[Player, Pending]] = {}  # id(player) -> state
        self.deliverer: Deliverer | None = None

    @property
    def on(self) -> bool:
        return bool(getattr(ctx.options, "fc_webhooks_to", ""))

    def of(self, player: Player) -> Pending:
        found = self.pending.get(id(player))
        if found is None or found[0] is not player:
            found = self.pending[id(player)] = (player, Pending(player.webhooks))
        return found[1]

    def answered(self, player: Player, flow: http.HTTPFlow, seq: int | None) -> None:
        """``player`` answered ``flow`` with its interaction ``seq`` (the replay addon
        reads it from the flow): the webhooks that follow it are released."""
        if not player.webhooks or not self.on:
            return
        ready = self.of(player).release(seq)
        if ready:
            flow.metadata[RELEASED] = (self.of(player), ready)

    def response(self, flow: http.HTTPFlow) -> None:
        released = flow.metadata.pop(RELEASED, None)
        if released is None:
            return
        try:
            asyncio.get_running_loop().call_soon(self._submit, *released)
        except RuntimeError:  # no event loop (a unit test calling the hook)
            self._submit(*released)

    def _submit(self, state: Pending, docs: list[dict[str, Any]]) -> None:
        if self.deliverer is None:
            self.deliverer = Deliverer(backoff=tuple(core.settings().webhooks.retry_after_s))
        url = ctx.options.fc_webhooks_to
        secret = ctx.options.fc_webhook_secret or signing.TEST_SECRET
        for doc in docs:
            event = doc["body"]["json"]
            payload = json.dumps(event, indent=2).encode("utf-8")
            state.deliveries.append(
                self.deliverer.submit(url, secret, doc["id"], doc["type"], payload)
            )

    def rewind(self, player: Player | None) -> None:
        if player is not None and id(player) in self.pending:
            self.of(player).rewind()

    def status(self, player: Player | None) -> dict[str, Any]:
        if player is None or not player.webhooks:
            return {"deliveries": [], "undelivered": []}
        return self.of(player).status()

    def finish(self, strict: bool) -> int:
        """At shutdown: let deliveries under way end (bounded), log, and the number of
        events that failed or were never delivered (0 when webhooks are off)."""
        if not self.on:
            return 0
        if self.deliverer is not None:
            self.deliverer.close(DRAIN_S)
        failed = 0
        for _player, state in self.pending.values():
            failed += state.failures()
            for d in state.deliveries:
                if not d.delivered:
                    log.error(
                        "fc-cassette replay: webhook %s %s NOT delivered after %d attempt(s): %s",
                        d.event_id,
                        d.type,
                        d.attempts,
                        d.error,
                    )
            for w in state.docs[state.next :]:
                log.error(
                    "fc-cassette replay: webhook %s %s never delivered: interaction "
                    "#%d (which it followed) was not served",
                    w["id"],
                    w["type"],
                    w["after"],
                )
        if failed and strict:
            log.error("fc-cassette replay --strict: %d webhook event(s) not delivered", failed)
        return failed

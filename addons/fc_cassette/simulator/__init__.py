"""A stateful, deterministic, in-memory stand-in for Stripe's Financial Connections API.

Pure Python (no mitmproxy): :meth:`Simulator.handle` takes one HTTP request and returns
a :class:`SimResponse`. :mod:`fc_cassette.simulate` wires it into mitmproxy. The
contract (endpoints, errors, determinism) is documented in ``docs/simulator.md``.

Modules: :mod:`.engine` (auth, versions, routing, idempotency, response bytes),
:mod:`.errors` (Stripe's error envelope and the parameter checks derived from the
request models), :mod:`.sessions` (create, retrieve, complete), :mod:`.accounts`
(accounts, refreshes, owners, transactions), :mod:`.data` (generated data, pagination),
:mod:`.events` (event log, ``emit_event``, the scheduler, ``/v1/events``),
:mod:`.webhooks` (webhook endpoints, the outbox), :mod:`.delivery` (signed deliveries
over HTTP, in threads: used by the proxy's addons, never by the engine).
"""

from __future__ import annotations

from fc_cassette.simulator.accounts import AccountsMixin
from fc_cassette.simulator.engine import (
    DEFAULT_CLOCK_START,
    DEFAULT_STRIPE_VERSION,
    Engine,
    SimResponse,
)
from fc_cassette.simulator.errors import StripeError, bracket_param, mask_key
from fc_cassette.simulator.events import EventsMixin
from fc_cassette.simulator.sessions import SessionsMixin
from fc_cassette.simulator.webhooks import Outgoing, Target, WebhooksMixin

__all__ = ["DEFAULT_CLOCK_START", "DEFAULT_STRIPE_VERSION", "Outgoing", "SimResponse",
           "Simulator", "StripeError", "Target", "bracket_param", "mask_key"]


class Simulator(SessionsMixin, AccountsMixin, EventsMixin, WebhooksMixin, Engine):
    """Stripe's FC API in memory: same seed and request sequence, same bytes.

    Events: :meth:`emit_event`, :meth:`schedule` (with :meth:`settle`, :meth:`run_due`,
    :meth:`next_due`) in :mod:`.events`; webhook endpoints and :meth:`take_deliveries`
    in :mod:`.webhooks`. A mixin adds routes beyond the FC endpoint table in its
    ``ROUTES`` and lists them here."""

    ROUTES = AccountsMixin.ROUTES + EventsMixin.ROUTES + WebhooksMixin.ROUTES

    def __init__(self, seed: int = 0, clock_start: int = DEFAULT_CLOCK_START,
                 webhooks: list[Target] | None = None) -> None:
        super().__init__(seed, clock_start)
        self._init_events()
        self._init_webhooks(webhooks)
        self._init_sessions()
        self._init_accounts()

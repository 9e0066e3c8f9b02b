"""A stateful, deterministic, in-memory stand-in for Stripe's API around Financial Connections.

Pure Python (no mitmproxy): :meth:`Simulator.handle` takes one HTTP request and returns
a :class:`SimResponse`. :mod:`fc_cassette.simulate` wires it into mitmproxy. The
contract (endpoints, errors, determinism) is documented in ``docs/simulator.md``.

Modules: :mod:`.engine` (auth, versions, routing, idempotency, response bytes),
:mod:`.errors` (Stripe's error envelope), :mod:`.params` (the parameter checks derived
from the request models), :mod:`.sessions` (create, retrieve, complete), :mod:`.accounts`
(accounts, refreshes, owners, transactions), :mod:`.data` (generated data, pagination),
:mod:`.events` (event log, ``emit_event``, the scheduler, ``/v1/events``),
:mod:`.webhooks` (webhook endpoints, the outbox; the proxy's addons deliver it through
:mod:`fc_cassette.mitm.delivery`),
:mod:`.customers`, :mod:`.payment_methods` (``us_bank_account``), :mod:`.intents`
(PaymentIntents: the ACH lifecycle), :mod:`.setup_intents`, :mod:`.mandates`;
:mod:`.host` declares, for the type checker, what the mixins use of the Engine and of
one another (a mixin calls another through it, never by importing it).
``tests/unit/test_sim_routes.py`` ties every endpoint row and route to its handler.
"""

from __future__ import annotations

from fc_cassette.simulator.accounts import AccountsMixin
from fc_cassette.simulator.customers import CustomersMixin
from fc_cassette.simulator.engine import (
    DEFAULT_CLOCK_START,
    DEFAULT_STRIPE_VERSION,
    Engine,
    SimResponse,
)
from fc_cassette.simulator.errors import StripeError, bracket_param, mask_key
from fc_cassette.simulator.events import EventsMixin
from fc_cassette.simulator.expansion import ExpansionMixin
from fc_cassette.simulator.intents import DEFAULT_SETTLE_AFTER_S, PaymentIntentsMixin
from fc_cassette.simulator.mandates import MandatesMixin
from fc_cassette.simulator.payment_methods import PaymentMethodsMixin
from fc_cassette.simulator.sessions import SessionsMixin
from fc_cassette.simulator.setup_intents import SetupIntentsMixin
from fc_cassette.simulator.webhooks import Outgoing, Target, WebhooksMixin
from fc_cassette.stripe_api import endpoints

__all__ = [
    "DEFAULT_CLOCK_START",
    "DEFAULT_SETTLE_AFTER_S",
    "DEFAULT_STRIPE_VERSION",
    "Outgoing",
    "SimResponse",
    "Simulator",
    "StripeError",
    "Target",
    "bracket_param",
    "mask_key",
]


class Simulator(
    SessionsMixin,
    AccountsMixin,
    CustomersMixin,
    PaymentMethodsMixin,
    MandatesMixin,
    PaymentIntentsMixin,
    SetupIntentsMixin,
    ExpansionMixin,
    EventsMixin,
    WebhooksMixin,
    Engine,
):
    """Stripe's FC API and the objects around it in memory: same seed and request
    sequence, same bytes.

    Events: :meth:`emit_event`, :meth:`schedule` (with :meth:`settle`, :meth:`run_due`,
    :meth:`next_due`) in :mod:`.events`; webhook endpoints and :meth:`take_deliveries`
    in :mod:`.webhooks`. A mixin adds routes beyond the FC endpoint table in its
    ``ROUTES`` and lists them here."""

    ROUTES = (
        SessionsMixin.ROUTES
        + AccountsMixin.ROUTES
        + EventsMixin.ROUTES
        + WebhooksMixin.ROUTES
        + PaymentIntentsMixin.ROUTES
    )

    def __init__(
        self,
        seed: int = 0,
        clock_start: int = DEFAULT_CLOCK_START,
        webhooks: list[Target] | None = None,
        *,
        settle_after_s: float | None = DEFAULT_SETTLE_AFTER_S,
        accept_unknown_customers: bool = False,
    ) -> None:
        """``settle_after_s``: how long a ``processing`` PaymentIntent takes to settle by
        itself (None: only the simulator-only settle call settles it);
        ``accept_unknown_customers``: a customer id never created here is accepted where
        an object names its customer (see :mod:`.customers`)."""
        super().__init__(endpoints.match, seed, clock_start)
        self.settle_after_s = settle_after_s
        self.accept_unknown_customers = accept_unknown_customers
        self._init_events()
        self._init_webhooks(webhooks)
        self._init_sessions()
        self._init_accounts()
        self._init_customers()
        self._init_payment_methods()
        self._init_mandates()
        self._init_payment_intents()
        self._init_setup_intents()

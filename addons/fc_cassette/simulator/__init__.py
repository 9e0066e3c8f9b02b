"""A stateful, deterministic, in-memory stand-in for Stripe's Financial Connections API.

Pure Python (no mitmproxy): :meth:`Simulator.handle` takes one HTTP request and returns
a :class:`SimResponse`. :mod:`fc_cassette.simulate` wires it into mitmproxy. The
contract (endpoints, errors, determinism) is documented in ``docs/simulator.md``.

Modules: :mod:`.engine` (auth, versions, routing, idempotency, response bytes),
:mod:`.errors` (Stripe's error envelope and the parameter checks derived from the
request models), :mod:`.sessions` (create, retrieve, complete), :mod:`.accounts`
(accounts, refreshes, owners, transactions), :mod:`.data` (generated data, pagination).
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
from fc_cassette.simulator.sessions import SessionsMixin

__all__ = ["DEFAULT_CLOCK_START", "DEFAULT_STRIPE_VERSION", "SimResponse", "Simulator",
           "StripeError", "bracket_param", "mask_key"]


class Simulator(SessionsMixin, AccountsMixin, Engine):
    """Stripe's FC API in memory: same seed and request sequence, same bytes."""

    def __init__(self, seed: int = 0, clock_start: int = DEFAULT_CLOCK_START) -> None:
        super().__init__(seed, clock_start)
        self._init_sessions()
        self._init_accounts()

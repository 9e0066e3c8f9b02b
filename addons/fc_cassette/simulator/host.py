"""What the simulator's mixins may use of one another, declared once for the type checker.

Every mixin of :class:`~fc_cassette.simulator.Simulator` subclasses :class:`Host`. For
mypy, ``Host`` declares the surface the mixins share: the Engine's state and helpers and
the methods and stores one mixin calls on another (each is defined by exactly one
mixin, named in the comment above it). At run time ``Host`` is ``object``: no mixin
gains a base or a method from it, so the Simulator's MRO and behaviour are the ones its
bases list gives. A mixin that starts using another's attribute declares it here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

#: ``emit_event(..., request=NO_REQUEST)``: an event no API request caused (an
#: asynchronous refresh), unlike the default (the request being answered).
NO_REQUEST: dict[str, Any] = {"id": None, "idempotency_key": None}

if TYPE_CHECKING:
    import random
    from collections.abc import Callable

    from fc_cassette.simulator.accounts import StoredAccount
    from fc_cassette.simulator.sessions import StoredSession

    class Host:
        # Engine (engine.py)
        seed: int
        _rng: random.Random
        _clock: int

        def _token(self, n: int = 24) -> str: ...
        def _tick(self) -> int: ...

        def _event_api_version(self) -> str: ...

        # EventsMixin (events.py)
        def emit_event(
            self,
            type: str,
            obj: dict[str, Any],
            *,  # noqa: A002 - Stripe's name
            previous_attributes: dict[str, Any] | None = None,
            request: dict[str, Any] | None = None,
        ) -> dict[str, Any]: ...
        def schedule(
            self, delay_s: float, callback: Callable[[], None], *, key: str | None = None
        ) -> int: ...
        def settle(self, key: str) -> None: ...

        # WebhooksMixin (webhooks.py)
        def _queue_deliveries(self, event: dict[str, Any]) -> None: ...

        # SessionsMixin (sessions.py)
        _sessions: dict[str, StoredSession]

        # AccountsMixin (accounts.py)
        _accounts: dict[str, StoredAccount]

        def _link_account(
            self, session: dict[str, Any], subcategory: str, now: int
        ) -> dict[str, Any]: ...

        # CustomersMixin (customers.py)
        _customers: dict[str, dict[str, Any]]

        def _customer(self, customer_id: str, param: str = "customer") -> dict[str, Any]: ...
        def _customer_ref(self, customer_id: str, param: str) -> str: ...

        # PaymentMethodsMixin (payment_methods.py)
        _payment_methods: dict[str, dict[str, Any]]
        _debit_outcome: dict[str, str | None]

        def _build_payment_method(
            self, given: dict[str, Any], prefix: str = ""
        ) -> dict[str, Any]: ...
        def _payment_methods_of(
            self, customer_id: str | None, kind: str | None
        ) -> list[dict[str, Any]]: ...
        def _attach(self, pm: dict[str, Any], customer_id: str) -> None: ...
        def _payment_method_for(self, pm_id: str, customer_id: str | None) -> dict[str, Any]: ...

        # MandatesMixin (mandates.py)
        _mandates: dict[str, dict[str, Any]]

        def _mandate_for(
            self, params: dict[str, Any], pm: dict[str, Any], single_use: dict[str, Any] | None
        ) -> dict[str, Any]: ...
        def _deactivate_mandates(self, pm_id: str) -> None: ...
        def _debit_failed(self, pm_id: str, failure: str) -> None: ...
        def _mandate(
            self, mandate_id: str | None, param: str, shown: str | None = None
        ) -> dict[str, Any]: ...

        # PaymentIntentsMixin (intents.py)
        def _intent_payment_method(
            self, intent: dict[str, Any], params: dict[str, Any]
        ) -> None: ...

        # ExpansionMixin (expansion.py)
        def _expanded(
            self, obj: dict[str, Any], params: dict[str, Any], fields: tuple[str, ...]
        ) -> dict[str, Any]: ...
        def _expanded_list(
            self, envelope: dict[str, Any], params: dict[str, Any], fields: tuple[str, ...]
        ) -> dict[str, Any]: ...
else:
    Host = object

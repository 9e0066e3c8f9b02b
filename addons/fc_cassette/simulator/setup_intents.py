"""SetupIntents with ``us_bank_account`` in the simulator: save a bank account for later.

``requires_payment_method`` -> (a payment method) ``requires_confirmation`` -> (confirm,
with ``mandate_data``) ``succeeded`` at once: a linked FC account is verified instantly,
and the simulator verifies account and routing numbers the same way (no
microdeposits: its choice). Confirming creates a ``multi_use`` mandate (``mandate``)
and attaches the payment method to the intent's customer. Events:
``setup_intent.created``, ``.succeeded``, ``.canceled``, ``payment_method.attached``.
"""

from __future__ import annotations

from typing import Any

from fc_cassette.simulator.errors import invalid, no_such
from fc_cassette.simulator.expansion import SI_EXPANDABLE, check_expand
from fc_cassette.simulator.host import Host
from fc_cassette.simulator.intent_steps import (
    CONFIRMABLE,
    cancel_intent,
    method_options,
    need_mandate,
    open_intent,
    unexpected_state,
)
from fc_cassette.simulator.params import check_params
from fc_cassette.stripe_api.models.intents import (
    IntentRetrieveParams,
    SetupIntentCancelParams,
    SetupIntentConfirmParams,
    SetupIntentCreateParams,
)

SI_KIND = "setup_intent"


class SetupIntentsMixin(Host):
    """The ``setup_intents.*`` endpoints; needs the Engine, the EventsMixin and the
    customers, payment methods, mandates and payment intents mixins."""

    def _init_setup_intents(self) -> None:
        self._setup_intents: dict[str, dict[str, Any]] = {}

    def _setup_intent(self, si_id: str) -> dict[str, Any]:
        found = self._setup_intents.get(si_id)
        if found is None:
            raise no_such(SI_KIND, si_id, "intent")
        return found

    def _ep_setup_intents_create(self, _ident: str, params: dict[str, Any]) -> dict:
        check_params(SetupIntentCreateParams, params)
        check_expand(params, SI_EXPANDABLE, exact=True)
        customer = params.get("customer")
        if customer:
            self._customer_ref(customer, "customer")
        types = list(params.get("payment_method_types") or ["us_bank_account"])
        if params.get("confirm") in ("true", True):
            need_mandate(params)
        now = self._tick()
        si_id = "seti_" + self._token(24)
        intent: dict[str, Any] = {
            "id": si_id,
            "object": "setup_intent",
            "application": None,
            "automatic_payment_methods": None,
            "cancellation_reason": None,
            "client_secret": f"{si_id}_secret_{self._token(25)}",
            "created": now,
            "customer": customer or None,
            "description": params.get("description") or None,
            "flow_directions": params.get("flow_directions"),
            "last_setup_error": None,
            "latest_attempt": None,
            "livemode": False,
            "mandate": None,
            "metadata": {k: str(v) for k, v in (params.get("metadata") or {}).items()},
            "next_action": None,
            "on_behalf_of": None,
            "payment_method": None,
            "payment_method_configuration_details": None,
            "payment_method_options": method_options(params, types),
            "payment_method_types": types,
            "single_use_mandate": None,
            "status": "requires_payment_method",
            "usage": params.get("usage", "off_session"),
        }
        open_intent(self, intent, params, self._setup_intents, self._confirm_setup)
        return self._expanded(intent, params, SI_EXPANDABLE)

    def _confirm_setup(self, intent: dict[str, Any], params: dict[str, Any]) -> None:
        if intent["status"] not in CONFIRMABLE:
            raise unexpected_state(SI_KIND, "confirm", intent["status"], CONFIRMABLE)
        need_mandate(params)
        self._intent_payment_method(intent, params)
        if not intent["payment_method"]:
            raise invalid(
                None,
                "You cannot confirm this SetupIntent because it's missing a "
                "payment method. Confirm it again with payment_method or "
                "payment_method_data.",
                "setup_intent_unexpected_state",
            )
        pm = self._payment_methods[intent["payment_method"]]
        mandate = self._mandate_for(params, pm, None)
        self._tick()
        if intent["customer"]:
            self._attach(pm, intent["customer"])
        previous = {"status": intent["status"]}
        intent.update(status="succeeded", mandate=mandate["id"], last_setup_error=None)
        self.emit_event("setup_intent.succeeded", intent, previous_attributes=previous)

    def _ep_setup_intents_confirm(self, si_id: str, params: dict[str, Any]) -> dict:
        check_params(SetupIntentConfirmParams, params)
        check_expand(params, SI_EXPANDABLE, exact=True)
        intent = self._setup_intent(si_id)
        self._confirm_setup(intent, params)
        return self._expanded(intent, params, SI_EXPANDABLE)

    def _ep_setup_intents_cancel(self, si_id: str, params: dict[str, Any]) -> dict:
        check_params(SetupIntentCancelParams, params)
        check_expand(params, SI_EXPANDABLE, exact=True)
        intent = self._setup_intent(si_id)
        cancel_intent(self, intent, params)
        return self._expanded(intent, params, SI_EXPANDABLE)

    def _ep_setup_intents_retrieve(self, si_id: str, params: dict[str, Any]) -> dict:
        check_params(IntentRetrieveParams, params)
        check_expand(params, SI_EXPANDABLE, exact=True)
        intent = self._setup_intent(si_id)
        secret = params.get("client_secret")
        if secret is not None and secret != intent["client_secret"]:
            raise no_such(SI_KIND, si_id, "intent")
        return self._expanded(intent, params, SI_EXPANDABLE)

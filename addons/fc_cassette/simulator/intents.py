"""PaymentIntents with ``us_bank_account`` in the simulator: the ACH lifecycle.

``requires_payment_method`` -> (a payment method) ``requires_confirmation`` -> (confirm,
with ``mandate_data``) ``processing`` -> ``succeeded``, or back to
``requires_payment_method`` with ``last_payment_error`` when the payment method's debit
fails (:mod:`.payment_methods`: Stripe's test account numbers, or a linked account the
completion marked). ``processing`` settles by itself ``settle_after_s`` seconds after
the confirm (the proxy's loop runs due tasks), or at once with the simulator-only
``POST /_simulator/payment_intents/{id}/settle``. Cancel is allowed before processing.
Events: ``payment_intent.created``, ``.processing``, ``.succeeded``, ``.payment_failed``,
``.canceled``.
"""

from __future__ import annotations

import copy
from typing import Any

from fc_cassette.simulator import data
from fc_cassette.simulator.errors import clip, invalid, no_such
from fc_cassette.simulator.expansion import PI_EXPANDABLE, check_expand, listed
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
from fc_cassette.stripe_api.models.common import TopLevel
from fc_cassette.stripe_api.models.intents import (
    PAYMENT_INTENTS_URL,
    IntentRetrieveParams,
    PaymentIntentCancelParams,
    PaymentIntentConfirmParams,
    PaymentIntentCreateParams,
    PaymentIntentListParams,
)

PI_KIND = "payment_intent"
PI_ERROR_KIND = "payment_intent"
DEFAULT_SETTLE_AFTER_S = 3.0
MIN_AMOUNT = 50  # Stripe's minimum charge amount in usd cents
FAILURE_MESSAGES = {
    "no_account": "The bank account could not be located.",
    "account_closed": "The bank account has been closed.",
    "insufficient_funds": "The customer's account has insufficient funds to cover this payment.",
    "debit_not_authorized": "The customer has notified their bank that this payment was "
    "unauthorized.",
    "invalid_currency": "The bank account cannot accept payments in this currency.",
}
_SIM_PI = r"^/_simulator/payment_intents/([^/?#]+)/"


class PaymentIntentsMixin(Host):
    """The ``payment_intents.*`` endpoints; needs the Engine, the EventsMixin and the
    customers, payment methods and mandates mixins."""

    settle_after_s: float | None = DEFAULT_SETTLE_AFTER_S
    ROUTES: tuple[tuple[str, str, str], ...] = (
        ("POST", _SIM_PI + "settle$", "sim_payment_intents.settle"),
        ("GET", _SIM_PI + "mandate$", "sim_payment_intents.mandate"),
    )

    def _init_payment_intents(self) -> None:
        self._payment_intents: dict[str, dict[str, Any]] = {}
        self._mandate_of: dict[str, str] = {}  # intent id -> the mandate of its confirm

    def _payment_intent(self, pi_id: str) -> dict[str, Any]:
        found = self._payment_intents.get(pi_id)
        if found is None:
            raise no_such(PI_ERROR_KIND, pi_id, "intent")
        return found

    def _intent_payment_method(self, intent: dict[str, Any], params: dict[str, Any]) -> None:
        """Set the intent's payment method from ``payment_method`` or
        ``payment_method_data`` (checked against its customer)."""
        if params.get("payment_method"):
            pm = self._payment_method_for(params["payment_method"], intent["customer"])
            intent["payment_method"] = pm["id"]
        elif params.get("payment_method_data"):
            pm = self._build_payment_method(params["payment_method_data"], "payment_method_data")
            intent["payment_method"] = pm["id"]
        else:
            return
        if pm["type"] not in intent["payment_method_types"]:
            raise invalid(
                "payment_method",
                f"The PaymentMethod provided ({pm['id']}) is of "
                f"type {pm['type']}, which is not in this intent's "
                "payment_method_types.",
            )

    # ---------------------------------------------------------------- creating
    def _new_payment_intent(self, params: dict[str, Any]) -> dict[str, Any]:
        amount, currency = int(params["amount"]), params["currency"].lower()
        if amount < MIN_AMOUNT:
            raise invalid("amount", f"Amount must be at least $0.50 {currency}", "amount_too_small")
        types = list(params.get("payment_method_types") or ["us_bank_account"])
        if "us_bank_account" in types and currency != "usd":
            raise invalid(
                "currency",
                f"The currency provided ({clip(currency)}) is invalid. "
                "Payments with us_bank_account support the following "
                "currencies: usd.",
            )
        customer = params.get("customer")
        if customer:
            self._customer_ref(customer, "customer")
        now = self._tick()
        pi_id = "pi_" + self._token(24)
        return {
            "id": pi_id,
            "object": "payment_intent",
            "amount": amount,
            "amount_capturable": 0,
            "amount_details": {"tip": {}},
            "amount_received": 0,
            "application": None,
            "application_fee_amount": None,
            "automatic_payment_methods": None,
            "canceled_at": None,
            "cancellation_reason": None,
            "capture_method": params.get("capture_method", "automatic_async"),
            "client_secret": f"{pi_id}_secret_{self._token(25)}",
            "confirmation_method": params.get("confirmation_method", "automatic"),
            "created": now,
            "currency": currency,
            "customer": customer or None,
            "description": params.get("description") or None,
            "last_payment_error": None,
            "latest_charge": None,
            "livemode": False,
            "metadata": {k: str(v) for k, v in (params.get("metadata") or {}).items()},
            "next_action": None,
            "on_behalf_of": None,
            "payment_method": None,
            "payment_method_configuration_details": None,
            "payment_method_options": method_options(params, types),
            "payment_method_types": types,
            "processing": None,
            "receipt_email": params.get("receipt_email") or None,
            "review": None,
            "setup_future_usage": params.get("setup_future_usage") or None,
            "shipping": None,
            "source": None,
            "statement_descriptor": None,
            "statement_descriptor_suffix": None,
            "status": "requires_payment_method",
            "transfer_data": None,
            "transfer_group": None,
        }

    def _ep_payment_intents_create(self, _ident: str, params: dict[str, Any]) -> dict:
        check_params(PaymentIntentCreateParams, params)
        check_expand(params, PI_EXPANDABLE, exact=True)
        if params.get("confirm") in ("true", True):
            need_mandate(params)  # before anything exists: a failed create creates nothing
        intent = self._new_payment_intent(params)
        open_intent(self, intent, params, self._payment_intents, self._confirm_payment)
        return self._expanded(intent, params, PI_EXPANDABLE)

    # -------------------------------------------------------------- confirming
    def _confirm_payment(self, intent: dict[str, Any], params: dict[str, Any]) -> None:
        if intent["status"] not in CONFIRMABLE:
            raise unexpected_state(PI_KIND, "confirm", intent["status"], CONFIRMABLE)
        need_mandate(params)
        self._intent_payment_method(intent, params)
        if not intent["payment_method"]:
            raise invalid(
                None,
                "You cannot confirm this PaymentIntent because it's missing "
                "a payment method. You can either update the PaymentIntent "
                "with a payment method and then confirm it again, or confirm "
                "it again directly with a payment method.",
                "payment_intent_unexpected_state",
            )
        if params.get("setup_future_usage"):
            intent["setup_future_usage"] = params["setup_future_usage"]
        pm = self._payment_methods[intent["payment_method"]]
        reuse = intent["setup_future_usage"] or (
            (intent["payment_method_options"].get("us_bank_account") or {}).get(
                "setup_future_usage"
            )
            not in (None, "", "none")
        )
        single = None if reuse else {"amount": intent["amount"], "currency": intent["currency"]}
        mandate = self._mandate_for(params, pm, single)
        self._tick()
        if reuse and intent["customer"]:
            self._attach(pm, intent["customer"])
        previous = {"status": intent["status"]}
        intent.update(
            status="processing", last_payment_error=None, latest_charge="py_" + self._token(24)
        )
        self._mandate_of[intent["id"]] = mandate["id"]
        self.emit_event("payment_intent.processing", intent, previous_attributes=previous)
        if self.settle_after_s is not None:
            self.schedule(
                self.settle_after_s,
                lambda: self._settle_payment(intent),
                key="settle:" + intent["id"],
            )

    def _settle_payment(self, intent: dict[str, Any]) -> None:
        """``processing`` -> ``succeeded``, or the payment method's debit failure."""
        if intent["status"] != "processing":
            return
        self._tick()
        pm = self._payment_methods[intent["payment_method"]]
        failure = self._debit_outcome.get(pm["id"])
        if failure is None:
            intent.update(status="succeeded", amount_received=intent["amount"])
            self.emit_event(
                "payment_intent.succeeded",
                intent,
                previous_attributes={"status": "processing", "amount_received": 0},
            )
            return
        intent.update(
            status="requires_payment_method",
            payment_method=None,
            last_payment_error={
                "code": failure,
                "doc_url": "https://stripe.com/docs/error-codes/" + failure.replace("_", "-"),
                "message": FAILURE_MESSAGES[failure],
                "payment_method": copy.deepcopy(pm),
                "type": "invalid_request_error",
            },
        )
        self.emit_event(
            "payment_intent.payment_failed", intent, previous_attributes={"status": "processing"}
        )
        self._debit_failed(pm["id"], failure)

    def _ep_payment_intents_confirm(self, pi_id: str, params: dict[str, Any]) -> dict:
        check_params(PaymentIntentConfirmParams, params)
        check_expand(params, PI_EXPANDABLE, exact=True)
        intent = self._payment_intent(pi_id)
        self._confirm_payment(intent, params)
        return self._expanded(intent, params, PI_EXPANDABLE)

    def _ep_payment_intents_cancel(self, pi_id: str, params: dict[str, Any]) -> dict:
        check_params(PaymentIntentCancelParams, params)
        check_expand(params, PI_EXPANDABLE, exact=True)
        intent = self._payment_intent(pi_id)
        cancel_intent(self, intent, params)
        return self._expanded(intent, params, PI_EXPANDABLE)

    def _ep_payment_intents_retrieve(self, pi_id: str, params: dict[str, Any]) -> dict:
        check_params(IntentRetrieveParams, params)
        check_expand(params, PI_EXPANDABLE, exact=True)
        intent = self._payment_intent(pi_id)
        secret = params.get("client_secret")
        if secret is not None and secret != intent["client_secret"]:
            raise invalid(
                "client_secret",
                "The client_secret provided does not match the "
                "client_secret associated with the PaymentIntent.",
            )
        return self._expanded(intent, params, PI_EXPANDABLE)

    def _ep_payment_intents_list(self, _ident: str, params: dict[str, Any]) -> dict:
        check_params(PaymentIntentListParams, params)
        check_expand(params, listed(PI_EXPANDABLE), exact=True)
        customer = params.get("customer")
        items = [
            pi
            for pi in reversed(self._payment_intents.values())
            if customer is None or pi["customer"] == customer
        ]
        return self._expanded_list(
            data.paginate(items, params, PAYMENT_INTENTS_URL, PI_KIND), params, PI_EXPANDABLE
        )

    def _ep_sim_payment_intents_settle(self, pi_id: str, params: dict[str, Any]) -> dict:
        """Simulator only: settle a ``processing`` PaymentIntent now."""
        check_params(TopLevel, params)
        intent = self._payment_intent(pi_id)
        if intent["status"] != "processing":
            raise unexpected_state(PI_KIND, "settle", intent["status"], ("processing",), "settled")
        self.settle("settle:" + pi_id)
        self._settle_payment(intent)  # when no task was scheduled (settle_after_s None)
        return intent

    def _ep_sim_payment_intents_mandate(self, pi_id: str, params: dict[str, Any]) -> dict:
        """Simulator only: the mandate a PaymentIntent's confirm used (Stripe shows it on
        the intent's charge, which the simulator does not model)."""
        check_params(TopLevel, params)
        intent = self._payment_intent(pi_id)
        return self._mandate(self._mandate_of.get(intent["id"]), "intent", f"(none for {pi_id})")

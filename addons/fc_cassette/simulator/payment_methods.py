"""PaymentMethods of type ``us_bank_account`` in the simulator: create (from a linked FC
account, or from Stripe's test account and routing numbers), retrieve, attach, detach,
list.

Outcome of a debit: a payment method remembers how a debit from it ends. From a linked
FC account, that is what the simulator-only completion said
(``POST /_simulator/.../complete`` with ``failure=<code>``); from numbers, Stripe's
test account numbers (``000123456789`` succeeds, ``000222222227`` is
``insufficient_funds`` ...: :data:`TEST_ACCOUNT_NUMBERS`). ``payment_method.attached``
and ``payment_method.detached`` are emitted.
"""

from __future__ import annotations

import hashlib
from typing import Any

from fc_cassette.simulator import data
from fc_cassette.simulator.errors import StripeError, clip, invalid, missing, no_such
from fc_cassette.simulator.expansion import PM_EXPANDABLE, check_expand, listed
from fc_cassette.simulator.host import Host
from fc_cassette.simulator.params import check_params
from fc_cassette.stripe_api.models.payment_method import (
    PAYMENT_METHODS_URL,
    PaymentMethodAttachParams,
    PaymentMethodCreateParams,
    PaymentMethodDetachParams,
    PaymentMethodListParams,
    PaymentMethodRetrieveParams,
)

PM_KIND = "paymentmethod"
PM_ERROR_KIND = "PaymentMethod"
TEST_ROUTING_NUMBER = "110000000"
TEST_ACCOUNT_NUMBERS = data.TEST_ACCOUNT_NUMBERS
BANK_NAME = "STRIPE TEST BANK"


class PaymentMethodsMixin(Host):
    """The ``payment_methods.*`` endpoints; needs the Engine, the EventsMixin, the
    CustomersMixin and the AccountsMixin."""

    def _init_payment_methods(self) -> None:
        self._payment_methods: dict[str, dict[str, Any]] = {}  # in creation order
        self._debit_outcome: dict[str, str | None] = {}  # pm id -> failure code or None

    # ------------------------------------------------------------------ building
    def _bank_from_fc(self, account_id: str, param: str) -> tuple[dict[str, Any], str | None]:
        """``us_bank_account`` of a PaymentMethod made from a linked FC account."""
        stored = self._accounts.get(account_id)
        if stored is None:
            raise no_such("financial_connections.account", account_id, param)
        acc = stored.obj
        if "payment_method" not in acc["permissions"]:
            raise invalid(
                param,
                f"The Financial Connections account {clip(account_id)} was "
                "linked without the payment_method permission, so it cannot "
                "be used to create a PaymentMethod. Request payment_method in "
                "the session's permissions[] and have the user link it again.",
            )
        if acc["status"] != "active":
            raise invalid(
                param,
                f"The Financial Connections account {clip(account_id)} is "
                f"{acc['status']}; only an active account can be used to "
                "create a PaymentMethod.",
                "financial_connections_account_inactive",
            )
        if "us_bank_account" not in acc["supported_payment_method_types"]:
            raise invalid(
                param,
                f"The Financial Connections account {clip(account_id)} "
                f"({acc['subcategory']}) does not support us_bank_account "
                "payments; only checking and savings accounts do.",
            )
        bank = {
            "account_holder_type": "individual",
            "account_type": "savings" if acc["subcategory"] == "savings" else "checking",
            "bank_name": BANK_NAME,
            "financial_connections_account": account_id,
            "fingerprint": _fingerprint(account_id),
            "last4": acc["last4"],
            "networks": {"preferred": "ach", "supported": ["ach"]},
            "routing_number": TEST_ROUTING_NUMBER,
            "status_details": {},
        }
        return bank, stored.failure

    @staticmethod
    def _bank_from_numbers(given: dict[str, Any], prefix: str) -> tuple[dict, str | None]:
        for name in ("account_number", "routing_number"):
            if not given.get(name):
                raise missing(f"{prefix}[{name}]")
        number, routing = given["account_number"], given["routing_number"]
        if not (routing.isdigit() and len(routing) == 9):
            raise invalid(
                f"{prefix}[routing_number]",
                "Routing number must have 9 digits.",
                "invalid_bank_account_routing_number",
            )  # simulator wording
        if not (number.isdigit() and 4 <= len(number) <= 17):
            raise invalid(f"{prefix}[account_number]", "Account number must have 4 to 17 digits.")
        bank = {
            "account_holder_type": given.get("account_holder_type", "individual"),
            "account_type": given.get("account_type", "checking"),
            "bank_name": BANK_NAME,
            "financial_connections_account": None,
            "fingerprint": _fingerprint(routing + number),
            "last4": number[-4:],
            "networks": {"preferred": "ach", "supported": ["ach"]},
            "routing_number": routing,
            "status_details": {},
        }
        return bank, TEST_ACCOUNT_NUMBERS.get(number)

    def _build_payment_method(self, given: dict[str, Any], prefix: str = "") -> dict[str, Any]:
        """A new PaymentMethod from ``payment_method_data``-shaped parameters; ``prefix``
        names them in errors (``payment_method_data``, or "" at top level)."""

        def p(name: str) -> str:
            return f"{prefix}[{name}]" if prefix else name

        kind = given.get("type")
        if not kind:
            raise missing(p("type"))
        if kind != "us_bank_account":
            raise invalid(
                p("type"),
                f"The fc-cassette simulator only creates PaymentMethods "
                f"of type us_bank_account, not {clip(kind)}.",
            )
        bank_params = given.get("us_bank_account")
        if not bank_params:
            raise missing(p("us_bank_account"))
        name = (given.get("billing_details") or {}).get("name")
        if not name:  # Stripe: an ACH debit needs the account holder's name
            raise missing(p("billing_details[name]"))
        fca = bank_params.get("financial_connections_account")
        if fca:
            bank, outcome = self._bank_from_fc(
                fca, p("us_bank_account") + "[financial_connections_account]"
            )
        else:
            bank, outcome = self._bank_from_numbers(bank_params, p("us_bank_account"))
        now = self._tick()
        details = given.get("billing_details") or {}
        pm: dict[str, Any] = {
            "id": "pm_" + self._token(24),
            "object": "payment_method",
            "allow_redisplay": given.get("allow_redisplay", "unspecified"),
            "billing_details": {
                "address": {
                    "city": None,
                    "country": None,
                    "line1": None,
                    "line2": None,
                    "postal_code": None,
                    "state": None,
                },
                "email": details.get("email") or None,
                "name": name,
                "phone": details.get("phone") or None,
                "tax_id": details.get("tax_id"),
            },
            "created": now,
            "customer": None,
            "livemode": False,
            "metadata": {k: str(v) for k, v in (given.get("metadata") or {}).items()},
            "type": "us_bank_account",
            "us_bank_account": bank,
        }
        self._payment_methods[pm["id"]] = pm
        self._debit_outcome[pm["id"]] = outcome
        return pm

    # ------------------------------------------------------------------ helpers
    def _payment_method(self, pm_id: str, param: str = "payment_method") -> dict[str, Any]:
        found = self._payment_methods.get(pm_id)
        if found is None:
            raise no_such(PM_ERROR_KIND, pm_id, param)
        return found

    def _payment_methods_of(self, customer_id: str | None, kind: str | None) -> list[dict]:
        """A customer's payment methods (all of them with None), newest first."""
        return [
            pm
            for pm in reversed(self._payment_methods.values())
            if (customer_id is None or pm["customer"] == customer_id)
            and (kind is None or pm["type"] == kind)
        ]

    def _attach(self, pm: dict[str, Any], customer_id: str) -> None:
        """Attach ``pm`` (idempotent for its own customer) and say so."""
        if pm["customer"] == customer_id:
            return
        if pm["customer"] is not None:
            raise invalid(
                "customer",
                "The payment method you provided has already been attached to a customer.",
            )
        pm["customer"] = customer_id
        self.emit_event("payment_method.attached", pm, previous_attributes={"customer": None})

    # ---------------------------------------------------------------- endpoints
    def _ep_payment_methods_create(self, _ident: str, params: dict[str, Any]) -> dict:
        check_params(PaymentMethodCreateParams, params)
        check_expand(params, PM_EXPANDABLE, exact=True)
        if params.get("customer") or params.get("payment_method"):
            raise invalid(
                "payment_method",
                "The fc-cassette simulator does not clone "
                "PaymentMethods (customer, payment_method).",
            )
        return self._expanded(self._build_payment_method(params), params, PM_EXPANDABLE)

    def _ep_payment_methods_retrieve(self, pm_id: str, params: dict[str, Any]) -> dict:
        check_params(PaymentMethodRetrieveParams, params)
        check_expand(params, PM_EXPANDABLE, exact=True)
        return self._expanded(self._payment_method(pm_id), params, PM_EXPANDABLE)

    def _ep_payment_methods_attach(self, pm_id: str, params: dict[str, Any]) -> dict:
        check_params(PaymentMethodAttachParams, params)
        check_expand(params, PM_EXPANDABLE, exact=True)
        if not params.get("customer"):
            raise missing("customer")
        pm = self._payment_method(pm_id)
        customer_id = self._customer_ref(params["customer"], "customer")
        self._tick()
        self._attach(pm, customer_id)
        return self._expanded(pm, params, PM_EXPANDABLE)

    def _ep_payment_methods_detach(self, pm_id: str, params: dict[str, Any]) -> dict:
        check_params(PaymentMethodDetachParams, params)
        check_expand(params, PM_EXPANDABLE, exact=True)
        pm = self._payment_method(pm_id)
        if pm["customer"] is None:
            raise invalid(
                None,
                "The payment method you provided is not attached to a "
                "customer so detachment is impossible.",
            )
        self._tick()
        previous = {"customer": pm["customer"]}
        pm["customer"] = None
        self.emit_event("payment_method.detached", pm, previous_attributes=previous)
        self._deactivate_mandates(pm["id"])
        return self._expanded(pm, params, PM_EXPANDABLE)

    def _ep_payment_methods_list(self, _ident: str, params: dict[str, Any]) -> dict:
        check_params(PaymentMethodListParams, params)
        check_expand(params, listed(PM_EXPANDABLE), exact=True)
        customer = params.get("customer")
        if customer is not None:
            self._customer(customer, "customer")
        items = self._payment_methods_of(customer, params.get("type"))
        return self._expanded_list(
            data.paginate(items, params, PAYMENT_METHODS_URL, PM_KIND), params, PM_EXPANDABLE
        )

    def _payment_method_for(self, pm_id: str, customer_id: str | None) -> dict[str, Any]:
        """The PaymentMethod an intent names, checked against the intent's customer."""
        pm = self._payment_method(pm_id)
        if pm["customer"] is not None and customer_id != pm["customer"]:
            if customer_id is None:
                raise invalid(
                    "customer",
                    f"The PaymentMethod {pm_id} is attached to a "
                    "Customer: pass that Customer's id in customer to "
                    "use it.",
                )
            raise StripeError(
                400,
                f"The PaymentMethod provided ({pm_id}) does not belong to "
                f"the Customer ({customer_id}). Please use a "
                "PaymentMethod attached to the Customer or try again "
                "with a different Customer.",
                param="payment_method",
            )
        return pm


def _fingerprint(source: str) -> str:
    """The same bank account, the same fingerprint (no randomness: not drawn from the seed)."""
    return hashlib.sha256(("fc-cassette:" + source).encode()).hexdigest()[:16]

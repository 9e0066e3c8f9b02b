"""What PaymentIntents and SetupIntents share in the simulator: the statuses a confirm or
a cancel accepts, Stripe's ``*_unexpected_state`` wording, the mandate a confirm names,
``payment_method_options``, and opening and cancelling one (:mod:`.intents`,
:mod:`.setup_intents`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fc_cassette.simulator.errors import StripeError, invalid, missing
from fc_cassette.simulator.host import Host

CONFIRMABLE = ("requires_payment_method", "requires_confirmation", "requires_action")
CANCELABLE = ("requires_payment_method", "requires_confirmation", "requires_action")


def unexpected_state(
    kind: str, verb: str, status: str, allowed: tuple[str, ...], done: str | None = None
) -> StripeError:
    """Stripe's ``payment_intent_unexpected_state`` / ``setup_intent_unexpected_state``
    (``done``: the verb's past participle, ``verb + "ed"`` by default)."""
    noun = "PaymentIntent" if kind == "payment_intent" else "SetupIntent"
    return invalid(
        None,
        f"You cannot {verb} this {noun} because it has a status of {status}. "
        f"Only a {noun} with one of the following statuses may be "
        f"{done or verb + 'ed'}: {', '.join(allowed)}.",
        f"{kind}_unexpected_state",
    )


def need_mandate(params: dict[str, Any]) -> None:
    """A confirm names its mandate: ``mandate_data`` or ``mandate`` (the simulator's rule
    for every us_bank_account confirm, see :mod:`.mandates`)."""
    if not params.get("mandate_data") and not params.get("mandate"):
        raise missing("mandate_data")


def method_options(params: dict[str, Any], types: list[str]) -> dict[str, Any]:
    """``payment_method_options`` of a new intent: what was asked for us_bank_account,
    Stripe's defaults otherwise; an FC permissions list must include payment_method."""
    if "us_bank_account" not in types:
        return {}
    given = (params.get("payment_method_options") or {}).get("us_bank_account") or {}
    fc = given.get("financial_connections") or {}
    permissions = fc.get("permissions") or ["payment_method"]
    if "payment_method" not in permissions:
        raise invalid(
            "payment_method_options[us_bank_account][financial_connections][permissions]",
            "If permissions is passed, the payment_method permission must be included.",
        )
    options: dict[str, Any] = {
        "financial_connections": {
            "permissions": list(permissions),
            "prefetch": list(fc.get("prefetch") or []),
        },
        "mandate_options": {},
        "verification_method": given.get("verification_method", "automatic"),
    }
    if fc.get("return_url"):
        options["financial_connections"]["return_url"] = fc["return_url"]
    if given.get("setup_future_usage"):
        options["setup_future_usage"] = given["setup_future_usage"]
    return {"us_bank_account": options}


def open_intent(
    host: Host,
    intent: dict[str, Any],
    params: dict[str, Any],
    store: dict[str, dict[str, Any]],
    confirm: Callable[[dict[str, Any], dict[str, Any]], None],
) -> None:
    """A payment or setup intent just built: its payment method (then it
    ``requires_confirmation``), kept in ``store``, its ``.created`` event, then the
    confirmation a create call with ``confirm`` asks for (its payment method set)."""
    host._intent_payment_method(intent, params)
    if intent["payment_method"]:
        intent["status"] = "requires_confirmation"
    store[intent["id"]] = intent
    host.emit_event(f"{intent['object']}.created", intent)
    if params.get("confirm") in ("true", True):
        confirm(intent, {**params, "payment_method": None, "payment_method_data": None})


def cancel_intent(host: Host, intent: dict[str, Any], params: dict[str, Any]) -> None:
    """Cancel a payment or setup intent (``canceled_at`` set where the object has it)."""
    kind = intent["object"]
    if intent["status"] not in CANCELABLE:
        raise unexpected_state(kind, "cancel", intent["status"], CANCELABLE)
    now = host._tick()
    previous = {"status": intent["status"]}
    intent.update(status="canceled", cancellation_reason=params.get("cancellation_reason"))
    if "canceled_at" in intent:
        intent["canceled_at"] = now
    host.emit_event(f"{kind}.canceled", intent, previous_attributes=previous)

"""payment_intent and setup_intent, and their endpoints' parameters (declarative).

Source: *SDK* — stripe-python 16.1.0's ``stripe/_payment_intent.py``,
``stripe/_setup_intent.py`` and ``stripe/params/_payment_intent_*_params.py``,
``_setup_intent_*_params.py``; the spec extract has neither. What an ACH flow uses is
modelled field by field (status, amounts, payment method, ``mandate_data``,
``payment_method_data``, ``payment_method_options[us_bank_account]``); the many other
fields and parameters (shipping, transfer data, hooks ...) are opaque: known, so real
traffic carrying them is neither drift nor an error, but not checked inside.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from fc_cassette.stripe_api.models.common import (
    ExternalObject,
    FormBool,
    FormInt,
    LazyNested as Nested,
    LazyResponse as Response,
    LazyTopLevel as TopLevel,
    Opaque,
    PaymentIntentId,
    Permission,
    Prefetch,
    SetupIntentId,
    Str5000,
    UnixTime,
    list_of,
    with_fields,
)
from fc_cassette.stripe_api.models.payment_method import (
    PAYMENT_METHOD_TYPES_OTHER,
    PaymentMethodDataParams,
)

PAYMENT_INTENTS_URL = "/v1/payment_intents"
SETUP_INTENTS_URL = "/v1/setup_intents"
PaymentIntentStatus = Literal[
    "canceled",
    "processing",
    "requires_action",
    "requires_capture",
    "requires_confirmation",
    "requires_payment_method",
    "succeeded",
]
SetupIntentStatus = Literal[
    "canceled",
    "processing",
    "requires_action",
    "requires_confirmation",
    "requires_payment_method",
    "succeeded",
]
PaymentCancellationReason = Literal[
    "abandoned",
    "automatic",
    "duplicate",
    "expired",
    "failed_invoice",
    "fraudulent",
    "requested_by_customer",
    "void_invoice",
]
SetupCancellationReason = Literal["abandoned", "duplicate", "requested_by_customer"]
FutureUsage = Literal["off_session", "on_session"]
_Expandable = Str5000 | ExternalObject | None


class PaymentIntent(Response):
    """payment_intent: *SDK* (the source this module names)."""

    allowed_payment_method_types: list[Str5000] | None = None
    amount: int
    amount_capturable: int
    amount_details: ExternalObject | None = None
    amount_received: int
    application: _Expandable = None
    application_fee_amount: int | None = None
    automatic_payment_methods: ExternalObject | None = None
    canceled_at: UnixTime | None = None
    cancellation_reason: PaymentCancellationReason | None = None
    capture_method: Literal["automatic", "automatic_async", "manual"]
    # Any string: a credential of its own shape (redacted by field name when recorded).
    client_secret: Str5000 | None = None
    confirmation_method: Literal["automatic", "manual"]
    created: UnixTime
    currency: Str5000
    customer: _Expandable = None
    customer_account: Str5000 | None = None
    description: Str5000 | None = None
    excluded_payment_method_types: list[Str5000] | None = None
    hooks: ExternalObject | None = None
    id: PaymentIntentId
    last_payment_error: ExternalObject | None = None
    latest_charge: _Expandable = None
    livemode: bool
    managed_payments: ExternalObject | None = None
    metadata: dict[str, str]
    next_action: ExternalObject | None = None
    object: Literal["payment_intent"]
    on_behalf_of: _Expandable = None
    payment_details: ExternalObject | None = None
    payment_method: _Expandable = None
    payment_method_configuration_details: ExternalObject | None = None
    payment_method_options: ExternalObject | None = None
    payment_method_types: list[Str5000]
    payment_record: _Expandable = None
    presentment_details: ExternalObject | None = None
    processing: ExternalObject | None = None
    receipt_email: Str5000 | None = None
    review: _Expandable = None
    setup_future_usage: FutureUsage | None = None
    shipping: ExternalObject | None = None
    source: _Expandable = None
    statement_descriptor: Str5000 | None = None
    statement_descriptor_suffix: Str5000 | None = None
    status: PaymentIntentStatus
    transfer_data: ExternalObject | None = None
    transfer_group: Str5000 | None = None


class SetupIntent(Response):
    """setup_intent: *SDK* (the source this module names)."""

    allowed_payment_method_types: list[Str5000] | None = None
    application: _Expandable = None
    attach_to_self: bool | None = None
    automatic_payment_methods: ExternalObject | None = None
    cancellation_reason: SetupCancellationReason | None = None
    client_secret: Str5000 | None = None
    created: UnixTime
    customer: _Expandable = None
    customer_account: Str5000 | None = None
    description: Str5000 | None = None
    excluded_payment_method_types: list[Str5000] | None = None
    flow_directions: list[Literal["inbound", "outbound"]] | None = None
    id: SetupIntentId
    last_setup_error: ExternalObject | None = None
    latest_attempt: _Expandable = None
    livemode: bool
    managed_payments: ExternalObject | None = None
    mandate: _Expandable = None
    metadata: dict[str, str] | None = None
    next_action: ExternalObject | None = None
    object: Literal["setup_intent"]
    on_behalf_of: _Expandable = None
    payment_method: _Expandable = None
    payment_method_configuration_details: ExternalObject | None = None
    payment_method_options: ExternalObject | None = None
    payment_method_types: list[Str5000]
    single_use_mandate: _Expandable = None
    status: SetupIntentStatus
    usage: Str5000


PaymentIntentList = list_of(PaymentIntent, PAYMENT_INTENTS_URL, "PaymentIntentList")
SetupIntentList = list_of(SetupIntent, SETUP_INTENTS_URL, "SetupIntentList")


# ------------------------------------------------------------------------- request models
class OnlineAcceptanceParams(Nested):
    """OnlineAcceptanceParams: *SDK* (the source this module names)."""

    ip_address: Str5000
    user_agent: Str5000


class CustomerAcceptanceParams(Nested):
    """CustomerAcceptanceParams: *SDK* (the source this module names)."""

    accepted_at: FormInt = None
    offline: Opaque = None
    online: OnlineAcceptanceParams = None
    type: Literal["offline", "online"]


class MandateDataParams(Nested):
    """``mandate_data[...]`` (*SDK*: ``...MandateData``)."""

    customer_acceptance: CustomerAcceptanceParams


class FinancialConnectionsOptions(Nested):
    """FinancialConnectionsOptions: *SDK* (the source this module names)."""

    filters: Opaque = None
    permissions: list[Permission] = None
    prefetch: list[Prefetch] = None
    return_url: Str5000 = None


class UsBankAccountOptions(Nested):
    """``payment_method_options[us_bank_account][...]`` (*SDK*)."""

    financial_connections: FinancialConnectionsOptions = None
    mandate_options: Opaque = None
    networks: Opaque = None
    setup_future_usage: Literal["", "none", "off_session", "on_session"] = None
    target_date: Str5000 = None
    transaction_purpose: Str5000 = None
    verification_method: Literal["automatic", "instant", "microdeposits"] = None


class _MethodOptions(Nested):
    """_MethodOptions: *SDK* (the source this module names)."""

    us_bank_account: UsBankAccountOptions | Literal[""] = None


if TYPE_CHECKING:  # what mypy can read of the model with_fields() builds
    PaymentMethodOptionsParams = _MethodOptions
else:
    PaymentMethodOptionsParams = with_fields(
        _MethodOptions,
        "PaymentMethodOptionsParams",
        "``payment_method_options[...]`` (*SDK*): us_bank_account modelled, the others opaque.",
        PAYMENT_METHOD_TYPES_OTHER,
        Opaque,
    )


class _IntentConfirmFields(TopLevel):
    """What confirming takes, on its own or as ``confirm=true`` at creation (*SDK*:
    ``PaymentIntentConfirmParams``, ``SetupIntentConfirmParams``)."""

    confirmation_token: Str5000 = None
    expand: list[Str5000] = None
    mandate_data: MandateDataParams | Literal[""] = None
    payment_method: Str5000 = None
    payment_method_data: PaymentMethodDataParams = None
    payment_method_options: PaymentMethodOptionsParams = None
    return_url: Str5000 = None
    use_stripe_sdk: FormBool = None


class _PaymentFields(_IntentConfirmFields):
    """_PaymentFields: *SDK* (the source this module names)."""

    allowed_payment_method_types: Opaque = None
    amount_details: Opaque = None
    capture_method: Literal["automatic", "automatic_async", "manual"] = None
    error_on_requires_action: FormBool = None
    excluded_payment_method_types: Opaque = None
    hooks: Opaque = None
    mandate: Str5000 = None
    off_session: Opaque = None
    payment_details: Opaque = None
    radar_options: Opaque = None
    receipt_email: Str5000 = None
    setup_future_usage: FutureUsage | Literal[""] = None
    shipping: Opaque = None


class PaymentIntentCreateParams(_PaymentFields):
    """POST /v1/payment_intents (*SDK*: ``PaymentIntentCreateParams``)."""

    amount: FormInt
    application_fee_amount: FormInt = None
    automatic_payment_methods: Opaque = None
    confirm: FormBool = None
    confirmation_method: Literal["automatic", "manual"] = None
    currency: Str5000
    customer: Str5000 = None
    customer_account: Str5000 = None
    description: Str5000 = None
    metadata: dict[str, Any] | Literal[""] = None
    on_behalf_of: Str5000 = None
    payment_method_configuration: Str5000 = None
    payment_method_types: list[Str5000] = None
    statement_descriptor: Str5000 = None
    statement_descriptor_suffix: Str5000 = None
    transfer_data: Opaque = None
    transfer_group: Str5000 = None


class PaymentIntentConfirmParams(_PaymentFields):
    """POST /v1/payment_intents/{intent}/confirm (*SDK*: ``PaymentIntentConfirmParams``)."""

    amount_to_confirm: FormInt = None


class PaymentIntentCancelParams(TopLevel):
    """POST /v1/payment_intents/{intent}/cancel (*SDK*: ``PaymentIntentCancelParams``)."""

    cancellation_reason: Literal[
        "abandoned", "duplicate", "fraudulent", "requested_by_customer"
    ] = None
    expand: list[Str5000] = None


class IntentRetrieveParams(TopLevel):
    """GET /v1/payment_intents/{intent} and /v1/setup_intents/{intent}
    (*SDK*: ``PaymentIntentRetrieveParams``, ``SetupIntentRetrieveParams``: the same)."""

    client_secret: Str5000 = None
    expand: list[Str5000] = None


class PaymentIntentListParams(TopLevel):
    """GET /v1/payment_intents (*SDK*: ``PaymentIntentListParams``)."""

    created: Opaque = None
    customer: Str5000 = None
    customer_account: Str5000 = None
    ending_before: Str5000 = None
    expand: list[Str5000] = None
    limit: FormInt = None
    starting_after: Str5000 = None


class SetupIntentCreateParams(_IntentConfirmFields):
    """POST /v1/setup_intents (*SDK*: ``SetupIntentCreateParams``)."""

    allowed_payment_method_types: Opaque = None
    attach_to_self: FormBool = None
    automatic_payment_methods: Opaque = None
    confirm: FormBool = None
    customer: Str5000 = None
    customer_account: Str5000 = None
    description: Str5000 = None
    excluded_payment_method_types: Opaque = None
    flow_directions: list[Literal["inbound", "outbound"]] = None
    metadata: dict[str, Any] | Literal[""] = None
    on_behalf_of: Str5000 = None
    payment_method_configuration: Str5000 = None
    payment_method_types: list[Str5000] = None
    single_use: Opaque = None
    usage: Literal["off_session", "on_session"] = None


class SetupIntentConfirmParams(_IntentConfirmFields):
    """POST /v1/setup_intents/{intent}/confirm (*SDK*: ``SetupIntentConfirmParams``)."""

    allowed_payment_method_types: Opaque = None


class SetupIntentCancelParams(TopLevel):
    """POST /v1/setup_intents/{intent}/cancel (*SDK*: ``SetupIntentCancelParams``)."""

    cancellation_reason: SetupCancellationReason = None
    expand: list[Str5000] = None

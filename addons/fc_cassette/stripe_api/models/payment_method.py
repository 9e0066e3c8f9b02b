"""payment_method (of type ``us_bank_account`` in particular) and its endpoints' parameters.

Source: *SDK* — stripe-python 16.1.0's ``stripe/_payment_method.py`` and
``stripe/params/_payment_method_{create,attach,detach,list,retrieve}_params.py``,
``_customer_list_payment_methods_params.py``; the spec extract has no payment method
schema. ``us_bank_account`` and ``billing_details`` are modelled field by field; the
other payment method types are opaque mappings (one optional field each, so real
traffic of any type is neither drift nor an error).
"""

from __future__ import annotations

from typing import Any, Literal

from fc_cassette.stripe_api.models.common import (
    AccountId,
    ExternalObject,
    FormInt,
    LazyNested as Nested,
    LazyResponse as Response,
    LazyTopLevel as TopLevel,
    Opaque,
    PaymentMethodId,
    Str5000,
    UnixTime,
    list_of,
    with_fields,
)

PAYMENT_METHODS_URL = "/v1/payment_methods"
PAYMENT_METHOD_TYPES_OTHER = (
    "acss_debit",
    "affirm",
    "afterpay_clearpay",
    "alipay",
    "alma",
    "amazon_pay",
    "au_becs_debit",
    "bacs_debit",
    "bancontact",
    "billie",
    "bizum",
    "blik",
    "boleto",
    "card",
    "card_present",
    "cashapp",
    "crypto",
    "custom",
    "customer_balance",
    "eps",
    "fpx",
    "giropay",
    "grabpay",
    "ideal",
    "interac_present",
    "kakao_pay",
    "klarna",
    "konbini",
    "kr_card",
    "link",
    "mb_way",
    "mobilepay",
    "multibanco",
    "naver_pay",
    "nz_bank_account",
    "oxxo",
    "p24",
    "pay_by_bank",
    "payco",
    "paynow",
    "paypal",
    "paypay",
    "payto",
    "pix",
    "promptpay",
    "revolut_pay",
    "samsung_pay",
    "satispay",
    "scalapay",
    "sepa_debit",
    "sequra",
    "sofort",
    "sunbit",
    "swish",
    "twint",
    "upi",
    "wechat_pay",
    "zip",
)
"""Every payment method type of 16.1.0's ``PaymentMethod`` except ``us_bank_account``."""

AccountHolderKind = Literal["company", "individual"]
BankAccountType = Literal["checking", "savings"]


class BillingAddress(Response):
    """BillingAddress: *SDK* (the source this module names)."""

    city: Str5000 | None = None
    country: Str5000 | None = None
    line1: Str5000 | None = None
    line2: Str5000 | None = None
    postal_code: Str5000 | None = None
    state: Str5000 | None = None


class BillingDetails(Response):
    """*SDK*: ``PaymentMethod.BillingDetails``."""

    address: BillingAddress | None = None
    email: Str5000 | None = None
    name: Str5000 | None = None
    phone: Str5000 | None = None
    tax_id: Str5000 | None = None


class UsBankNetworks(Response):
    """UsBankNetworks: *SDK* (the source this module names)."""

    preferred: Str5000 | None = None
    supported: list[Literal["ach", "us_domestic_wire"]]


class UsBankStatusDetails(Response):
    """UsBankStatusDetails: *SDK* (the source this module names)."""

    blocked: ExternalObject | None = None


class UsBankAccount(Response):
    """*SDK*: ``PaymentMethod.UsBankAccount``."""

    account_holder_type: AccountHolderKind | None = None
    account_type: BankAccountType | None = None
    bank_name: Str5000 | None = None
    financial_connections_account: Str5000 | None = None
    fingerprint: Str5000 | None = None
    last4: Str5000 | None = None
    networks: UsBankNetworks | None = None
    routing_number: Str5000 | None = None
    status_details: UsBankStatusDetails | None = None


class _PaymentMethod(Response):
    """_PaymentMethod: *SDK* (the source this module names)."""

    allow_redisplay: Literal["always", "limited", "unspecified"] | None = None
    billing_details: BillingDetails
    created: UnixTime
    customer: Str5000 | ExternalObject | None = None
    customer_account: Str5000 | None = None
    id: PaymentMethodId
    livemode: bool
    metadata: dict[str, str] | None = None
    object: Literal["payment_method"]
    radar_options: ExternalObject | None = None
    type: Str5000
    us_bank_account: UsBankAccount | None = None


PaymentMethod = with_fields(
    _PaymentMethod,
    "PaymentMethod",
    "payment_method (*SDK*: ``stripe/_payment_method.py``).",
    PAYMENT_METHOD_TYPES_OTHER,
    ExternalObject | None,
)


PaymentMethodList = list_of(PaymentMethod, "/v1/", "PaymentMethodList")


# ------------------------------------------------------------------------- request models
class UsBankAccountParams(Nested):
    """``us_bank_account[...]``: a linked FC account, or account and routing numbers
    (*SDK*: ``PaymentMethodCreateParamsUsBankAccount``)."""

    account_holder_type: AccountHolderKind = None
    account_number: Str5000 = None
    account_type: BankAccountType = None
    financial_connections_account: AccountId = None
    routing_number: Str5000 = None


class BillingDetailsParams(Nested):
    """BillingDetailsParams: *SDK* (the source this module names)."""

    address: Opaque = None
    email: Str5000 = None
    name: Str5000 = None
    phone: Str5000 = None
    tax_id: Str5000 = None


class _PaymentMethodData(TopLevel):
    """_PaymentMethodData: *SDK* (the source this module names)."""

    allow_redisplay: Literal["always", "limited", "unspecified"] = None
    billing_details: BillingDetailsParams = None
    metadata: dict[str, Any] | Literal[""] = None
    radar_options: Opaque = None
    type: Str5000 = None
    us_bank_account: UsBankAccountParams = None


PaymentMethodCreateParams = with_fields(
    _PaymentMethodData,
    "PaymentMethodCreateParams",
    "POST /v1/payment_methods (*SDK*: ``PaymentMethodCreateParams``).",
    (*PAYMENT_METHOD_TYPES_OTHER, "customer", "expand", "payment_method"),
    Opaque,
)


class PaymentMethodDataParams(Nested):
    """``payment_method_data[...]`` of an intent: a PaymentMethod created on the fly
    (*SDK*: ``PaymentIntentCreateParamsPaymentMethodData``)."""

    allow_redisplay: Literal["always", "limited", "unspecified"] = None
    billing_details: BillingDetailsParams = None
    metadata: dict[str, Any] | Literal[""] = None
    type: Str5000
    us_bank_account: UsBankAccountParams = None


class PaymentMethodAttachParams(TopLevel):
    """POST /v1/payment_methods/{pm}/attach (*SDK*: ``PaymentMethodAttachParams``)."""

    customer: Str5000 = None
    customer_account: Str5000 = None
    expand: list[Str5000] = None


class PaymentMethodDetachParams(TopLevel):
    """POST /v1/payment_methods/{pm}/detach (*SDK*: ``PaymentMethodDetachParams``)."""

    expand: list[Str5000] = None


class PaymentMethodRetrieveParams(TopLevel):
    """GET /v1/payment_methods/{pm} (*SDK*: ``PaymentMethodRetrieveParams``)."""

    expand: list[Str5000] = None


class CustomerPaymentMethodsParams(TopLevel):
    """GET /v1/customers/{customer}/payment_methods
    (*SDK*: ``CustomerListPaymentMethodsParams``)."""

    allow_redisplay: Literal["always", "limited", "unspecified"] = None
    ending_before: Str5000 = None
    expand: list[Str5000] = None
    limit: FormInt = None
    starting_after: Str5000 = None
    type: Str5000 = None


class PaymentMethodListParams(CustomerPaymentMethodsParams):
    """GET /v1/payment_methods (*SDK*: ``PaymentMethodListParams``)."""

    customer: Str5000 = None
    customer_account: Str5000 = None

"""mandate and its retrieve parameters (declarative).

Source: *SDK* — stripe-python 16.1.0's ``stripe/_mandate.py`` and
``stripe/params/_mandate_retrieve_params.py``; the spec extract has no mandate schema.
``customer_acceptance`` and the ``us_bank_account`` payment method details are modelled
field by field; the other payment method types' details are opaque.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from fc_cassette.stripe_api.models.common import (
    ExternalObject,
    LazyResponse as Response,
    LazyTopLevel as TopLevel,
    MandateId,
    Str5000,
    UnixTime,
    with_fields,
)
from fc_cassette.stripe_api.models.payment_method import PAYMENT_METHOD_TYPES_OTHER


class OnlineAcceptance(Response):
    """OnlineAcceptance: *SDK* (the source this module names)."""

    ip_address: Str5000 | None = None
    user_agent: Str5000 | None = None


class CustomerAcceptance(Response):
    """*SDK*: ``Mandate.CustomerAcceptance``."""

    accepted_at: UnixTime | None = None
    offline: ExternalObject | None = None
    online: OnlineAcceptance | None = None
    type: Literal["offline", "online"]


class MandateUsBankAccount(Response):
    """MandateUsBankAccount: *SDK* (the source this module names)."""

    collection_method: Literal["paper"] | None = None


class _MandateMethodDetails(Response):
    """_MandateMethodDetails: *SDK* (the source this module names)."""

    type: Str5000
    us_bank_account: MandateUsBankAccount | None = None


if TYPE_CHECKING:  # what mypy can read of the model with_fields() builds
    MandatePaymentMethodDetails = _MandateMethodDetails
else:
    MandatePaymentMethodDetails = with_fields(
        _MandateMethodDetails,
        "MandatePaymentMethodDetails",
        "*SDK*: ``Mandate.PaymentMethodDetails``.",
        PAYMENT_METHOD_TYPES_OTHER,
        ExternalObject | None,
    )


class SingleUse(Response):
    """SingleUse: *SDK* (the source this module names)."""

    amount: int
    currency: Str5000


class Mandate(Response):
    """mandate: *SDK* (the source this module names)."""

    customer_acceptance: CustomerAcceptance
    id: MandateId
    livemode: bool
    multi_use: ExternalObject | None = None
    object: Literal["mandate"]
    on_behalf_of: Str5000 | None = None
    payment_method: Str5000 | ExternalObject
    payment_method_details: MandatePaymentMethodDetails
    single_use: SingleUse | None = None
    status: Literal["active", "inactive", "pending"]
    type: Literal["multi_use", "single_use"]


class MandateRetrieveParams(TopLevel):
    """GET /v1/mandates/{mandate} (*SDK*: ``MandateRetrieveParams``)."""

    expand: list[Str5000] = None

"""customer and its endpoints' parameters (declarative).

Source: *SDK* — stripe-python 16.1.0's typed resource ``stripe/_customer.py`` and
``stripe/params/_customer_{create,update,list,retrieve,delete}_params.py``; the spec
extract has no customer schema. A field the SDK types ``Optional`` may be null or absent;
the others are required. Nested objects fc-cassette does not use (address, shipping,
invoice settings, tax ...) are opaque mappings: checked as mappings, not inside.
Request parameters list every top-level name the SDK sends (an unknown one is what
Stripe rejects); the SDK's request options (``api_key``, ``stripe_account``...) are
headers, not parameters.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from fc_cassette.stripe_api.models.common import (
    CustomerId,
    ExternalObject,
    FormBool,
    FormInt,
    LazyResponse as Response,
    LazyTopLevel as TopLevel,
    Opaque,
    Str5000,
    UnixTime,
    list_of,
)

CUSTOMERS_URL = "/v1/customers"
TaxExempt = Literal["exempt", "none", "reverse"]


class Customer(Response):
    """customer: *SDK* (the source this module names)."""

    address: ExternalObject | None = None
    balance: int | None = None
    business_name: Str5000 | None = None
    cash_balance: ExternalObject | None = None
    created: UnixTime
    currency: Str5000 | None = None
    customer_account: Str5000 | None = None
    default_source: Str5000 | ExternalObject | None = None
    deleted: Literal[False] | None = None
    delinquent: bool | None = None
    description: Str5000 | None = None
    discount: ExternalObject | None = None
    email: Str5000 | None = None
    id: CustomerId
    individual_name: Str5000 | None = None
    invoice_credit_balance: dict[str, int] | None = None
    invoice_prefix: Str5000 | None = None
    invoice_settings: ExternalObject | None = None
    livemode: bool
    metadata: dict[str, str] | None = None
    name: Str5000 | None = None
    next_invoice_sequence: int | None = None
    object: Literal["customer"]
    phone: Str5000 | None = None
    preferred_locales: list[Str5000] | None = None
    shipping: ExternalObject | None = None
    sources: ExternalObject | None = None
    subscriptions: ExternalObject | None = None
    tax: ExternalObject | None = None
    tax_exempt: TaxExempt | None = None
    tax_ids: ExternalObject | None = None
    test_clock: Str5000 | ExternalObject | None = None


class DeletedCustomer(Response):
    """The answer of DELETE /v1/customers/{customer} (*SDK*: ``DeletedCustomer``)."""

    deleted: Literal[True]
    id: CustomerId
    object: Literal["customer"]


class CustomerOrDeleted(Response):
    """Either answer a customer endpoint may give: retrieving a deleted customer answers
    its ``{"id", "object", "deleted": true}`` stub (*SDK*: ``Customer.deleted``)."""

    deleted: bool | None = None
    id: CustomerId
    object: Literal["customer"]


CustomerList = list_of(Customer, CUSTOMERS_URL, "CustomerList")


class _CustomerFields(TopLevel):
    """The parameters create and update share (*SDK*)."""

    address: Opaque = None
    balance: FormInt = None
    business_name: Str5000 = None
    cash_balance: Opaque = None
    description: Str5000 = None
    email: Str5000 = None
    expand: list[Str5000] = None
    individual_name: Str5000 = None
    invoice_prefix: Str5000 = None
    invoice_settings: Opaque = None
    metadata: dict[str, Any] | Literal[""] = None
    name: Str5000 = None
    next_invoice_sequence: FormInt = None
    phone: Str5000 = None
    preferred_locales: list[Str5000] | Literal[""] = None
    shipping: Opaque = None
    source: Str5000 = None
    tax: Opaque = None
    tax_exempt: TaxExempt | Literal[""] = None
    # ``validate`` is a BaseModel method name: the field is ``validate_``, its wire name
    # ``validate``.
    validate_: FormBool = Field(None, alias="validate")


class CustomerCreateParams(_CustomerFields):
    """POST /v1/customers (*SDK*: ``CustomerCreateParams``)."""

    payment_method: Str5000 = None
    tax_id_data: Opaque = None
    test_clock: Str5000 = None


class CustomerUpdateParams(_CustomerFields):
    """POST /v1/customers/{customer} (*SDK*: ``CustomerUpdateParams``)."""

    default_source: Str5000 = None


class CustomerRetrieveParams(TopLevel):
    """GET /v1/customers/{customer} (*SDK*: ``CustomerRetrieveParams``)."""

    expand: list[Str5000] = None


class CustomerDeleteParams(TopLevel):
    """DELETE /v1/customers/{customer} (*SDK*: ``CustomerDeleteParams``: none)."""


class CustomerListParams(TopLevel):
    """GET /v1/customers (*SDK*: ``CustomerListParams``)."""

    created: Opaque = None
    email: Str5000 = None
    ending_before: Str5000 = None
    expand: list[Str5000] = None
    limit: FormInt = None
    starting_after: Str5000 = None
    test_clock: Str5000 = None

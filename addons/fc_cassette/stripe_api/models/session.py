"""financial_connections.session and its two endpoints' parameters (declarative).

Source: the OpenAPI extract ``/work/shared/stripe/fc_session_schemas.json`` and
``NOTES.md`` beside it. Where stripe-python 16.1.0 is newer than the spec
(``filters.country`` next to ``filters.countries``) both forms are accepted.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from fc_cassette.stripe_api.models.account import Account, AccountHolder
from fc_cassette.stripe_api.models.common import (
    AccountHolderType,
    CustomerId,
    ExternalObject,
    FormIntOrEmpty,
    Nested,
    Permission,
    Prefetch,
    Response,
    SessionId,
    Str5000,
    StripeAccountId,
    TopLevel,
)

AccountSubcategoryFilter = Literal[
    "checking", "credit_card", "line_of_credit", "mortgage", "savings"
]
RequirePaymentMethodSupport = Literal["all", "at_least_one", "none"]
ManualEntryMode = Literal["automatic", "disabled"]
AccountsListUrl = Annotated[
    str, Field(max_length=5000, pattern=r"^/v1/financial_connections/accounts")
]


class SessionAccountList(Response):
    """BankConnectionsResourceLinkedAccountList (``total_count`` is not in the spec)."""

    data: list[Account]
    has_more: bool
    object: Literal["list"]
    url: AccountsListUrl


class SessionFilters(Response):
    """bank_connections_resource_link_account_session_filters (+ 16.1.0 ``country``)."""

    account_subcategories: list[AccountSubcategoryFilter] | None = None
    countries: list[Str5000] | None = None
    # stripe-python 16.1.0: ``country: Optional[str]`` (replaces countries[]).
    country: Str5000 | None = None
    require_payment_method_support: RequirePaymentMethodSupport = None


class SessionLimits(Response):
    accounts: int


class SessionManualEntry(Response):
    mode: ManualEntryMode = None


class Session(Response):
    """financial_connections.session."""

    account_holder: AccountHolder | None = None
    accounts: SessionAccountList
    bank_account_token: ExternalObject = None
    # Any string: the spec gives no pattern and Stripe's fixtures use several shapes.
    client_secret: Str5000 | None = None
    filters: SessionFilters = None
    id: SessionId
    limits: SessionLimits = None
    livemode: bool
    manual_entry: SessionManualEntry = None
    object: Literal["financial_connections.session"]
    permissions: list[Permission]
    prefetch: list[Prefetch] | None = None
    return_url: Str5000 = None


# ------------------------------------------------------------------------- request models
class CreateAccountHolderParams(Nested):
    account: StripeAccountId = None
    customer: CustomerId = None
    customer_account: Str5000 = None
    type: AccountHolderType


class CreateFiltersParams(Nested):
    account_subcategories: list[AccountSubcategoryFilter] = None
    countries: list[Str5000] = None
    country: Str5000 = None  # stripe-python 16.1.0
    require_payment_method_support: RequirePaymentMethodSupport = None


class CreateLimitsParams(Nested):
    accounts: FormIntOrEmpty


class CreateManualEntryParams(Nested):
    mode: ManualEntryMode = None


class CreateParams(TopLevel):
    """POST /v1/financial_connections/sessions, form-decoded."""

    account_holder: CreateAccountHolderParams
    expand: list[Str5000] = None
    filters: CreateFiltersParams = None
    limits: CreateLimitsParams = None
    manual_entry: CreateManualEntryParams = None
    permissions: list[Permission]
    prefetch: list[Prefetch] = None
    return_url: Str5000 = None


class RetrieveParams(TopLevel):
    """GET /v1/financial_connections/sessions/{session} query."""

    expand: list[Str5000] = None

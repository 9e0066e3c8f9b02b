"""financial_connections.session and its two endpoints' parameters (declarative).

Source: the OpenAPI extract ``/work/shared/stripe/fc_session_schemas.json`` and
``NOTES.md`` beside it. Where stripe-python 16.1.0 is newer than the spec
(``filters.country`` next to ``filters.countries``) both forms are accepted.
"""

from __future__ import annotations

from typing import Annotated, Literal, Optional

from pydantic import Field

from .account import Account, AccountHolder
from .common import (
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

    account_subcategories: Optional[list[AccountSubcategoryFilter]] = None
    countries: Optional[list[Str5000]] = None
    # stripe-python 16.1.0: ``country: Optional[str]`` (replaces countries[]).
    country: Optional[Str5000] = None
    require_payment_method_support: RequirePaymentMethodSupport = None  # type: ignore[assignment]


class SessionLimits(Response):
    accounts: int


class SessionManualEntry(Response):
    mode: ManualEntryMode = None  # type: ignore[assignment]


class Session(Response):
    """financial_connections.session."""

    account_holder: Optional[AccountHolder] = None
    accounts: SessionAccountList
    bank_account_token: ExternalObject = None  # type: ignore[assignment]
    # Any string: the spec gives no pattern and Stripe's fixtures use several shapes.
    client_secret: Optional[Str5000] = None
    filters: SessionFilters = None  # type: ignore[assignment]
    id: SessionId
    limits: SessionLimits = None  # type: ignore[assignment]
    livemode: bool
    manual_entry: SessionManualEntry = None  # type: ignore[assignment]
    object: Literal["financial_connections.session"]
    permissions: list[Permission]
    prefetch: Optional[list[Prefetch]] = None
    return_url: Str5000 = None  # type: ignore[assignment]


# ------------------------------------------------------------------------- request models
class CreateAccountHolderParams(Nested):
    account: StripeAccountId = None  # type: ignore[assignment]
    customer: CustomerId = None  # type: ignore[assignment]
    customer_account: Str5000 = None  # type: ignore[assignment]
    type: AccountHolderType


class CreateFiltersParams(Nested):
    account_subcategories: list[AccountSubcategoryFilter] = None  # type: ignore[assignment]
    countries: list[Str5000] = None  # type: ignore[assignment]
    country: Str5000 = None  # type: ignore[assignment]  # stripe-python 16.1.0
    require_payment_method_support: RequirePaymentMethodSupport = None  # type: ignore[assignment]


class CreateLimitsParams(Nested):
    accounts: FormIntOrEmpty


class CreateManualEntryParams(Nested):
    mode: ManualEntryMode = None  # type: ignore[assignment]


class CreateParams(TopLevel):
    """POST /v1/financial_connections/sessions, form-decoded."""

    account_holder: CreateAccountHolderParams
    expand: list[Str5000] = None  # type: ignore[assignment]
    filters: CreateFiltersParams = None  # type: ignore[assignment]
    limits: CreateLimitsParams = None  # type: ignore[assignment]
    manual_entry: CreateManualEntryParams = None  # type: ignore[assignment]
    permissions: list[Permission]
    prefetch: list[Prefetch] = None  # type: ignore[assignment]
    return_url: Str5000 = None  # type: ignore[assignment]


class RetrieveParams(TopLevel):
    """GET /v1/financial_connections/sessions/{session} query."""

    expand: list[Str5000] = None  # type: ignore[assignment]

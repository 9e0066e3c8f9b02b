"""financial_connections.account, its owners, ownership and transactions (declarative).

Sources: the OpenAPI extract ``/work/shared/stripe/fc_session_schemas.json``
(account, account_owner, account_ownership, the refresh and balance sub-objects). The
extract has no transaction schema and no list envelopes for these endpoints: those
shapes come from stripe-python 16.1.0 (``stripe/financial_connections/_transaction.py``
and the SDK's ``ListObject``) and are marked *SDK* below. Where the SDK is newer than
the spec (``account_numbers[].status`` adds ``expired``/``pending``) both are accepted.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import Field

from fc_cassette.stripe_api.models.common import (
    AccountHolderType,
    AccountId,
    CurrencyAmounts,
    ExpandableCustomer,
    ExpandableStripeAccount,
    OwnerId,
    OwnershipId,
    Permission,
    RefreshStatus,
    Response,
    Str5000,
    TransactionId,
    UnixTime,
    expandable,
)

AccountCategory = Literal["cash", "credit", "investment", "other"]
AccountSubcategory = Literal[
    "checking", "credit_card", "line_of_credit", "mortgage", "other", "savings"
]
AccountStatus = Literal["active", "disconnected", "inactive"]
TransactionStatus = Literal["pending", "posted", "void"]
ACCOUNTS_URL = "/v1/financial_connections/accounts"
TRANSACTIONS_URL = "/v1/financial_connections/transactions"


AccountsUrl = Annotated[str, Field(max_length=5000, pattern="^" + ACCOUNTS_URL)]
TransactionsUrl = Annotated[str, Field(max_length=5000, pattern="^" + TRANSACTIONS_URL)]


class AccountHolder(Response):
    """bank_connections_resource_accountholder."""

    account: ExpandableStripeAccount = None
    customer: ExpandableCustomer = None
    customer_account: Str5000 = None
    type: AccountHolderType


class AccountNumberDetails(Response):
    """bank_connections_resource_account_number_details (+ 16.1.0 status values)."""

    expected_expiry_date: UnixTime | None = None
    identifier_type: Literal["account_number", "tokenized_account_number"]
    # spec: deactivated|transactable; stripe-python 16.1.0 adds expired|pending.
    status: Literal["deactivated", "expired", "pending", "transactable"]
    supported_networks: list[Literal["ach"]]


class CashBalance(Response):
    available: CurrencyAmounts | None = None


class CreditBalance(Response):
    used: CurrencyAmounts | None = None


class Balance(Response):
    """bank_connections_resource_balance."""

    as_of: UnixTime
    cash: CashBalance = None
    credit: CreditBalance = None
    current: CurrencyAmounts
    type: Literal["cash", "credit"]


class BalanceRefresh(Response):
    """bank_connections_resource_balance_refresh (next_refresh_available_at: null while pending)."""

    last_attempted_at: UnixTime
    next_refresh_available_at: UnixTime | None = None
    status: RefreshStatus


class OwnershipRefresh(Response):
    last_attempted_at: UnixTime
    next_refresh_available_at: UnixTime | None = None
    status: RefreshStatus


class TransactionRefresh(Response):
    id: Str5000
    last_attempted_at: UnixTime
    next_refresh_available_at: UnixTime | None = None
    status: RefreshStatus


class ActiveStatusDetails(Response):
    action: Literal["none", "relink_required"]
    cause: Literal["access_expired", "institution_requirement", "unspecified"]
    expected_deactivation_date: UnixTime


class AccountStatusDetails(Response):
    active: ActiveStatusDetails = None


class Owner(Response):
    """financial_connections.account_owner."""

    email: Str5000 | None = None
    id: OwnerId
    name: Str5000
    object: Literal["financial_connections.account_owner"]
    # The spec gives no description for this string, so no ID pattern is imposed.
    ownership: Str5000
    phone: Str5000 | None = None
    raw_address: Str5000 | None = None
    refreshed_at: UnixTime | None = None


class OwnerList(Response):
    """BankConnectionsResourceOwnerList: ``ownership.owners`` and the owners list endpoint."""

    data: list[Owner]
    has_more: bool
    object: Literal["list"]
    url: Str5000


class Ownership(Response):
    """financial_connections.account_ownership."""

    created: UnixTime
    id: OwnershipId
    object: Literal["financial_connections.account_ownership"]
    owners: OwnerList


if TYPE_CHECKING:  # what mypy can read of the tagged union expandable() builds
    ExpandableOwnership = str | Ownership
else:
    ExpandableOwnership = expandable(OwnershipId, Ownership)


class Account(Response):
    """financial_connections.account."""

    account_holder: AccountHolder | None = None
    account_numbers: list[AccountNumberDetails] | None = None
    balance: Balance | None = None
    balance_refresh: BalanceRefresh | None = None
    category: AccountCategory
    created: UnixTime
    display_name: Str5000 | None = None
    id: AccountId
    institution_name: Str5000
    last4: Str5000 | None = None
    livemode: bool
    object: Literal["financial_connections.account"]
    ownership: ExpandableOwnership | None = None
    ownership_refresh: OwnershipRefresh | None = None
    permissions: list[Permission] | None = None
    status: AccountStatus
    status_details: AccountStatusDetails = None
    subcategory: AccountSubcategory
    subscriptions: list[Literal["transactions"]] | None = None
    supported_payment_method_types: list[Literal["link", "us_bank_account"]]
    transaction_refresh: TransactionRefresh | None = None


class AccountList(Response):
    """GET /v1/financial_connections/accounts (*SDK*: ``ListObject[Account]``)."""

    data: list[Account]
    has_more: bool
    object: Literal["list"]
    url: AccountsUrl


class TransactionStatusTransitions(Response):
    """*SDK*: ``Transaction.StatusTransitions``."""

    posted_at: UnixTime | None
    void_at: UnixTime | None


class Transaction(Response):
    """financial_connections.transaction (*SDK*: ``stripe/financial_connections/_transaction.py``;
    the spec extract has no schema for it). Non-Optional SDK fields are required."""

    account: Str5000
    amount: int
    currency: Str5000
    description: Str5000
    id: TransactionId
    livemode: bool
    object: Literal["financial_connections.transaction"]
    status: TransactionStatus
    status_transitions: TransactionStatusTransitions
    transacted_at: UnixTime
    transaction_refresh: Str5000
    updated: UnixTime


class TransactionList(Response):
    """GET /v1/financial_connections/transactions (*SDK*: ``ListObject[Transaction]``)."""

    data: list[Transaction]
    has_more: bool
    object: Literal["list"]
    url: TransactionsUrl

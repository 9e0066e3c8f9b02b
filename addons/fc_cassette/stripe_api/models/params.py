"""Request parameters of the FC Account and Transaction endpoints (declarative).

Source: stripe-python 16.1.0's ``stripe/params/financial_connections/*.py`` (the spec
extract covers only the Session endpoints), so every model here is *SDK*-sourced.
Form-decoded like every request model: leaves are strings, integers come as their
decimal string. ``features[]`` of a refresh is typed ``Union[Literal[...], str]`` by
the SDK (forward compatibility); Stripe refuses other values, so the model does too.
"""

from __future__ import annotations

from typing import Literal

from fc_cassette.stripe_api.models.common import (
    FormInt,
    Nested,
    Str5000,
    TopLevel,
    scalar_or_object,
)

RefreshFeature = Literal["balance", "ownership", "transactions"]
SubscriptionFeature = Literal["transactions"]


class _Expand(TopLevel):
    expand: list[Str5000] = None


class _Page(_Expand):
    """Stripe's cursor pagination: ``limit`` 1..100 (default 10), object-id cursors."""

    ending_before: Str5000 = None
    limit: FormInt = None
    starting_after: Str5000 = None


class AccountListHolderParams(Nested):
    """``account_holder[...]`` of the accounts list (account and customer are exclusive)."""

    account: Str5000 = None
    customer: Str5000 = None
    customer_account: Str5000 = None


class AccountListParams(_Page):
    """GET /v1/financial_connections/accounts (AccountListParams)."""

    account_holder: AccountListHolderParams = None
    session: Str5000 = None


class AccountRetrieveParams(_Expand):
    """GET /v1/financial_connections/accounts/{account} (AccountRetrieveParams)."""


class AccountDisconnectParams(_Expand):
    """POST .../accounts/{account}/disconnect (AccountDisconnectParams)."""


class AccountRefreshParams(_Expand):
    """POST .../accounts/{account}/refresh (AccountRefreshAccountParams)."""

    features: list[RefreshFeature]


class AccountSubscribeParams(_Expand):
    """POST .../accounts/{account}/subscribe and .../unsubscribe (AccountSubscribeParams,
    AccountUnsubscribeParams: the same shape)."""

    features: list[SubscriptionFeature]


class AccountOwnersParams(_Page):
    """GET .../accounts/{account}/owners (AccountListOwnersParams)."""

    ownership: Str5000


class TransactedAtParams(Nested):
    gt: FormInt = None
    gte: FormInt = None
    lt: FormInt = None
    lte: FormInt = None


class TransactionRefreshFilterParams(Nested):
    after: Str5000


class TransactionListParams(_Page):
    """GET /v1/financial_connections/transactions (TransactionListParams)."""

    account: Str5000
    transacted_at: scalar_or_object(FormInt, TransactedAtParams) = None
    transaction_refresh: TransactionRefreshFilterParams = None


class TransactionRetrieveParams(_Expand):
    """GET /v1/financial_connections/transactions/{transaction} (TransactionRetrieveParams)."""

"""Pydantic models of Stripe Financial Connections, and validators that report.

The package splits the declarative schema from the checking:

* :mod:`.common` — ID patterns, scalar types, bases, expandable fields, error envelope;
* :mod:`.session` — financial_connections.session and its create/retrieve parameters;
* :mod:`.account` — account, owner, ownership, refreshes, transaction, list envelopes;
* :mod:`.params` — parameters of the account and transaction endpoints;
* :mod:`.report` — :class:`Report`, the drift walk, error paths, ``param_errors``;
* :mod:`.validators` — one named validator per object or request.

Sources: the OpenAPI extract ``/work/shared/stripe/fc_session_schemas.json`` and
stripe-python 16.1.0 where the extract has nothing (transactions, list envelopes, the
account endpoints' parameters); each module says which is which. Unknown fields are
drift, never rejected; the validators never raise. Everything is importable from
``fc_cassette.models`` as before the split.
"""

from __future__ import annotations

from types import ModuleType

from fc_cassette.stripe_api.models.account import (
           ACCOUNTS_URL,
           TRANSACTIONS_URL,
           Account,
           AccountCategory,
           AccountHolder,
           AccountList,
           AccountNumberDetails,
           AccountStatus,
           AccountStatusDetails,
           AccountSubcategory,
           ActiveStatusDetails,
           Balance,
           BalanceRefresh,
           CashBalance,
           CreditBalance,
           Owner,
           OwnerList,
           Ownership,
           OwnershipRefresh,
           Transaction,
           TransactionList,
           TransactionRefresh,
           TransactionStatus,
           TransactionStatusTransitions,
)
from fc_cassette.stripe_api.models.common import (
           ACCOUNT_ID_PATTERN,
           CLIENT_SECRET_PATTERN,
           CUSTOMER_ID_PATTERN,
           FORM_INT_ERRORS,
           ID_PATTERNS,
           OWNER_ID_PATTERN,
           OWNERSHIP_ID_PATTERN,
           ROOT,
           SESSION_ID_PATTERN,
           STRIPE_ACCOUNT_ID_PATTERN,
           TRANSACTION_ID_PATTERN,
           TRANSACTION_REFRESH_ID_PATTERN,
           AccountHolderType,
           ApiError,
           ErrorEnvelope,
           Permission,
           Prefetch,
           RefreshStatus,
)
from fc_cassette.stripe_api.models.params import (
           AccountDisconnectParams,
           AccountListHolderParams,
           AccountListParams,
           AccountOwnersParams,
           AccountRefreshParams,
           AccountRetrieveParams,
           AccountSubscribeParams,
           RefreshFeature,
           SubscriptionFeature,
           TransactedAtParams,
           TransactionListParams,
           TransactionRefreshFilterParams,
           TransactionRetrieveParams,
)
from fc_cassette.stripe_api.models.report import (
           ParamError,
           Report,
           param_errors,
           validate_object,
           validate_params,
)
from fc_cassette.stripe_api.models.session import (
           AccountSubcategoryFilter,
           CreateAccountHolderParams,
           CreateFiltersParams,
           CreateLimitsParams,
           CreateManualEntryParams,
           CreateParams,
           ManualEntryMode,
           RequirePaymentMethodSupport,
           RetrieveParams,
           Session,
           SessionAccountList,
           SessionFilters,
           SessionLimits,
           SessionManualEntry,
)
from fc_cassette.stripe_api.models.validators import (
           validate_account,
           validate_account_list,
           validate_create_params,
           validate_error,
           validate_owner,
           validate_owner_list,
           validate_ownership,
           validate_reply,
           validate_response,
           validate_retrieve_params,
           validate_session,
           validate_transaction,
           validate_transaction_list,
)

__all__ = [name for name, value in dict(globals()).items() if not name.startswith("_")
           and name not in ("annotations", "ModuleType") and not isinstance(value, ModuleType)]

"""The Stripe endpoints fc-cassette knows: one table of method, path, parameters and models.

The Financial Connections API, and the objects an FC integration touches around it
(customers, payment methods, payment and setup intents, mandates). Shared by
validation (``validation.validate``), inspect/show (endpoint names, ids in paths) and
the simulator (routing: ``fc_cassette.simulator.routes`` gives every row its handler,
and a test ties each row to one). Names of the two Session endpoints stay ``create``
and ``retrieve`` (they are part of the inspect report); the others are dotted
(``accounts.refresh``, ``payment_intents.confirm`` ...). Path ids are one segment
(``[^/?#]+``); a trailing slash is tolerated on collection paths only where Stripe's
own session create path tolerated it before. Rows are looked up by the path's first
segment after ``/v1/`` (``customers``, ``financial_connections`` ...), so a request
costs a few regex matches, not one per row.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pydantic import BaseModel

from fc_cassette.stripe_api.models.account import (
    Account,
    AccountList,
    OwnerList,
    Transaction,
    TransactionList,
)
from fc_cassette.stripe_api.models.customer import (
    Customer,
    CustomerCreateParams,
    CustomerDeleteParams,
    CustomerList,
    CustomerListParams,
    CustomerRetrieveParams,
    CustomerUpdateParams,
    DeletedCustomer,
)
from fc_cassette.stripe_api.models.intents import (
    IntentRetrieveParams,
    PaymentIntent,
    PaymentIntentCancelParams,
    PaymentIntentConfirmParams,
    PaymentIntentCreateParams,
    PaymentIntentList,
    PaymentIntentListParams,
    SetupIntent,
    SetupIntentCancelParams,
    SetupIntentConfirmParams,
    SetupIntentCreateParams,
)
from fc_cassette.stripe_api.models.mandate import Mandate, MandateRetrieveParams
from fc_cassette.stripe_api.models.params import (
    AccountDisconnectParams,
    AccountListParams,
    AccountOwnersParams,
    AccountRefreshParams,
    AccountRetrieveParams,
    AccountSubscribeParams,
    TransactionListParams,
    TransactionRetrieveParams,
)
from fc_cassette.stripe_api.models.payment_method import (
    CustomerPaymentMethodsParams,
    PaymentMethod,
    PaymentMethodAttachParams,
    PaymentMethodCreateParams,
    PaymentMethodDetachParams,
    PaymentMethodList,
    PaymentMethodListParams,
    PaymentMethodRetrieveParams,
)
from fc_cassette.stripe_api.models.session import CreateParams, RetrieveParams, Session

FC_PREFIX = "/v1/financial_connections/"
API_PREFIX = "/v1/"
ID_SEGMENT = r"([^/?#]+)"  # one path segment: the id a path names (group 1)


@dataclass(frozen=True)
class Endpoint:
    name: str
    method: str
    pattern: re.Pattern[str]
    params: type[BaseModel]
    response: type[BaseModel]
    id_param: str | None = None  # what the path id names: "session", "account", ...

    @property
    def params_in_body(self) -> bool:
        return self.method == "POST"


def _ep(
    name: str,
    method: str,
    path: str,
    params: type[BaseModel],
    response: type[BaseModel],
    id_param: str | None = None,
) -> Endpoint:
    return Endpoint(name, method, re.compile("^" + path + "$"), params, response, id_param)


_ACCOUNT = "/v1/financial_connections/accounts/" + ID_SEGMENT
ENDPOINTS: tuple[Endpoint, ...] = (
    _ep("create", "POST", "/v1/financial_connections/sessions/?", CreateParams, Session),
    _ep(
        "retrieve",
        "GET",
        "/v1/financial_connections/sessions/" + ID_SEGMENT,
        RetrieveParams,
        Session,
        "session",
    ),
    _ep(
        "accounts.list",
        "GET",
        "/v1/financial_connections/accounts",
        AccountListParams,
        AccountList,
    ),
    _ep("accounts.retrieve", "GET", _ACCOUNT, AccountRetrieveParams, Account, "account"),
    _ep(
        "accounts.refresh",
        "POST",
        _ACCOUNT + "/refresh",
        AccountRefreshParams,
        Account,
        "account",
    ),
    _ep(
        "accounts.disconnect",
        "POST",
        _ACCOUNT + "/disconnect",
        AccountDisconnectParams,
        Account,
        "account",
    ),
    _ep(
        "accounts.subscribe",
        "POST",
        _ACCOUNT + "/subscribe",
        AccountSubscribeParams,
        Account,
        "account",
    ),
    _ep(
        "accounts.unsubscribe",
        "POST",
        _ACCOUNT + "/unsubscribe",
        AccountSubscribeParams,
        Account,
        "account",
    ),
    _ep(
        "accounts.owners",
        "GET",
        _ACCOUNT + "/owners",
        AccountOwnersParams,
        OwnerList,
        "account",
    ),
    _ep(
        "transactions.list",
        "GET",
        "/v1/financial_connections/transactions",
        TransactionListParams,
        TransactionList,
    ),
    _ep(
        "transactions.retrieve",
        "GET",
        "/v1/financial_connections/transactions/" + ID_SEGMENT,
        TransactionRetrieveParams,
        Transaction,
        "transaction",
    ),
)

_CUSTOMER = "/v1/customers/" + ID_SEGMENT
_PM = "/v1/payment_methods/" + ID_SEGMENT
_PI = "/v1/payment_intents/" + ID_SEGMENT
_SI = "/v1/setup_intents/" + ID_SEGMENT
PAYMENT_ENDPOINTS: tuple[Endpoint, ...] = (
    _ep("customers.create", "POST", "/v1/customers", CustomerCreateParams, Customer),
    _ep("customers.list", "GET", "/v1/customers", CustomerListParams, CustomerList),
    _ep("customers.retrieve", "GET", _CUSTOMER, CustomerRetrieveParams, Customer, "customer"),
    _ep("customers.update", "POST", _CUSTOMER, CustomerUpdateParams, Customer, "customer"),
    _ep(
        "customers.delete",
        "DELETE",
        _CUSTOMER,
        CustomerDeleteParams,
        DeletedCustomer,
        "customer",
    ),
    _ep(
        "customers.payment_methods",
        "GET",
        _CUSTOMER + "/payment_methods",
        CustomerPaymentMethodsParams,
        PaymentMethodList,
        "customer",
    ),
    _ep(
        "payment_methods.create",
        "POST",
        "/v1/payment_methods",
        PaymentMethodCreateParams,
        PaymentMethod,
    ),
    _ep(
        "payment_methods.list",
        "GET",
        "/v1/payment_methods",
        PaymentMethodListParams,
        PaymentMethodList,
    ),
    _ep(
        "payment_methods.retrieve",
        "GET",
        _PM,
        PaymentMethodRetrieveParams,
        PaymentMethod,
        "payment_method",
    ),
    _ep(
        "payment_methods.attach",
        "POST",
        _PM + "/attach",
        PaymentMethodAttachParams,
        PaymentMethod,
        "payment_method",
    ),
    _ep(
        "payment_methods.detach",
        "POST",
        _PM + "/detach",
        PaymentMethodDetachParams,
        PaymentMethod,
        "payment_method",
    ),
    _ep(
        "payment_intents.create",
        "POST",
        "/v1/payment_intents",
        PaymentIntentCreateParams,
        PaymentIntent,
    ),
    _ep(
        "payment_intents.list",
        "GET",
        "/v1/payment_intents",
        PaymentIntentListParams,
        PaymentIntentList,
    ),
    _ep(
        "payment_intents.retrieve",
        "GET",
        _PI,
        IntentRetrieveParams,
        PaymentIntent,
        "payment_intent",
    ),
    _ep(
        "payment_intents.confirm",
        "POST",
        _PI + "/confirm",
        PaymentIntentConfirmParams,
        PaymentIntent,
        "payment_intent",
    ),
    _ep(
        "payment_intents.cancel",
        "POST",
        _PI + "/cancel",
        PaymentIntentCancelParams,
        PaymentIntent,
        "payment_intent",
    ),
    _ep(
        "setup_intents.create",
        "POST",
        "/v1/setup_intents",
        SetupIntentCreateParams,
        SetupIntent,
    ),
    _ep("setup_intents.retrieve", "GET", _SI, IntentRetrieveParams, SetupIntent, "setup_intent"),
    _ep(
        "setup_intents.confirm",
        "POST",
        _SI + "/confirm",
        SetupIntentConfirmParams,
        SetupIntent,
        "setup_intent",
    ),
    _ep(
        "setup_intents.cancel",
        "POST",
        _SI + "/cancel",
        SetupIntentCancelParams,
        SetupIntent,
        "setup_intent",
    ),
    _ep(
        "mandates.retrieve",
        "GET",
        "/v1/mandates/" + ID_SEGMENT,
        MandateRetrieveParams,
        Mandate,
        "mandate",
    ),
)
ALL_ENDPOINTS: tuple[Endpoint, ...] = ENDPOINTS + PAYMENT_ENDPOINTS


def _resource(path: str) -> str:
    """``customers`` for ``/v1/customers/cus_1``: the key rows are grouped by."""
    return path[len(API_PREFIX) :].partition("/")[0]


def _grouped() -> dict[str, tuple[Endpoint, ...]]:
    groups: dict[str, list[Endpoint]] = {}
    for ep in ALL_ENDPOINTS:
        groups.setdefault(_resource(ep.pattern.pattern[1:].removesuffix("$")), []).append(ep)
    return {k: tuple(v) for k, v in groups.items()}


_BY_RESOURCE = _grouped()


def _rows(path: str) -> tuple[Endpoint, ...]:
    if not path.startswith(API_PREFIX):
        return ()
    return _BY_RESOURCE.get(_resource(path), ())


def match(method: str, path: str) -> tuple[Endpoint, str | None] | None:
    """The endpoint of ``method path`` and the id in its path, or None."""
    for ep in _rows(path):
        if ep.method == method:
            found = ep.pattern.match(path)
            if found:
                return ep, (found.group(1) if found.groups() else None)
    return None


def path_known(path: str) -> bool:
    """Whether some endpoint (with any method) has this path."""
    return any(ep.pattern.match(path) for ep in _rows(path))


def id_in_path(path: str, id_param: str) -> str | None:
    """The ``id_param`` id (``session``, ``account``, ``customer`` ...) in a known path."""
    for ep in _rows(path):
        if ep.id_param == id_param:
            found = ep.pattern.match(path)
            if found:
                return found.group(1)
    return None


def name_of(method: str, path: str) -> str | None:
    """The FC endpoint's name (``"create"``, ``"retrieve"`` for sessions, dotted names
    such as ``"accounts.refresh"`` for the others; see the rows above) or None."""
    found = match(method, path)
    return found[0].name if found else None


def object_id_in_path(path: str) -> str | None:
    """The id a known path names (a session, an account, a transaction, a customer, a
    payment method, a payment or setup intent, a mandate), or None."""
    for kind in (
        "session",
        "account",
        "transaction",
        "customer",
        "payment_method",
        "payment_intent",
        "setup_intent",
        "mandate",
    ):
        found = id_in_path(path, kind)
        if found is not None:
            return found
    return None

"""The Financial Connections endpoints: one table of method, path, parameters and models.

Shared by validation (``interaction.validate``), inspect/show (endpoint names, ids in
paths) and the simulator (routing). Names of the two Session endpoints stay ``create``
and ``retrieve`` (they are part of the inspect report); the others are dotted
(``accounts.refresh``, ``transactions.list`` ...). Path ids are one segment
(``[^/?#]+``); a trailing slash is tolerated on collection paths only where Stripe's
own session create path tolerated it before.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pydantic import BaseModel

from fc_cassette.stripe_api import models as m

FC_PREFIX = "/v1/financial_connections/"
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


def _ep(name: str, method: str, path: str, params: type[BaseModel],
        response: type[BaseModel], id_param: str | None = None) -> Endpoint:
    return Endpoint(name, method, re.compile("^" + path + "$"), params, response, id_param)


_ACCOUNT = "/v1/financial_connections/accounts/" + ID_SEGMENT
ENDPOINTS: tuple[Endpoint, ...] = (
    _ep("create", "POST", "/v1/financial_connections/sessions/?", m.CreateParams, m.Session),
    _ep("retrieve", "GET", "/v1/financial_connections/sessions/" + ID_SEGMENT, m.RetrieveParams,
        m.Session, "session"),
    _ep("accounts.list", "GET", "/v1/financial_connections/accounts", m.AccountListParams,
        m.AccountList),
    _ep("accounts.retrieve", "GET", _ACCOUNT, m.AccountRetrieveParams, m.Account, "account"),
    _ep("accounts.refresh", "POST", _ACCOUNT + "/refresh", m.AccountRefreshParams, m.Account,
        "account"),
    _ep("accounts.disconnect", "POST", _ACCOUNT + "/disconnect", m.AccountDisconnectParams,
        m.Account, "account"),
    _ep("accounts.subscribe", "POST", _ACCOUNT + "/subscribe", m.AccountSubscribeParams,
        m.Account, "account"),
    _ep("accounts.unsubscribe", "POST", _ACCOUNT + "/unsubscribe", m.AccountSubscribeParams,
        m.Account, "account"),
    _ep("accounts.owners", "GET", _ACCOUNT + "/owners", m.AccountOwnersParams, m.OwnerList,
        "account"),
    _ep("transactions.list", "GET", "/v1/financial_connections/transactions",
        m.TransactionListParams, m.TransactionList),
    _ep("transactions.retrieve", "GET", "/v1/financial_connections/transactions/" + ID_SEGMENT,
        m.TransactionRetrieveParams, m.Transaction, "transaction"),
)


def match(method: str, path: str) -> tuple[Endpoint, str | None] | None:
    """The endpoint of ``method path`` and the id in its path, or None."""
    if not path.startswith(FC_PREFIX):
        return None
    for ep in ENDPOINTS:
        if ep.method == method:
            found = ep.pattern.match(path)
            if found:
                return ep, (found.group(1) if found.groups() else None)
    return None


def path_known(path: str) -> bool:
    """Whether some endpoint (with any method) has this path."""
    return path.startswith(FC_PREFIX) and any(ep.pattern.match(path) for ep in ENDPOINTS)


def id_in_path(path: str, id_param: str) -> str | None:
    """The ``id_param`` id (``session``, ``account``, ``transaction``) in an FC path."""
    for ep in ENDPOINTS:
        if ep.id_param == id_param:
            found = ep.pattern.match(path)
            if found:
                return found.group(1)
    return None

"""Named validators for each Financial Connections object and request (never raise)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from fc_cassette.stripe_api.models.account import (
    Account,
    AccountList,
    Owner,
    OwnerList,
    Ownership,
    Transaction,
    TransactionList,
)
from fc_cassette.stripe_api.models.common import ErrorEnvelope
from fc_cassette.stripe_api.models.report import (
    Report,
    _internal_error,
    status_error,
    validate_object,
    validate_params,
)
from fc_cassette.stripe_api.models.session import CreateParams, RetrieveParams, Session

Check = Callable[[type[BaseModel], Any], Report]


def _named(check: Check, model: type[BaseModel], name: str, doc: str) -> Callable[[Any], Report]:
    """``check`` bound to ``model``, as the named validator ``name``."""

    def validate(value: Any) -> Report:
        return check(model, value)

    validate.__name__ = validate.__qualname__ = name
    validate.__doc__ = doc
    return validate


def _params(model: type[BaseModel], name: str, doc: str) -> Callable[[Any], Report]:
    return _named(validate_params, model, name, doc)


def _object(model: type[BaseModel], name: str, doc: str) -> Callable[[Any], Report]:
    return _named(validate_object, model, name, doc)


validate_create_params = _params(
    CreateParams,
    "validate_create_params",
    "Form-decoded body of POST /v1/financial_connections/sessions.",
)
validate_retrieve_params = _params(
    RetrieveParams,
    "validate_retrieve_params",
    "Decoded query of GET /v1/financial_connections/sessions/{id}: only ``expand``.",
)
validate_session = _object(
    Session, "validate_session", "Parsed JSON of a financial_connections.session response."
)
validate_error = _object(
    ErrorEnvelope,
    "validate_error",
    'Parsed JSON of an error response: ``{"error": {"type": ..., ...}}``.',
)
validate_account = _object(Account, "validate_account", "A financial_connections.account.")
validate_account_list = _object(AccountList, "validate_account_list", "A list of accounts.")
validate_owner = _object(Owner, "validate_owner", "A financial_connections.account_owner.")
validate_owner_list = _object(OwnerList, "validate_owner_list", "A list of account owners.")
validate_ownership = _object(
    Ownership, "validate_ownership", "A financial_connections.account_ownership."
)
validate_transaction = _object(
    Transaction, "validate_transaction", "A financial_connections.transaction."
)
validate_transaction_list = _object(
    TransactionList, "validate_transaction_list", "A list of transactions."
)


def validate_reply(model: type[BaseModel], status: Any, obj: Any) -> Report:
    """A response of an endpoint answering ``model``: 2xx is that object, any other
    status Stripe's error envelope."""
    try:
        bad = status_error(status)
        if bad is not None:
            return bad
        return validate_object(model if 200 <= status < 300 else ErrorEnvelope, obj)
    except Exception as exc:  # never raise
        return Report(valid=False, errors=[_internal_error(exc)], drift=[])


def validate_response(status: Any, obj: Any) -> Report:
    """A Sessions endpoint response: 2xx is a session, any other status an error envelope."""
    return validate_reply(Session, status, obj)

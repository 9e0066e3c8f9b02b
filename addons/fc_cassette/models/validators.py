"""Named validators for each Financial Connections object and request (never raise)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from .account import Account, AccountList, Owner, OwnerList, Ownership, Transaction, TransactionList
from .common import ErrorEnvelope
from .report import Report, _internal_error, status_error, validate_object, validate_params
from .session import CreateParams, RetrieveParams, Session


def validate_create_params(params: Any) -> Report:
    """Form-decoded body of POST /v1/financial_connections/sessions."""
    return validate_params(CreateParams, params)


def validate_retrieve_params(params: Any) -> Report:
    """Decoded query of GET /v1/financial_connections/sessions/{id}: only ``expand``."""
    return validate_params(RetrieveParams, params)


def validate_session(obj: Any) -> Report:
    """Parsed JSON of a financial_connections.session response."""
    return validate_object(Session, obj)


def validate_error(obj: Any) -> Report:
    """Parsed JSON of an error response: ``{"error": {"type": ..., ...}}``."""
    return validate_object(ErrorEnvelope, obj)


def validate_account(obj: Any) -> Report:
    return validate_object(Account, obj)


def validate_account_list(obj: Any) -> Report:
    return validate_object(AccountList, obj)


def validate_owner(obj: Any) -> Report:
    return validate_object(Owner, obj)


def validate_owner_list(obj: Any) -> Report:
    return validate_object(OwnerList, obj)


def validate_ownership(obj: Any) -> Report:
    return validate_object(Ownership, obj)


def validate_transaction(obj: Any) -> Report:
    return validate_object(Transaction, obj)


def validate_transaction_list(obj: Any) -> Report:
    return validate_object(TransactionList, obj)


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

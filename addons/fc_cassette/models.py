"""Pydantic models of Stripe Financial Connections Sessions, and validators that report.

Modelled only from the OpenAPI extract ``/work/shared/stripe/fc_session_schemas.json``
and ``NOTES.md`` beside it:

* Response models (:class:`Session`, :class:`Account`, :class:`Ownership`,
  :class:`Owner`, :class:`AccountHolder`, :class:`ErrorEnvelope`, ...) are strict about
  types (JSON ``"5"`` is not an integer, ``1`` is not a boolean) and follow the spec's
  ``required``/``nullable`` exactly: a required nullable field must be present and may be
  ``null``; an optional non-nullable field may be absent but not ``null``. Unknown fields
  are accepted (``extra="allow"``) and reported as *drift*.
* Request models (:class:`CreateParams`, :class:`RetrieveParams`) take the form-decoded
  nested data (leaves are strings): integers are accepted from their decimal string
  form. Unknown top-level parameters are errors (the spec says
  ``additionalProperties: false`` and Stripe rejects them); unknown keys nested inside
  known objects are drift.
* Where stripe-python 16.1.0 is newer than the spec (``filters.country`` next to
  ``filters.countries``; ``account_numbers[].status`` adds ``expired``/``pending``) both
  forms are accepted.

The ``validate_*`` functions never raise: they return a :class:`Report` whose errors
carry real list indices (``accounts.data[0].balance.type``) and whose drift paths
collapse indices (``accounts.data[].new_field``), de-duplicated and sorted.
"""

from __future__ import annotations

import re
import types
import typing
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, Optional, Union

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    PlainValidator,
    Tag,
    ValidationError,
)
from pydantic_core import PydanticCustomError

__all__ = [
    # reports and validators
    "Report",
    "ROOT",
    "validate_create_params",
    "validate_retrieve_params",
    "validate_session",
    "validate_error",
    "validate_response",
    # ID patterns
    "SESSION_ID_PATTERN",
    "CLIENT_SECRET_PATTERN",
    "ACCOUNT_ID_PATTERN",
    "OWNERSHIP_ID_PATTERN",
    "OWNER_ID_PATTERN",
    "CUSTOMER_ID_PATTERN",
    "STRIPE_ACCOUNT_ID_PATTERN",
    "ID_PATTERNS",
    # response models
    "Session",
    "SessionAccountList",
    "SessionFilters",
    "SessionLimits",
    "SessionManualEntry",
    "Account",
    "AccountHolder",
    "AccountNumberDetails",
    "AccountStatusDetails",
    "ActiveStatusDetails",
    "Balance",
    "CashBalance",
    "CreditBalance",
    "BalanceRefresh",
    "OwnershipRefresh",
    "TransactionRefresh",
    "Ownership",
    "OwnerList",
    "Owner",
    "ApiError",
    "ErrorEnvelope",
    # request models
    "CreateParams",
    "CreateAccountHolderParams",
    "CreateFiltersParams",
    "CreateLimitsParams",
    "CreateManualEntryParams",
    "RetrieveParams",
]

ROOT = ""
"""The error path used when the whole value is wrong (e.g. a list where an object belongs).

The empty string, as an empty dotted path; ``interaction.py`` builds its own reports the
same way."""

# --------------------------------------------------------------------------- ID patterns
# Anchored prefix patterns, never fixed lengths (Stripe does not promise ID lengths).
SESSION_ID_PATTERN = r"^fcsess_[A-Za-z0-9]+$"  # does not match fcsess_client_secret_...
CLIENT_SECRET_PATTERN = r"^fcsess_client_secret_[A-Za-z0-9_]+$"
ACCOUNT_ID_PATTERN = r"^fca_[A-Za-z0-9]+$"
OWNERSHIP_ID_PATTERN = r"^fcaowns_[A-Za-z0-9]+$"
OWNER_ID_PATTERN = r"^fcaown_[A-Za-z0-9]+$"
CUSTOMER_ID_PATTERN = r"^cus_[A-Za-z0-9]+$"
STRIPE_ACCOUNT_ID_PATTERN = r"^acct_[A-Za-z0-9]+$"

ID_PATTERNS: dict[str, re.Pattern[str]] = {
    "session": re.compile(SESSION_ID_PATTERN),
    "client_secret": re.compile(CLIENT_SECRET_PATTERN),
    "account": re.compile(ACCOUNT_ID_PATTERN),
    "ownership": re.compile(OWNERSHIP_ID_PATTERN),
    "owner": re.compile(OWNER_ID_PATTERN),
    "customer": re.compile(CUSTOMER_ID_PATTERN),
    "stripe_account": re.compile(STRIPE_ACCOUNT_ID_PATTERN),
}
"""Compiled versions for other modules (use ``.fullmatch`` or ``.match``; all are anchored)."""

# ------------------------------------------------------------------------ scalar types
# pydantic's ``pattern`` runs on the Rust regex engine, where ``$`` is a true end of
# input (a trailing newline does not match).
Str5000 = Annotated[str, Field(max_length=5000)]
SessionId = Annotated[str, Field(max_length=5000, pattern=SESSION_ID_PATTERN)]
ClientSecret = Annotated[str, Field(max_length=5000, pattern=CLIENT_SECRET_PATTERN)]
AccountId = Annotated[str, Field(max_length=5000, pattern=ACCOUNT_ID_PATTERN)]
OwnershipId = Annotated[str, Field(max_length=5000, pattern=OWNERSHIP_ID_PATTERN)]
OwnerId = Annotated[str, Field(max_length=5000, pattern=OWNER_ID_PATTERN)]
CustomerId = Annotated[str, Field(max_length=5000, pattern=CUSTOMER_ID_PATTERN)]
StripeAccountId = Annotated[str, Field(max_length=5000, pattern=STRIPE_ACCOUNT_ID_PATTERN)]
AccountsListUrl = Annotated[
    str, Field(max_length=5000, pattern=r"^/v1/financial_connections/accounts")
]
UnixTime = int
CurrencyAmounts = dict[str, int]  # lowercase ISO currency -> integer minor units
ExternalObject = dict[str, Any]  # a schema the extract leaves out (customer, account, token...)

Permission = Literal["balances", "ownership", "payment_method", "transactions"]
Prefetch = Literal["balances", "ownership", "transactions"]
AccountSubcategoryFilter = Literal[
    "checking", "credit_card", "line_of_credit", "mortgage", "savings"
]
RequirePaymentMethodSupport = Literal["all", "at_least_one", "none"]
AccountHolderType = Literal["account", "customer"]
ManualEntryMode = Literal["automatic", "disabled"]
RefreshStatus = Literal["failed", "pending", "succeeded"]

# Tags of "ID string or expanded object" unions. They appear in pydantic error locations
# and are removed from reported paths; the double underscores keep them apart from any
# real field name.
_TAG_ID = "__id__"
_TAG_OBJ = "__object__"
_TAGS = frozenset({_TAG_ID, _TAG_OBJ})


def _id_or_object(value: Any) -> str:
    return _TAG_ID if isinstance(value, str) else _TAG_OBJ


def _expandable(id_type: Any, obj_type: Any) -> Any:
    """An expandable field: an ID string, or the expanded object (dispatched on type)."""
    return Annotated[
        Union[Annotated[id_type, Tag(_TAG_ID)], Annotated[obj_type, Tag(_TAG_OBJ)]],
        Discriminator(_id_or_object),
    ]


ExpandableStripeAccount = _expandable(StripeAccountId, ExternalObject)
ExpandableCustomer = _expandable(CustomerId, ExternalObject)


# ------------------------------------------------------------------------ response models
class _Response(BaseModel):
    """Base of response models: strict JSON types, unknown fields kept (and reported)."""

    model_config = ConfigDict(strict=True, extra="allow", hide_input_in_errors=True)


# Fields written ``name: T = None`` (T not Optional) are optional but NOT nullable: absent
# is fine (the default is not validated), an explicit null fails. ``name: Optional[T]``
# without default is required and nullable; ``Optional[T] = None`` is optional and nullable.


class AccountHolder(_Response):
    """bank_connections_resource_accountholder."""

    account: ExpandableStripeAccount = None  # type: ignore[assignment]
    customer: ExpandableCustomer = None  # type: ignore[assignment]
    customer_account: Str5000 = None  # type: ignore[assignment]
    type: AccountHolderType


class AccountNumberDetails(_Response):
    """bank_connections_resource_account_number_details (+ 16.1.0 status values)."""

    expected_expiry_date: Optional[UnixTime] = None
    identifier_type: Literal["account_number", "tokenized_account_number"]
    # spec: deactivated|transactable; stripe-python 16.1.0 adds expired|pending.
    status: Literal["deactivated", "expired", "pending", "transactable"]
    supported_networks: list[Literal["ach"]]


class CashBalance(_Response):
    available: Optional[CurrencyAmounts] = None


class CreditBalance(_Response):
    used: Optional[CurrencyAmounts] = None


class Balance(_Response):
    """bank_connections_resource_balance."""

    as_of: UnixTime
    cash: CashBalance = None  # type: ignore[assignment]
    credit: CreditBalance = None  # type: ignore[assignment]
    current: CurrencyAmounts
    type: Literal["cash", "credit"]


class BalanceRefresh(_Response):
    last_attempted_at: UnixTime
    next_refresh_available_at: Optional[UnixTime] = None
    status: RefreshStatus


class OwnershipRefresh(_Response):
    last_attempted_at: UnixTime
    next_refresh_available_at: Optional[UnixTime] = None
    status: RefreshStatus


class TransactionRefresh(_Response):
    id: Str5000
    last_attempted_at: UnixTime
    next_refresh_available_at: Optional[UnixTime] = None
    status: RefreshStatus


class ActiveStatusDetails(_Response):
    action: Literal["none", "relink_required"]
    cause: Literal["access_expired", "institution_requirement", "unspecified"]
    expected_deactivation_date: UnixTime


class AccountStatusDetails(_Response):
    active: ActiveStatusDetails = None  # type: ignore[assignment]


class Owner(_Response):
    """financial_connections.account_owner."""

    email: Optional[Str5000] = None
    id: OwnerId
    name: Str5000
    object: Literal["financial_connections.account_owner"]
    # The spec gives no description for this string, so no ID pattern is imposed.
    ownership: Str5000
    phone: Optional[Str5000] = None
    raw_address: Optional[Str5000] = None
    refreshed_at: Optional[UnixTime] = None


class OwnerList(_Response):
    data: list[Owner]
    has_more: bool
    object: Literal["list"]
    url: Str5000


class Ownership(_Response):
    """financial_connections.account_ownership."""

    created: UnixTime
    id: OwnershipId
    object: Literal["financial_connections.account_ownership"]
    owners: OwnerList


ExpandableOwnership = _expandable(OwnershipId, Ownership)


class Account(_Response):
    """financial_connections.account."""

    account_holder: Optional[AccountHolder] = None
    account_numbers: Optional[list[AccountNumberDetails]] = None
    balance: Optional[Balance] = None
    balance_refresh: Optional[BalanceRefresh] = None
    category: Literal["cash", "credit", "investment", "other"]
    created: UnixTime
    display_name: Optional[Str5000] = None
    id: AccountId
    institution_name: Str5000
    last4: Optional[Str5000] = None
    livemode: bool
    object: Literal["financial_connections.account"]
    ownership: Optional[ExpandableOwnership] = None
    ownership_refresh: Optional[OwnershipRefresh] = None
    permissions: Optional[list[Permission]] = None
    status: Literal["active", "disconnected", "inactive"]
    status_details: AccountStatusDetails = None  # type: ignore[assignment]
    subcategory: Literal[
        "checking", "credit_card", "line_of_credit", "mortgage", "other", "savings"
    ]
    subscriptions: Optional[list[Literal["transactions"]]] = None
    supported_payment_method_types: list[Literal["link", "us_bank_account"]]
    transaction_refresh: Optional[TransactionRefresh] = None


class SessionAccountList(_Response):
    """BankConnectionsResourceLinkedAccountList (``total_count`` is not in the spec)."""

    data: list[Account]
    has_more: bool
    object: Literal["list"]
    url: AccountsListUrl


class SessionFilters(_Response):
    """bank_connections_resource_link_account_session_filters (+ 16.1.0 ``country``)."""

    account_subcategories: Optional[list[AccountSubcategoryFilter]] = None
    countries: Optional[list[Str5000]] = None
    # stripe-python 16.1.0: ``country: Optional[str]`` (replaces countries[]).
    country: Optional[Str5000] = None
    require_payment_method_support: RequirePaymentMethodSupport = None  # type: ignore[assignment]


class SessionLimits(_Response):
    accounts: int


class SessionManualEntry(_Response):
    mode: ManualEntryMode = None  # type: ignore[assignment]


class Session(_Response):
    """financial_connections.session."""

    account_holder: Optional[AccountHolder] = None
    accounts: SessionAccountList
    bank_account_token: ExternalObject = None  # type: ignore[assignment]
    client_secret: Optional[ClientSecret] = None
    filters: SessionFilters = None  # type: ignore[assignment]
    id: SessionId
    limits: SessionLimits = None  # type: ignore[assignment]
    livemode: bool
    manual_entry: SessionManualEntry = None  # type: ignore[assignment]
    object: Literal["financial_connections.session"]
    permissions: list[Permission]
    prefetch: Optional[list[Prefetch]] = None
    return_url: Str5000 = None  # type: ignore[assignment]


class ApiError(_Response):
    """api_errors."""

    advice_code: Str5000 = None  # type: ignore[assignment]
    charge: Str5000 = None  # type: ignore[assignment]
    code: Str5000 = None  # type: ignore[assignment]
    decline_code: Str5000 = None  # type: ignore[assignment]
    doc_url: Str5000 = None  # type: ignore[assignment]
    message: Annotated[str, Field(max_length=40000)] = None  # type: ignore[assignment]
    network_advice_code: Str5000 = None  # type: ignore[assignment]
    network_decline_code: Str5000 = None  # type: ignore[assignment]
    param: Str5000 = None  # type: ignore[assignment]
    payment_intent: ExternalObject = None  # type: ignore[assignment]
    payment_method: ExternalObject = None  # type: ignore[assignment]
    payment_method_type: Str5000 = None  # type: ignore[assignment]
    request_log_url: Str5000 = None  # type: ignore[assignment]
    setup_intent: ExternalObject = None  # type: ignore[assignment]
    source: ExternalObject = None  # type: ignore[assignment]  # bank_account|card|source
    type: Literal["api_error", "card_error", "idempotency_error", "invalid_request_error"]


class ErrorEnvelope(_Response):
    """error: ``{"error": {...}}``."""

    error: ApiError


# ------------------------------------------------------------------------- request models
_INT_STRING = re.compile(r"-?[0-9]{1,18}")


def _form_int_or_empty(value: Any) -> int | str:
    """``limits[accounts]``: an integer (or its decimal string, as forms carry it) or ``""``."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        if value == "":
            return ""
        if _INT_STRING.fullmatch(value):
            return int(value)
    raise PydanticCustomError("int_or_empty", "Input should be an integer or an empty string")


FormIntOrEmpty = Annotated[Union[int, Literal[""]], PlainValidator(_form_int_or_empty)]


class _Nested(BaseModel):
    """Nested request object: unknown keys are kept and reported as drift."""

    model_config = ConfigDict(strict=True, extra="allow", hide_input_in_errors=True)


class _TopLevel(BaseModel):
    """Top-level request parameters: unknown keys are errors (additionalProperties: false)."""

    model_config = ConfigDict(strict=True, extra="forbid", hide_input_in_errors=True)


class CreateAccountHolderParams(_Nested):
    account: StripeAccountId = None  # type: ignore[assignment]
    customer: CustomerId = None  # type: ignore[assignment]
    customer_account: Str5000 = None  # type: ignore[assignment]
    type: AccountHolderType


class CreateFiltersParams(_Nested):
    account_subcategories: list[AccountSubcategoryFilter] = None  # type: ignore[assignment]
    countries: list[Str5000] = None  # type: ignore[assignment]
    country: Str5000 = None  # type: ignore[assignment]  # stripe-python 16.1.0
    require_payment_method_support: RequirePaymentMethodSupport = None  # type: ignore[assignment]


class CreateLimitsParams(_Nested):
    accounts: FormIntOrEmpty


class CreateManualEntryParams(_Nested):
    mode: ManualEntryMode = None  # type: ignore[assignment]


class CreateParams(_TopLevel):
    """POST /v1/financial_connections/sessions, form-decoded."""

    account_holder: CreateAccountHolderParams
    expand: list[Str5000] = None  # type: ignore[assignment]
    filters: CreateFiltersParams = None  # type: ignore[assignment]
    limits: CreateLimitsParams = None  # type: ignore[assignment]
    manual_entry: CreateManualEntryParams = None  # type: ignore[assignment]
    permissions: list[Permission]
    prefetch: list[Prefetch] = None  # type: ignore[assignment]
    return_url: Str5000 = None  # type: ignore[assignment]


class RetrieveParams(_TopLevel):
    """GET /v1/financial_connections/sessions/{session} query."""

    expand: list[Str5000] = None  # type: ignore[assignment]


# ---------------------------------------------------------------------------------- report
@dataclass(frozen=True)
class Report:
    """Outcome of one validation: errors fail it, drift (unknown fields) does not."""

    valid: bool
    errors: list[dict] = field(default_factory=list)
    drift: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "valid": self.valid,
            "errors": [{"path": e["path"], "message": e["message"]} for e in self.errors],
            "drift": list(self.drift),
        }


# ------------------------------------------------------------------------------ drift walk
# Shapes mirror the models: a _ModelShape knows its field names, a _ListShape its items,
# a _UnionShape picks by JSON type. ``None`` is a leaf or an opaque object (free keys).
class _ModelShape:
    __slots__ = ("fields",)

    def __init__(self) -> None:
        self.fields: dict[str, Any] = {}


class _ListShape:
    __slots__ = ("item",)

    def __init__(self, item: Any) -> None:
        self.item = item


class _UnionShape:
    __slots__ = ("for_dict", "for_list")

    def __init__(self, for_dict: Any, for_list: Any) -> None:
        self.for_dict = for_dict
        self.for_list = for_list


_MODEL_SHAPES: dict[type, _ModelShape] = {}


def _shape(annotation: Any) -> Any:
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return _shape(typing.get_args(annotation)[0])
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        cached = _MODEL_SHAPES.get(annotation)
        if cached is None:
            cached = _MODEL_SHAPES[annotation] = _ModelShape()
            for name, info in annotation.model_fields.items():
                cached.fields[info.alias or name] = _shape(info.annotation)
        return cached
    if origin is list:
        return _ListShape(_shape(typing.get_args(annotation)[0]))
    if origin is Union or origin is types.UnionType:
        members = [_shape(a) for a in typing.get_args(annotation)]
        for_dict = next((m for m in members if isinstance(m, _ModelShape)), None)
        for_list = next((m for m in members if isinstance(m, _ListShape)), None)
        if for_dict is None and for_list is None:
            return None
        if for_list is None:
            return for_dict
        return _UnionShape(for_dict, for_list)
    return None  # scalars, Literal, dict[...] maps and external objects


def _join(path: str, key: Any) -> str:
    key = key if isinstance(key, str) else str(key)
    return f"{path}.{key}" if path else key


def _walk(value: Any, shape: Any, path: str, out: set[str]) -> None:
    if shape is None:
        return
    if isinstance(shape, _UnionShape):
        shape = shape.for_list if isinstance(value, list) else shape.for_dict
        if shape is None:
            return
    if isinstance(shape, _ModelShape):
        if isinstance(value, dict):
            fields = shape.fields
            for key, sub in value.items():
                if key not in fields:
                    out.add(_join(path, key))
                else:
                    sub_shape = fields[key]
                    if sub_shape is not None:
                        _walk(sub, sub_shape, _join(path, key), out)
    elif isinstance(shape, _ListShape):
        if isinstance(value, list) and shape.item is not None:
            item_path = path + "[]"
            for item in value:
                _walk(item, shape.item, item_path, out)


def _drift(value: Any, model: type[BaseModel], *, top_level_unknown_is_error: bool) -> list[str]:
    shape = _MODEL_SHAPES[model]
    out: set[str] = set()
    if top_level_unknown_is_error:
        if isinstance(value, dict):
            for key, sub in value.items():
                sub_shape = shape.fields.get(key) if isinstance(key, str) else None
                if sub_shape is not None:
                    _walk(sub, sub_shape, key, out)
    else:
        _walk(value, shape, "", out)
    return sorted(out)


for _model in (Session, ErrorEnvelope, CreateParams, RetrieveParams, Account, Ownership):
    _shape(_model)

# ---------------------------------------------------------------------------- error paths
_MAX_MESSAGE = 300
_ID_OR_OBJECT_MESSAGE = "Input should be an ID string or an object"


def _path(loc: tuple) -> str:
    out = ""
    for el in loc:
        if isinstance(el, int) and not isinstance(el, bool):
            out += f"[{el}]"
        elif el in _TAGS:
            continue
        else:
            el = str(el)
            out = f"{out}.{el}" if out else el
    return out or ROOT


def _message(err: dict) -> str:
    etype = err.get("type")
    loc = err.get("loc") or ()
    if etype == "extra_forbidden" and loc:
        return f"Received unknown parameter: {loc[-1]}"
    if etype in ("string_type", "model_type", "dict_type") and loc and loc[-1] in _TAGS:
        return _ID_OR_OBJECT_MESSAGE
    if etype in ("model_type", "model_attributes_type", "dict_type"):
        return "Input should be an object"
    msg = str(err.get("msg", "invalid"))
    return msg if len(msg) <= _MAX_MESSAGE else msg[: _MAX_MESSAGE - 3] + "..."


def _errors(exc: ValidationError) -> list[dict]:
    seen: set[tuple[str, str]] = set()
    out: list[dict] = []
    for err in exc.errors(include_url=False, include_context=False, include_input=False):
        item = (_path(tuple(err.get("loc") or ())), _message(err))
        if item not in seen:
            seen.add(item)
            out.append({"path": item[0], "message": item[1]})
    return out


def _internal_error(exc: BaseException) -> dict:
    text = f"internal validation error: {type(exc).__name__}"
    return {"path": ROOT, "message": text}


def _run(model: type[BaseModel], value: Any, *, top_level_unknown_is_error: bool) -> Report:
    errors: list[dict] = []
    drift: list[str] = []
    try:
        if not isinstance(value, dict):
            kind = "null" if value is None else type(value).__name__
            errors.append({"path": ROOT, "message": f"Input should be an object, not {kind}"})
        else:
            try:
                model.model_validate(value)
            except ValidationError as exc:
                errors = _errors(exc)
            drift = _drift(value, model, top_level_unknown_is_error=top_level_unknown_is_error)
    except Exception as exc:  # noqa: BLE001 - runs inside a proxy: never raise
        errors.append(_internal_error(exc))
    return Report(valid=not errors, errors=errors, drift=drift)


# ------------------------------------------------------------------------------ public API
def validate_create_params(params: Any) -> Report:
    """Form-decoded body of POST /v1/financial_connections/sessions."""
    return _run(CreateParams, params, top_level_unknown_is_error=True)


def validate_retrieve_params(params: Any) -> Report:
    """Decoded query of GET /v1/financial_connections/sessions/{id}: only ``expand``."""
    return _run(RetrieveParams, params, top_level_unknown_is_error=True)


def validate_session(obj: Any) -> Report:
    """Parsed JSON of a financial_connections.session response."""
    return _run(Session, obj, top_level_unknown_is_error=False)


def validate_error(obj: Any) -> Report:
    """Parsed JSON of an error response: ``{"error": {"type": ..., ...}}``."""
    return _run(ErrorEnvelope, obj, top_level_unknown_is_error=False)


def validate_response(status: Any, obj: Any) -> Report:
    """A Sessions endpoint response: 2xx is a session, any other status an error envelope."""
    try:
        if isinstance(status, bool) or not isinstance(status, int):
            return Report(
                valid=False,
                errors=[{"path": ROOT, "message": f"status should be an integer, not {status!r:.40}"}],
                drift=[],
            )
        if 200 <= status < 300:
            return validate_session(obj)
        return validate_error(obj)
    except Exception as exc:  # noqa: BLE001 - never raise
        return Report(valid=False, errors=[_internal_error(exc)], drift=[])

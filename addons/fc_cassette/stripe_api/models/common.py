"""Building blocks shared by every Financial Connections model: ID patterns, scalar
types, the strict/lenient bases, expandable fields, form integers and the error envelope.

Declarative only: nothing here validates or reports (see :mod:`.report`).

Conventions of every model in this package:

* Response models are strict about JSON types (``"5"`` is not an integer, ``1`` is not
  a boolean) and follow the spec's ``required``/``nullable`` exactly. Fields written
  ``name: T = None`` (T not Optional) are optional but NOT nullable: absent is fine (the
  default is not validated), an explicit null fails. ``name: Optional[T]`` without a
  default is required and nullable; ``Optional[T] = None`` is optional and nullable.
  Unknown fields are accepted (``extra="allow"``) and reported as *drift*.
* Request models take form-decoded data (leaves are strings): integers are accepted
  from their decimal string form. Unknown top-level parameters are errors (Stripe
  rejects them); unknown keys nested inside known objects are drift.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    PlainValidator,
    Tag,
    create_model,
)
from pydantic_core import PydanticCustomError

ROOT = ""
"""The error path used when the whole value is wrong (e.g. a list where an object belongs)."""
# The error types Stripe answers with (ApiError.type; the envelope: stripe_api.errors).
ErrorType = Literal["api_error", "card_error", "idempotency_error", "invalid_request_error"]

# --------------------------------------------------------------------------- ID patterns
# Anchored prefix patterns, never fixed lengths (Stripe does not promise ID lengths).
SESSION_ID_PATTERN = r"^fcsess_[A-Za-z0-9]+$"  # does not match fcsess_client_secret_...
# The shape Stripe's API returns today. Not enforced by the Session model (the spec
# defines no pattern, and Stripe's own fixtures write ``fcsess_..._secret_...``): a
# client secret of another shape is valid; redaction treats any ``client_secret`` value
# as a secret whatever its shape.
CLIENT_SECRET_PATTERN = r"^fcsess_client_secret_[A-Za-z0-9_]+$"
ACCOUNT_ID_PATTERN = r"^fca_[A-Za-z0-9]+$"
OWNERSHIP_ID_PATTERN = r"^fcaowns_[A-Za-z0-9]+$"
OWNER_ID_PATTERN = r"^fcaown_[A-Za-z0-9]+$"
TRANSACTION_ID_PATTERN = r"^fctxn_[A-Za-z0-9]+$"
TRANSACTION_REFRESH_ID_PATTERN = r"^fctxnref_[A-Za-z0-9]+$"
CUSTOMER_ID_PATTERN = r"^cus_[A-Za-z0-9]+$"
STRIPE_ACCOUNT_ID_PATTERN = r"^acct_[A-Za-z0-9]+$"
PAYMENT_METHOD_ID_PATTERN = r"^pm_[A-Za-z0-9]+$"
PAYMENT_INTENT_ID_PATTERN = r"^pi_[A-Za-z0-9]+$"
SETUP_INTENT_ID_PATTERN = r"^seti_[A-Za-z0-9]+$"
MANDATE_ID_PATTERN = r"^mandate_[A-Za-z0-9]+$"

ID_PATTERNS: dict[str, re.Pattern[str]] = {
    "session": re.compile(SESSION_ID_PATTERN),
    "client_secret": re.compile(CLIENT_SECRET_PATTERN),
    "account": re.compile(ACCOUNT_ID_PATTERN),
    "ownership": re.compile(OWNERSHIP_ID_PATTERN),
    "owner": re.compile(OWNER_ID_PATTERN),
    "transaction": re.compile(TRANSACTION_ID_PATTERN),
    "transaction_refresh": re.compile(TRANSACTION_REFRESH_ID_PATTERN),
    "customer": re.compile(CUSTOMER_ID_PATTERN),
    "stripe_account": re.compile(STRIPE_ACCOUNT_ID_PATTERN),
    "payment_method": re.compile(PAYMENT_METHOD_ID_PATTERN),
    "payment_intent": re.compile(PAYMENT_INTENT_ID_PATTERN),
    "setup_intent": re.compile(SETUP_INTENT_ID_PATTERN),
    "mandate": re.compile(MANDATE_ID_PATTERN),
}
"""Compiled versions for other modules (use ``.fullmatch`` or ``.match``; all are anchored)."""


@dataclass(frozen=True)
class IdShape:
    """Marks an id field. Stripe's spec gives ids no pattern (a string of at most 5000
    characters; stripe-mock answers ``"id": ""`` for an expanded ownership), so ours is
    never a constraint: a value outside it is reported as drift (``ownership.id (not
    an fcaowns_ id)``, see :mod:`.report`), never as invalid."""

    pattern: str

    @property
    def regex(self) -> re.Pattern[str]:
        return ID_PATTERNS_BY_TEXT[self.pattern]

    @property
    def prefix(self) -> str:
        return self.pattern.removeprefix("^").split("[", 1)[0]


ID_PATTERNS_BY_TEXT = {p.pattern: p for p in ID_PATTERNS.values()}

# ------------------------------------------------------------------------ scalar types
Str5000 = Annotated[str, Field(max_length=5000)]
SessionId = Annotated[str, Field(max_length=5000), IdShape(SESSION_ID_PATTERN)]
AccountId = Annotated[str, Field(max_length=5000), IdShape(ACCOUNT_ID_PATTERN)]
OwnershipId = Annotated[str, Field(max_length=5000), IdShape(OWNERSHIP_ID_PATTERN)]
OwnerId = Annotated[str, Field(max_length=5000), IdShape(OWNER_ID_PATTERN)]
TransactionId = Annotated[str, Field(max_length=5000), IdShape(TRANSACTION_ID_PATTERN)]
CustomerId = Annotated[str, Field(max_length=5000), IdShape(CUSTOMER_ID_PATTERN)]
StripeAccountId = Annotated[str, Field(max_length=5000), IdShape(STRIPE_ACCOUNT_ID_PATTERN)]
PaymentMethodId = Annotated[str, Field(max_length=5000), IdShape(PAYMENT_METHOD_ID_PATTERN)]
PaymentIntentId = Annotated[str, Field(max_length=5000), IdShape(PAYMENT_INTENT_ID_PATTERN)]
SetupIntentId = Annotated[str, Field(max_length=5000), IdShape(SETUP_INTENT_ID_PATTERN)]
MandateId = Annotated[str, Field(max_length=5000), IdShape(MANDATE_ID_PATTERN)]
UnixTime = int
Opaque = Any  # a request parameter whose inner shape fc-cassette does not check
CurrencyAmounts = dict[str, int]  # lowercase ISO currency -> integer minor units
ExternalObject = dict[str, Any]  # a schema the extract leaves out (customer, account, token...)

Permission = Literal["balances", "ownership", "payment_method", "transactions"]
Prefetch = Literal["balances", "ownership", "transactions"]
AccountHolderType = Literal["account", "customer"]
RefreshStatus = Literal["failed", "pending", "succeeded"]

# Tags of "ID string or object" unions. They appear in pydantic error locations and are
# removed from reported paths; the double underscores keep them apart from any real
# field name.
TAG_ID = "__id__"
TAG_OBJ = "__object__"
TAGS = frozenset({TAG_ID, TAG_OBJ})


def _id_or_object(value: Any) -> str:
    return TAG_ID if isinstance(value, str) else TAG_OBJ


def _scalar_or_object(value: Any) -> str:
    return TAG_OBJ if isinstance(value, dict) else TAG_ID


def expandable(id_type: Any, obj_type: Any) -> Any:
    """An expandable field: an ID string, or the expanded object (dispatched on type)."""
    return Annotated[
        Annotated[id_type, Tag(TAG_ID)] | Annotated[obj_type, Tag(TAG_OBJ)],
        Discriminator(_id_or_object),
    ]


def scalar_or_object(scalar_type: Any, obj_type: Any) -> Any:
    """A parameter that is a scalar or a hash (``transacted_at=N`` or ``transacted_at[gte]=N``)."""
    return Annotated[
        Annotated[scalar_type, Tag(TAG_ID)] | Annotated[obj_type, Tag(TAG_OBJ)],
        Discriminator(_scalar_or_object),
    ]


ExpandableStripeAccount = expandable(StripeAccountId, ExternalObject)
ExpandableCustomer = expandable(CustomerId, ExternalObject)


# ------------------------------------------------------------------------------- bases
class Response(BaseModel):
    """Base of response models: strict JSON types, unknown fields kept (and reported)."""

    model_config = ConfigDict(strict=True, extra="allow", hide_input_in_errors=True)


class Nested(BaseModel):
    """Nested request object: unknown keys are kept and reported as drift."""

    model_config = ConfigDict(strict=True, extra="allow", hide_input_in_errors=True)


class TopLevel(BaseModel):
    """Top-level request parameters: unknown keys are errors (Stripe rejects them)."""

    model_config = ConfigDict(strict=True, extra="forbid", hide_input_in_errors=True)


# The same bases, built on first use instead of at import: the many models of the objects
# around FC (customers, payment methods, intents, mandates) would otherwise double the
# package's import time for every command, also for traffic that never uses them.
class LazyResponse(Response):
    """:class:`Response`, its validator built when first used (``defer_build``)."""

    model_config = ConfigDict(defer_build=True)


class LazyNested(Nested):
    """:class:`Nested`, built when first used."""

    model_config = ConfigDict(defer_build=True)


class LazyTopLevel(TopLevel):
    """:class:`TopLevel`, built when first used."""

    model_config = ConfigDict(defer_build=True)


# ------------------------------------------------------------------------ form integers
_INT_STRING = re.compile(r"-?[0-9]{1,18}")
FORM_INT_ERRORS = frozenset({"form_int", "int_or_empty"})
"""pydantic error types of an integer parameter that is not one (Stripe's
``parameter_invalid_integer``)."""


def _form_int(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and _INT_STRING.fullmatch(value):
        return int(value)
    raise PydanticCustomError("form_int", "Input should be an integer")


def _form_int_or_empty(value: Any) -> int | str:
    """``limits[accounts]``: an integer (or its decimal string, as forms carry it) or ``""``."""
    if value == "" and isinstance(value, str):
        return ""
    try:
        return _form_int(value)
    except ValueError:
        raise PydanticCustomError(
            "int_or_empty", "Input should be an integer or an empty string"
        ) from None


def _form_bool(value: Any) -> bool:
    """A boolean parameter: ``true``/``false`` as forms carry it (or a JSON bool)."""
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return value == "true"
    raise PydanticCustomError("form_bool", "Input should be true or false")


FormInt = Annotated[int, PlainValidator(_form_int)]
FormBool = Annotated[bool, PlainValidator(_form_bool)]
FormIntOrEmpty = Annotated[int | Literal[""], PlainValidator(_form_int_or_empty)]


def with_fields(
    base: type[BaseModel], name: str, doc: str, names: tuple[str, ...], kind: Any
) -> type[BaseModel]:
    """``base`` plus one optional field of type ``kind`` per name in ``names``: the many
    sibling fields (one per payment method type, say) a resource lists without fc-cassette
    checking their insides. The result is a model like any other (drift, errors)."""
    fields: dict[str, Any] = {n: (kind, None) for n in names if n not in base.model_fields}
    model = create_model(name, __base__=base, __doc__=doc, **fields)
    model.__module__ = base.__module__
    return model


def list_of(item: Any, url: str, name: str) -> type[BaseModel]:
    """Stripe's list envelope of ``item`` objects whose ``url`` starts with ``url``
    (*SDK*: ``ListObject``)."""
    # The fields as data (as in with_fields): mypy checks a keyword argument of create_model
    # as a type form, and cannot read Literal["list"] there (its string looks like a forward
    # reference).
    fields: dict[str, Any] = {
        "data": (list[item], ...),
        "has_more": (bool, ...),
        "object": (Literal["list"], ...),
        "url": (Annotated[str, Field(max_length=5000, pattern="^" + url)], ...),
    }
    model = create_model(
        name, __base__=LazyResponse, __doc__=f"A list of {url} (*SDK*: ``ListObject``).", **fields
    )
    model.__module__ = item.__module__
    return model


# ------------------------------------------------------------------------ error envelope
class ApiError(Response):
    """api_errors."""

    advice_code: Str5000 = None
    charge: Str5000 = None
    code: Str5000 = None
    decline_code: Str5000 = None
    doc_url: Str5000 = None
    message: Annotated[str, Field(max_length=40000)] = None
    network_advice_code: Str5000 = None
    network_decline_code: Str5000 = None
    param: Str5000 = None
    payment_intent: ExternalObject = None
    payment_method: ExternalObject = None
    payment_method_type: Str5000 = None
    request_log_url: Str5000 = None
    setup_intent: ExternalObject = None
    source: ExternalObject = None  # bank_account|card|source
    type: ErrorType


class ErrorEnvelope(Response):
    """error: ``{"error": {...}}``."""

    error: ApiError

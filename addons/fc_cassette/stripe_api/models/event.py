"""Events (the asynchronous half of the API) and webhook endpoints (declarative).

Source: stripe-python 16.1.0 ``stripe/_event.py`` (the v1 envelope and its ``type``
values), ``stripe/_webhook_endpoint.py`` and ``stripe/params/_event_list_params.py``,
``_webhook_endpoint_create_params.py`` (all *SDK*: the spec extract has no events).
``type`` is any string (Stripe adds types; an unknown one is not an error); the
``financial_connections.account.*`` types carry a ``financial_connections.account`` in
``data.object``, which :func:`validate_event` checks with :class:`~.account.Account`
(unknown fields there are drift, reported under ``data.object.``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Field

from fc_cassette.stripe_api.models.account import Account
from fc_cassette.stripe_api.models.common import (
    FormInt,
    Nested,
    Response,
    Str5000,
    TopLevel,
    UnixTime,
    scalar_or_object,
)
from fc_cassette.stripe_api.models.report import Report, _internal_error, validate_object

EVENT_ID_PATTERN = r"^evt_[A-Za-z0-9]+$"
WEBHOOK_ENDPOINT_ID_PATTERN = r"^we_[A-Za-z0-9]+$"
EVENTS_URL = "/v1/events"
WEBHOOK_ENDPOINTS_URL = "/v1/webhook_endpoints"
FC_ACCOUNT_EVENT = "financial_connections.account."

FC_EVENT_TYPES: tuple[str, ...] = (
    "financial_connections.account.account_numbers_updated",
    "financial_connections.account.created",
    "financial_connections.account.deactivated",
    "financial_connections.account.disconnected",
    "financial_connections.account.expected_deactivation_date_updated",
    "financial_connections.account.reactivated",
    "financial_connections.account.refreshed_balance",
    "financial_connections.account.refreshed_ownership",
    "financial_connections.account.refreshed_transactions",
    "financial_connections.account.supported_payment_method_types_updated",
    "financial_connections.account.upcoming_account_number_expiry",
    "financial_connections.account.upcoming_deactivation",
    "financial_connections.authorization.expected_deactivation_date_updated",
    "financial_connections.authorization.upcoming_deactivation",
)
"""The FC event types stripe-python 16.1.0 lists (``Event.type``)."""

EventId = Annotated[str, Field(max_length=5000, pattern=EVENT_ID_PATTERN)]


class EventData(Response):
    """``data``: the object as it is after the event, and what changed."""

    object: dict[str, Any]
    previous_attributes: dict[str, Any] | None = None


class EventRequest(Response):
    """``request``: the API request that caused the event (nulls when none did)."""

    id: str | None
    idempotency_key: str | None


class Event(Response):
    """event (v1 snapshot event)."""

    id: EventId
    object: Literal["event"]
    account: Str5000 = None
    api_version: str | None
    context: Str5000 = None
    created: UnixTime
    data: EventData
    livemode: bool
    pending_webhooks: int
    request: EventRequest | None
    type: Str5000


class EventList(Response):
    """A list of events (the SDK's ListObject)."""

    object: Literal["list"]
    data: list[Event]
    has_more: bool
    url: Annotated[str, Field(max_length=5000, pattern="^/v1/events")]


class WebhookEndpoint(Response):
    """webhook_endpoint (``secret`` only in the create response)."""

    id: Annotated[str, Field(max_length=5000, pattern=WEBHOOK_ENDPOINT_ID_PATTERN)]
    object: Literal["webhook_endpoint"]
    api_version: str | None
    application: str | None
    created: UnixTime
    description: str | None
    enabled_events: list[str]
    livemode: bool
    metadata: dict[str, str]
    secret: Str5000 = None
    status: str
    url: str


# ----------------------------------------------------------------------------- params
class CreatedFilterParams(Nested):
    gt: FormInt = None
    gte: FormInt = None
    lt: FormInt = None
    lte: FormInt = None


if TYPE_CHECKING:  # what mypy can read of the tagged union scalar_or_object() builds
    _CreatedFilter = int | CreatedFilterParams
else:
    _CreatedFilter = scalar_or_object(FormInt, CreatedFilterParams)


class EventListParams(TopLevel):
    """GET /v1/events (EventListParams)."""

    created: _CreatedFilter = None
    delivery_success: Literal["true", "false"] = None
    ending_before: Str5000 = None
    expand: list[Str5000] = None
    limit: FormInt = None
    starting_after: Str5000 = None
    type: Str5000 = None
    types: list[Str5000] = None


class EventRetrieveParams(TopLevel):
    """GET /v1/events/{id} (EventRetrieveParams)."""

    expand: list[Str5000] = None


class WebhookEndpointCreateParams(TopLevel):
    """POST /v1/webhook_endpoints (WebhookEndpointCreateParams)."""

    api_version: Str5000 = None
    connect: Literal["true", "false"] = None
    description: str = None
    enabled_events: list[Str5000]
    expand: list[Str5000] = None
    metadata: dict[str, str] = None
    url: Str5000


class WebhookEndpointListParams(TopLevel):
    """GET /v1/webhook_endpoints (WebhookEndpointListParams)."""

    ending_before: Str5000 = None
    expand: list[Str5000] = None
    limit: FormInt = None
    starting_after: Str5000 = None


def _prefixed(report: Report, prefix: str) -> tuple[list[dict], list[str]]:
    errors = [
        {**e, "path": prefix + e["path"] if e["path"] else prefix.rstrip(".")}
        for e in report.errors
    ]
    return errors, [prefix + d for d in report.drift]


def validate_event(obj: Any) -> Report:
    """An event: the envelope, and ``data.object`` of an FC account event as an Account
    (its drift and errors under ``data.object.``). Never raises."""
    try:
        envelope = validate_object(Event, obj)
        if not isinstance(obj, dict) or not str(obj.get("type", "")).startswith(FC_ACCOUNT_EVENT):
            return envelope
        data = obj.get("data")
        inner = data.get("object") if isinstance(data, dict) else None
        if not isinstance(inner, dict):
            return envelope
        errors, drift = _prefixed(validate_object(Account, inner), "data.object.")
        # the envelope's data.object is a free dict: its keys are never drift there
        drift = sorted(set(envelope.drift) | set(drift))
        return Report(
            valid=envelope.valid and not errors, errors=envelope.errors + errors, drift=drift
        )
    except Exception as exc:  # never raise
        return Report(valid=False, errors=[_internal_error(exc)], drift=[])


def validate_webhook_endpoint(obj: Any) -> Report:
    """A webhook_endpoint object."""
    return validate_object(WebhookEndpoint, obj)

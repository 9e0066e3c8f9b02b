"""Webhook endpoints in the simulator, and the outbox of deliveries.

``POST /v1/webhook_endpoints`` (``url``, ``enabled_events[]``: ``*`` or event types)
answers the endpoint with its ``whsec_`` ``secret`` (only then, as Stripe);
``GET``/``POST``/``DELETE /v1/webhook_endpoints/{id}`` and ``GET /v1/webhook_endpoints``.
Targets given on the command line (``--webhook-url``/``--webhook-secret``, config
``simulate.webhooks``) receive every event, like ``stripe listen``; they are not API objects.

Each event is queued once per endpoint that wants it, in emission order, as
:class:`Outgoing` (the payload bytes; signing happens at each attempt, with a fresh
timestamp: :mod:`fc_cassette.mitm.delivery`). :meth:`WebhooksMixin.take_deliveries` hands them out.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from fc_cassette.simulator import data
from fc_cassette.simulator.errors import clip, invalid, missing, no_such, unknown
from fc_cassette.simulator.host import Host
from fc_cassette.simulator.params import check_params
from fc_cassette.stripe_api.models.event import (
    WEBHOOK_ENDPOINT_ID_PATTERN,
    WEBHOOK_ENDPOINTS_URL,
    EventRetrieveParams,
    WebhookEndpointCreateParams,
    WebhookEndpointListParams,
)

ENDPOINT_KIND = "webhook_endpoint"
ENDPOINT_ID = re.compile(WEBHOOK_ENDPOINT_ID_PATTERN)
_EP = r"^/v1/webhook_endpoints/([^/?#]+)$"


@dataclass(frozen=True)
class Target:
    """Where events go: a URL, its signing secret, the events it wants."""

    url: str
    secret: str
    enabled_events: tuple[str, ...] = ("*",)
    endpoint_id: str | None = None  # a we_ object, None for a command-line target

    def wants(self, event_type: str) -> bool:
        return "*" in self.enabled_events or event_type in self.enabled_events

    def __repr__(self) -> str:  # never the secret
        return f"Target(url={self.url!r}, endpoint_id={self.endpoint_id!r})"


@dataclass(frozen=True)
class Outgoing:
    """One event to deliver to one target."""

    target: Target
    event_id: str
    event_type: str
    payload: bytes


def check_url(url: str, param: str = "url") -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise invalid(
            param,
            f"Invalid URL: {clip(url)}. It must be an absolute http:// or https:// URL.",
            "url_invalid",
        )
    return url


class WebhooksMixin(Host):
    """The ``webhook_endpoints`` endpoints and the outbox; needs the Engine, EventsMixin."""

    ROUTES: tuple[tuple[str, str, str], ...] = (
        ("POST", r"^/v1/webhook_endpoints$", "webhook_endpoints.create"),
        ("GET", r"^/v1/webhook_endpoints$", "webhook_endpoints.list"),
        ("GET", _EP, "webhook_endpoints.retrieve"),
        ("POST", _EP, "webhook_endpoints.update"),
        ("DELETE", _EP, "webhook_endpoints.delete"),
    )

    def _init_webhooks(self, targets: list[Target] | None = None) -> None:
        self.targets: list[Target] = list(targets or [])  # the command line's
        self._endpoints: dict[str, dict[str, Any]] = {}  # we_ id -> object (with secret)
        self._outbox: list[Outgoing] = []

    # -------------------------------------------------------------------- outbox
    def _all_targets(self) -> list[Target]:
        api = [
            Target(ep["url"], ep["secret"], tuple(ep["enabled_events"]), ep["id"])
            for ep in self._endpoints.values()
            if ep["status"] == "enabled"
        ]
        return self.targets + api

    def _queue_deliveries(self, event: dict[str, Any]) -> None:
        wanted = [t for t in self._all_targets() if t.wants(event["type"])]
        event["pending_webhooks"] = len(wanted)
        body = payload(event)
        self._outbox.extend(Outgoing(t, event["id"], event["type"], body) for t in wanted)

    def take_deliveries(self) -> list[Outgoing]:
        """The deliveries queued since the last call, in order."""
        out, self._outbox = self._outbox, []
        return out

    # ----------------------------------------------------------------- endpoints
    def _public(self, ep: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in ep.items() if k != "secret"}

    def _endpoint(self, ident: str) -> dict[str, Any]:
        ep = self._endpoints.get(ident) if ENDPOINT_ID.match(ident) else None
        if ep is None:
            raise no_such(ENDPOINT_KIND, ident, "webhook_endpoint")
        return ep

    def _enabled_events(self, params: dict[str, Any]) -> list[str]:
        events = params.get("enabled_events")
        if not events:
            raise missing("enabled_events")
        return list(dict.fromkeys(events))

    def _ep_webhook_endpoints_create(self, _ident: str, params: dict[str, Any]) -> dict:
        check_params(WebhookEndpointCreateParams, params)
        url = check_url(params["url"])
        enabled = self._enabled_events(params)
        now = self._tick()
        ep: dict[str, Any]
        ep = {
            "id": "we_" + self._token(),
            "object": "webhook_endpoint",
            "api_version": params.get("api_version"),
            "application": None,
            "created": now,
            "description": params.get("description"),
            "enabled_events": enabled,
            "livemode": False,
            "metadata": dict(params.get("metadata") or {}),
            "secret": "whsec_" + self._token(32),
            "status": "enabled",
            "url": url,
        }
        self._endpoints[ep["id"]] = ep
        return dict(ep)  # the only answer that shows the secret

    def _ep_webhook_endpoints_list(self, _ident: str, params: dict[str, Any]) -> dict:
        check_params(WebhookEndpointListParams, params)
        items = [self._public(ep) for ep in reversed(self._endpoints.values())]
        return data.paginate(items, params, WEBHOOK_ENDPOINTS_URL, ENDPOINT_KIND)

    def _ep_webhook_endpoints_retrieve(self, ident: str, params: dict[str, Any]) -> dict:
        check_params(EventRetrieveParams, params)  # only expand[]
        return self._public(self._endpoint(ident))

    def _ep_webhook_endpoints_update(self, ident: str, params: dict[str, Any]) -> dict:
        ep = self._endpoint(ident)
        known = {"url", "enabled_events", "description", "disabled", "metadata", "expand"}
        for key in params:
            if key not in known:
                raise unknown(key)
        if "url" in params:
            ep["url"] = check_url(str(params["url"]))
        if "enabled_events" in params:
            ep["enabled_events"] = self._enabled_events(params)
        if "description" in params:
            ep["description"] = params["description"] or None
        if "disabled" in params:
            ep["status"] = "disabled" if params["disabled"] == "true" else "enabled"
        if isinstance(params.get("metadata"), dict):
            ep["metadata"].update(params["metadata"])
        return self._public(ep)

    def _ep_webhook_endpoints_delete(self, ident: str, params: dict[str, Any]) -> dict:
        ep = self._endpoint(ident)
        del self._endpoints[ep["id"]]
        return {"id": ep["id"], "object": ENDPOINT_KIND, "deleted": True}


def payload(event: dict[str, Any]) -> bytes:
    """The bytes a delivery carries: the event as Stripe sends it (indented JSON)."""
    return json.dumps(event, indent=2).encode("utf-8")

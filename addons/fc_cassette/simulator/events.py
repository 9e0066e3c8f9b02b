"""Events in the simulator: the event log, ``GET /v1/events[/{id}]``, and the scheduler
of things that settle by themselves.

The API other simulator modules call (a mixin of :class:`~fc_cassette.simulator.Simulator`):

* ``emit_event(type, obj, *, previous_attributes=None, request=None) -> dict`` records
  an event (``evt_`` id drawn from the seed's own *event* stream, so emitting events never
  changes the ids and data the API answers) and queues its deliveries
  (:mod:`.webhooks`). ``request=None`` inside a request handler means "caused by this
  request": ``request.id`` becomes the response's ``Request-Id`` and
  ``idempotency_key`` the request's key; outside a request (a scheduled settle) it is
  ``{"id": null, "idempotency_key": null}``. Pass a dict to set it explicitly.
* ``schedule(delay_s, callback, *, key=None) -> int`` runs ``callback()`` about
  ``delay_s`` seconds later (the proxy's event loop drives :meth:`run_due`). A task with
  a ``key`` (an object id) also runs as soon as a request touches that object:
  handlers call ``settle(key)`` first, so "a request that touches the object first
  settles it first" holds whether or not the timer fired. Tasks run in scheduling order.

Timestamps of events (``created``) come from the simulated clock (never ticked by an
event); due times of tasks come from ``self.monotonic`` (the wall clock, never in any
answer's bytes).
"""

from __future__ import annotations

import copy
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fc_cassette.simulator import data
from fc_cassette.simulator.errors import invalid, no_such, only_one_of
from fc_cassette.simulator.host import NO_REQUEST, Host
from fc_cassette.simulator.params import check_params
from fc_cassette.stripe_api.models.event import (
    EVENT_ID_PATTERN,
    EVENTS_URL,
    EventListParams,
    EventRetrieveParams,
)

MAX_EVENTS = 10_000  # the log keeps the newest (Stripe keeps 30 days)
EVENT_KIND = "event"
EVENT_ID = re.compile(EVENT_ID_PATTERN)
_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


@dataclass
class _Task:
    seq: int
    due: float
    key: str | None
    callback: Callable[[], None]


class EventsMixin(Host):
    """Event log, scheduler and the events endpoints; needs the Engine."""

    ROUTES: tuple[tuple[str, str, str], ...] = (
        ("GET", r"^/v1/events$", "events.list"),
        ("GET", r"^/v1/events/([^/?#]+)$", "events.retrieve"),
    )

    def _init_events(self) -> None:
        self.events: list[dict[str, Any]] = []  # oldest first
        self._events_by_id: dict[str, dict[str, Any]] = {}
        self._event_rng = random.Random(f"fc-cassette-events:{self.seed}")
        self._tasks: list[_Task] = []
        self._task_seq = 0
        self.monotonic: Callable[[], float] = time.monotonic
        self._request_events: list[dict[str, Any]] | None = None  # inside a request

    # ------------------------------------------------------------------ emitting
    def emit_event(
        self,
        type: str,
        obj: dict[str, Any],
        *,  # noqa: A002 - Stripe's name
        previous_attributes: dict[str, Any] | None = None,
        request: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Record one event about ``obj`` (copied now) and queue its deliveries."""
        event_data: dict[str, Any] = {"object": copy.deepcopy(obj)}
        if previous_attributes is not None:
            event_data["previous_attributes"] = copy.deepcopy(previous_attributes)
        event: dict[str, Any] = {
            "id": "evt_" + "".join(self._event_rng.choice(_ALNUM) for _ in range(24)),
            "object": "event",
            "api_version": self._event_api_version(),
            "created": self._clock,
            "data": event_data,
            "livemode": False,
            "pending_webhooks": 0,
            "request": dict(request) if request is not None else dict(NO_REQUEST),
            "type": type,
        }
        self.events.append(event)
        self._events_by_id[event["id"]] = event
        if len(self.events) > MAX_EVENTS:
            self._events_by_id.pop(self.events.pop(0)["id"], None)
        if request is None and self._request_events is not None:
            self._request_events.append(event)  # its request id is known once answered
        else:
            self._queue_deliveries(event)
        return event

    def _begin_request(self) -> None:
        self._request_events = []

    def _end_request(self, request_id: str | None, idempotency_key: str | None) -> None:
        """The events the request caused get its id, then their deliveries are queued."""
        emitted, self._request_events = self._request_events or [], None
        for event in emitted:
            event["request"] = {"id": request_id, "idempotency_key": idempotency_key}
            self._queue_deliveries(event)

    # ---------------------------------------------------------------- scheduling
    def schedule(
        self, delay_s: float, callback: Callable[[], None], *, key: str | None = None
    ) -> int:
        """Run ``callback()`` after ``delay_s`` seconds, or when ``settle(key)`` is called
        first; returns the task's number."""
        self._task_seq += 1
        self._tasks.append(
            _Task(self._task_seq, self.monotonic() + max(0.0, delay_s), key, callback)
        )
        return self._task_seq

    def settle(self, key: str) -> None:
        """Run now, in order, every task scheduled for ``key`` (a touched object)."""
        while True:
            task = next((t for t in self._tasks if t.key == key), None)
            if task is None:
                return
            self._tasks.remove(task)
            task.callback()

    def run_due(self, now: float | None = None) -> int:
        """Run the tasks due at ``now`` (default: the monotonic clock); their count."""
        now = self.monotonic() if now is None else now
        ran = 0
        while True:
            task = next((t for t in self._tasks if t.due <= now), None)
            if task is None:
                return ran
            self._tasks.remove(task)
            task.callback()
            ran += 1

    def next_due(self) -> float | None:
        """When the earliest task is due (monotonic seconds), None when none is."""
        return min((t.due for t in self._tasks), default=None)

    # ----------------------------------------------------------------- endpoints
    def _ep_events_list(self, _ident: str, params: dict[str, Any]) -> dict[str, Any]:
        check_params(EventListParams, params)
        if params.get("type") is not None and params.get("types") is not None:
            raise only_one_of("type", "types")
        wanted = _type_filter(params)
        created = params.get("created")
        items = [
            e
            for e in reversed(self.events)
            if wanted(e["type"]) and _created(e["created"], created)
        ]
        return data.paginate(items, params, EVENTS_URL, EVENT_KIND)

    def _ep_events_retrieve(self, event_id: str, params: dict[str, Any]) -> dict[str, Any]:
        check_params(EventRetrieveParams, params)
        event = self._events_by_id.get(event_id) if EVENT_ID.match(event_id) else None
        if event is None:
            raise no_such(EVENT_KIND, event_id, "id")
        return event


def _type_filter(params: dict[str, Any]) -> Callable[[str], bool]:
    one = params.get("type")
    many = params.get("types")
    if one is not None:
        if one.endswith("*"):  # Stripe's wildcard: financial_connections.account.*
            return lambda t: t.startswith(one[:-1])
        return lambda t: t == one
    if many is not None:
        if len(many) > 20:
            raise invalid("types", "Invalid types: must contain at most 20 values")
        kept = set(many)
        return lambda t: t in kept
    return lambda _t: True


def _created(at: int, rule: Any) -> bool:
    """``created=N`` (exactly) or ``created[gt|gte|lt|lte]=N``."""
    if rule is None:
        return True
    if not isinstance(rule, dict):
        return at == int(rule)
    checks = {"gt": at.__gt__, "gte": at.__ge__, "lt": at.__lt__, "lte": at.__le__}
    return all(checks[k](int(v)) for k, v in rule.items())

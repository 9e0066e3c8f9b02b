"""Stripe's error envelope, built in one place.

Every error body fc-cassette answers with, its own (a replay miss, a live key refused,
a response that could not be recorded) and the simulator's copies of Stripe's, has
Stripe's shape ``{"error": {"code", "doc_url", "message", "param", "type"}}`` so that
a Stripe SDK raises its usual exception with the message. fc-cassette's own errors
are the :data:`KINDS` below: adding one is one edit here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

DOCS = "https://stripe.com/docs/error-codes/"
JSON_HEADERS = {"Content-Type": "application/json"}
NO_RETRY = {**JSON_HEADERS, "Stripe-Should-Retry": "false"}


@dataclass(frozen=True)
class Kind:
    """One of fc-cassette's own errors: its Stripe error type and code."""

    type: str
    code: str


REPLAY_MISS = Kind("invalid_request_error", "fc_cassette_replay_miss")
LIVE_KEY_REFUSED = Kind("invalid_request_error", "fc_cassette_live_key_refused")
NOT_RECORDED = Kind("api_error", "fc_cassette_not_recorded")
UPSTREAM_FAILED = Kind("api_error", "fc_cassette_upstream_failed")
KINDS = (REPLAY_MISS, LIVE_KEY_REFUSED, NOT_RECORDED, UPSTREAM_FAILED)


def body(
    message: str,
    *,
    type_: str = "invalid_request_error",
    code: str | None = None,
    param: str | None = None,
    doc_url: bool = False,
) -> dict[str, Any]:
    """``{"error": {...}}`` with keys in Stripe's order; ``doc_url`` links the code's
    page on stripe.com (Stripe's own codes only)."""
    err: dict[str, Any] = {}
    if code:
        err["code"] = code
        if doc_url:
            err["doc_url"] = DOCS + code.replace("_", "-")
    err["message"] = message
    if param is not None:
        err["param"] = param
    err["type"] = type_
    return {"error": err}


def own(kind: Kind, message: str) -> dict[str, Any]:
    """The body of one of fc-cassette's own errors."""
    return body(message, type_=kind.type, code=kind.code)


def encode(error: dict[str, Any]) -> bytes:
    """The bytes on the wire (indented, as Stripe's API answers)."""
    return json.dumps(error, indent=2).encode("utf-8")

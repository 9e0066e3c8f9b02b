"""A tiny control endpoint on the proxy itself, for test harnesses (the pytest plugin).

- ``POST /__fc_cassette__/use`` with a JSON body ``{"cassette": PATH, "record_mode":
  "none|once|new_episodes|all", "rewind": true}`` switches the active cassette
  (``record_mode`` applies to ``record`` only; ``replay`` accepts ``none`` or nothing;
  ``rewind`` is optional). It answers the new cassette's status; a bad body or a
  cassette that cannot be used gets a 400 whose JSON names the ``field``.
- ``POST /__fc_cassette__/rewind`` makes every recording available again and resets
  the counts;
- ``GET /__fc_cassette__/status`` returns the playback state as JSON (served, misses
  with their explanations, unused and never-used interaction numbers, ``not_recorded``,
  ``passthrough``).

Only requests addressed to the proxy itself (not forwarded through it) are answered.
The addons that play back (replay, record) call :func:`handle` first in their
``request`` hook, so no extra addon sits in every request's path. See
docs/control-endpoint.md.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any, Protocol

from mitmproxy import http

from fc_cassette.proxy.scope import addressed_to_proxy

log = logging.getLogger("fc_cassette")

PREFIX = "/__fc_cassette__/"
NOTHING = {"error": "no cassette is being played back"}


class Refused(Exception):
    """A ``use`` that cannot be done: ``field`` names the body's field at fault."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Use:
    cassette: str
    record_mode: str | None
    rewind: bool


class Target(Protocol):
    record_modes: tuple[str, ...]  # what ``use`` accepts as record_mode

    def control_status(self) -> dict[str, Any] | None: ...  # None: nothing played back

    def rewind(self) -> bool: ...  # False: nothing played back

    def use(self, cassette: str, record_mode: str | None) -> None: ...  # or Refused


def passthrough() -> list[str]:
    """Out-of-scope flows passed through or refused since the last rewind ("METHOD
    host/path", redacted), from the ``passthrough`` addon when it is loaded."""
    from mitmproxy import ctx

    addon = ctx.master.addons.get("passthrough") if ctx.master else None
    return list(getattr(addon, "flows", []) or [])


def rewind_passthrough() -> None:
    from mitmproxy import ctx

    addon = ctx.master.addons.get("passthrough") if ctx.master else None
    if addon is not None and hasattr(addon, "rewind"):
        addon.rewind()


def parse_use(raw: bytes, modes: tuple[str, ...]) -> Use:
    try:
        body = json.loads(raw or b"null")
    except (ValueError, UnicodeDecodeError) as e:
        raise Refused("body", f"not JSON: {e}") from None
    if not isinstance(body, dict):
        raise Refused("body", "must be a JSON object with a \"cassette\" field")
    unknown = sorted(set(body) - {"cassette", "record_mode", "rewind"})
    if unknown:
        raise Refused(unknown[0], f"unknown field {unknown[0]!r}")
    cassette = body.get("cassette")
    if not isinstance(cassette, str) or not cassette:
        raise Refused("cassette", "\"cassette\" must be a non-empty string (a path)")
    mode = body.get("record_mode")
    if mode is not None and mode not in modes:
        raise Refused("record_mode", f"\"record_mode\" must be one of {', '.join(modes)}, "
                                     f"not {mode!r}")
    rewind = body.get("rewind", False)
    if not isinstance(rewind, bool):
        raise Refused("rewind", "\"rewind\" must be true or false")
    return Use(cassette, mode, rewind)


def _use(flow: http.HTTPFlow, target: Target) -> tuple[int, dict[str, Any]]:
    try:
        use = parse_use(flow.request.raw_content or b"", target.record_modes)
        target.use(use.cassette, use.record_mode)
    except Refused as e:
        return 400, {"error": str(e), "field": e.field}
    except (OSError, ValueError) as e:  # e.g. a NUL byte or an over-long name in the path
        reason = getattr(e, "strerror", None) or str(e)
        return 400, {"error": f"{use.cassette!r}: not a usable cassette path: {reason}",
                     "field": "cassette"}
    if use.rewind:
        target.rewind()
        rewind_passthrough()
    return 200, target.control_status() or {"cassette": use.cassette, "recording": True}


def _status(target: Target) -> tuple[int, dict[str, Any]]:
    status = target.control_status()
    return (409, NOTHING) if status is None else (200, status)


def handle(flow: http.HTTPFlow, target: Target) -> bool:
    """Answer ``flow`` if it is a control request; True when it was one."""
    if not flow.request.path.startswith(PREFIX) or not addressed_to_proxy(flow):
        return False
    try:
        status, body = _dispatch(flow, target)
    except Exception as e:  # a control call is never forwarded, whatever goes wrong
        log.error("fc-cassette: the control request failed: %s: %s", type(e).__name__, e)
        status, body = 500, {"error": f"fc-cassette could not handle the control request: "
                                      f"{type(e).__name__}"}
    flow.response = http.Response.make(status, json.dumps(body).encode(),
                                       {"Content-Type": "application/json"})
    return True


def _dispatch(flow: http.HTTPFlow, target: Target) -> tuple[int, dict[str, Any]]:
    action = flow.request.path[len(PREFIX):].split("?", 1)[0]
    method = flow.request.method
    if action == "use" and method == "POST":
        status, body = _use(flow, target)
    elif (action, method) == ("rewind", "POST"):
        rewound = target.rewind()
        rewind_passthrough()
        status, body = _status(target) if rewound else (409, NOTHING)
    elif (action, method) == ("status", "GET"):
        status, body = _status(target)
    else:
        status, body = 404, {"error": f"unknown control action {action!r}"}
    return status, body


"""A tiny control endpoint on the proxy itself, for test harnesses (the pytest plugin).

``POST /__fc_cassette__/rewind`` makes every recording available again and resets the
counts; ``GET /__fc_cassette__/status`` returns the playback state as JSON (served,
misses with their explanations, unused and never-used interaction numbers). Only
requests addressed to the proxy itself (not forwarded through it) are answered. The
addons that play back (replay, record) call :func:`handle` first in their ``request``
hook, so no extra addon sits in every request's path.
"""

from __future__ import annotations

import json

from mitmproxy import http

from .playback import Playback
from .scope import addressed_to_proxy

PREFIX = "/__fc_cassette__/"


def handle(flow: http.HTTPFlow, playback: Playback | None) -> bool:
    """Answer ``flow`` if it is a control request; True when it was one."""
    if not flow.request.path.startswith(PREFIX) or not addressed_to_proxy(flow):
        return False
    action = flow.request.path[len(PREFIX):].split("?", 1)[0]
    if playback is None:
        status, body = 409, {"error": "no cassette is being played back"}
    elif action == "rewind" and flow.request.method == "POST":
        playback.rewind()
        status, body = 200, playback.status()
    elif action == "status" and flow.request.method == "GET":
        status, body = 200, playback.status()
    else:
        status, body = 404, {"error": f"unknown control action {action!r}"}
    flow.response = http.Response.make(status, json.dumps(body).encode(),
                                       {"Content-Type": "application/json"})
    return True

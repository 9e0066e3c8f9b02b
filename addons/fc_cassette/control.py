"""A tiny control endpoint on the proxy itself, for test harnesses (the pytest plugin).

``POST /__fc_cassette__/rewind`` makes every recording available again and resets the
counts; ``GET /__fc_cassette__/status`` returns the playback state as JSON (served,
misses with their explanations, unused and never-used interaction numbers). Only
requests addressed to the proxy itself (not forwarded through it) are answered, and
only while a mode that plays back (replay, or record replaying a cassette) is active.
"""

from __future__ import annotations

import json

from mitmproxy import ctx, http

from .playback import Playback
from .scope import addressed_to_proxy

PREFIX = "/__fc_cassette__/"


def _playback() -> Playback | None:
    for name in ("replay", "record"):
        addon = ctx.master.addons.get(name)
        if addon is not None and ctx.options.fc_mode == name:
            return addon.playback
    return None


class Control:
    def request(self, flow: http.HTTPFlow) -> None:
        if not flow.request.path.startswith(PREFIX) or not addressed_to_proxy(flow):
            return
        action = flow.request.path[len(PREFIX):].split("?", 1)[0]
        pb = _playback()
        if pb is None:
            status, body = 409, {"error": "no cassette is being played back"}
        elif action == "rewind" and flow.request.method == "POST":
            pb.rewind()
            status, body = 200, pb.status()
        elif action == "status" and flow.request.method == "GET":
            status, body = 200, pb.status()
        else:
            status, body = 404, {"error": f"unknown control action {action!r}"}
        flow.response = http.Response.make(status, json.dumps(body).encode(),
                                           {"Content-Type": "application/json"})

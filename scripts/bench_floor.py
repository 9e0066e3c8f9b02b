"""Benchmark floor: a mitmdump addon answering every request with a constant response.

No lookup at all: no replay can beat it. Run as
``mitmdump -s scripts/bench_floor.py --set bench_floor=FLOOR.json``; the JSON holds
``post`` and ``get`` (the bodies answered to a POST and to anything else) and
``headers`` (a list of [name, value]), the same bytes the replay contenders serve.
"""

from __future__ import annotations

import json
from pathlib import Path

from mitmproxy import ctx, http


class Floor:
    def __init__(self) -> None:
        self.post = self.get = b""
        self.headers: list[tuple[bytes, bytes]] = []

    def load(self, loader) -> None:
        loader.add_option("bench_floor", str, "", "The floor's responses (JSON file).")

    def configure(self, updated: set[str]) -> None:
        if "bench_floor" in updated and ctx.options.bench_floor:
            d = json.loads(Path(ctx.options.bench_floor).read_text())
            self.post, self.get = d["post"].encode(), d["get"].encode()
            self.headers = [(k.encode(), v.encode()) for k, v in d["headers"]]

    def request(self, flow: http.HTTPFlow) -> None:
        body = self.post if flow.request.method == "POST" else self.get
        flow.response = http.Response.make(200, body, http.Headers(self.headers))


addons = [Floor()]

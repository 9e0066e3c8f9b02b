"""Requests made with live-mode keys (``sk_live_``/``rk_live_``): found, and refused."""

from __future__ import annotations

import base64
import json
import re

from mitmproxy import http

_LIVE_KEY = re.compile(r"\b[sr]k_live_[A-Za-z0-9]")
_URLSAFE = str.maketrans("-_", "+/")


def uses_live_key(flow: http.HTTPFlow) -> bool:
    auth = flow.request.headers.get("authorization", "")
    if _LIVE_KEY.search(auth):
        return True
    if auth[:6].lower() == "basic ":
        cred = auth[6:].strip().rstrip("=").translate(_URLSAFE)
        try:  # padding optional, either alphabet: servers are lenient, so are we
            decoded = base64.b64decode(cred + "=" * (-len(cred) % 4))
        except ValueError:
            return False
        return bool(_LIVE_KEY.search(decoded.decode("latin-1")))
    return False


def refuse_live(flow: http.HTTPFlow) -> None:
    body = {"error": {
        "type": "invalid_request_error", "code": "fc_cassette_live_key_refused",
        "message": "fc-cassette record refuses requests made with live-mode keys "
                   "(sk_live_/rk_live_): nothing was forwarded. To record live traffic, set "
                   "record.allow_live_keys: true in the config or --set fc_allow_live=true."}}
    flow.response = http.Response.make(403, json.dumps(body, indent=2).encode(),
                                       {"Content-Type": "application/json",
                                        "Stripe-Should-Retry": "false"})

"""Record's webhook ingress: ``POST /__fc_cassette__/webhooks`` on the proxy's own port.

``fc-cassette record C --upstream U --webhooks-to APP_URL`` (option ``fc_webhooks_to``)
accepts webhook deliveries there (from ``stripe listen --forward-to`` or ``fc-cassette
simulate --webhook-url``), forwards each one verbatim (body, ``Stripe-Signature`` and the
other end-to-end headers) to ``APP_URL``, appends it to the cassette as a webhook
document and only then answers the sender with the app's status (``502`` when the app
did not answer). The document holds the event redacted like any response body, the app's
status and ``after``, the seq of the last interaction written before it; never the
signature or a ``whsec_`` (the fail-closed scan checks the text). An event id already in
the cassette is forwarded again but not written twice (a sender's retry).

The ingress is not a control action: it takes Stripe's ``application/json`` with no
Origin and no token, and nothing else (a method other than POST: 405, another content
type: 415, more than :data:`MAX_EVENT_BYTES`: 413, not an event: 400). A failure to
record answers 500 and counts as not recorded (record exits 1), as for interactions.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from mitmproxy import ctx, http

from fc_cassette.mitm import core, delivery
from fc_cassette.mitm.scope import addressed_to_proxy

if TYPE_CHECKING:
    from fc_cassette.mitm.record_switch import Switch

log = logging.getLogger("fc_cassette")
INGRESS_PATH = "/__fc_cassette__/webhooks"
MAX_EVENT_BYTES = 1 << 20
FORWARD_TIMEOUT_S = 30.0
_HOP = frozenset(
    {
        "host",
        "content-length",
        "connection",
        "transfer-encoding",
        "keep-alive",
        "proxy-connection",
        "te",
        "trailer",
        "upgrade",
        "proxy-authorization",
    }
)
ANSWERED = "fc_cassette_answered_locally"  # record.ANSWERED: not an interaction


class Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def is_ingress(flow: http.HTTPFlow) -> bool:
    return flow.request.path.split("?", 1)[0] == INGRESS_PATH and addressed_to_proxy(flow)


def parse_event(req: http.Request) -> dict[str, Any]:
    """The event a delivery carries, or Refused with a 4xx."""
    if req.method != "POST":
        raise Refused(405, "the webhook ingress takes POST only")
    ctype = req.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "application/json":
        raise Refused(415, "a webhook delivery is application/json")
    raw = req.raw_content or b""
    if len(raw) > MAX_EVENT_BYTES:
        raise Refused(413, f"a webhook delivery is at most {MAX_EVENT_BYTES} bytes")
    try:
        event = json.loads(req.get_content(strict=True) or b"")
    except (ValueError, UnicodeDecodeError):
        raise Refused(400, "the body is not JSON") from None
    if not isinstance(event, dict) or event.get("object") != "event":
        raise Refused(400, "the body is not a Stripe event (object: event)")
    for key in ("id", "type"):
        if not isinstance(event.get(key), str) or not event[key]:
            raise Refused(400, f"the event has no {key}")
    return event


def _answer(flow: http.HTTPFlow, status: int, body: dict[str, Any]) -> None:
    flow.response = http.Response.make(
        status, json.dumps(body).encode(), {"Content-Type": "application/json"}
    )


class WebhookIngress:
    """A sub-addon of Record (its hooks run after Record's, which leaves the flow to it).
    ``switch`` is the recorder's (which cassette, its redactor); ``record`` appends an
    event to the cassette and says why not (Record.record_webhook)."""

    def __init__(
        self, switch: Switch, record: Callable[[dict[str, Any], int | None], str | None]
    ) -> None:
        self.switch = switch
        self.record = record
        self.deliveries: list[tuple[int, dict[str, Any]]] = []  # (cassette generation, ..)

    def status(self) -> dict[str, Any]:
        """The deliveries received for the active cassette (the control ``status``)."""
        now = self.switch.generation
        del self.deliveries[:-1000]  # bounded: the newest thousand
        return {"deliveries": [d for g, d in self.deliveries if g == now], "undelivered": []}

    async def request(self, flow: http.HTTPFlow) -> None:
        if not core.active("record") or flow.response is not None or not is_ingress(flow):
            return
        flow.metadata[ANSWERED] = True
        try:
            await self._ingress(flow)
        except Refused as e:
            _answer(flow, e.status, {"error": str(e)})
        except Exception:  # a bug: never crash the proxy, never forward it upstream
            core.log_failure("the webhook ingress failed", self.switch.redactor)
            _answer(flow, 500, {"error": "fc-cassette could not handle the delivery"})

    async def _ingress(self, flow: http.HTTPFlow) -> None:
        app = ctx.options.fc_webhooks_to
        if not app:
            raise Refused(409, "fc-cassette record was started without --webhooks-to")
        event = parse_event(flow.request)
        raw = flow.request.raw_content or b""
        hdrs = {k: v for k, v in flow.request.headers.items() if k.lower() not in _HOP}
        try:
            status: int | None = await asyncio.to_thread(
                delivery.post, app, raw, hdrs, FORWARD_TIMEOUT_S
            )
        except Exception as e:  # noqa: BLE001 - the app is down: recorded all the same
            status = None
            log.warning(
                "fc-cassette record: webhook %s could not reach the app: %s",
                event["id"],
                self.switch.redactor.redact_text(str(e)),
            )
        why = self.record(event, status)
        if why is not None:
            _answer(flow, 500, {"error": f"fc-cassette could not record the webhook: {why}"})
            return
        ok = status is not None and 200 <= status < 300
        self.deliveries.append(
            (
                self.switch.generation,
                {
                    "event": event["id"],
                    "type": event["type"],
                    "url": app,
                    "status": status,
                    "attempts": 1,
                    "delivered": ok,
                    "error": None if ok else "the app failed",
                    "done": True,
                },
            )
        )
        _answer(
            flow,
            status if status is not None else 502,
            {"forwarded_to_app": status is not None, "app_status": status},
        )

"""The demo's webhook step (docs/webhooks.md): the simulator's events, verified by the app
with the stripe SDK, recorded through ``record --webhooks-to``, replayed offline with
another secret under ``--strict``.

The app is a small HTTP server in this process that accepts an event only if
``stripe.Webhook.construct_event`` verifies it with the secret it was given.
"""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import requests
import stripe

INGRESS = "/__fc_cassette__/webhooks"
REPLAY_SECRET = "whsec_" + "fakeDemoReplaySecret"
CREATE = {
    "account_holder": {"type": "customer", "customer": "cus_fakeDemoHooks"},
    "permissions": ["balances"],
}


class App:
    """The app's webhook endpoint: verified events in ``events``, refusals counted."""

    def __init__(self) -> None:
        self.secret = ""
        self.events: list[stripe.Event] = []
        self.refused = 0
        app = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    event = stripe.Webhook.construct_event(
                        body, self.headers.get("Stripe-Signature"), app.secret
                    )
                except (ValueError, stripe.SignatureVerificationError):
                    app.refused += 1
                    self.send_response(400)
                else:
                    app.events.append(event)
                    self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/webhooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait(self, n: int, timeout: float = 60.0) -> list[stripe.Event]:
        deadline = time.monotonic() + timeout
        while len(self.events) < n and time.monotonic() < deadline:
            time.sleep(0.05)
        if len(self.events) < n:
            raise SystemExit(
                f"demo: {n} webhook events expected, the app verified "
                f"{len(self.events)} (refused {self.refused})"
            )
        return list(self.events)


def _flow(base: str, key: str, ingress: str) -> str:
    """An endpoint for ``ingress``, a session, its completion (one account), a refresh."""
    client = stripe.StripeClient(key, base_addresses={"api": base}, max_network_retries=0)
    ep = client.v1.webhook_endpoints.create(params={"url": ingress, "enabled_events": ["*"]})
    session = client.v1.financial_connections.sessions.create(params=CREATE)
    done = requests.post(
        f"{base}/_simulator/financial_connections/sessions/{session.id}/complete",
        data={"accounts": "1"},
        timeout=30,
        headers={"Authorization": f"Bearer {key}"},
    ).json()
    client.v1.financial_connections.accounts.refresh(
        done["accounts"]["data"][0]["id"], params={"features": ["balance"]}
    )
    return ep.secret


def run(proxy, seed: str, keys: tuple[str, str], work: Path) -> list[str]:
    """``proxy(args, log)`` starts fc-cassette (the demo's Proxy); the lines to print."""
    cassette = work / "webhooks.yaml"
    app, lines = App(), []
    sim = proxy(  # its session names a made-up customer, as the FC part of the demo does
        ["simulate", "--seed", seed, "--set", "fc_accept_unknown_customers=true"],
        work / "simulate-webhooks.log",
    )
    try:
        rec = proxy(
            ["record", str(cassette), "--upstream", sim.base, "--webhooks-to", app.url],
            work / "record-webhooks.log",
        )
        try:
            endpoint_secret = app.secret = _flow(rec.base, keys[0], rec.base + INGRESS)
            recorded = app.wait(2)
        finally:
            rec.stop()
    finally:
        sim.stop()
    lines += [
        f"recorded  {e.type} {e.id} (verified by the app with the endpoint's whsec_)"
        for e in recorded
    ]
    app.events, app.secret = [], REPLAY_SECRET
    rp = proxy(
        [
            "replay",
            str(cassette),
            "--strict",
            "--webhooks-to",
            app.url,
            "--webhook-secret",
            REPLAY_SECRET,
        ],
        work / "replay-webhooks.log",
    )
    try:
        _flow(rp.base, keys[1], rec.base + INGRESS)  # the same requests, offline
        replayed = app.wait(2)
        status = requests.get(rp.base + "/__fc_cassette__/status", timeout=30).json()
    finally:
        code = rp.stop()
    lines += [
        f"replayed  {e.type} {e.id} (re-signed with another secret, verified)" for e in replayed
    ]
    same = [e.id for e in replayed] == [e.id for e in recorded]
    attempts = [d["attempts"] for d in status["webhooks"]["deliveries"]]
    lines.append(
        f"same event ids in the same order: {same}; delivery attempts {attempts}; "
        f"replay --strict exit {code}"
    )
    if not same or code != 0 or endpoint_secret in cassette.read_text():
        raise SystemExit("demo: the webhook step failed; see " + str(work))
    return lines

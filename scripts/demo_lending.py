"""The demo's lending flow (issue #23), used by ``scripts/demo.py``: what a small lending
app does around Financial Connections, against ``fc-cassette simulate`` alone.

customer -> FC session for that customer -> the end user links a bank account ->
a us_bank_account PaymentMethod from the linked account -> a PaymentIntent confirmed
with a mandate -> ``processing`` -> ``succeeded`` by itself a few seconds later (the
simulator's ``simulate.settle_after_s``) -> the ``payment_intent.succeeded`` event.
Recorded through ``fc-cassette record`` and replayed ``--strict`` offline with another
key, like the FC part of the demo. The replay polls the PaymentIntent without waiting
between polls: its answers come from the cassette in the recorded order, so waiting as
the recording did would only slow the replay down (what a CI replay is for).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import stripe

LEND_SEED = "23"
AMOUNT = 250_000  # $2,500.00: a loan repayment
POLL_DEADLINE_S = 60.0
POLL_S = 0.5  # between two polls of a processing PaymentIntent, while recording
MANDATE = {
    "customer_acceptance": {
        "type": "online",
        "online": {"ip_address": "203.0.113.7", "user_agent": "fc-cassette-demo"},
    }
}


def lend(base: str, key: str, complete: Callable[[str], None] | None = None) -> list[str]:
    """The app: the same calls every time. Returns one line per call."""
    client = stripe.StripeClient(key, base_addresses={"api": base}, max_network_retries=0)
    cus = client.v1.customers.create(
        params={"email": "jenny.rosen@example.com", "name": "Jenny Rosen"}
    )
    out = [f"customer create        -> {cus.id}"]
    try:
        client.v1.financial_connections.sessions.create(
            params={
                "account_holder": {"type": "customer", "customer": "cus_FakeNobody"},
                "permissions": ["payment_method"],
            }
        )
    except stripe.InvalidRequestError as e:
        out.append(f"session (unknown customer) -> {e.http_status} {e.code}")
    s = client.v1.financial_connections.sessions.create(
        params={
            "account_holder": {"type": "customer", "customer": cus.id},
            "permissions": ["payment_method", "balances"],
        }
    )
    out.append(f"session create         -> {s.id} for {cus.id}")
    if complete is not None:
        complete(s.id)
        out.append("(end user links a checking account in the simulator)")
    acc = client.v1.financial_connections.accounts.list(params={"session": s.id}).data[0]
    pm = client.v1.payment_methods.create(
        params={
            "type": "us_bank_account",
            "billing_details": {"name": "Jenny Rosen"},
            "us_bank_account": {"financial_connections_account": acc.id},
        }
    )
    client.v1.payment_methods.attach(pm.id, params={"customer": cus.id})
    out.append(
        f"payment method         -> {pm.id} us_bank_account ****"
        f"{pm.us_bank_account.last4} from {acc.id}, attached to {cus.id}"
    )
    return out + _pay(client, cus.id, pm.id, POLL_S if complete is not None else 0.0)


def _pay(client: Any, customer: str, pm: str, every: float) -> list[str]:
    pi = client.v1.payment_intents.create(
        params={
            "amount": AMOUNT,
            "currency": "usd",
            "customer": customer,
            "payment_method": pm,
            "payment_method_types": ["us_bank_account"],
            "confirm": True,
            "mandate_data": MANDATE,
        }
    )
    out = [f"payment intent confirm -> {pi.id} {pi.status}"]
    polls = 0
    deadline = time.monotonic() + POLL_DEADLINE_S
    while pi.status == "processing" and time.monotonic() < deadline:
        time.sleep(every)
        pi = client.v1.payment_intents.retrieve(pi.id)
        polls += 1
    out.append(
        f"payment intent retrieve -> {pi.status} after {polls} poll(s), "
        f"amount_received {pi.amount_received}"
    )
    events = client.v1.events.list(params={"type": "payment_intent.succeeded"})
    out.append(
        "events list            -> "
        + ", ".join(f"{e.type} for {e.data.object['id']}" for e in events.data)
    )
    return out


def completer(sim_base: str, key: str) -> Callable[[str], None]:
    import requests

    def complete(session_id: str) -> None:
        requests.post(
            f"{sim_base}/_simulator/financial_connections/sessions/{session_id}/complete",
            data={"accounts": "1"},
            headers={"Authorization": f"Bearer {key}"},
            timeout=30,
        ).raise_for_status()

    return complete


def record(proxy: Any, cassette: Path, work: Path, key: str) -> list[str]:
    """Record the flow against a fresh, strict simulator (``proxy``: demo.Proxy)."""
    sim = proxy(
        ["simulate", "--seed", LEND_SEED], work / "simulate-lending.log", work / "mitmproxy"
    )
    try:
        rec = proxy(
            ["record", str(cassette), "--upstream", sim.base],
            work / "record-lending.log",
            work / "mitmproxy",
        )
        try:
            lines = lend(rec.base, key, completer(sim.base, key))
        finally:
            code = rec.stop()
    finally:
        sim.stop()
    if code != 0:
        raise SystemExit(f"demo: record exited {code}; see {work / 'record-lending.log'}")
    return lines

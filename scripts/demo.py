"""The whole fc-cassette loop on bundled defaults, offline: simulate -> record -> replay -> verify.

Run it through ``scripts/demo.sh`` (which sets up the virtualenv). Every process it
starts listens on 127.0.0.1 only and is stopped before it exits.

    python scripts/demo.py                       # the demo; output in demo-output/
    python scripts/demo.py --refresh-bundled     # re-record cassettes/fc_sessions.yaml

The app side is the real stripe SDK, driving the same deterministic flow each time:
create a session, retrieve it, (the end user completes the flow in the simulator),
retrieve it twice with linked accounts expanded, then two error cases (400 and 404);
then the linked account: retrieve it, refresh its balance (pending, then succeeded),
list its owners and transactions, disconnect it, and see a refresh refused.
Then the lending flow around FC (``scripts/demo_lending.py``): customer, session, link,
a PaymentMethod from the linked account, a PaymentIntent confirmed, processing, then
succeeded by itself, with its event; recorded and replayed the same way.
Record and replay use the bundled default scope (the app's whole Stripe conversation).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import stripe

import demo_lending
from fc_cassette.harness import procs

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = ROOT / "cassettes" / "fc_sessions.yaml"
FC = [sys.executable, "-m", "fc_cassette"]
SEED = "42"
# Made-up test-mode keys: the recorder redacts them; replay works with any key.
RECORD_KEY = "sk_test_" + "fakeDemoRecordingKey000111"
REPLAY_KEY = "sk_test_" + "fakeDemoCiKey999888777"
CREATE = {
    "account_holder": {"type": "customer", "customer": "cus_fakeDemo42"},
    "permissions": ["balances", "ownership", "payment_method", "transactions"],
    "prefetch": ["balances", "ownership", "transactions"],
    "filters": {"countries": ["US"]},
    "return_url": "https://example.test/fc/return",
}


def step(n: int, text: str) -> None:
    print(f"\n[{n}] {text}", flush=True)


class Proxy:
    """``fc-cassette ARGS`` on a port it picks itself (see fc_cassette.harness.procs)."""

    def __init__(self, args: list[str], log: Path, confdir: Path):
        self.log = log
        try:
            self.proc, self.port = procs.start(args, log, confdir=confdir, cwd=ROOT)
        except procs.StartError as e:
            raise SystemExit(f"demo: {' '.join(args)} did not start: {e}") from None
        self.base = f"http://127.0.0.1:{self.port}"

    def stop(self) -> int:
        return procs.stop(self.proc)


def drive(base: str, key: str, complete=None) -> list[str]:
    """The app: the same calls every time. Returns one line per call."""
    client = stripe.StripeClient(key, base_addresses={"api": base}, max_network_retries=0)
    sessions = client.v1.financial_connections.sessions
    out = []
    s = sessions.create(params=CREATE)
    out.append(f"create                 -> {s.id} (client_secret {s.client_secret[:30]}...)")
    r = sessions.retrieve(s.id)
    out.append(f"retrieve               -> {len(r.accounts.data)} linked account(s)")
    if complete is not None:
        complete(s.id)
        out.append("(end user completes the flow in the simulator: 2 accounts linked)")
    for _ in range(2):
        r = sessions.retrieve(s.id, params={"expand": ["accounts"]})
        kinds = ", ".join(f"{a.id} {a.category}/{a.subcategory}" for a in r.accounts.data)
        out.append(f"retrieve expand=accounts -> {len(r.accounts.data)} linked: {kinds}")
    try:
        sessions.create(params={**CREATE, "permissions": ["balances", "cash"]})
    except stripe.InvalidRequestError as e:
        out.append(
            f"create (bad permission) -> {e.http_status} InvalidRequestError param={e.param}"
        )
    try:
        sessions.retrieve("fcsess_fakeDoesNotExist")
    except stripe.InvalidRequestError as e:
        out.append(f"retrieve (unknown id)  -> {e.http_status} {e.code}")
    return out + drive_account(client, r.accounts.data[0].id)


def drive_account(client, acc_id: str) -> list[str]:
    """The linked account's life: retrieve, refresh, owners, transactions, disconnect."""
    accounts = client.v1.financial_connections.accounts
    acc = accounts.retrieve(acc_id)
    out = [
        f"account retrieve       -> {acc.id} {acc.status}, balance "
        f"{acc.balance.current['usd']} (as of {acc.balance.as_of})"
    ]
    acc = accounts.refresh(acc_id, params={"features": ["balance"]})
    out.append(f"account refresh balance -> balance_refresh {acc.balance_refresh.status}")
    acc = accounts.retrieve(acc_id)
    out.append(
        f"account retrieve       -> balance_refresh {acc.balance_refresh.status}, "
        f"balance {acc.balance.current['usd']} (as of {acc.balance.as_of})"
    )
    owners = accounts.owners.list(acc_id, params={"ownership": acc.ownership})
    out.append("owners list            -> " + ", ".join(o.name for o in owners.data))
    txns = client.v1.financial_connections.transactions.list(params={"account": acc_id, "limit": 2})
    ids = [t.id for t in txns.auto_paging_iter()]
    out.append(f"transactions list      -> {len(ids)} transaction(s), pages of 2")
    acc = accounts.disconnect(acc_id)
    out.append(f"account disconnect     -> {acc.status}")
    try:
        accounts.refresh(acc_id, params={"features": ["balance"]})
    except stripe.InvalidRequestError as e:
        out.append(f"refresh (disconnected) -> {e.http_status} {e.code}")
    return out


def completer(sim_base: str, key: str):
    import requests

    def complete(session_id: str) -> None:
        requests.post(
            f"{sim_base}/_simulator/financial_connections/sessions/{session_id}/complete",
            data={"accounts": "2"},
            headers={"Authorization": f"Bearer {key}"},
            timeout=10,
        ).raise_for_status()

    return complete


# The bundled FC cassette names a made-up customer (cus_fakeDemo42), as it was recorded
# before the simulator had customers: its simulator accepts customer ids it never created.
LEGACY_CUSTOMERS = ["--set", "fc_accept_unknown_customers=true"]


def record(cassette: Path, work: Path, mode: str) -> list[str]:
    sim = Proxy(
        ["simulate", "--seed", SEED, *LEGACY_CUSTOMERS], work / "simulate.log", work / "mitmproxy"
    )
    try:
        rec = Proxy(
            ["record", str(cassette), "--upstream", sim.base, "--record-mode", mode],
            work / "record.log",
            work / "mitmproxy",
        )
        try:
            lines = drive(rec.base, RECORD_KEY, completer(sim.base, RECORD_KEY))
        finally:
            code = rec.stop()
    finally:
        sim.stop()
    if code != 0:
        raise SystemExit(f"demo: record exited {code}; see {work / 'record.log'}")
    return lines


def run(cmd: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*FC, *cmd], cwd=ROOT, capture_output=True, text=True, stdin=subprocess.DEVNULL
    )


def replay(cassette: Path, work: Path, log: str, app: Callable[[str, str], list[str]]) -> bool:
    """``app(base, key)`` against ``replay --strict`` of ``cassette``; its lines and the
    replay summary printed; whether the replay exited 0."""
    rp = Proxy(["replay", str(cassette), "--strict"], work / log, work / "mitmproxy")
    try:
        for line in app(rp.base, REPLAY_KEY):
            print("    " + line)
    finally:
        code = rp.stop()
    summary = [
        ln.split("] ", 1)[-1]
        for ln in (work / log).read_text().splitlines()
        if "replay summary" in ln or "upstream connections attempted" in ln
    ]
    for line in summary:
        print("    " + line)
    if code != 0:
        print(f"demo: replay --strict exited {code}; see {work / log}")
    return code == 0


def lending(work: Path) -> bool:
    """Step 5: the lending flow, recorded from a strict simulator, replayed, verified."""
    cassette = work / "lending.yaml"
    step(
        5,
        f"The lending flow around FC: fc-cassette simulate (seed {demo_lending.LEND_SEED}),"
        " record in front; customer, session, link, PaymentMethod, PaymentIntent:",
    )
    for line in demo_lending.record(Proxy, cassette, work, RECORD_KEY):
        print("    " + line)
    print(f"    recorded {cassette}")
    print("    Simulator stopped. fc-cassette replay --strict, offline, another API key:")
    if not replay(cassette, work, "replay-lending.log", demo_lending.lend):
        return False
    v = run(["verify", str(cassette)])
    print("    " + (v.stdout + v.stderr).strip().replace("\n", "\n    "))
    text = cassette.read_text()
    assert RECORD_KEY not in text and REPLAY_KEY not in text
    return v.returncode == 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument(
        "--out",
        type=Path,
        default=ROOT / "demo-output",
        help="where the demo writes its cassette and logs (default demo-output/)",
    )
    ap.add_argument(
        "--refresh-bundled",
        action="store_true",
        help=f"re-record {BUNDLED.relative_to(ROOT)} (record mode all) and stop",
    )
    args = ap.parse_args()
    work = args.out.resolve()
    marker = work / ".fc-cassette-demo"
    if work.exists() and any(work.iterdir()) and not marker.exists():
        print(
            f"demo: {work} exists and is not a demo output folder; pick another --out",
            file=sys.stderr,
        )
        return 2
    shutil.rmtree(work, ignore_errors=True)  # only ever a folder this script made
    work.mkdir(parents=True)
    marker.touch()

    if args.refresh_bundled:
        for line in record(BUNDLED, work, "all"):
            print("  " + line)
        print(f"re-recorded {BUNDLED}")
        return 0

    cassette = work / "fc_sessions.yaml"
    step(
        1,
        f"fc-cassette simulate (seed {SEED}) on 127.0.0.1, and fc-cassette record in "
        "front of it; the stripe SDK creates, retrieves, completes and retrieves twice, "
        "then uses the linked account:",
    )
    for line in record(cassette, work, "once"):
        print("    " + line)
    print(f"    recorded {cassette}")

    step(2, "Simulator stopped. fc-cassette replay --strict, offline, another API key:")
    if not replay(cassette, work, "replay.log", drive):
        return 1

    step(3, "fc-cassette verify: readable, valid against the models, no secret inside:")
    v = run(["verify", str(cassette), str(BUNDLED)])
    print("    " + (v.stdout + v.stderr).strip().replace("\n", "\n    "))
    if v.returncode != 0:
        return 1
    for secret in (RECORD_KEY, REPLAY_KEY):
        assert secret not in cassette.read_text()
        assert secret not in (work / "record.log").read_text()
    print("    (and neither demo API key appears in the cassette or the proxy logs)")

    step(4, "fc-cassette show:")
    print("    " + run(["show", str(cassette)]).stdout.strip().replace("\n", "\n    "))
    if not lending(work):
        return 1

    step(
        6,
        "Webhooks (docs/webhooks.md): the simulator's events, verified by the app with "
        "the stripe SDK, recorded through record --webhooks-to, replayed --strict:",
    )
    import demo_webhooks

    def start(args: list[str], log: Path) -> Proxy:
        return Proxy(args, log, work / "mitmproxy")

    for line in demo_webhooks.run(start, SEED, (RECORD_KEY, REPLAY_KEY), work):
        print("    " + line)

    print(f"""
Done. The cassettes are {cassette} and {work / "lending.yaml"}
(logs beside them). The bundled cassette {BUNDLED.relative_to(ROOT)} was recorded the same way.

Next commands to try:
  .venv/bin/fc-cassette show {BUNDLED.relative_to(ROOT)}
  .venv/bin/fc-cassette replay {BUNDLED.relative_to(ROOT)} --strict --port 8080
                                               # then point the SDK at http://127.0.0.1:8080
  .venv/bin/fc-cassette simulate --port 12111  # a local Stripe API with FC (docs/simulator.md)
  .venv/bin/fc-cassette inspect --upstream http://127.0.0.1:12111 --report flows.jsonl
  bash scripts/test.sh                                                # the test suite""")
    return 0


if __name__ == "__main__":
    sys.exit(main())

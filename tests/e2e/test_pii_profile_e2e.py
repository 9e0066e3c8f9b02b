"""Issue #26, item 5: the PII profile (``redaction.pii: true``). Owner names, emails,
phones, addresses and every last4 become numbered placeholders of their own shape, the
same value the same placeholder across the cassette; the recording still replays
under ``--strict``. Real simulator, recorder and replayer, the real stripe SDK."""

from __future__ import annotations

import json
from pathlib import Path

from fc_cassette.redact import scan
from support import start

KEY = "sk_test_" + "FakePiiProfileKey1"
OTHER = "sk_test_" + "FakePiiReplayKey02"
CREATE = {
    "account_holder": {"type": "customer", "customer": "cus_FakePii"},
    "permissions": ["balances", "ownership"],
}


def flow(stack) -> list[dict]:
    """create, complete, list accounts, refresh ownership, list owners twice."""
    fc = stack.client(KEY).v1.financial_connections
    s = fc.sessions.create(params=CREATE)
    stack.complete(s.id, KEY)
    listed = fc.accounts.list(params={"session": s.id})
    acc = listed.data[0].id
    fc.accounts.refresh(acc, params={"features": ["ownership"]})
    own = fc.accounts.retrieve(acc, params={"expand": ["ownership"]})
    out = [json.loads(listed.last_response.body)]
    for _ in range(2):
        owners = fc.accounts.owners.list(acc, params={"ownership": own.ownership.id})
        out.append(json.loads(owners.last_response.body))
    return out


def test_pii_profile_consistent_placeholders_and_replay(tmp_path: Path):
    config = tmp_path / "pii.yaml"
    config.write_text("redaction:\n  pii: true\n")
    cassette = tmp_path / "pii_flow.yaml"
    sim = start(["simulate", "--seed", "11"], tmp_path, "sim")
    try:
        rec = start(
            ["record", str(cassette), "--upstream", sim.base, "--config", str(config)],
            tmp_path,
            "rec",
        )
        seen = flow(rec)
        assert rec.proc.stop() == 0, rec.proc.output()
    finally:
        sim.proc.stop()
    owners = seen[1]["data"]
    assert owners and owners[0]["name"]
    raw = {o[k] for o in owners for k in ("name", "email", "phone") if o.get(k)}
    raw |= {a["last4"] for a in seen[0]["data"] if a.get("last4")}
    text = cassette.read_text()
    for value in raw:
        assert value not in text, value
    assert text.count("Redacted Name 1") >= 2  # the same owner, listed twice: one name
    assert "Redacted Name 2" not in text or len({o["name"] for o in owners}) > 1
    assert scan(text) == []
    # the placeholders replay: the same flow under --strict, with another key
    rep = start(["replay", str(cassette), "--strict", "--config", str(config)], tmp_path, "rep")
    replayed = flow(rep)
    assert rep.proc.stop() == 0, rep.proc.output()
    assert replayed[1]["data"][0]["name"] == "Redacted Name 1"

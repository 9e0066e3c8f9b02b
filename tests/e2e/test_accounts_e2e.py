"""End to end: the whole FC account lifecycle with the real stripe SDK against a real
``fc-cassette simulate`` process; the same run recorded by ``fc-cassette record`` (scope
widened by a config file) and replayed offline with ``--strict``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import stripe

from fc_cassette.cassette import store as cio
from fc_cassette.stripe_api import models
from support import run_fc, start

KEY = "sk_test_" + "fakeAccountsE2eKey0001"
OTHER_KEY = "sk_test_" + "fakeAccountsCiKey99999"
CREATE = {
    "account_holder": {"type": "customer", "customer": "cus_fakeAccountsE2E"},
    "permissions": ["balances", "ownership", "transactions", "payment_method"],
}
SCOPE = "scope:\n  paths:\n    - ^/v1/financial_connections/\n    - ^/_simulator/\n"


def valid(model, stripe_obj) -> dict:
    """The raw JSON the SDK received, asserted valid (and drift-free) against ``model``."""
    obj = json.loads(stripe_obj.last_response.body)
    report = models.validate_object(model, obj)
    assert report.valid and not report.drift, (model.__name__, report.errors, report.drift)
    return obj


def lifecycle(client: stripe.StripeClient, complete) -> list[str]:
    """create -> complete -> list by session -> retrieve -> refresh balance (pending, then
    succeeded) -> owners -> subscribe + paginated transactions -> disconnect -> refused."""
    fc = client.v1.financial_connections
    out = []
    s = fc.sessions.create(params=CREATE)
    valid(models.Session, s)
    if complete is not None:
        complete(s.id)
    listed = fc.accounts.list(params={"session": s.id})
    assert [a["category"] for a in valid(models.AccountList, listed)["data"]] == ["cash", "credit"]
    acc_id = listed.data[0].id
    acc = fc.accounts.retrieve(acc_id)
    assert valid(models.Account, acc)["balance"] is None
    pending = fc.accounts.refresh(acc_id, params={"features": ["balance"]})
    assert valid(models.Account, pending)["balance_refresh"]["status"] == "pending"
    done = fc.accounts.retrieve(acc_id)
    assert valid(models.Account, done)["balance_refresh"]["status"] == "succeeded"
    out.append(f"balance {done.balance.current['usd']} as of {done.balance.as_of}")
    fc.accounts.refresh(acc_id, params={"features": ["ownership"]})
    own = fc.accounts.retrieve(acc_id, params={"expand": ["ownership"]})
    valid(models.Account, own)
    owners = fc.accounts.owners.list(acc_id, params={"ownership": own.ownership.id})
    assert valid(models.OwnerList, owners)["data"]
    out.append("owners " + ", ".join(o.name for o in owners.data))
    sub = fc.accounts.subscribe(acc_id, params={"features": ["transactions"]})
    assert valid(models.Account, sub)["subscriptions"] == ["transactions"]
    page = fc.transactions.list(params={"account": acc_id, "limit": 3})
    assert valid(models.TransactionList, page)["has_more"] is True
    ids = [t.id for t in page.auto_paging_iter()]
    assert len(ids) == len(set(ids)) > 3
    out.append(f"transactions {len(ids)} in pages of 3")
    one = fc.transactions.retrieve(ids[-1])
    valid(models.Transaction, one)
    gone = fc.accounts.disconnect(acc_id)
    assert valid(models.Account, gone)["status"] == "disconnected"
    with pytest.raises(stripe.InvalidRequestError) as e:
        fc.accounts.refresh(acc_id, params={"features": ["balance"]})
    assert e.value.http_status == 400
    assert e.value.code == "financial_connections_account_inactive"
    assert models.validate_error(e.value.json_body).valid
    out.append(f"refresh after disconnect -> {e.value.http_status} {e.value.code}")
    return out


@pytest.fixture
def sim(tmp_path):
    stack = start(["simulate", "--seed", "3"], tmp_path, "sim")
    yield stack
    out = stack.proc.output()
    assert stack.proc.stop() == 0, out


def test_lifecycle_against_the_simulator(sim):
    lines = lifecycle(sim.client(KEY), lambda sid: sim.complete(sid, KEY))
    assert lines[-1] == "refresh after disconnect -> 400 financial_connections_account_inactive"


def test_lifecycle_recorded_then_replayed_offline_strict(sim, tmp_path: Path):
    config = tmp_path / "scope.yaml"
    config.write_text(SCOPE)
    cassette = tmp_path / "accounts.yaml"
    rec = start(
        ["record", str(cassette), "--upstream", sim.base, "--config", str(config)], tmp_path, "rec"
    )
    try:
        recorded = lifecycle(rec.client(KEY), lambda sid: rec.complete(sid, KEY))
    finally:
        assert rec.proc.stop() == 0, rec.proc.output()
    c = cio.load(cassette)
    paths = [it["request"]["path"] for it in c.interactions]
    assert any(p.endswith("/refresh") for p in paths) and any("/owners" in p for p in paths)
    completion = [it for it in c.interactions if it["request"]["path"].startswith("/_simulator/")]
    assert len(completion) == 1 and completion[0]["validation"] == {"model": "none"}
    for it in c.interactions:
        if it is not completion[0]:
            assert it["validation"]["request"]["valid"], it["validation"]
            assert it["validation"]["response"]["valid"], it["validation"]
    text = cassette.read_text()
    assert KEY not in text and KEY[8:] not in text
    v = run_fc(["verify", str(cassette)])
    assert v.returncode == 0, v.stdout + v.stderr
    shown = run_fc(["show", str(cassette)])
    assert shown.returncode == 0 and "INVALID" not in shown.stdout
    assert "no model" in next(r for r in shown.stdout.splitlines() if "/complete" in r)

    sim.proc.stop()  # offline from here on
    rp = start(["replay", str(cassette), "--strict", "--config", str(config)], tmp_path, "rp")
    try:
        replayed = lifecycle(rp.client(OTHER_KEY), lambda sid: rp.complete(sid, OTHER_KEY))
    finally:
        code = rp.proc.stop()
    assert code == 0, rp.proc.output()
    assert "missed 0, unused 0" in rp.proc.output()
    assert replayed == recorded

"""End to end: a real ``fc-cassette simulate`` process driven by stripe-python and requests.

Everything stays on 127.0.0.1: forward-proxy requests to api.stripe.com are answered by
the simulator inside the proxy, which never connects upstream.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import requests
import stripe

from support import fc

KEY = "sk_test_" + "fakeSimKey123456789"
AUTH = {"Authorization": f"Bearer {KEY}"}
CREATE_PARAMS = {
    "account_holder": {"type": "customer", "customer": "cus_fakeE2E123"},
    "permissions": ["balances", "ownership", "payment_method"],
    "prefetch": ["balances"],
    "filters": {"countries": ["US"]},
}


class Sim:
    def __init__(self, proc, port: int, confdir: Path):
        self.proc, self.port, self.confdir = proc, port, confdir
        self.base = f"http://127.0.0.1:{port}"

    def client(self, key: str = KEY) -> stripe.StripeClient:
        return stripe.StripeClient(key, base_addresses={"api": self.base}, max_network_retries=0)

    def complete(self, sid: str, accounts: str = "2", key: str = KEY) -> requests.Response:
        return requests.post(
            f"{self.base}/_simulator/financial_connections/sessions/{sid}/complete",
            data={"accounts": accounts},
            headers={"Authorization": f"Bearer {key}"},
            timeout=10,
        )


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sim")
    proc = fc(["simulate", "--seed", "1"], tmp, port=0)
    yield Sim(proc, proc.port, tmp / "mitmconf")
    out = proc.output()
    assert proc.stop() == 0, out


# ----------------------------------------------------------------------- SDK: happy path
def test_sdk_create_and_retrieve(sim):
    client = sim.client()
    session = client.v1.financial_connections.sessions.create(params=CREATE_PARAMS)
    assert session.id.startswith("fcsess_")
    assert session.object == "financial_connections.session"
    assert session.client_secret.startswith("fcsess_client_secret_")
    assert session.permissions == ["balances", "ownership", "payment_method"]
    assert session.account_holder.customer == "cus_fakeE2E123"
    assert session.accounts.data == []
    assert session.last_response.headers["Request-Id"].startswith("req_")
    assert session.last_response.headers["Stripe-Version"] == "2026-10-28.endive"

    got = client.v1.financial_connections.sessions.retrieve(
        session.id, params={"expand": ["accounts"]}
    )
    assert got.id == session.id
    assert got.to_dict() == session.to_dict()


def test_sdk_errors_map_to_exception_classes(sim):
    client = sim.client()
    sessions = client.v1.financial_connections.sessions
    with pytest.raises(stripe.InvalidRequestError) as e:
        sessions.create(params={**CREATE_PARAMS, "permissions": ["balances", "cash"]})
    assert e.value.http_status == 400 and e.value.param == "permissions[1]"
    assert "must be one of" in e.value.user_message
    assert e.value.request_id.startswith("req_")

    with pytest.raises(stripe.InvalidRequestError) as e:
        sessions.create(params={"account_holder": {"type": "customer", "customer": "cus_fake1"}})
    assert e.value.http_status == 400 and e.value.code == "parameter_missing"
    assert e.value.param == "permissions"

    with pytest.raises(stripe.InvalidRequestError) as e:
        sessions.create(params={**CREATE_PARAMS, "account_holder": {"type": "account"}})
    assert e.value.param == "account_holder[account]"

    with pytest.raises(stripe.InvalidRequestError) as e:
        sessions.create(params={**CREATE_PARAMS, "foo": "bar"})  # type: ignore[typeddict-unknown-key]
    assert e.value.code == "parameter_unknown" and e.value.param == "foo"

    with pytest.raises(stripe.InvalidRequestError) as e:
        sessions.retrieve("fcsess_fakeDoesNotExist")
    assert e.value.http_status == 404 and e.value.code == "resource_missing"
    assert e.value.param == "session"

    for bad_key in (
        "sk_test_" + "fake-bad!key",
        "sk_live_" + "fakeLiveKey123456",
        "pk_test_" + "fakePublishable1234",
    ):
        with pytest.raises(stripe.AuthenticationError) as e:
            sim.client(bad_key).v1.financial_connections.sessions.create(params=CREATE_PARAMS)
        assert e.value.http_status == 401
        assert bad_key not in str(e.value)


def test_raw_http_errors(sim):
    r = requests.get(f"{sim.base}/v1/financial_connections/sessions/fcsess_fake1", timeout=10)
    assert r.status_code == 401 and "did not provide an API key" in r.json()["error"]["message"]
    r = requests.get(f"{sim.base}/v1/foo", headers=AUTH, timeout=10)
    assert r.status_code == 404
    assert r.json()["error"]["message"].startswith("Unrecognized request URL (GET: /v1/foo)")
    r = requests.delete(
        f"{sim.base}/v1/financial_connections/sessions/fcsess_fake1", headers=AUTH, timeout=10
    )
    assert r.status_code == 404
    # curl-style empty brackets and Basic auth (curl -u KEY:)
    r = requests.post(
        f"{sim.base}/v1/financial_connections/sessions",
        auth=(KEY, ""),
        data="account_holder[type]=customer&account_holder[customer]=cus_fake1"
        "&permissions[]=balances&permissions[]=transactions",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        timeout=10,
    )
    assert r.status_code == 200, r.text
    assert r.json()["permissions"] == ["balances", "transactions"]
    assert r.headers["Content-Type"] == "application/json"
    assert r.headers["Cache-Control"] == "no-cache, no-store"


# -------------------------------------------------------------------------- completion
def test_flow_completion_links_accounts(sim):
    client = sim.client()
    session = client.v1.financial_connections.sessions.create(params=CREATE_PARAMS)
    before = client.v1.financial_connections.sessions.retrieve(session.id)
    assert before.accounts.data == []

    r = sim.complete(session.id, "2")
    assert r.status_code == 200, r.text
    assert len(r.json()["accounts"]["data"]) == 2

    after = client.v1.financial_connections.sessions.retrieve(
        session.id, params={"expand": ["accounts"]}
    )
    accounts = after.accounts.data
    assert len(accounts) == 2
    assert all(a.id.startswith("fca_") for a in accounts)
    assert sorted(a.category for a in accounts) == ["cash", "credit"]
    cash = next(a for a in accounts if a.category == "cash")
    credit = next(a for a in accounts if a.category == "credit")
    assert cash.balance.type == "cash" and cash.balance.cash.available["usd"] > 0
    assert credit.balance.type == "credit" and credit.balance.credit.used["usd"] > 0
    assert cash.supported_payment_method_types == ["us_bank_account"]
    assert cash.ownership.startswith("fcaowns_")

    again = sim.complete(session.id)
    assert again.status_code == 400
    assert "already been completed" in again.json()["error"]["message"]
    assert sim.complete("fcsess_fakeNope").status_code == 404
    assert sim.complete(session.id, key="").status_code == 401


# ------------------------------------------------------------------------- idempotency
def test_sdk_idempotency_replay_and_mismatch(sim):
    sessions = sim.client().v1.financial_connections.sessions
    key = f"fake-idem-{time.monotonic_ns()}"
    first = sessions.create(params=CREATE_PARAMS, options={"idempotency_key": key})
    second = sessions.create(params=CREATE_PARAMS, options={"idempotency_key": key})
    assert second.id == first.id
    assert second.last_response.headers["Idempotent-Replayed"] == "true"
    assert second.last_response.body == first.last_response.body
    assert second.last_response.headers["Original-Request"] == first.last_response.request_id
    with pytest.raises(stripe.IdempotencyError) as e:
        sessions.create(
            params={**CREATE_PARAMS, "return_url": "https://example.com/x"},
            options={"idempotency_key": key},
        )
    assert e.value.http_status == 400
    assert key in e.value.user_message


# ----------------------------------------------------------------------- forward proxy
def wait_for_ca(confdir: Path) -> Path:
    ca = confdir / "mitmproxy-ca-cert.pem"
    deadline = time.monotonic() + 10
    while not ca.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    return ca


def test_forward_proxy_https_to_api_stripe_com(sim):
    ca = wait_for_ca(sim.confdir)
    proxies = {"https": f"http://127.0.0.1:{sim.port}"}
    r = requests.post(
        "https://api.stripe.com/v1/financial_connections/sessions",
        proxies=proxies,
        verify=str(ca),
        headers=AUTH,
        timeout=10,
        data={
            "account_holder[type]": "customer",
            "account_holder[customer]": "cus_fakeFwd1",
            "permissions[0]": "balances",
        },
    )
    assert r.status_code == 200, r.text
    sid = r.json()["id"]
    r = requests.get(
        f"https://api.stripe.com/v1/financial_connections/sessions/{sid}",
        params={"expand[]": "accounts"},
        proxies=proxies,
        verify=str(ca),
        headers=AUTH,
        timeout=10,
    )
    assert r.status_code == 200 and r.json()["id"] == sid


def test_forward_proxy_with_the_sdk(sim):
    ca = wait_for_ca(sim.confdir)
    saved = stripe.ca_bundle_path
    stripe.ca_bundle_path = str(ca)
    try:
        client = stripe.StripeClient(
            KEY, proxy=f"http://127.0.0.1:{sim.port}", max_network_retries=0
        )
        session = client.v1.financial_connections.sessions.create(params=CREATE_PARAMS)
        got = client.v1.financial_connections.sessions.retrieve(session.id)
        assert got.id == session.id
    finally:
        stripe.ca_bundle_path = saved


def test_log_lines_name_sessions_but_no_secrets(sim):
    sessions = sim.client().v1.financial_connections.sessions
    session = sessions.create(params=CREATE_PARAMS)
    deadline = time.monotonic() + 5
    out = ""
    while time.monotonic() < deadline:
        out = sim.proc.output()
        if session.id in out:
            break
        time.sleep(0.05)
    assert f"simulate: POST /v1/financial_connections/sessions -> 200 {session.id}" in out
    assert KEY not in out and "fakeSimKey" not in out
    assert session.client_secret not in out
    assert "fcsess_client_secret_" not in out


# ------------------------------------------------------------------------ determinism
def drive(port: int) -> list[tuple[int, str, bytes]]:
    """A fixed sequence of raw requests; returns (status, Request-Id, body) per response."""
    base = f"http://127.0.0.1:{port}"
    out = []

    def rec(r: requests.Response) -> requests.Response:
        out.append((r.status_code, r.headers["Request-Id"], r.content))
        return r

    body = {
        "account_holder[type]": "customer",
        "account_holder[customer]": "cus_fakeDet1",
        "permissions[0]": "balances",
        "permissions[1]": "ownership",
        "prefetch[0]": "balances",
    }
    s = rec(
        requests.post(
            f"{base}/v1/financial_connections/sessions",
            data=body,
            headers={**AUTH, "Idempotency-Key": "fake-det-1"},
            timeout=10,
        )
    )
    sid = s.json()["id"]
    rec(requests.get(f"{base}/v1/financial_connections/sessions/{sid}", headers=AUTH, timeout=10))
    rec(
        requests.post(
            f"{base}/_simulator/financial_connections/sessions/{sid}/complete",
            data={"accounts": "3"},
            headers=AUTH,
            timeout=10,
        )
    )
    rec(
        requests.get(
            f"{base}/v1/financial_connections/sessions/{sid}?expand%5B0%5D=accounts",
            headers=AUTH,
            timeout=10,
        )
    )
    rec(
        requests.post(
            f"{base}/v1/financial_connections/sessions",
            data=body,
            headers={**AUTH, "Idempotency-Key": "fake-det-1"},
            timeout=10,
        )
    )
    rec(
        requests.post(
            f"{base}/v1/financial_connections/sessions", data={"foo": "1"}, headers=AUTH, timeout=10
        )
    )
    return out + drive_payment(base, rec)


def drive_payment(base: str, rec) -> list:
    """Issue #23's objects: customer, linked account, PaymentMethod, PaymentIntent
    confirmed with a mandate and settled by the simulator-only call."""
    cus = rec(
        requests.post(
            f"{base}/v1/customers", data={"email": "det@example.com"}, headers=AUTH, timeout=10
        )
    ).json()["id"]
    s = rec(
        requests.post(
            f"{base}/v1/financial_connections/sessions",
            headers=AUTH,
            data={
                "account_holder[type]": "customer",
                "account_holder[customer]": cus,
                "permissions[0]": "payment_method",
            },
            timeout=10,
        )
    ).json()["id"]
    acc = rec(
        requests.post(
            f"{base}/_simulator/financial_connections/sessions/{s}/complete",
            data={"accounts": "1"},
            headers=AUTH,
            timeout=10,
        )
    ).json()["accounts"]["data"][0]["id"]
    pm = rec(
        requests.post(
            f"{base}/v1/payment_methods",
            headers=AUTH,
            data={
                "type": "us_bank_account",
                "billing_details[name]": "Det",
                "us_bank_account[financial_connections_account]": acc,
            },
            timeout=10,
        )
    ).json()["id"]
    pi = rec(
        requests.post(
            f"{base}/v1/payment_intents",
            headers=AUTH,
            data={
                "amount": "5000",
                "currency": "usd",
                "customer": cus,
                "payment_method": pm,
                "confirm": "true",
                "mandate_data[customer_acceptance][type]": "offline",
            },
            timeout=10,
        )
    ).json()["id"]
    rec(requests.post(f"{base}/_simulator/payment_intents/{pi}/settle", headers=AUTH, timeout=10))
    rec(requests.get(f"{base}/v1/events", headers=AUTH, timeout=10))
    return []


def test_same_seed_byte_identical_different_seed_different_ids(tmp_path):
    runs = {}
    for name, seed in (("a", "42"), ("b", "42"), ("c", "43")):
        (tmp_path / name).mkdir()
        config = tmp_path / name / "no-settle.yaml"  # settled by the call, not by time
        config.write_text("simulate:\n  settle_after_s: null\n")
        proc = fc(
            ["simulate", "--seed", seed, "--config", str(config)],
            tmp_path / name,
            name=name,
            port=0,
        )
        try:
            runs[name] = drive(proc.port)
        finally:
            assert proc.stop() == 0, proc.output()  # Ctrl-C is a clean exit
    a, b, c = runs["a"], runs["b"], runs["c"]
    assert [x[0] for x in a] == [200, 200, 200, 200, 200, 400] + [200] * 7
    assert json.loads(a[-2][2])["status"] == "succeeded"
    assert a == b  # statuses, Request-Id headers and bodies, byte for byte
    id_a = json.loads(a[0][2])["id"]
    id_c = json.loads(c[0][2])["id"]
    assert id_a != id_c
    assert a[0][1] != c[0][1]
    assert [x[0] for x in c] == [x[0] for x in a]

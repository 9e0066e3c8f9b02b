"""The app's whole Stripe conversation, recorded and replayed (not only the FC Session calls).

A local upstream written here answers what a real FC integration sends around the
session: a Customer, the session, an account, a PaymentIntent and a SetupIntent, each
object carrying its own kind of client secret. The real stripe SDK goes through a real
``fc-cassette record``, then ``fc-cassette replay --strict`` serves the same flow offline
with another key.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import stripe

from builders import seed_session, session_with_accounts
from fc_cassette.cassette import store as cio
from fc_cassette.redact import scan
from support import encoded_forms, start

REC_KEY = "sk_test_" + "fakeConversationRecKey0123456789"
CI_KEY = "sk_test_" + "fakeConversationCiKey9876543210"
PI_SECRET = "pi_3FakeConv123_secret_" + "Zq8XvB2nLmP4rT6y"
SETI_SECRET = "seti_1FakeConv456_secret_" + "Wk3Jh7GfDs9aQe1u"
FCSESS_SECRET = "fcsess_1FakeConv789_secret_" + "Po5Iu8YtRe2WqA4s"  # Stripe's fixtures' shape
SECRETS = (REC_KEY, PI_SECRET, SETI_SECRET, FCSESS_SECRET)


def _objects() -> dict[tuple[str, str], tuple[int, dict]]:
    session = seed_session("fcsess_1FakeConv789", client_secret=FCSESS_SECRET)
    account = session_with_accounts()["accounts"]["data"][0]
    return {
        ("POST", "/v1/customers"): (
            200,
            {
                "id": "cus_FakeConv1",
                "object": "customer",
                "created": 1767225600,
                "email": "jenny@example.test",
                "livemode": False,
            },
        ),
        ("POST", "/v1/financial_connections/sessions"): (200, session),
        ("GET", f"/v1/financial_connections/accounts/{account['id']}"): (200, account),
        ("POST", "/v1/payment_intents"): (
            200,
            {
                "id": "pi_3FakeConv123",
                "object": "payment_intent",
                "amount": 1099,
                "amount_capturable": 0,
                "amount_received": 0,
                "capture_method": "automatic",
                "confirmation_method": "automatic",
                "created": 1767225600,
                "metadata": {},
                "payment_method_types": ["us_bank_account"],
                "currency": "usd",
                "status": "requires_payment_method",
                "client_secret": PI_SECRET,
                "livemode": False,
            },
        ),
        ("POST", "/v1/setup_intents"): (
            200,
            {
                "id": "seti_1FakeConv456",
                "object": "setup_intent",
                "created": 1767225600,
                "payment_method_types": ["us_bank_account"],
                "usage": "off_session",
                "status": "requires_payment_method",
                "client_secret": SETI_SECRET,
                "livemode": False,
            },
        ),
    }


class _Stripe(BaseHTTPRequestHandler):
    """Just enough of Stripe's API for this flow."""

    objects: dict = {}

    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        status, obj = self.objects.get(
            (self.command, self.path.split("?")[0]),
            (
                404,
                {
                    "error": {
                        "type": "invalid_request_error",
                        "code": "resource_missing",
                        "message": f"No such route {self.path}",
                    }
                },
            ),
        )
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Request-Id", "req_fakeConv1")
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer  # noqa: N815 (http.server's names)

    def log_message(self, *args):
        pass


@pytest.fixture()
def upstream():
    handler = type("Handler", (_Stripe,), {"objects": _objects()})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _flow(client: stripe.StripeClient) -> dict:
    v1 = client.v1
    customer = v1.customers.create(params={"email": "jenny@example.test"})
    session = v1.financial_connections.sessions.create(
        params={
            "account_holder": {"type": "customer", "customer": customer.id},
            "permissions": ["balances", "payment_method"],
        }
    )
    account = v1.financial_connections.accounts.retrieve("fca_1ExampleCredit1")
    pi = v1.payment_intents.create(
        params={
            "amount": 1099,
            "currency": "usd",
            "customer": customer.id,
            "payment_method_types": ["us_bank_account"],
        }
    )
    seti = v1.setup_intents.create(
        params={"customer": customer.id, "payment_method_types": ["us_bank_account"]}
    )
    return {"customer": customer, "session": session, "account": account, "pi": pi, "seti": seti}


def test_the_whole_conversation_is_recorded_redacted_and_replayed_offline(upstream, tmp_path):
    cassette = tmp_path / "conversation.yaml"
    rec = start(["record", str(cassette), "--upstream", upstream], tmp_path, "rec")
    live = _flow(rec.client(REC_KEY))
    assert live["pi"].client_secret == PI_SECRET  # the app gets the real answer
    assert rec.proc.stop() == 0
    rec_log = rec.proc.output()

    c = cio.load(cassette)
    assert [(i["request"]["method"], i["request"]["path"]) for i in c.interactions] == [
        ("POST", "/v1/customers"),
        ("POST", "/v1/financial_connections/sessions"),
        ("GET", "/v1/financial_connections/accounts/fca_1ExampleCredit1"),
        ("POST", "/v1/payment_intents"),
        ("POST", "/v1/setup_intents"),
    ]
    customers, session, account, pi, seti = c.interactions
    assert customers["request"]["body"]["form"] == {"email": "jenny@example.test"}
    assert session["validation"]["response"]["valid"] is True  # FC: checked by the models
    for it in (customers, pi, seti):  # the objects around FC: checked by their models too
        assert it["validation"]["response"]["valid"] is True, it["validation"]
    text = cassette.read_text()
    for secret in SECRETS:
        for leaked in encoded_forms(secret):
            assert leaked not in text, leaked
            assert leaked not in rec_log, leaked
    assert scan(text) == []
    pi_secret = pi["response"]["body"]["json"]["client_secret"]
    seti_secret = seti["response"]["body"]["json"]["client_secret"]
    assert pi_secret.startswith("pi_") and "REDACTED" in pi_secret  # the kind stays visible
    assert seti_secret.startswith("seti_") and "REDACTED" in seti_secret

    rp = start(["replay", str(cassette), "--strict"], tmp_path, "rp")
    replayed = _flow(rp.client(CI_KEY))
    assert replayed["customer"].id == "cus_FakeConv1"
    assert replayed["account"].to_dict() == live["account"].to_dict()
    assert replayed["pi"].client_secret == pi_secret
    assert replayed["seti"].client_secret == seti_secret
    assert replayed["session"].id == live["session"].id
    assert rp.proc.stop() == 0  # --strict: no miss
    log = rp.proc.output()
    assert "served 5, missed 0, unused 0" in log
    assert "upstream connections attempted: 0" in log


# ------------------------------------------------ the same, through the pytest plugin
PLUGIN_FLOW = """
import pytest
import requests
import stripe

KEY = "sk_test_" + "fakeConvPluginKey0123456789"


@pytest.mark.fc_cassette
def test_conversation(fc_proxy):
    v1 = fc_proxy.client(KEY).v1
    customer = v1.customers.create(params={"email": "jenny@example.test"})
    session = v1.financial_connections.sessions.create(params={
        "account_holder": {"type": "customer", "customer": customer.id},
        "permissions": ["balances", "payment_method"]})
    assert session.id == "fcsess_1FakeConv789"
    account = v1.financial_connections.accounts.retrieve("fca_1ExampleCredit1")
    assert account.category == "credit"
    pi = v1.payment_intents.create(params={"amount": 1099, "currency": "usd",
                                           "customer": customer.id,
                                           "payment_method_types": ["us_bank_account"]})
    assert pi.client_secret.startswith("pi_3FakeConv123_secret_")
    seti = v1.setup_intents.create(params={"customer": customer.id,
                                           "payment_method_types": ["us_bank_account"]})
    assert seti.client_secret.startswith("seti_1FakeConv456_secret_")


@pytest.mark.fc_cassette
def test_simulated_completion(fc_proxy):
    sessions = fc_proxy.client(KEY).v1.financial_connections.sessions
    s = sessions.create(params={"account_holder": {"type": "customer", "customer": "cus_x1"},
                                "permissions": ["balances"]})
    r = requests.post(f"{fc_proxy.url}/_simulator/financial_connections/sessions/{s.id}"
                      "/complete", data={"accounts": "2"},
                      headers={"Authorization": f"Bearer {KEY}"}, timeout=10)
    assert r.status_code == 200
    assert len(sessions.retrieve(s.id, params={"expand": ["accounts"]}).accounts.data) == 2
"""

PLUGIN_OTHER_HOST = """
import os

import pytest
import requests


@pytest.mark.fc_cassette("cassettes/test_flow/test_conversation.yaml")
def test_calls_another_host(fc_proxy):
    other = os.environ["OTHER_HOST"]
    r = requests.get(f"{other}/weather", proxies={"http": fc_proxy.proxy_url}, timeout=10)
    assert r.status_code == 400 and r.headers["Fc-Cassette-Miss"] == "out_of_scope"
"""


def _pytest(cwd: Path, *args: str, env: dict | None = None):
    from support import run_pytest

    return run_pytest(cwd, *args, env=env)


def test_the_conversation_through_the_pytest_plugin(upstream, tmp_path):
    """Recorded with --fc-record-mode=once (the Stripe flow against a local upstream, the
    completion call against a real simulator, through the proxy), then replayed offline;
    a call to another host is refused in replay and the report names it."""
    (tmp_path / "test_flow.py").write_text(PLUGIN_FLOW)
    done = _pytest(
        tmp_path,
        "test_flow.py::test_conversation",
        "--fc-record-mode=once",
        f"--fc-upstream={upstream}",
    )
    assert done.returncode == 0, done.stdout + done.stderr
    sim = start(["simulate", "--seed", "3"], tmp_path, "sim")
    try:
        done = _pytest(
            tmp_path,
            "test_flow.py::test_simulated_completion",
            "--fc-record-mode=once",
            f"--fc-upstream={sim.base}",
        )
        assert done.returncode == 0, done.stdout + done.stderr
    finally:
        sim.proc.stop()
    recorded = cio.load(tmp_path / "cassettes" / "test_flow" / "test_simulated_completion.yaml")
    assert any("/_simulator/" in i["request"]["path"] for i in recorded.interactions)

    # replay only (no upstream runs now): the flow passes; a call to another host (its
    # own file, the same pytest run) is a miss, so that test fails
    with _other_host() as other:
        (tmp_path / "test_other.py").write_text(PLUGIN_OTHER_HOST)
        done = _pytest(tmp_path, "test_flow.py", "test_other.py", env={"OTHER_HOST": other})
    host = other.removeprefix("http://")
    out = done.stdout
    assert done.returncode == 1 and "1 failed, 2 passed" in out, out + done.stderr
    assert [ln.split()[1] for ln in out.splitlines() if ln.startswith(("FAILED", "ERROR"))] == [
        "test_other.py::test_calls_another_host"
    ], out
    assert "GET 127.0.0.1/weather is outside fc-cassette's scope" in out  # the miss
    assert f"GET {host}/weather (refused: outside the scope" in out  # the warning


class _other_host:
    """A non-Stripe HTTP service on 127.0.0.1 (it must never be reached in replay)."""

    def __enter__(self) -> str:
        self.hits = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                outer.hits += 1
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
        assert self.hits == 0  # refused by the proxy, never forwarded

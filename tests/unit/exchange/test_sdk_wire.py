"""What the real stripe-python SDK puts on the wire decodes and validates with our models.

A plain loopback HTTP server captures the exact create and retrieve requests a real
``stripe.StripeClient`` sends; no proxy is involved.
"""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import stripe

from fc_cassette.exchange.formcodec import canonical, decode
from fc_cassette.stripe_api.models import (
    validate_create_params,
    validate_retrieve_params,
    validate_session,
)

SEED = json.loads((Path(__file__).parents[2] / "data" / "seed_session.json").read_text())
KEY = "sk_test_" + "fakeWireKey0123456789"


@pytest.fixture
def capture_server():
    captured: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def _answer(self):
            n = int(self.headers.get("Content-Length") or 0)
            captured.append(
                {
                    "method": self.command,
                    "path": self.path,
                    "headers": dict(self.headers),
                    "body": self.rfile.read(n),
                }
            )
            body = json.dumps(SEED).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Request-Id", "req_fake123")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _answer

        def log_message(self, *a):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    # shutdown() waits for the serving loop's next poll: 0.5 s by default, at each teardown
    t = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", captured
    server.shutdown()
    server.server_close()


def test_stripe_python_create_body_decodes_and_validates(capture_server):
    url, captured = capture_server
    client = stripe.StripeClient(KEY, base_addresses={"api": url}, max_network_retries=0)
    session = client.v1.financial_connections.sessions.create(
        params={
            "account_holder": {"type": "customer", "customer": "cus_fake123"},
            "permissions": ["balances", "payment_method"],
            "filters": {"countries": ["US"]},
            "prefetch": ["balances"],
            "limits": {"accounts": 3},
            "return_url": "https://example.test/return",
        }
    )
    assert session.id == SEED["id"]
    req = captured[0]
    assert req["method"] == "POST" and req["path"] == "/v1/financial_connections/sessions"
    raw = req["body"].decode()
    # stripe-python 16 sends lists indexed with literal brackets (NOTES.md)
    assert "permissions[0]=balances" in raw and "permissions[1]=payment_method" in raw
    assert req["headers"]["Idempotency-Key"]
    params = decode(req["body"])
    assert params == {
        "account_holder": {"type": "customer", "customer": "cus_fake123"},
        "permissions": ["balances", "payment_method"],
        "filters": {"countries": ["US"]},
        "prefetch": ["balances"],
        "limits": {"accounts": "3"},
        "return_url": "https://example.test/return",
    }
    report = validate_create_params(params)
    assert report.valid, report.errors
    # the same request in curl's empty-bracket style means the same thing
    curl_style = raw.replace("permissions[0]", "permissions[]").replace(
        "permissions[1]", "permissions[]"
    )
    assert canonical(decode(curl_style)) == canonical(params)


def test_stripe_python_retrieve_query_decodes_and_validates(capture_server):
    url, captured = capture_server
    client = stripe.StripeClient(KEY, base_addresses={"api": url}, max_network_retries=0)
    client.v1.financial_connections.sessions.retrieve(SEED["id"], params={"expand": ["accounts"]})
    path, _, query = captured[0]["path"].partition("?")
    assert path == f"/v1/financial_connections/sessions/{SEED['id']}"
    assert "%5B" in query  # brackets arrive percent-encoded in GET queries
    params = decode(query)
    assert params == {"expand": ["accounts"]}
    assert validate_retrieve_params(params).valid
    assert validate_session(SEED).drift == ["accounts.total_count"]

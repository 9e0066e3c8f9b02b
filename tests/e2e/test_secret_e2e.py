"""End to end (issue #14/#12): a real ``fc-cassette record`` process in front of a tiny
upstream written here (http.server on 127.0.0.1) that hands out PaymentIntent,
SetupIntent and FC Session client secrets, an ephemeral key, a webhook secret, a
client secret of no known shape, and quotes a client secret in an error message.
Neither the cassette nor the process log may hold any of them, in any encoding; a
live key sent as ``Basic<TAB>…`` never reaches the upstream; and ``fc-cassette
replay`` of the cassette serves a client that sends the placeholders back.

Every secret literal contains "fake" (the repo's key scanner skips those).
"""

from __future__ import annotations

import base64
import json
import random
import string
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from fc_cassette.cassette import store as cio
from fc_cassette.redact import scan
from support import encoded_forms, run_fc, start

_rnd = random.Random(20261201)


def _rand(n: int = 24) -> str:
    return "fake" + "".join(_rnd.choices(string.ascii_letters + string.digits, k=n))


KEY = "sk_test_" + _rand()
LIVE = "sk_live_" + _rand()
FC_ID, PI_ID, SETI_ID = "fcsess_1E2eFake", "pi_3E2eFake", "seti_1E2eFake"
FC_CS = f"{FC_ID}_secret_{_rand()}"
PI_CS = f"{PI_ID}_secret_{_rand()}"
SETI_CS = f"{SETI_ID}_secret_{_rand()}"
EK = "ek_test_" + _rand()
WHSEC = "whsec_" + _rand()
SHAPELESS = _rand(12)  # a client_secret with no known prefix
ALL = {
    "key": KEY,
    "fc": FC_CS,
    "pi": PI_CS,
    "seti": SETI_CS,
    "ek": EK,
    "whsec": WHSEC,
    "shapeless": SHAPELESS,
    "live": LIVE,
}


class Upstream(BaseHTTPRequestHandler):
    seen: list[tuple[str, str, str]] = []  # (method, path, authorization)

    def log_message(self, *args) -> None:  # quiet
        pass

    def _answer(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        self.rfile.read(length)
        Upstream.seen.append((self.command, self.path, self.headers.get("authorization", "")))
        path, query = urlsplit(self.path).path, parse_qs(urlsplit(self.path).query)
        status, body = 200, None
        if path == "/v1/financial_connections/sessions":
            body = {
                "id": FC_ID,
                "object": "financial_connections.session",
                "client_secret": FC_CS,
                "livemode": False,
            }
        elif path == "/v1/payment_intents":
            body = {"id": PI_ID, "object": "payment_intent", "client_secret": PI_CS}
        elif path == f"/v1/payment_intents/{PI_ID}":
            if query.get("client_secret") == [PI_CS]:
                body = {
                    "id": PI_ID,
                    "object": "payment_intent",
                    "status": "succeeded",
                    "client_secret": PI_CS,
                    "metadata": {"echo": {"deep": [PI_CS]}},
                }
            else:
                status, body = (
                    400,
                    {
                        "error": {
                            "type": "invalid_request_error",
                            "code": "resource_missing",
                            "message": f"The client_secret provided does not match: expected {PI_CS}",
                        }
                    },
                )
        elif path == "/v1/setup_intents":
            body = {"id": SETI_ID, "object": "setup_intent", "client_secret": SETI_CS}
        elif path == "/v1/ephemeral_keys":
            body = {"id": "ephkey_1Fake", "object": "ephemeral_key", "secret": EK}
        elif path == "/v1/webhook_endpoints":
            body = {"id": "we_1Fake", "object": "webhook_endpoint", "secret": WHSEC}
        elif path == "/v1/custom_widgets":
            body = {"id": "cw_1", "client_secret": SHAPELESS}
        else:
            status, body = (
                404,
                {
                    "error": {
                        "type": "invalid_request_error",
                        "message": f"Unrecognized request URL ({path})",
                    }
                },
            )
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = _answer


@pytest.fixture
def upstream():
    Upstream.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Upstream)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _flow(base: str, key: str, cs: dict[str, str]) -> dict[str, requests.Response]:
    """The app's conversation; ``cs`` are the client secrets it learned so far."""
    h = {"Authorization": f"Bearer {key}"}
    out = {}
    out["fc"] = requests.post(
        f"{base}/v1/financial_connections/sessions",
        headers=h,
        data={
            "account_holder[type]": "customer",
            "account_holder[customer]": "cus_fake1",
            "permissions[]": "balances",
        },
        timeout=10,
    )
    out["pi"] = requests.post(
        f"{base}/v1/payment_intents",
        headers=h,
        data={"amount": "100", "currency": "usd"},
        timeout=10,
    )
    pi_cs = cs.get("pi") or out["pi"].json()["client_secret"]
    out["pi_get"] = requests.get(
        f"{base}/v1/payment_intents/{PI_ID}", headers=h, params={"client_secret": pi_cs}, timeout=10
    )
    out["seti"] = requests.post(f"{base}/v1/setup_intents", headers=h, timeout=10)
    out["ek"] = requests.post(
        f"{base}/v1/ephemeral_keys", headers=h, data={"customer": "cus_fake1"}, timeout=10
    )
    out["we"] = requests.post(
        f"{base}/v1/webhook_endpoints",
        headers=h,
        data={"url": "https://example.test/hook"},
        timeout=10,
    )
    out["cw"] = requests.post(f"{base}/v1/custom_widgets", headers=h, timeout=10)
    return out


def _assert_nowhere(text: str, where: str) -> None:
    for name, value in ALL.items():
        forms = set(encoded_forms(value)) | {value.encode().hex(), value.rsplit("_", 1)[-1]}
        for form in forms:
            assert form not in text, f"{name} in {where} as {form[:10]}…"


def test_client_secrets_of_every_object_never_reach_disk_or_log_and_replay_matches(
    tmp_path, upstream
):
    config = tmp_path / "wide.yaml"
    config.write_text("scope:\n  paths:\n    - '^/v1/'\n")
    cassette = tmp_path / "flow.yaml"
    rec = start(
        [
            "record",
            str(cassette),
            "--upstream",
            upstream,
            "--config",
            str(config),
            "--record-mode",
            "all",
        ],
        tmp_path,
        "rec",
    )
    got = _flow(rec.base, KEY, {})
    assert {k: r.status_code for k, r in got.items()} == dict.fromkeys(got, 200)
    assert got["pi"].json()["client_secret"] == PI_CS  # the app sees the real thing
    # an error quoting a client secret, and a secret field sent by the client
    bad = requests.get(
        f"{rec.base}/v1/payment_intents/{PI_ID}",
        params={"client_secret": SHAPELESS},
        headers={"Authorization": f"Bearer {KEY}"},
        timeout=10,
    )
    assert bad.status_code == 400 and PI_CS in bad.json()["error"]["message"]
    # a live key behind "Basic<TAB>": refused by the proxy, never forwarded
    n = len(Upstream.seen)
    live = requests.post(
        f"{rec.base}/v1/payment_intents",
        timeout=10,
        headers={"Authorization": "Basic\t" + base64.b64encode(f"{LIVE}:".encode()).decode()},
    )
    assert live.status_code == 403
    assert live.json()["error"]["code"] == "fc_cassette_live_key_refused"
    assert len(Upstream.seen) == n
    assert rec.proc.stop() == 0

    text = cassette.read_text()
    _assert_nowhere(text, "the cassette")
    _assert_nowhere(rec.proc.output(), "the record log")
    assert scan(text) == []
    entries = cio.load(cassette).interactions
    assert len(entries) == 8
    bodies = [e["response"]["body"]["json"] for e in entries]
    assert bodies[0]["client_secret"] == f"{FC_ID}_secret_REDACTED_1"
    assert bodies[1]["client_secret"] == f"{PI_ID}_secret_REDACTED_2"
    # the same secret is the same placeholder in the query, the echo and the message
    assert entries[2]["request"]["query"] == {"client_secret": f"{PI_ID}_secret_REDACTED_2"}
    assert bodies[2]["metadata"]["echo"]["deep"] == [f"{PI_ID}_secret_REDACTED_2"]
    assert f"{PI_ID}_secret_REDACTED_2" in bodies[7]["error"]["message"]
    assert bodies[3]["client_secret"] == f"{SETI_ID}_secret_REDACTED_3"
    assert bodies[4]["secret"] == "ek_test_REDACTED_1"
    assert bodies[5]["secret"] == "whsec_REDACTED_1"
    shapeless_ph = bodies[6]["client_secret"]
    assert shapeless_ph.startswith("REDACTED_")
    assert entries[7]["request"]["query"] == {"client_secret": shapeless_ph}
    verify = run_fc(["verify", str(cassette)])
    assert "possible secret" not in verify.stdout + verify.stderr

    # replay offline, with another key: the client sends back what it was served
    rp = start(["replay", str(cassette), "--config", str(config)], tmp_path, "replay")
    other = "sk_test_" + _rand()
    again = _flow(rp.base, other, {})
    assert {k: r.status_code for k, r in again.items()} == dict.fromkeys(again, 200)
    served = again["pi"].json()["client_secret"]
    assert served == f"{PI_ID}_secret_REDACTED_2"
    assert again["pi_get"].json()["status"] == "succeeded"
    assert again["fc"].json()["client_secret"] == f"{FC_ID}_secret_REDACTED_1"
    # a miss whose request carries a real-looking secret does not log it
    wrong = _rand(14)
    miss = requests.get(
        f"{rp.base}/v1/payment_intents/{PI_ID}",
        timeout=10,
        params={"client_secret": wrong},
        headers={"Authorization": f"Bearer {other}"},
    )
    assert miss.status_code == 400 and wrong not in miss.text
    rp.proc.stop()
    log = rp.proc.output()
    assert wrong not in log and other not in log
    _assert_nowhere(log, "the replay log")

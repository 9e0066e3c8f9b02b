"""End to end: ``fc-cassette inspect`` (a real mitmdump, or mitmweb) in front of

- a loopback upstream serving realistic, fixed FC bodies (linked cash and credit
  accounts, expanded ownership, new fields, a 404 error, a gzip-encoded body, an
  invalid enum), driven by ``requests`` so the raw bytes can be compared;
- ``fc-cassette simulate``, driven by the stripe SDK.

Traffic must pass through unchanged (byte for byte, compression included), every FC
Session flow must be judged correctly in the log and in the ``--report`` JSON lines,
and no key or client secret may reach the log or the report, in any encoding.
"""

from __future__ import annotations

import gzip
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlencode

import pytest
import requests
import stripe

from inspect_cases import (
    BASIC_KEY,
    CLIENT_SECRET,
    KEY,
    ROUTES,
    SESSIONS,
    assert_no_secret,
    error as _error,
    json_bytes as _json_bytes,
    read_report,
)
from support import free_port, start

REPORT_KEYS = {"method", "path", "status", "request_valid", "response_valid", "errors", "drift"}


# ------------------------------------------------------------------ upstream bodies
BAD_CREATE = (
    400,
    {},
    _json_bytes(
        _error(
            400,
            "Invalid permissions[0]: must be one of balances, ownership, payment_method, or "
            "transactions",
            "permissions[0]",
        )
    ),
)


class Upstream:
    """A loopback HTTP server answering fixed bodies; remembers the exact bytes it sent."""

    def __init__(self):
        outer = self
        self.sent: list[tuple[str, str, bytes]] = []
        self.received: list[tuple[str, str, dict, bytes]] = []

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):  # keep the test output quiet
                pass

            def _answer(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                path = self.path.split("?", 1)[0]
                outer.received.append((self.command, self.path, dict(self.headers), body))
                status, headers, content = ROUTES.get(
                    (self.command, path),
                    (404, {}, _json_bytes(_error(404, "Unrecognized request URL"))),
                )
                if self.command == "POST" and b"permissions%5B0%5D=nope" in body:
                    status, headers, content = BAD_CREATE
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(content)))
                self.send_header("Request-Id", "req_fakeUpstream1")
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(content)
                outer.sent.append((self.command, self.path, content))

            do_GET = do_POST = do_DELETE = _answer

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def upstream():
    up = Upstream()
    yield up
    up.close()


# ------------------------------------------------------------ in front of a fixed upstream
NARROW_SCOPE = """\
scope:
  paths:
    - ^/v1/financial_connections/sessions$
    - ^/v1/financial_connections/sessions/[^/]+$
"""


def test_inspect_passes_bytes_through_and_judges_each_flow(upstream, tmp_path):
    report = tmp_path / "report.jsonl"
    config = tmp_path / "narrow.yaml"  # the scope narrowed back to FC Sessions
    config.write_text(NARROW_SCOPE)
    insp = start(
        ["inspect", "--upstream", upstream.base, "--report", str(report), "--config", str(config)],
        tmp_path,
        "inspect",
    )
    got: list[tuple[str, str, int, bytes]] = []
    with requests.Session() as http:
        http.headers["Authorization"] = f"Bearer {KEY}"

        def call(method, path, **kw):
            r = http.request(method, insp.base + path, stream=True, timeout=10, **kw)
            raw = r.raw.read(decode_content=False)
            got.append((method, path, r.status_code, raw))
            return r

        create_form = {
            "account_holder[type]": "customer",
            "account_holder[customer]": "cus_fakeInspect1",
            "permissions[0]": "balances",
            "permissions[1]": "ownership",
            "prefetch[0]": "balances",
            "return_url": f"https://example.test/return?cs={CLIENT_SECRET}",
        }
        call("POST", SESSIONS, data=create_form)
        call(
            "GET",
            f"{SESSIONS}/fcsess_fakeWithAccounts1",
            params={"expand[0]": "accounts.data.ownership"},
            auth=(BASIC_KEY, ""),
        )  # Basic credentials
        r = call("GET", f"{SESSIONS}/fcsess_fakeGzip1", headers={"Accept-Encoding": "gzip"})
        assert r.headers["Content-Encoding"] == "gzip"
        call("GET", f"{SESSIONS}/fcsess_fakeMissing1")
        call("GET", f"{SESSIONS}/fcsess_fakeBadEnum1")
        call("POST", SESSIONS, data={**create_form, "permissions[0]": "nope"})
        call("GET", f"{SESSIONS}/{CLIENT_SECRET}")
        call("GET", "/v1/customers/cus_fakeOutOfScope1")  # out of scope
    assert insp.proc.stop() == 0
    log = insp.proc.output()

    # 1. the client got exactly the bytes the upstream sent (gzip stayed gzip)
    sent = [(m, p.split("?", 1)[0], c) for m, p, c in upstream.sent]
    assert [(m, p, raw) for m, p, _, raw in got] == sent
    assert gzip.decompress(got[2][3]).startswith(b"{")
    # ... and the upstream got the request unchanged too (body, credentials)
    post = upstream.received[0]
    assert post[3].decode() == urlencode(create_form)
    assert post[2]["Authorization"] == f"Bearer {KEY}"
    assert upstream.received[1][2]["Authorization"].startswith("Basic ")

    # 2. one report line per in-scope flow, judged correctly
    lines = read_report(report)
    assert [(x["method"], x["path"], x["status"]) for x in lines] == [
        ("POST", SESSIONS, 200),
        ("GET", f"{SESSIONS}/fcsess_fakeWithAccounts1", 200),
        ("GET", f"{SESSIONS}/fcsess_fakeGzip1", 200),
        ("GET", f"{SESSIONS}/fcsess_fakeMissing1", 404),
        ("GET", f"{SESSIONS}/fcsess_fakeBadEnum1", 200),
        ("POST", SESSIONS, 400),
        ("GET", f"{SESSIONS}/fcsess_client_secret_REDACTED_1", 404),
    ]
    for x in lines:
        assert REPORT_KEYS <= set(x), x
        assert all(set(e) >= {"path", "message"} for e in x["errors"])
    create, accounts, gz, missing, bad_enum, bad_create, secret_path = lines
    assert (create["request_valid"], create["response_valid"]) == (True, True)
    assert create["errors"] == []
    assert create["drift"] == ["accounts.total_count", "brand_new_field"]
    assert create["session_id"] == "fcsess_fakeCreated1"

    assert (accounts["request_valid"], accounts["response_valid"]) == (True, True)
    assert accounts["drift"] == [] and accounts["errors"] == []
    assert accounts["session_id"] == "fcsess_fakeWithAccounts1"

    assert (gz["request_valid"], gz["response_valid"]) == (True, True)  # judged decoded
    assert gz["drift"] == ["accounts.total_count"]
    assert gz["session_id"] == "fcsess_fakeGzip1"

    # a 404 is judged as Stripe's error envelope, not as a Session
    assert (missing["request_valid"], missing["response_valid"]) == (True, True)
    assert missing["errors"] == [] and missing["drift"] == []
    assert missing["session_id"] == "fcsess_fakeMissing1"

    assert (bad_enum["request_valid"], bad_enum["response_valid"]) == (True, False)
    assert [e["path"] for e in bad_enum["errors"]] == ["accounts.data[1].category"]
    assert "'cash'" in bad_enum["errors"][0]["message"]

    assert (bad_create["request_valid"], bad_create["response_valid"]) == (False, True)
    assert [e["path"] for e in bad_create["errors"]] == ["permissions[0]"]
    assert "session_id" not in bad_create  # nothing identifies a session here

    assert (secret_path["request_valid"], secret_path["response_valid"]) == (True, True)
    assert secret_path["session_id"] == "fcsess_client_secret_REDACTED_1"

    # 3. one log line per flow (with verdicts and drift), and the shutdown summary
    flow_lines = [ln for ln in log.splitlines() if "fc-cassette inspect: " in ln]
    assert len(flow_lines) == 7, log
    assert any(
        f"POST {SESSIONS} 200 fcsess_fakeCreated1 request ✓ response ✓ drift: "
        "accounts.total_count, brand_new_field" in ln
        for ln in flow_lines
    ), log
    assert any(
        f"GET {SESSIONS}/fcsess_fakeBadEnum1 200 fcsess_fakeBadEnum1 request ✓ response ✗" in ln
        and "accounts.data[1].category" in ln
        for ln in flow_lines
    ), log
    assert any(
        f"GET {SESSIONS}/fcsess_fakeMissing1 404 fcsess_fakeMissing1 request ✓ response ✓" in ln
        for ln in flow_lines
    ), log
    assert any(
        f"POST {SESSIONS} 400 request ✗ response ✓" in ln and "permissions[0]" in ln
        for ln in flow_lines
    ), log
    assert "cus_fakeOutOfScope1" not in log
    assert ("summary: flows seen 7, invalid requests 1, invalid responses 1, drift fields 2") in log
    assert "drift: accounts.total_count (2x)" in log
    assert "drift: brand_new_field (1x)" in log

    # 4. no key or client secret, raw or encoded, in the log or the report
    assert_no_secret(log)
    assert_no_secret(report.read_text())


def test_report_file_that_cannot_be_written_is_one_line_before_listening(tmp_path, upstream):
    import subprocess

    from support import FC

    p = subprocess.run(
        [
            FC,
            "inspect",
            "--upstream",
            upstream.base,
            "--port",
            "0",
            "--report",
            str(tmp_path / "no" / "such" / "dir" / "r.jsonl"),
            "--set",
            f"confdir={tmp_path / 'conf'}",
        ],
        capture_output=True,
        text=True,
        timeout=30,
        stdin=subprocess.DEVNULL,
    )
    assert p.returncode != 0
    out = (p.stdout + p.stderr).strip()
    assert "cannot write the report" in out and "Traceback" not in out, out


# ------------------------------------------------------- in front of fc-cassette simulate
CREATE = {
    "account_holder": {"type": "customer", "customer": "cus_fakeInspectSim1"},
    "permissions": ["balances", "ownership", "payment_method"],
    "prefetch": ["balances", "ownership"],
    "return_url": "https://example.test/return",
}


def test_inspect_in_front_of_simulate_with_the_sdk(tmp_path):
    sim = start(["simulate", "--seed", "3"], tmp_path, "sim")
    report = tmp_path / "sim-report.jsonl"
    insp = start(["inspect", "--upstream", sim.base, "--report", str(report)], tmp_path, "inspect")
    try:
        sessions = insp.client(KEY).v1.financial_connections.sessions
        s = sessions.create(params=CREATE)
        secret = s.client_secret
        assert secret.startswith("fcsess_client_secret_") and "REDACTED" not in secret
        before = sessions.retrieve(s.id)
        insp.complete(s.id, KEY)  # /_simulator/: no model applies
        after = sessions.retrieve(s.id, params={"expand": ["accounts"]})
        assert len(before.accounts.data) == 0 and len(after.accounts.data) == 2
        assert [a.category for a in after.accounts.data] == ["cash", "credit"]
        with pytest.raises(stripe.InvalidRequestError) as missing:
            sessions.retrieve("fcsess_fakeNope1")
        assert missing.value.http_status == 404
        with pytest.raises(stripe.InvalidRequestError) as bad:
            sessions.create(params={**CREATE, "permissions": ["nope"]})
        assert bad.value.http_status == 400

        # bodies are byte-identical to what the simulator sends: the SDK's raw body, and a
        # raw GET through the proxy, against a direct GET of the same (unchanged) session
        auth = {"Authorization": f"Bearer {KEY}"}
        url = f"{SESSIONS}/{s.id}?expand[0]=accounts"
        direct = requests.get(sim.base + url, headers=auth, timeout=10)
        proxied = requests.get(insp.base + url, headers=auth, timeout=10)
        assert direct.status_code == proxied.status_code == 200
        assert proxied.content == direct.content
        assert after.last_response.body.encode() == direct.content
        assert json.loads(direct.content)["client_secret"] == secret
    finally:
        assert insp.proc.stop() == 0
        assert sim.proc.stop() == 0
    log = insp.proc.output()

    lines = read_report(report)
    got = [
        (x["method"], x["path"], x["status"], x["request_valid"], x["response_valid"])
        for x in lines
    ]
    assert got == [
        ("POST", SESSIONS, 200, True, True),
        ("GET", f"{SESSIONS}/{s.id}", 200, True, True),
        (
            "POST",
            f"/_simulator/financial_connections/sessions/{s.id}/complete",
            200,
            None,
            None,
        ),  # in scope, but no model applies
        ("GET", f"{SESSIONS}/{s.id}", 200, True, True),
        ("GET", f"{SESSIONS}/fcsess_fakeNope1", 404, True, True),
        ("POST", SESSIONS, 400, False, True),
        ("GET", f"{SESSIONS}/{s.id}", 200, True, True),
    ]
    assert lines[2]["model"] == "none"
    assert all(
        x.get("session_id") == s.id
        for x in lines
        if x["status"] == 200 and x.get("model") != "none"
    )
    assert lines[4]["session_id"] == "fcsess_fakeNope1"
    assert [e["path"] for e in lines[5]["errors"]] == ["permissions[0]"]
    # the simulator answers exactly the spec's fields: no drift (drift is proven above)
    assert [x["drift"] for x in lines] == [[]] * 7
    assert "summary: flows seen 7, invalid requests 1, invalid responses 0, drift fields 0" in log
    assert_no_secret(log, [KEY, secret])
    assert_no_secret(report.read_text(), [KEY, secret])


# --------------------------------------------------------------------------- mitmweb
def test_inspect_web_serves_the_ui_and_still_proxies(upstream, tmp_path):
    import mitmproxy.version

    # mitmweb's own port: bound and closed here (mitmweb logs no parseable line for it
    # before the proxy's); a clash would fail this test loudly, never pass it wrongly
    web_port = free_port()
    auth: dict[str, str] = {}
    extra: list[str] = []
    if int(mitmproxy.version.VERSION.split(".")[0]) >= 12:  # mitmweb 12 asks for a token
        extra = ["--set", "web_password=fake-example-token"]
        auth = {"Authorization": "Bearer fake-example-token"}
    insp = start(
        ["inspect", "--upstream", upstream.base, "--web", "--set", f"web_port={web_port}", *extra],
        tmp_path,
        "web",
    )
    try:
        ui = f"http://127.0.0.1:{web_port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                home = requests.get(ui + "/", headers=auth, timeout=5)
                break
            except requests.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        assert home.status_code == 200 and "mitmproxy" in home.text.lower()
        r = requests.get(
            f"{insp.base}{SESSIONS}/fcsess_fakeBadEnum1",
            headers={"Authorization": f"Bearer {KEY}"},
            timeout=10,
        )
        assert r.status_code == 200
        assert r.content == ROUTES[("GET", f"{SESSIONS}/fcsess_fakeBadEnum1")][2]
        # the flow in mitmweb carries our comment and marker
        flows = requests.get(ui + "/flows", headers=auth, timeout=5).json()
        ours = [f for f in flows if f["request"]["path"].endswith("fcsess_fakeBadEnum1")]
        assert len(ours) == 1
        assert ours[0]["comment"].startswith("fc-cassette: GET ")
        assert "response ✗" in ours[0]["comment"]
        assert ours[0]["marked"] == "❌"
    finally:
        code = insp.proc.stop()
    assert code == 0
    assert_no_secret(insp.proc.output())


# -------------------------------------------------- the addon hooks, in-process (taddons)

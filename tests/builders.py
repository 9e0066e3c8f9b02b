"""Builders shared by the tests: FC Session bodies, matcher requests, cassette entries and
mitmproxy flows. In-process only (no processes, no sockets); fixtures are in conftest.py,
process helpers in support.py."""

from __future__ import annotations

import json
import os
from pathlib import Path

from mitmproxy import http
from mitmproxy.test import tflow

from fc_cassette.cassette import store as cio

DATA = Path(__file__).resolve().parent / "data"
SESSIONS = "/v1/financial_connections/sessions"


def examples(n: int) -> int:
    """A property test's example count: ``n``, or a tenth of it (at least 10) when
    FC_TEST_QUICK is set (``scripts/test.sh --quick``, the inner loop). Full runs always
    use ``n``."""
    return max(10, n // 10) if os.environ.get("FC_TEST_QUICK") else n


# ------------------------------------------------------------------ FC Session bodies
def seed_session(sid: str | None = None, **fields) -> dict:
    """tests/data/seed_session.json (a fresh copy), with ``id`` and any field replaced."""
    body = json.loads((DATA / "seed_session.json").read_text())
    if sid is not None:
        body["id"] = sid
    body.update(fields)
    return body


def session_with_accounts(sid: str | None = None, **fields) -> dict:
    """tests/data/session_with_accounts.json: a credit account (expanded ownership, one
    owner) and a cash one; ``id`` and any field replaced."""
    body = json.loads((DATA / "session_with_accounts.json").read_text())
    if sid is not None:
        body["id"] = sid
    body.update(fields)
    return body


def small_session(sid: str, client_secret: str) -> dict:
    """A minimal valid FC Session body (no accounts)."""
    return {
        "id": sid,
        "object": "financial_connections.session",
        "livemode": False,
        "client_secret": client_secret,
        "permissions": ["balances"],
        "accounts": {
            "object": "list",
            "data": [],
            "has_more": False,
            "url": "/v1/financial_connections/accounts",
        },
        "account_holder": {"type": "customer", "customer": "cus_fake1"},
    }


# ------------------------------------------------------------ matcher requests/entries
def match_request(
    method: str = "POST",
    path: str = SESSIONS,
    form=None,
    query=None,
    headers=None,
    json_body=None,
    host: str = "api.stripe.com",
) -> dict:
    """A request as the matcher sees it (form or JSON body, or none)."""
    body = (
        {"form": form}
        if form is not None
        else {"json": json_body}
        if json_body is not None
        else None
    )
    return {
        "method": method,
        "path": path,
        "host": host,
        "query": query or {},
        "headers": headers or {},
        "body": body,
    }


def match_entry(seq: int, request: dict, status: int = 200) -> dict:
    """A recorded interaction around ``request`` with an empty response."""
    return {
        "seq": seq,
        "request": request,
        "response": {"status": status, "headers": {}, "body": None},
    }


def entry(request: dict | None = None, response: dict | None = None, **top) -> dict:
    """A whole cassette entry: a POST to the FC sessions path answered 200 with a small
    session JSON; ``request``/``response`` keys and top-level keys (seq, validation,
    duration_ms...) replace the defaults."""
    req = {
        "method": "POST",
        "scheme": "https",
        "host": "api.stripe.com",
        "port": 443,
        "path": SESSIONS,
        "query": {},
        "headers": {},
        "body": None,
    }
    resp = {
        "status": 200,
        "reason": "OK",
        "headers": {"Content-Type": "application/json"},
        "body": {"json": {"id": "fcsess_123", "object": "financial_connections.session"}},
    }
    req.update(request or {})
    resp.update(response or {})
    return {"seq": 1, "request": req, "response": resp, **top}


def queries(path) -> list[dict]:
    """The request query of each interaction in the cassette at ``path``."""
    return [i["request"]["query"] for i in cio.load(path).interactions]


# ------------------------------------------------------------------ mitmproxy flows
def make_flow(
    method: str,
    path: str,
    req_body: bytes = b"",
    req_headers=None,
    status: int = 200,
    resp_body: bytes = b"",
    resp_headers=None,
) -> http.HTTPFlow:
    """A flow with exactly these bytes on the wire (bodies as sent, e.g. gzip-encoded)."""
    req = http.Request.make(method, f"https://api.stripe.com{path}", b"")
    req.raw_content = req_body
    resp = http.Response.make(status, b"")
    resp.raw_content = resp_body
    # headers last: make() would drop a Content-Encoding it cannot apply to b""
    for message, headers in ((req, req_headers), (resp, resp_headers)):
        del message.headers["content-length"]
        for name, value in (headers or {}).items():
            message.headers[name] = value
    return tflow.tflow(req=req, resp=resp)


def json_flow(method: str, path: str, status: int, body: bytes, **req_kw) -> http.HTTPFlow:
    """A flow to api.stripe.com answered with ``body`` as application/json."""
    return tflow.tflow(
        req=http.Request.make(method, f"https://api.stripe.com{path}", **req_kw),
        resp=http.Response.make(status, body, {"Content-Type": "application/json"}),
    )


def session_flow(sid: str, session: dict, n: int) -> http.HTTPFlow:
    """``GET .../sessions/SID?n=N`` answered 200 with ``session``: one distinct exchange
    per ``n``."""
    return json_flow("GET", f"{SESSIONS}/{sid}?n={n}", 200, json.dumps(session).encode())


def record_flow(record, flow: http.HTTPFlow) -> http.HTTPFlow:
    """Pass ``flow`` through an addon's request and response hooks, as mitmproxy would."""
    record.request(flow)
    record.response(flow)
    return flow


# ------------------------------------------------------------------ the CLI, parsed only
def cli_args(*argv):
    """``fc-cassette ARGV`` parsed (no process)."""
    from fc_cassette.cli import app as cli

    return cli.build_parser().parse_args(list(argv))


def mitm_options(*argv) -> dict[str, list[str]]:
    """The mitmproxy ``--set`` options ``fc-cassette ARGV`` passes on, by name."""
    from fc_cassette.cli import app as cli

    out: dict[str, list[str]] = {}
    flat = cli.mitm_arguments(cli_args(*argv))
    assert flat[::2] == ["--set"] * (len(flat) // 2)
    for spec in flat[1::2]:
        name, _, value = spec.partition("=")
        out.setdefault(name, []).append(value)
    return out


def write_cassette(path, sid: str, n: int = 1) -> str:
    """A real cassette at ``path``: ``n`` retrieves of session ``sid`` (fsync off)."""
    from fc_cassette.cassette import store as cio

    w = cio.Writer(path, fsync=False)
    for _ in range(n):
        w.append(
            {
                "request": {
                    "method": "GET",
                    "path": f"/v1/financial_connections/sessions/{sid}",
                    "query": {},
                    "headers": {},
                    "body": None,
                },
                "response": {
                    "status": 200,
                    "headers": {"Content-Type": "application/json"},
                    "body": {"json": {"id": sid}},
                },
            }
        )
    w.close()
    return str(path)

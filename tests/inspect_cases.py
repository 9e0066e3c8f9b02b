"""The inspect tests' shared data: FC bodies with planted secrets, Stripe error bodies,
the report reader and the no-secret check (tests/unit/mitm/test_inspect.py and
tests/e2e/test_inspect_e2e.py)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from builders import seed_session, session_with_accounts
from support import encoded_forms

SESSIONS = "/v1/financial_connections/sessions"
KEY = "sk_test_" + "fakeInspectKey0123456789"
BASIC_KEY = "rk_test_" + "fakeInspectBasic0123456789"
CLIENT_SECRET = "fcsess_client_secret_" + "fakeInspectSecret0123"
SECRETS = [KEY, BASIC_KEY, CLIENT_SECRET]


def session(sid: str, **extra) -> dict:
    return seed_session(
        sid,
        client_secret=CLIENT_SECRET,
        return_url=f"https://example.test/return?cs={CLIENT_SECRET}",
        **extra,
    )


def with_accounts(sid: str) -> dict:
    """A session with a credit account (expanded ownership, one owner) and a cash one."""
    return session_with_accounts(sid, client_secret=CLIENT_SECRET)


def bad_enum(sid: str) -> dict:
    body = with_accounts(sid)
    body["accounts"]["data"][1]["category"] = "savings_bond"  # not in the spec's enum
    return body


def error(status: int, message: str, param: str | None = None, code: str | None = None) -> dict:
    err = {
        "message": message,
        "type": "invalid_request_error",
        "request_log_url": "https://dashboard.stripe.com/test/logs/req_fakeInspect1",
    }
    if param:
        err["param"] = param
    if code:
        err["code"] = code
        err["doc_url"] = f"https://stripe.com/docs/error-codes/{code.replace('_', '-')}"
    return {"error": err}


def json_bytes(obj) -> bytes:
    return (json.dumps(obj, indent=2) + "\n").encode()


CREATED = session("fcsess_fakeCreated1", brand_new_field={"enabled": True})


ROUTES: dict[tuple[str, str], tuple[int, dict[str, str], bytes]] = {
    ("POST", SESSIONS): (200, {}, json_bytes(CREATED)),
    ("GET", f"{SESSIONS}/fcsess_fakeWithAccounts1"): (
        200,
        {},
        json_bytes(with_accounts("fcsess_fakeWithAccounts1")),
    ),
    ("GET", f"{SESSIONS}/fcsess_fakeGzip1"): (
        200,
        {"Content-Encoding": "gzip"},
        gzip.compress(json_bytes(session("fcsess_fakeGzip1")), mtime=0),
    ),
    ("GET", f"{SESSIONS}/fcsess_fakeMissing1"): (
        404,
        {},
        json_bytes(
            error(
                404,
                "No such financialconnections.session: 'fcsess_fakeMissing1'",
                "session",
                "resource_missing",
            )
        ),
    ),
    ("GET", f"{SESSIONS}/fcsess_fakeBadEnum1"): (
        200,
        {},
        json_bytes(bad_enum("fcsess_fakeBadEnum1")),
    ),
    ("GET", f"{SESSIONS}/{CLIENT_SECRET}"):  # a client secret used as an id by mistake
    (
        404,
        {},
        json_bytes(
            error(
                404,
                f"No such financialconnections.session: '{CLIENT_SECRET}'",
                "session",
                "resource_missing",
            )
        ),
    ),
    ("GET", "/v1/customers/cus_fakeOutOfScope1"): (
        200,
        {},
        json_bytes({"id": "cus_fakeOutOfScope1", "object": "customer"}),
    ),
}


def read_report(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def assert_no_secret(text: str, secrets=SECRETS):
    for s in secrets:
        for leaked in encoded_forms(s):
            assert leaked not in text, f"{leaked!r} leaked"

"""Unit tests of the pure simulator (fc_cassette.simulator), no mitmproxy involved."""

from __future__ import annotations

import base64
import json
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from builders import examples
from fc_cassette.simulator import (
    DEFAULT_STRIPE_VERSION,
    SimResponse,
    Simulator,
    bracket_param,
    mask_key,
)
from fc_cassette.stripe_api.models import validate_error, validate_response, validate_session

KEY = "sk_test_" + "fakeSimKey123456789"
OTHER_KEY = "rk_test_" + "fakeOtherKey98765"
AUTH = {"Authorization": f"Bearer {KEY}"}
CREATE = "/v1/financial_connections/sessions"
BASIC_BODY = (
    b"account_holder[type]=customer&account_holder[customer]=cus_fake123"
    b"&permissions[0]=balances&permissions[1]=ownership"
)


def checked(resp: SimResponse) -> dict:
    """Parse a response and assert it is what Stripe could send (per the project's models)."""
    assert isinstance(resp, SimResponse)
    assert resp.headers["Content-Type"] == "application/json"
    assert resp.headers["Request-Id"].startswith("req_")
    assert resp.headers["Cache-Control"] == "no-cache, no-store"
    assert resp.headers["Stripe-Version"]
    obj = json.loads(resp.body)
    assert resp.body == json.dumps(obj, indent=2).encode()
    report = validate_response(resp.status, obj)
    assert report.valid, (resp.status, report.errors, obj)
    if resp.status == 200:
        assert validate_session(obj).valid
    else:
        assert validate_error(obj).valid
    return obj


class Client:
    def __init__(self, sim: Simulator | None = None, headers: dict | None = None):
        self.sim = sim or Simulator(accept_unknown_customers=True, seed=1)
        self.headers = dict(AUTH if headers is None else headers)

    def call(
        self,
        method: str,
        path: str,
        query: str = "",
        body: bytes | str = b"",
        headers: dict | None = None,
    ) -> tuple[SimResponse, dict]:
        if isinstance(body, str):
            body = body.encode()
        resp = self.sim.handle(method, path, query, {**self.headers, **(headers or {})}, body)
        return resp, checked(resp)

    def create(self, body: bytes | str = BASIC_BODY, **kw) -> tuple[SimResponse, dict]:
        return self.call("POST", CREATE, body=body, **kw)

    def retrieve(self, sid: str, query: str = "", **kw) -> tuple[SimResponse, dict]:
        return self.call("GET", f"{CREATE}/{sid}", query=query, **kw)

    def complete(self, sid: str, body: bytes | str = b"", **kw) -> tuple[SimResponse, dict]:
        return self.call(
            "POST", f"/_simulator/financial_connections/sessions/{sid}/complete", body=body, **kw
        )


@pytest.fixture
def client() -> Client:
    return Client()


def error_of(status_obj: tuple[SimResponse, dict], status: int) -> dict:
    resp, obj = status_obj
    assert resp.status == status, obj
    return obj["error"]


# ----------------------------------------------------------------------------- create
def test_create_returns_full_session(client):
    resp, s = client.create()
    assert resp.status == 200
    assert s["id"].startswith("fcsess_") and len(s["id"]) == len("fcsess_") + 24
    assert s["id"][7:].isalnum()
    assert s["client_secret"].startswith("fcsess_client_secret_")
    assert len(s["client_secret"]) == len("fcsess_client_secret_") + 24
    assert s["object"] == "financial_connections.session"
    assert s["livemode"] is False
    assert s["account_holder"] == {"customer": "cus_fake123", "type": "customer"}
    assert s["permissions"] == ["balances", "ownership"]
    assert s["limits"] == {"accounts": 100}
    assert s["prefetch"] == []  # issue #14: [] as in all of Stripe's fixtures
    assert "filters" not in s and "return_url" not in s and "manual_entry" not in s
    assert s["accounts"] == {
        "object": "list",
        "data": [],
        "has_more": False,
        "url": "/v1/financial_connections/accounts",
    }
    assert list(s)[:2] == ["id", "object"]
    assert resp.headers["Stripe-Version"] == DEFAULT_STRIPE_VERSION


def test_create_curl_style_brackets_equal_indexed(client):
    body = (
        "account_holder[type]=customer&account_holder[customer]=cus_fake123"
        "&permissions[]=payment_method&permissions[]=balances"
    )
    resp, s = client.create(body)
    assert resp.status == 200
    assert s["permissions"] == ["payment_method", "balances"]


def test_create_echoes_optional_params(client):
    body = (
        "account_holder[type]=account&account_holder[account]=acct_fake1"
        "&permissions[0]=transactions&prefetch[0]=transactions&prefetch[1]=balances"
        "&filters[countries][0]=US&filters[account_subcategories][0]=savings"
        "&filters[require_payment_method_support]=none"
        "&limits[accounts]=5&manual_entry[mode]=automatic"
        "&return_url=https%3A%2F%2Fexample.com%2Fdone&expand[0]=accounts"
    )
    resp, s = client.create(body)
    assert resp.status == 200
    assert s["account_holder"] == {"account": "acct_fake1", "type": "account"}
    assert s["prefetch"] == ["transactions", "balances"]
    assert s["filters"] == {
        "account_subcategories": ["savings"],
        "countries": ["US"],
        "require_payment_method_support": "none",
    }
    assert s["limits"] == {"accounts": 5}
    assert s["manual_entry"] == {"mode": "automatic"}
    assert s["return_url"] == "https://example.com/done"


def test_create_accepts_sdk_16_country_string(client):
    resp, s = client.create(BASIC_BODY + b"&filters[country]=US")
    assert resp.status == 200
    assert s["filters"] == {"country": "US"}


def test_create_empty_limit_means_default(client):
    resp, s = client.create(BASIC_BODY + b"&limits[accounts]=")
    assert resp.status == 200
    assert s["limits"] == {"accounts": 100}


def test_create_customer_account_holder_via_customer_account(client):
    body = (
        b"account_holder[type]=customer&account_holder[customer_account]=acct_fake9"
        b"&permissions[0]=balances"
    )
    resp, s = client.create(body)
    assert resp.status == 200
    assert s["account_holder"] == {"customer_account": "acct_fake9", "type": "customer"}


def test_create_params_in_query_string_are_merged(client):
    resp, s = client.call(
        "POST", CREATE, query="return_url=https%3A%2F%2Fexample.com", body=BASIC_BODY
    )
    assert resp.status == 200 and s["return_url"] == "https://example.com"


# --------------------------------------------------------------------- create errors
@pytest.mark.parametrize(
    "body, code, param, message",
    [
        (
            "account_holder[type]=customer&account_holder[customer]=cus_fake1",
            "parameter_missing",
            "permissions",
            "Missing required param: permissions.",
        ),
        (
            "permissions[0]=balances",
            "parameter_missing",
            "account_holder",
            "Missing required param: account_holder.",
        ),
        (
            "account_holder[customer]=cus_fake1&permissions[0]=balances",
            "parameter_missing",
            "account_holder[type]",
            "Missing required param: account_holder[type].",
        ),
        (
            "account_holder[type]=customer&permissions[0]=balances",
            "parameter_missing",
            "account_holder[customer]",
            "Missing required param: account_holder[customer].",
        ),
        (
            "account_holder[type]=account&permissions[0]=balances",
            "parameter_missing",
            "account_holder[account]",
            "Missing required param: account_holder[account].",
        ),
        (
            "account_holder[type]=customer&account_holder[customer]=&permissions[0]=balances",
            "parameter_missing",
            "account_holder[customer]",
            "Missing required param: account_holder[customer].",
        ),
        (
            BASIC_BODY.decode() + "&foo=1",
            "parameter_unknown",
            "foo",
            "Received unknown parameter: foo",
        ),
        (
            BASIC_BODY.decode() + "&account_holder[nickname]=x",
            "parameter_unknown",
            "account_holder[nickname]",
            "Received unknown parameter: account_holder[nickname]",
        ),
        (
            BASIC_BODY.decode() + "&limits[accounts]=abc",
            "parameter_invalid_integer",
            "limits[accounts]",
            "Invalid integer: abc",
        ),
        (
            BASIC_BODY.decode() + "&limits[foo]=1",
            "parameter_unknown",
            "limits[foo]",
            "Received unknown parameter: limits[foo]",
        ),
    ],
)
def test_create_stripe_errors(client, body, code, param, message):
    err = error_of(client.create(body), 400)
    assert err == {
        "code": code,
        "doc_url": "https://stripe.com/docs/error-codes/" + code.replace("_", "-"),
        "message": message,
        "param": param,
        "type": "invalid_request_error",
    }


@pytest.mark.parametrize(
    "body, param, message",
    [
        (
            "account_holder[type]=customer&account_holder[customer]=cus_fake1"
            "&permissions[0]=balances&permissions[1]=cash",
            "permissions[1]",
            "Invalid permissions[1]: must be one of balances, ownership, "
            "payment_method, or transactions",
        ),
        (
            "account_holder[type]=customer&account_holder[customer]=cus_fake1&permissions[]=nope",
            "permissions[0]",
            "Invalid permissions[0]: must be one of "
            "balances, ownership, payment_method, or transactions",
        ),
        (
            "account_holder[type]=person&permissions[0]=balances",
            "account_holder[type]",
            "Invalid account_holder[type]: must be one of account or customer",
        ),
        (
            BASIC_BODY.decode() + "&prefetch[0]=payment_method",
            "prefetch[0]",
            "Invalid prefetch[0]: must be one of balances, ownership, or transactions",
        ),
        (
            BASIC_BODY.decode() + "&manual_entry[mode]=sometimes",
            "manual_entry[mode]",
            "Invalid manual_entry[mode]: must be one of automatic or disabled",
        ),
        (
            BASIC_BODY.decode() + "&filters[account_subcategories][0]=crypto",
            "filters[account_subcategories][0]",
            "Invalid filters[account_subcategories][0]: must be one of checking, credit_card, "
            "line_of_credit, mortgage, or savings",
        ),
    ],
)
def test_create_enum_errors_use_bracket_params(client, body, param, message):
    err = error_of(client.create(body), 400)
    assert err["param"] == param
    assert err["message"] == message
    assert err["type"] == "invalid_request_error"


def test_create_shape_errors(client):
    assert (
        error_of(client.create("account_holder=x&permissions[0]=balances"), 400)["param"]
        == "account_holder"
    )
    assert (
        error_of(
            client.create(
                "account_holder[type]=customer&account_holder[customer]=cus_fake1&permissions=x"
            ),
            400,
        )["message"]
        == "Invalid array"
    )
    err = error_of(
        client.create(
            "account_holder[type]=customer&account_holder[customer]=nobody&permissions[0]=balances"
        ),
        404,
    )  # issue #23: a customer that does not exist, whatever its shape
    assert err["code"] == "resource_missing" and err["param"] == "account_holder[customer]"
    err = error_of(
        client.create(
            "account_holder[type]=customer&account_holder[customer]=cus_fake1"
            "&account_holder[account]=acct_fake1&permissions[0]=balances"
        ),
        400,
    )
    assert err["param"] == "account_holder[account]"
    err = error_of(client.create(BASIC_BODY + b"&limits[accounts]=101"), 400)
    assert err["param"] == "limits[accounts]"
    err = error_of(client.create(BASIC_BODY + b"&expand[0]=client_secret"), 400)
    assert "cannot be expanded" in err["message"]


def test_form_decode_errors_are_400_with_codec_message(client):
    err = error_of(client.create(b"permissions[0=balances"), 400)
    assert "malformed parameter name" in err["message"]
    err = error_of(client.create(b"\xff\xfe\x00"), 400)
    assert "UTF-8" in err["message"]
    err = error_of(client.create(b"permissions[99999999]=balances"), 400)
    assert "larger than" in err["message"]


def test_json_body_is_refused(client):
    err = error_of(
        client.create(
            b'{"permissions": ["balances"]}', headers={"Content-Type": "application/json"}
        ),
        400,
    )
    assert "Content-Type" in err["message"]


def test_bracket_param_conversion():
    assert bracket_param("account_holder.type") == "account_holder[type]"
    assert bracket_param("permissions[1]") == "permissions[1]"
    assert bracket_param("filters.countries[0]") == "filters[countries][0]"
    assert bracket_param("a.b.c") == "a[b][c]"
    assert bracket_param("") == ""


def test_validation_failures_are_not_state_changes(client):
    other = Client()
    client.create(b"foo=1")
    # a failed create consumed a request id but no clock tick and no session
    _, a = client.create()
    _, b = other.create()
    assert a["id"] != b["id"]  # the rng moved (request id), as documented
    assert len(client.sim._sessions) == 1


# --------------------------------------------------------------------------- retrieve
def test_retrieve_returns_stored_session_with_encoded_expand(client):
    _, s = client.create()
    resp, got = client.retrieve(s["id"], query="expand%5B0%5D=accounts")
    assert resp.status == 200
    assert got == s
    resp, got = client.retrieve(s["id"], query="expand[]=accounts")
    assert resp.status == 200 and got == s


def test_retrieve_unknown_id_is_404(client):
    err = error_of(client.retrieve("fcsess_fakeMissing1"), 404)
    assert err == {
        "code": "resource_missing",
        "doc_url": "https://stripe.com/docs/error-codes/resource-missing",
        "message": "No such financialconnections.session: 'fcsess_fakeMissing1'",
        "param": "session",
        "type": "invalid_request_error",
    }
    err = error_of(client.retrieve("not-an-id%2F%FF"), 404)
    assert err["code"] == "resource_missing"


def test_retrieve_unknown_query_param_is_400(client):
    _, s = client.create()
    err = error_of(client.retrieve(s["id"], query="limit=3"), 400)
    assert err["code"] == "parameter_unknown" and err["param"] == "limit"


# ---------------------------------------------------------------------------- routing
@pytest.mark.parametrize(
    "method, path",
    [
        ("GET", "/v1/foo"),
        ("GET", CREATE),  # no list endpoint
        ("DELETE", f"{CREATE}/fcsess_fake1"),
        ("POST", f"{CREATE}/fcsess_fake1"),  # no update endpoint
        ("GET", "/_simulator/financial_connections/sessions/fcsess_fake1/complete"),
        ("PUT", CREATE),
        ("GET", "/"),
        ("POST", CREATE + "/"),
    ],
)
def test_unknown_paths_and_wrong_methods_are_404(client, method, path):
    err = error_of(client.call(method, path), 404)
    assert err["type"] == "invalid_request_error"
    assert err["message"].startswith(f"Unrecognized request URL ({method}: {path})")


# ------------------------------------------------------------------------------- auth
def basic(key: str) -> str:
    return "Basic " + base64.b64encode(f"{key}:".encode()).decode()


def test_basic_auth_accepted():
    c = Client(headers={"Authorization": basic(KEY)})
    resp, _ = c.create()
    assert resp.status == 200
    c = Client(headers={"authorization": f"Bearer {OTHER_KEY}"})  # case-insensitive
    assert c.create()[0].status == 200


@pytest.mark.parametrize(
    "headers, needle",
    [
        ({}, "You did not provide an API key"),
        ({"Authorization": ""}, "You did not provide an API key"),
        ({"Authorization": "Bearer "}, "You did not provide an API key"),
        ({"Authorization": basic("")}, "You did not provide an API key"),
        ({"Authorization": "Bearer sk_test_"}, "Invalid API Key provided"),
        ({"Authorization": "Bearer sk_test_fake-Key!#1234567"}, "Invalid API Key provided"),
        ({"Authorization": "Bearer not_a_fake_key_at_all"}, "Invalid API Key provided"),
        ({"Authorization": "Basic !!!notbase64"}, "Invalid API Key provided"),
        ({"Authorization": "Token sk_test_fakeKey12345678"}, "Invalid API Key provided"),
        (
            {"Authorization": "Bearer pk_test_fakePublishable123"},
            "cannot be made with a publishable API key",
        ),
        (
            {"Authorization": "Bearer pk_live_fakePublishable123"},
            "cannot be made with a publishable API key",
        ),
        ({"Authorization": "Bearer sk_live_fakeLiveKey1234567"}, "only accepts test-mode"),
        ({"Authorization": basic("rk_live_fakeLiveKey1234567")}, "only accepts test-mode"),
    ],
)
def test_auth_failures_are_401(headers, needle):
    c = Client(headers=headers)
    for resp, obj in (
        c.create(),
        c.retrieve("fcsess_fake1"),
        c.call("GET", "/v1/foo"),
        c.complete("fcsess_fake1"),
    ):
        assert resp.status == 401
        assert obj["error"]["type"] == "invalid_request_error"
        assert needle in obj["error"]["message"]


def test_keys_are_masked_never_echoed():
    for key in (
        "sk_test_fake-SecretAbcdefghijkl",
        "sk_live_fakeSecretAbcdefghijkl",
        "sk_test_fake$Secret_Abcdefghijkl",
        "fake_totally_unknown_shape_1234",
    ):
        c = Client(headers={"Authorization": f"Bearer {key}"})
        resp, obj = c.create()
        assert resp.status == 401
        assert key not in resp.body.decode()
        assert key[8:] not in resp.body.decode()
    assert mask_key("sk_test_fakeKeyabcd") == "sk_test_****abcd"
    assert mask_key("sk_test_short") == "sk_test_****"
    assert mask_key("x") == "****"


def test_auth_is_checked_before_routing():
    c = Client(headers={})
    assert c.call("GET", "/nope")[0].status == 401


# ------------------------------------------------------------------------- completion
def test_complete_links_cash_and_credit_accounts(client):
    body = (
        b"account_holder[type]=customer&account_holder[customer]=cus_fake123"
        b"&permissions[0]=balances&permissions[1]=ownership"
        b"&permissions[2]=payment_method&prefetch[0]=balances&prefetch[1]=ownership"
    )
    _, s = client.create(body)
    before_resp, before = client.retrieve(s["id"])
    resp, done = client.complete(s["id"])
    assert resp.status == 200
    after_resp, after = client.retrieve(s["id"])
    assert before["accounts"]["data"] == []
    assert before_resp.body != after_resp.body
    assert after == done
    accounts = after["accounts"]["data"]
    assert len(accounts) == 2
    cash, credit = accounts
    for a in accounts:
        assert a["id"].startswith("fca_") and a["id"][4:].isalnum()
        assert a["object"] == "financial_connections.account"
        assert a["account_holder"] == s["account_holder"]
        assert a["permissions"] == s["permissions"]
        assert a["status"] == "active" and a["livemode"] is False
        assert a["institution_name"] == "StripeBank"
        assert len(a["last4"]) == 4 and a["last4"].isdigit()
        assert a["ownership"].startswith("fcaowns_")
        assert a["ownership_refresh"]["status"] == "succeeded"
        assert a["balance_refresh"]["status"] == "succeeded"
        assert a["subscriptions"] == [] and a["transaction_refresh"] is None
        assert a["account_numbers"] is None
        assert a["created"] >= 1767225600
    assert (cash["category"], cash["subcategory"]) == ("cash", "checking")
    assert cash["balance"]["type"] == "cash"
    assert set(cash["balance"]["cash"]["available"]) == {"usd"}
    assert set(cash["balance"]["current"]) == {"usd"}
    assert cash["supported_payment_method_types"] == ["us_bank_account"]
    assert (credit["category"], credit["subcategory"]) == ("credit", "credit_card")
    assert credit["balance"]["type"] == "credit"
    assert credit["balance"]["credit"]["used"]["usd"] > 0
    assert credit["supported_payment_method_types"] == []


def test_complete_without_prefetch_or_ownership(client):
    body = (
        b"account_holder[type]=customer&account_holder[customer]=cus_fake123"
        b"&permissions[0]=transactions&prefetch[0]=transactions"
    )
    _, s = client.create(body)
    _, done = client.complete(s["id"], b"accounts=3")
    accounts = done["accounts"]["data"]
    assert [a["subcategory"] for a in accounts] == ["checking", "credit_card", "checking"]
    for a in accounts:
        assert a["balance"] is None and a["balance_refresh"] is None
        assert a["ownership"] is None and a["ownership_refresh"] is None
        assert a["supported_payment_method_types"] == []
        assert a["transaction_refresh"]["id"].startswith("fctxnref_")


def test_complete_honours_limit_and_subcategory_filter(client):
    _, s = client.create(BASIC_BODY + b"&limits[accounts]=1")
    _, done = client.complete(s["id"], b"accounts=5")
    assert len(done["accounts"]["data"]) == 1
    _, s = client.create(
        BASIC_BODY + b"&filters[account_subcategories][0]=savings"
        b"&filters[account_subcategories][1]=mortgage"
    )
    _, done = client.complete(s["id"], b"accounts=3")
    assert [(a["category"], a["subcategory"]) for a in done["accounts"]["data"]] == [
        ("cash", "savings"),
        ("credit", "mortgage"),
        ("cash", "savings"),
    ]


def test_complete_errors(client):
    _, s = client.create()
    err = error_of(client.complete(s["id"], b"accounts=abc"), 400)
    assert err["code"] == "parameter_invalid_integer" and err["param"] == "accounts"
    err = error_of(client.complete(s["id"], b"accounts=0"), 400)
    assert err["param"] == "accounts"
    err = error_of(client.complete(s["id"], b"foo=1"), 400)
    assert err["code"] == "parameter_unknown"
    err = error_of(client.complete("fcsess_fakeMissing"), 404)
    assert err["code"] == "resource_missing"
    assert client.complete(s["id"])[0].status == 200
    err = error_of(client.complete(s["id"]), 400)
    assert "already been completed" in err["message"]


# ------------------------------------------------------------------------ idempotency
def test_idempotent_replay_is_byte_identical(client):
    first, s = client.create(headers={"Idempotency-Key": "fake-idem-1"})
    # curl-style brackets and another key order decode to the same params: a replay
    again, s2 = client.create(
        b"permissions[]=balances&permissions[]=ownership"
        b"&account_holder[customer]=cus_fake123&account_holder[type]=customer",
        headers={"idempotency-key": "fake-idem-1"},
    )
    assert again.status == 200
    assert again.body == first.body
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["Original-Request"] == first.headers["Request-Id"]
    assert "Idempotent-Replayed" not in first.headers
    assert len(client.sim._sessions) == 1


def test_idempotency_mismatch_is_400(client):
    client.create(headers={"Idempotency-Key": "fake-idem-2"})
    resp, obj = client.create(
        BASIC_BODY + b"&return_url=https%3A%2F%2Fexample.com",
        headers={"Idempotency-Key": "fake-idem-2"},
    )
    assert resp.status == 400
    assert obj["error"]["type"] == "idempotency_error"
    assert obj["error"]["message"] == (
        "Keys for idempotent requests can only be used with the same parameters they were "
        "first used with. Try using a key other than 'fake-idem-2' if you meant to execute "
        "a different request."
    )


def test_idempotency_scoped_per_api_key_and_endpoint(client):
    first, s = client.create(headers={"Idempotency-Key": "fake-idem-3"})
    other, s2 = client.create(
        headers={"Idempotency-Key": "fake-idem-3", "Authorization": f"Bearer {OTHER_KEY}"}
    )
    assert other.status == 200 and s2["id"] != s["id"]
    resp, obj = client.complete(s["id"], headers={"Idempotency-Key": "fake-idem-3"})
    assert resp.status == 400 and obj["error"]["type"] == "idempotency_error"


def test_failed_validation_is_not_stored(client):
    assert client.create(b"foo=1", headers={"Idempotency-Key": "fake-idem-4"})[0].status == 400
    assert client.create(headers={"Idempotency-Key": "fake-idem-4"})[0].status == 200


def test_complete_replay_with_same_key(client):
    _, s = client.create()
    first, _ = client.complete(s["id"], headers={"Idempotency-Key": "fake-idem-5"})
    again, _ = client.complete(s["id"], headers={"Idempotency-Key": "fake-idem-5"})
    assert again.body == first.body and again.headers["Idempotent-Replayed"] == "true"
    assert client.complete(s["id"])[0].status == 400


# ------------------------------------------------------------------------ determinism
def run_script(seed: int) -> list[tuple[int, dict, bytes]]:
    c = Client(Simulator(accept_unknown_customers=True, seed=seed))
    out = []
    _, s = c.create()
    for resp, _ in (
        c.retrieve(s["id"]),
        c.complete(s["id"]),
        c.retrieve(s["id"]),
        c.create(b"foo=1"),
        c.retrieve("fcsess_fakeNope"),
        c.create(headers={"Idempotency-Key": "fake-k"}),
        c.create(headers={"Idempotency-Key": "fake-k"}),
    ):
        out.append((resp.status, resp.headers, resp.body))
    return out


def test_same_seed_same_bytes_different_seed_different_ids():
    a, b, c = run_script(7), run_script(7), run_script(8)
    assert a == b
    assert [x[2] for x in a] != [x[2] for x in c]
    ids_a = json.loads(a[0][2])["id"]
    ids_c = json.loads(c[0][2])["id"]
    assert ids_a != ids_c


def test_clock_advances_per_state_change():
    c = Client(Simulator(accept_unknown_customers=True, seed=3, clock_start=1_800_000_000))
    _, s1 = c.create()
    _, s2 = c.create()
    _, done = c.complete(s2["id"])
    assert {a["created"] for a in done["accounts"]["data"]} == {1_800_000_002}


def test_stripe_version_echo_and_validation(client):
    resp, _ = client.create(headers={"Stripe-Version": "2024-06-20"})
    assert resp.headers["Stripe-Version"] == "2024-06-20"
    resp, _ = client.create(headers={"stripe-version": "2025-01-27.acacia; fake_beta=v1"})
    assert resp.status == 200
    resp, obj = client.create(headers={"Stripe-Version": "yesterday\r\nX: y"})
    assert resp.status == 400 and resp.headers["Stripe-Version"] == DEFAULT_STRIPE_VERSION


# -------------------------------------------------------------------------- robustness
def test_internal_error_is_500_api_error(client, monkeypatch):
    def boom(*a, **k):
        raise RuntimeError("simulated bug")

    monkeypatch.setattr(client.sim, "_create", boom)
    resp, obj = client.create()
    assert resp.status == 500 and obj["error"]["type"] == "api_error"


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"&&&",
        b"=",
        b"=x",
        b"a[",
        b"]]]",
        b"permissions[0][x]=1&permissions[0]=2",
        b"account_holder[type][]=customer&permissions[0]=balances",
        b"account_holder[type]=customer&account_holder[customer][x]=1&permissions[0]=balances",
        b"permissions[10000]=balances&account_holder[type]=customer&account_holder[customer]=cus_f",
        b"a" + b"[b]" * 40 + b"=1",
        b"%ff%fe=1",
        b"x=%ff",
        b"\x00\x01\x02",
        b"\xc3\x28=1",
        b"permissions=balances&permissions[0]=ownership",
        b"limits=5&account_holder[type]=customer&account_holder[customer]=cus_f&permissions[0]=balances",
        b"expand=accounts&account_holder[type]=customer&account_holder[customer]=cus_f&permissions[0]=balances",
        b"return_url[]=x&account_holder[type]=customer&account_holder[customer]=cus_f&permissions[0]=balances",
        b"return_url="
        + b"x" * 6000
        + b"&account_holder[type]=customer&account_holder[customer]=cus_f"
        b"&permissions[0]=balances",
        b"&".join(b"f%d=1" % i for i in range(10_001)),
        b"x" * (1 << 20) + b"y",
    ],
)
def test_garbage_bodies_never_raise(client, body):
    resp, obj = client.create(body)
    assert resp.status in (200, 400, 413)
    resp, obj = client.complete("fcsess_fake1", body)
    assert resp.status in (200, 400, 404, 413)


# 100 requests a run (300 took 2.5 s of tests/unit, 150 took 0.8 s; issue #25), random
# each run (not derandomized): CI runs keep drawing new ones
@settings(max_examples=examples(100), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    method=st.sampled_from(["GET", "POST", "DELETE", "get", "PATCH", "\x00"]),
    path=st.one_of(
        st.sampled_from(
            [
                CREATE,
                CREATE + "/fcsess_x",
                "/_simulator/x",
                "/_simulator/financial_connections/sessions/x/complete",
            ]
        ),
        st.text(max_size=80),
    ),
    query=st.text(max_size=80),
    body=st.binary(max_size=200),
    headers=st.dictionaries(
        st.sampled_from(
            [
                "Authorization",
                "authorization",
                "Idempotency-Key",
                "Stripe-Version",
                "Content-Type",
                "X-Other",
            ]
        ),
        st.one_of(st.just(f"Bearer {KEY}"), st.text(max_size=40)),
        max_size=4,
    ),
)
def test_fuzz_handle_never_raises_and_always_validates(method, path, query, body, headers):
    sim = Simulator(accept_unknown_customers=True, seed=0)
    resp = sim.handle(method, path, query, headers, body)
    obj = checked(resp)
    assert resp.status in (200, 400, 401, 404, 413)
    if resp.status == 500:  # pragma: no cover - would be a bug
        pytest.fail(json.dumps(obj))


# 100 parameter lists a run (200 took 0.7 s of tests/unit, issue #25), random each run
@settings(max_examples=examples(100), deadline=None)
@given(
    pairs=st.lists(
        st.tuples(
            st.sampled_from(
                [
                    "permissions[]",
                    "permissions[0]",
                    "permissions[1]",
                    "prefetch[]",
                    "account_holder[type]",
                    "account_holder[customer]",
                    "account_holder[account]",
                    "filters[countries][]",
                    "filters[country]",
                    "limits[accounts]",
                    "manual_entry[mode]",
                    "return_url",
                    "expand[]",
                    "filters[require_payment_method_support]",
                    "unknown",
                ]
            ),
            st.sampled_from(
                [
                    "balances",
                    "ownership",
                    "payment_method",
                    "transactions",
                    "customer",
                    "account",
                    "cus_fake1",
                    "acct_fake1",
                    "US",
                    "3",
                    "",
                    "x",
                    "automatic",
                    "accounts",
                    "all",
                ]
            ),
        ),
        max_size=10,
    )
)
def test_fuzz_create_params_always_validate(pairs):
    sim = Simulator(accept_unknown_customers=True, seed=0)
    body = "&".join(f"{k}={quote(v)}" for k, v in pairs).encode()
    resp = sim.handle("POST", CREATE, "", AUTH, body)
    obj = checked(resp)
    assert resp.status in (200, 400)
    if resp.status == 200:
        done = sim.handle(
            "POST",
            f"/_simulator/financial_connections/sessions/{obj['id']}/complete",
            "",
            AUTH,
            b"accounts=3",
        )
        assert done.status == 200
        checked(done)

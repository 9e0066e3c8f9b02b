"""Matching: data equality of requests, recorded order, exhaustion, explanations."""

from builders import match_entry, match_request
from fc_cassette.matching.matcher import Matcher, Miss
from fc_cassette.settings.config import MatchRules

req, it = match_request, match_entry


CREATE = {
    "account_holder": {"type": "customer", "customer": "cus_1"},
    "permissions": ["balances", "payment_method"],
}


def test_form_bodies_match_as_data_and_volatile_headers_are_ignored():
    m = Matcher(
        [it(1, req(form=CREATE, headers={"Idempotency-Key": "a", "Authorization": "x"}))],
        MatchRules(),
    )
    live = req(
        form={
            "permissions": ["balances", "payment_method"],
            "account_holder": {"customer": "cus_1", "type": "customer"},
        },
        headers={"Idempotency-Key": "b", "Authorization": "y", "User-Agent": "z"},
        host="127.0.0.1",
    )
    got = m.take(live)
    assert not isinstance(got, Miss) and got["seq"] == 1


def test_identical_requests_get_recordings_in_order_then_exhaust():
    get = req("GET", "/v1/financial_connections/sessions/fcsess_1")
    m = Matcher([it(1, get), it(2, req(form=CREATE)), it(3, get)], MatchRules())
    assert m.take(get)["seq"] == 1
    assert m.take(get)["seq"] == 3
    miss = m.take(get)
    assert isinstance(miss, Miss) and miss.reason == "exhausted"
    assert "recorded 2 times, this is call 3" in miss.message
    assert [i["seq"] for i in m.unused()] == [2]


def test_repeat_last_option():
    get = req("GET", "/v1/financial_connections/sessions/fcsess_1")
    m = Matcher([it(1, get), it(2, get)], MatchRules(), repeat_last=True)
    assert [m.take(get)["seq"] for _ in range(4)] == [1, 2, 2, 2]


def test_miss_names_closest_recording_and_field_difference():
    m = Matcher(
        [it(1, req(form=CREATE)), it(2, req("GET", "/v1/financial_connections/sessions/fcsess_1"))],
        MatchRules(),
    )
    changed = {**CREATE, "permissions": ["balances", "transactions"]}
    miss = m.take(req(form=changed))
    assert isinstance(miss, Miss) and miss.reason == "unmatched"
    assert "closest is interaction 1" in miss.message
    assert "form.permissions[1]: recorded 'payment_method', got 'transactions'" in miss.message


def test_miss_for_missing_and_extra_parameters():
    m = Matcher([it(1, req(form={**CREATE, "return_url": "https://a.test"}))], MatchRules())
    miss = m.take(req(form={**CREATE, "prefetch": ["balances"]}))
    assert "form.return_url: recorded 'https://a.test', got nothing" in miss.message
    assert "form.prefetch[0]: recorded nothing, got 'balances'" in miss.message


def test_chosen_headers_and_ignored_params_and_host():
    rules = MatchRules(headers=["stripe-account"], ignore_params=["return_url"])
    m = Matcher(
        [it(1, req(form={**CREATE, "return_url": "a"}, headers={"Stripe-Account": "acct_1"}))],
        rules,
    )
    assert isinstance(
        m.take(req(form={**CREATE, "return_url": "b"}, headers={"stripe-account": "acct_2"})), Miss
    )
    assert (
        m.take(req(form={**CREATE, "return_url": "b"}, headers={"stripe-account": "acct_1"}))["seq"]
        == 1
    )
    hosty = Matcher([it(1, req(form=CREATE))], MatchRules(match_host=True))
    assert isinstance(hosty.take(req(form=CREATE, host="127.0.0.1")), Miss)


def test_query_matches_as_data():
    path = "/v1/financial_connections/sessions/fcsess_1"
    m = Matcher([it(1, req("GET", path, query={"expand": ["accounts"]}))], MatchRules())
    assert m.take(req("GET", path, query={"expand": ["accounts"]}))["seq"] == 1
    miss = Matcher([it(1, req("GET", path, query={"expand": ["accounts"]}))], MatchRules()).take(
        req("GET", path)
    )
    assert "query.expand[0]: recorded 'accounts', got nothing" in miss.message


def test_placeholder_in_request_matches_recorded_placeholder():
    path = "/v1/financial_connections/sessions/fcsess_1"
    q = {"client_secret": "fcsess_client_secret_REDACTED_1"}
    m = Matcher([it(1, req("GET", path, query=q))], MatchRules())
    assert m.take(req("GET", path, query=dict(q)))["seq"] == 1


def test_large_index_lookup_does_not_scan():
    many = [
        it(i, req("GET", f"/v1/financial_connections/sessions/fcsess_{i}")) for i in range(1, 5001)
    ]
    m = Matcher(many, MatchRules())
    m._norms = []  # a hit must not need the scan list (only misses explain)
    assert m.take(req("GET", "/v1/financial_connections/sessions/fcsess_4321"))["seq"] == 4321

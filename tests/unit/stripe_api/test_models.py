"""Tests for fc_cassette.models: Stripe FC Session schemas, drift and error reports."""

from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from builders import examples
from fc_cassette.stripe_api import models
from fc_cassette.stripe_api.models import (
    ID_PATTERNS,
    Account,
    ErrorEnvelope,
    Owner,
    Ownership,
    Report,
    Session,
    validate_create_params,
    validate_error,
    validate_response,
    validate_retrieve_params,
    validate_session,
)

DATA = Path(__file__).parents[2] / "data"


def load(name: str):
    return json.loads((DATA / name).read_text())


@pytest.fixture
def seed():
    return load("seed_session.json")


@pytest.fixture
def rich():
    """A session with filters.country, a credit account with expanded ownership, a cash account."""
    return load("session_with_accounts.json")


@pytest.fixture
def api_error():
    return load("error_resource_missing.json")


def paths(report: Report) -> list[str]:
    return [e["path"] for e in report.errors]


def error_at(report: Report, path: str) -> dict:
    found = [e for e in report.errors if e["path"] == path]
    assert found, f"no error at {path!r}: {report.errors}"
    return found[0]


BASE_CREATE = {
    "account_holder": {"type": "customer", "customer": "cus_ExampleCust123"},
    "permissions": ["balances", "payment_method"],
}


# ------------------------------------------------------------------------- seed example
def test_seed_example_validates_and_reports_total_count_as_drift(seed):
    report = validate_session(seed)
    assert report.valid is True
    assert report.errors == []
    assert report.drift == ["accounts.total_count"]
    assert report.as_dict() == {"valid": True, "errors": [], "drift": ["accounts.total_count"]}


def test_seed_client_secret_is_a_placeholder(seed):
    # the repo's secret scanner only tolerates obviously fake client secrets
    secret = seed["client_secret"]
    assert ID_PATTERNS["client_secret"].match(secret)
    tail = secret[len("fcsess_client_secret_") :]
    assert "fake" in tail or "example" in tail


def test_seed_parses_into_models(seed):
    session = Session.model_validate(seed)
    assert session.id == seed["id"]
    assert session.account_holder.type == "customer"
    assert session.accounts.data == []
    assert session.filters.countries == ["US"]
    assert session.model_extra == {}
    assert session.accounts.model_extra == {"total_count": 0}


# ------------------------------------------------------------- drift-tolerant valid cases
def test_filters_country_string_validates(seed):
    seed["filters"] = {"country": "US"}
    report = validate_session(seed)
    assert report.valid, report.errors
    assert "filters.country" not in report.drift
    assert Session.model_validate(seed).filters.country == "US"


def test_filters_country_and_countries_together_and_nulls(seed):
    seed["filters"] = {"country": "US", "countries": None, "account_subcategories": None}
    assert validate_session(seed).valid


def test_filters_country_must_be_a_string(seed):
    seed["filters"] = {"country": ["US"]}
    report = validate_session(seed)
    assert not report.valid
    assert paths(report) == ["filters.country"]


def test_credit_balance_and_expanded_ownership_validate(rich):
    report = validate_session(rich)
    assert report.valid, report.errors
    assert report.drift == []
    session = Session.model_validate(rich)
    credit, cash = session.accounts.data
    assert isinstance(credit, Account)
    assert credit.balance.type == "credit"
    assert credit.balance.credit.used == {"usd": 12345}
    assert credit.balance.current == {"usd": -12345}
    assert isinstance(credit.ownership, Ownership)
    assert isinstance(credit.ownership.owners.data[0], Owner)
    assert credit.ownership.owners.data[0].id == "fcaown_1ExampleOwner1"
    # unexpanded ownership stays an ID string
    assert cash.ownership == "fcaowns_1ExampleOwns2"
    # stripe-python 16.1.0 account_numbers status
    assert cash.account_numbers[0].status == "expired"


@pytest.mark.parametrize("status", ["deactivated", "expired", "pending", "transactable"])
def test_account_number_status_accepts_sdk_values(rich, status):
    rich["accounts"]["data"][1]["account_numbers"][0]["status"] = status
    assert validate_session(rich).valid


def test_expanded_account_holder_customer_object_is_accepted(seed):
    seed["account_holder"]["customer"] = {"id": "cus_ExampleCust123", "object": "customer"}
    report = validate_session(seed)
    assert report.valid, report.errors
    # external schema: its keys are not ours to call drift
    assert report.drift == ["accounts.total_count"]


def test_unknown_fields_are_drift_collapsed_deduplicated_sorted(rich):
    for account in rich["accounts"]["data"]:
        account["new_field"] = 1
        account.setdefault("balance", {})
    rich["accounts"]["data"][0]["balance"]["zeta"] = True
    rich["accounts"]["data"][0]["ownership"]["owners"]["data"][0]["nickname"] = "x"
    rich["zz_top"] = {"nested": 1}
    rich["filters"]["alpha"] = 1
    report = validate_session(rich)
    assert report.valid, report.errors
    assert report.drift == [
        "accounts.data[].balance.zeta",
        "accounts.data[].new_field",
        "accounts.data[].ownership.owners.data[].nickname",
        "filters.alpha",
        "zz_top",
    ]


def test_drift_is_reported_even_when_invalid(seed):
    seed["brand_new"] = 1
    del seed["livemode"]
    report = validate_session(seed)
    assert not report.valid
    assert report.drift == ["accounts.total_count", "brand_new"]


# --------------------------------------------------------------------- required/nullable
@pytest.mark.parametrize(
    "field",
    [
        "display_name",
        "last4",
        "ownership",
        "balance",
        "account_numbers",
        "permissions",
        "subscriptions",
        "transaction_refresh",
        "account_holder",
    ],
)
def test_optional_nullable_account_fields_accept_null_and_absence(rich, field):
    account = rich["accounts"]["data"][0]
    account[field] = None
    assert validate_session(rich).valid
    del account[field]
    assert validate_session(rich).valid


@pytest.mark.parametrize("field", ["status_details"])
def test_optional_non_nullable_account_field_rejects_null(rich, field):
    rich["accounts"]["data"][1][field] = None
    report = validate_session(rich)
    assert paths(report) == [f"accounts.data[1].{field}"]
    del rich["accounts"]["data"][1][field]
    assert validate_session(rich).valid


@pytest.mark.parametrize("field", ["filters", "limits", "manual_entry", "return_url"])
def test_optional_non_nullable_session_fields_reject_null(seed, field):
    seed[field] = None
    report = validate_session(seed)
    assert paths(report) == [field]


@pytest.mark.parametrize("field", ["client_secret", "prefetch", "account_holder"])
def test_optional_nullable_session_fields(seed, field):
    seed[field] = None
    assert validate_session(seed).valid
    del seed[field]
    assert validate_session(seed).valid


@pytest.mark.parametrize(
    "field",
    [
        "category",
        "created",
        "id",
        "institution_name",
        "livemode",
        "object",
        "status",
        "subcategory",
        "supported_payment_method_types",
    ],
)
def test_required_account_fields(rich, field):
    del rich["accounts"]["data"][0][field]
    report = validate_session(rich)
    assert report.errors == [{"path": f"accounts.data[0].{field}", "message": "Field required"}]


# ------------------------------------------------------------------------ failing cases
def test_invalid_enum_has_indexed_path(seed):
    seed["permissions"] = ["balances", "nope"]
    report = validate_session(seed)
    assert report.valid is False
    assert report.errors == [
        {
            "path": "permissions[1]",
            "message": "Input should be 'balances', 'ownership', 'payment_method' or 'transactions'",
        }
    ]


def test_invalid_nested_enum_keeps_real_indices(rich):
    rich["accounts"]["data"][0]["balance"]["type"] = "debit"
    rich["accounts"]["data"][1]["account_numbers"][0]["supported_networks"] = ["ach", "wire"]
    report = validate_session(rich)
    assert paths(report) == [
        "accounts.data[0].balance.type",
        "accounts.data[1].account_numbers[0].supported_networks[1]",
    ]
    assert (
        error_at(report, "accounts.data[0].balance.type")["message"]
        == "Input should be 'cash' or 'credit'"
    )


def test_missing_livemode(seed):
    del seed["livemode"]
    report = validate_session(seed)
    assert report.errors == [{"path": "livemode", "message": "Field required"}]


@pytest.mark.parametrize(
    "mutate, path",
    [
        (lambda s: s.__setitem__("livemode", "false"), "livemode"),
        (lambda s: s.__setitem__("livemode", 0), "livemode"),
        (lambda s: s["accounts"].__setitem__("has_more", "no"), "accounts.has_more"),
        (lambda s: s["accounts"].__setitem__("data", {}), "accounts.data"),
        (lambda s: s.__setitem__("permissions", "balances"), "permissions"),
        (lambda s: s.__setitem__("limits", {"accounts": "5"}), "limits.accounts"),
        (lambda s: s.__setitem__("limits", {"accounts": True}), "limits.accounts"),
        (lambda s: s.__setitem__("account_holder", {"type": "company"}), "account_holder.type"),
        (lambda s: s.__setitem__("account_holder", {"customer": "cus_X"}), "account_holder.type"),
        (lambda s: s.__setitem__("object", "financial_connections.account"), "object"),
        (lambda s: s["accounts"].__setitem__("url", "/v1/customers"), "accounts.url"),
        (lambda s: s["accounts"].__setitem__("object", "search_result"), "accounts.object"),
        (lambda s: s["filters"].__setitem__("countries", "US"), "filters.countries"),
    ],
)
def test_wrong_values_fail_with_exact_path(seed, mutate, path):
    mutate(seed)
    report = validate_session(seed)
    assert report.valid is False
    assert paths(report) == [path]


@pytest.mark.parametrize(
    "mutate, path",
    [
        (
            lambda a: a["balance"]["current"].__setitem__("usd", "100"),
            "accounts.data[0].balance.current.usd",
        ),
        (
            lambda a: a["balance"]["current"].__setitem__("usd", 1.5),
            "accounts.data[0].balance.current.usd",
        ),
        (
            lambda a: a["balance"]["credit"].__setitem__("used", []),
            "accounts.data[0].balance.credit.used",
        ),
        (lambda a: a.__setitem__("created", "1700000000"), "accounts.data[0].created"),
        (lambda a: a.__setitem__("ownership", 5), "accounts.data[0].ownership"),
        (
            lambda a: a["ownership"]["owners"]["data"][0].__delitem__("name"),
            "accounts.data[0].ownership.owners.data[0].name",
        ),
        (
            lambda a: a["balance_refresh"].__setitem__("status", "done"),
            "accounts.data[0].balance_refresh.status",
        ),
        (
            lambda a: a.__setitem__("status_details", {"active": {"action": "none"}}),
            "accounts.data[0].status_details.active.cause",
        ),
    ],
)
def test_wrong_account_values_fail_with_exact_path(rich, mutate, path):
    mutate(rich["accounts"]["data"][0])
    report = validate_session(rich)
    assert report.valid is False
    assert path in paths(report), report.errors


def test_id_or_object_message_is_human(rich):
    rich["accounts"]["data"][0]["ownership"] = 5
    report = validate_session(rich)
    assert report.errors == [
        {
            "path": "accounts.data[0].ownership",
            "message": "Input should be an ID string or an object",
        }
    ]


# ----------------------------------------------------------------------------- IDs
def test_session_id_of_another_shape_is_drift_not_invalid(seed):
    """Issue #26, item 15: the spec gives ids no pattern; ours reports, never refuses."""
    seed["id"] = "fcsess_client_secret_examplefakeAbc123"
    report = validate_session(seed)
    assert report.valid, report.errors
    assert "id (not an fcsess_ id)" in report.drift


@pytest.mark.parametrize(
    "value",
    [
        "fcsess_client_secret_examplefakeAbc123",
        "fcsess_client_secret_REDACTED_1",
        "fcsess_client_secret_" + "x" * 300,
    ],
)
def test_client_secret_placeholders_validate(seed, value):
    seed["client_secret"] = value
    assert validate_session(seed).valid


@pytest.mark.parametrize(
    "value",
    [
        "fcsess_1ExampleSessAbc123_secret_456",
        "fcsess_123_secret_456",
        "fcsess_client_secret_",
        "cs_fake",
        "fcsess_client_secret_fake-1",
        "",
    ],
)
def test_client_secret_of_any_shape_is_valid(seed, value):
    """Issue #14: the spec gives no pattern and Stripe's own fixtures write
    ``fcsess_..._secret_...``: a shape mismatch is never invalid (nor drift)."""
    seed["client_secret"] = value
    report = validate_session(seed)
    assert report.valid and "client_secret" not in report.drift, report.errors


@pytest.mark.parametrize("value", [123, True, ["fcsess_client_secret_x"], {"x": 1}])
def test_client_secret_must_be_a_string(seed, value):
    seed["client_secret"] = value
    assert paths(validate_session(seed)) == ["client_secret"]


@pytest.mark.parametrize("value", ["fcsess_a", "fcsess_" + "A1" * 200])
def test_session_ids_have_no_fixed_length(seed, value):
    seed["id"] = value
    assert validate_session(seed).valid


@pytest.mark.parametrize(
    "value",
    ["fcsess_", "fcsess_abc\n", " fcsess_abc", "fcsess_abc-def", "xfcsess_abc", "fca_abc", ""],
)
def test_session_id_pattern_is_anchored_and_reports_drift(seed, value):
    seed["id"] = value
    report = validate_session(seed)
    assert report.valid and "id (not an fcsess_ id)" in report.drift, report


@pytest.mark.parametrize(
    "mutate, drift",
    [
        (
            lambda a: a.__setitem__("ownership", "fcaown_1NotAnOwnership"),
            "accounts.data[].ownership (not an fcaowns_ id)",
        ),
        (
            lambda a: a["ownership"].__setitem__("id", "fcaown_1Wrong"),
            "accounts.data[].ownership.id (not an fcaowns_ id)",
        ),
        (
            lambda a: a["ownership"].__setitem__("id", ""),  # stripe-mock's expanded ownership
            "accounts.data[].ownership.id (not an fcaowns_ id)",
        ),
        (
            lambda a: a["ownership"]["owners"]["data"][0].__setitem__("id", "fcaowns_1Wrong"),
            "accounts.data[].ownership.owners.data[].id (not an fcaown_ id)",
        ),
        (lambda a: a.__setitem__("id", "fcsess_1Wrong"), "accounts.data[].id (not an fca_ id)"),
    ],
)
def test_ids_of_another_shape_are_drift_not_invalid(rich, mutate, drift):
    """Issue #26, item 15: our id patterns are never stricter than Stripe's spec."""
    mutate(rich["accounts"]["data"][0])
    report = validate_session(rich)
    assert report.valid, report.errors
    assert report.drift == [drift]


@pytest.mark.parametrize(
    "kind, good, bad",
    [
        ("session", "fcsess_1Abc", "fcsess_client_secret_abc"),
        ("client_secret", "fcsess_client_secret_REDACTED_1", "fcsess_1Abc"),
        ("account", "fca_1Abc", "fcaowns_1Abc"),
        ("ownership", "fcaowns_1Abc", "fcaown_1Abc"),
        ("owner", "fcaown_1Abc", "fcaowns_1Abc"),
        ("customer", "cus_1Abc", "acct_1Abc"),
        ("stripe_account", "acct_1Abc", "cus_1Abc"),
    ],
)
def test_exported_id_patterns(kind, good, bad):
    assert ID_PATTERNS[kind].match(good)
    assert not ID_PATTERNS[kind].match(bad)


def test_response_account_holder_ids(seed):
    seed["account_holder"] = {"type": "customer", "customer": "acct_1Wrong"}
    report = validate_session(seed)
    assert report.valid and "account_holder.customer (not an cus_ id)" in report.drift
    seed["account_holder"] = {"type": "account", "account": "acct_1Right"}
    report = validate_session(seed)
    assert report.valid and not [d for d in report.drift if "account_holder" in d]
    seed["account_holder"] = {"type": "account", "account": "cus_1Wrong"}
    assert "account_holder.account (not an acct_ id)" in validate_session(seed).drift


# --------------------------------------------------------------------------- create params
FORM_CREATE = {
    "account_holder": {"type": "customer", "customer": "cus_ExampleCust123"},
    "permissions": ["balances", "ownership", "payment_method", "transactions"],
    "filters": {
        "countries": ["US"],
        "account_subcategories": ["checking", "savings"],
        "require_payment_method_support": "at_least_one",
    },
    "limits": {"accounts": "5"},
    "manual_entry": {"mode": "automatic"},
    "prefetch": ["balances", "ownership"],
    "return_url": "https://example.com/return",
    "expand": ["accounts"],
}


def test_create_params_from_form_strings_validate():
    report = validate_create_params(copy.deepcopy(FORM_CREATE))
    assert report.as_dict() == {"valid": True, "errors": [], "drift": []}
    parsed = models.CreateParams.model_validate(FORM_CREATE)
    assert parsed.limits.accounts == 5


@pytest.mark.parametrize("value, expected", [("5", 5), ("", ""), (7, 7), ("0", 0), ("100", 100)])
def test_create_limits_accounts_int_string_or_empty(value, expected):
    params = dict(BASE_CREATE, limits={"accounts": value})
    assert validate_create_params(params).valid
    assert models.CreateParams.model_validate(params).limits.accounts == expected


@pytest.mark.parametrize("value", ["5.0", "five", " 5", "true", True, None, ["5"], {}, 5.0])
def test_create_limits_accounts_rejects_non_integers(value):
    report = validate_create_params(dict(BASE_CREATE, limits={"accounts": value}))
    assert report.errors == [
        {"path": "limits.accounts", "message": "Input should be an integer or an empty string"}
    ]


def test_create_limits_accounts_is_required_inside_limits():
    report = validate_create_params(dict(BASE_CREATE, limits={}))
    assert report.errors == [{"path": "limits.accounts", "message": "Field required"}]


def test_create_filters_country_single_string_accepted():
    params = dict(BASE_CREATE, filters={"country": "US"})
    assert validate_create_params(params).as_dict() == {"valid": True, "errors": [], "drift": []}


def test_create_params_decoded_from_a_real_form_body():
    formcodec = pytest.importorskip("fc_cassette.exchange.formcodec")
    body = (
        "account_holder[type]=customer&account_holder[customer]=cus_ExampleCust123"
        "&permissions[0]=balances&permissions[1]=payment_method"
        "&filters[countries][]=US&limits[accounts]=5&expand[]=accounts"
    )
    assert validate_create_params(formcodec.decode(body)).valid
    body_empty_limit = "account_holder[type]=account&account_holder[account]=acct_1Ex&permissions[]=ownership&limits[accounts]="
    assert validate_create_params(formcodec.decode(body_empty_limit)).valid


def test_create_without_account_holder_fails():
    report = validate_create_params({"permissions": ["balances"]})
    assert report.errors == [{"path": "account_holder", "message": "Field required"}]


def test_create_without_permissions_fails():
    report = validate_create_params({"account_holder": {"type": "customer"}})
    assert report.errors == [{"path": "permissions", "message": "Field required"}]


@pytest.mark.parametrize(
    "params, path",
    [
        (dict(BASE_CREATE, permissions=["balances", "nope"]), "permissions[1]"),
        (dict(BASE_CREATE, permissions="balances"), "permissions"),
        (dict(BASE_CREATE, account_holder={"type": "person"}), "account_holder.type"),
        (dict(BASE_CREATE, account_holder={"customer": "cus_1"}), "account_holder.type"),
        (dict(BASE_CREATE, account_holder="cus_1"), "account_holder"),
        (dict(BASE_CREATE, prefetch=["payment_method"]), "prefetch[0]"),
        (
            dict(BASE_CREATE, filters={"account_subcategories": ["checking", "other"]}),
            "filters.account_subcategories[1]",
        ),
        (
            dict(BASE_CREATE, filters={"require_payment_method_support": "true"}),
            "filters.require_payment_method_support",
        ),
        (dict(BASE_CREATE, manual_entry={"mode": "enabled"}), "manual_entry.mode"),
        (dict(BASE_CREATE, return_url=["a", "b"]), "return_url"),
        (dict(BASE_CREATE, expand="accounts"), "expand"),
    ],
)
def test_create_params_errors_have_exact_paths(params, path):
    report = validate_create_params(params)
    assert report.valid is False
    assert paths(report) == [path]


def test_unknown_top_level_create_param_is_an_error():
    report = validate_create_params(dict(BASE_CREATE, customer="cus_1", metadata={"a": "b"}))
    assert report.valid is False
    assert report.errors == [
        {"path": "customer", "message": "Received unknown parameter: customer"},
        {"path": "metadata", "message": "Received unknown parameter: metadata"},
    ]
    assert report.drift == []


def test_unknown_nested_create_key_is_drift_not_error():
    params = dict(
        BASE_CREATE,
        filters={"countries": ["US"], "institution": "x"},
        account_holder={"type": "customer", "customer": "cus_1", "extra": "1"},
    )
    report = validate_create_params(params)
    assert report.valid is True
    assert report.errors == []
    assert report.drift == ["account_holder.extra", "filters.institution"]


# ------------------------------------------------------------------------- retrieve params
@pytest.mark.parametrize(
    "params",
    [
        {},
        {"expand": ["accounts"]},
        {"expand": ["accounts.data.ownership", "account_holder.customer"]},
    ],
)
def test_retrieve_params_valid(params):
    assert validate_retrieve_params(params).as_dict() == {"valid": True, "errors": [], "drift": []}


def test_retrieve_params_unknown_is_error():
    report = validate_retrieve_params({"expand": ["accounts"], "limit": "3"})
    assert report.errors == [{"path": "limit", "message": "Received unknown parameter: limit"}]


def test_retrieve_params_expand_must_be_a_list():
    assert paths(validate_retrieve_params({"expand": "accounts"})) == ["expand"]
    assert paths(validate_retrieve_params({"expand": ["a", 5]})) == ["expand[1]"]


# ------------------------------------------------------------------------------- errors
def test_error_envelope_validates(api_error):
    report = validate_error(api_error)
    assert report.as_dict() == {"valid": True, "errors": [], "drift": []}
    envelope = ErrorEnvelope.model_validate(api_error)
    assert envelope.error.type == "invalid_request_error"
    assert envelope.error.code == "resource_missing"


def test_error_envelope_failures(api_error):
    bad = copy.deepcopy(api_error)
    bad["error"]["type"] = "oops_error"
    report = validate_error(bad)
    assert report.errors == [
        {
            "path": "error.type",
            "message": "Input should be 'api_error', 'card_error', 'idempotency_error' or "
            "'invalid_request_error'",
        }
    ]
    assert validate_error({}).errors == [{"path": "error", "message": "Field required"}]
    assert paths(validate_error({"error": {"message": "x"}})) == ["error.type"]
    assert paths(validate_error({"error": "boom"})) == ["error"]


def test_error_envelope_drift(api_error):
    api_error["error"]["new_hint"] = "x"
    api_error["request_id"] = "req_1"
    report = validate_error(api_error)
    assert report.valid
    assert report.drift == ["error.new_hint", "request_id"]


def test_validate_response_dispatches_on_status(seed, api_error):
    assert validate_response(200, seed).valid
    assert validate_response(201, seed).valid
    assert validate_response(404, api_error).valid
    assert validate_response(400, api_error).valid
    assert validate_response(500, {"error": {"type": "api_error"}}).valid
    # a session body with an error status is checked as an error envelope
    wrong = validate_response(500, seed)
    assert not wrong.valid and "error" in paths(wrong)
    # and an error body with 200 is checked as a session
    wrong = validate_response(200, api_error)
    assert not wrong.valid and "id" in paths(wrong)


# ------------------------------------------------------------------------- report shape
def test_report_is_frozen_plain_data(seed):
    seed["permissions"] = ["nope"]
    report = validate_session(seed)
    with pytest.raises(dataclasses.FrozenInstanceError):
        report.valid = True  # type: ignore[misc]
    data = report.as_dict()
    assert json.loads(json.dumps(data)) == data
    assert set(data) == {"valid", "errors", "drift"}
    assert all(set(e) == {"path", "message"} for e in data["errors"])
    assert all(isinstance(e["path"], str) and isinstance(e["message"], str) for e in data["errors"])


def test_report_positional_construction():
    report = Report(False, [{"path": "", "message": "x"}], [])
    assert report.as_dict() == {
        "valid": False,
        "errors": [{"path": "", "message": "x"}],
        "drift": [],
    }


# ----------------------------------------------------------------------- never raises
def _deep(n: int):
    value: object = "leaf"
    for i in range(n):
        value = [value] if i % 2 else {"accounts": value}
    return value


GARBAGE = [
    None,
    [],
    "x",
    5,
    5.5,
    True,
    {},
    b"bytes",
    object(),
    {1: 2},
    {None: []},
    {"accounts": {"data": [None, 1, "x", [], {"ownership": {"owners": 7}}]}},
    {"id": ["fcsess_1"], "accounts": "list", "livemode": {}, "permissions": [[[]]]},
    {"error": {"type": None, "source": 1}},
    _deep(3000),
    [_deep(50)] * 3,
    {"limits": {"accounts": float("nan")}, "account_holder": [], "permissions": {}},
    {"expand": [None, {}, []], "filters": {"countries": [1, {}]}},
]

VALIDATORS = [
    validate_session,
    validate_error,
    validate_create_params,
    validate_retrieve_params,
    lambda v: validate_response(200, v),
    lambda v: validate_response(404, v),
]


@pytest.mark.parametrize("value", GARBAGE, ids=range(len(GARBAGE)))
def test_validators_never_raise_on_garbage(value):
    for validate in VALIDATORS:
        report = validate(value)
        assert isinstance(report, Report)
        assert isinstance(report.errors, list) and isinstance(report.drift, list)
        assert report.valid is (not report.errors)
        json.dumps(report.as_dict())


@pytest.mark.parametrize("value", [None, [], "x", 5, b"{}"])
def test_non_object_is_a_root_error(value):
    report = validate_session(value)
    assert report.valid is False
    assert paths(report) == [models.ROOT]
    assert report.errors[0]["message"].startswith("Input should be an object")


@pytest.mark.parametrize("status", [None, "200", 200.0, True, object()])
def test_validate_response_bad_status_never_raises(seed, status):
    report = validate_response(status, seed)
    assert report.valid is False
    assert paths(report) == [models.ROOT]


# hypothesis: arbitrary JSON-like values, with keys biased towards known field names so the
# validators and the drift walk reach nested models.
_KEYS = st.sampled_from(
    [
        "accounts",
        "data",
        "error",
        "type",
        "id",
        "object",
        "ownership",
        "owners",
        "balance",
        "current",
        "permissions",
        "filters",
        "country",
        "limits",
        "account_holder",
        "customer",
        "expand",
        "livemode",
    ]
) | st.text(max_size=5)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=10),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(_KEYS, children, max_size=5),
    max_leaves=30,
)


# 150 and 100 derandomized documents (300 and 200 took 2-4 s each of tests/unit, #25)
@settings(
    max_examples=examples(150),
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(value=_JSON, status=st.integers(min_value=100, max_value=599))
def test_validators_never_raise_hypothesis(value, status):
    for validate in VALIDATORS + [lambda v: validate_response(status, v)]:
        report = validate(value)
        assert report.valid is (not report.errors)
        assert report.drift == sorted(set(report.drift))
        assert all("[0]" not in d for d in report.drift)
        json.dumps(report.as_dict())


@settings(
    max_examples=examples(100),
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_mutated_real_session_never_raises(rich, data):
    """Replace one random subtree of a real session with junk."""
    doc = copy.deepcopy(rich)
    node = doc
    while isinstance(node, (dict, list)) and node:
        key = data.draw(
            st.sampled_from(sorted(node) if isinstance(node, dict) else range(len(node)))
        )
        if data.draw(st.booleans()) or not isinstance(node[key], (dict, list)) or not node[key]:
            node[key] = data.draw(_JSON)
            break
        node = node[key]
    report = validate_session(doc)
    assert report.valid is (not report.errors)
    json.dumps(report.as_dict())


# ----------------------------------------------------------------------------- speed
# validate_session's cost is measured by the bench (scripts/bench_micro.py:
# validate_session_us), not asserted here: a verdict must not depend on the machine's load.

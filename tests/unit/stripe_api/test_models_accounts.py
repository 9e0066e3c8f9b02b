"""Validation of hand-made FC account, owner, ownership, refresh and transaction objects,
their endpoints' parameters, and the routing of ``validation.validate``."""

from __future__ import annotations

import copy

import pytest

from fc_cassette.stripe_api import endpoints, models, validation
from fc_cassette.stripe_api.validation import NoModel, verdicts

NOW = 1_800_000_000


def owner(**kw) -> dict:
    return {
        "id": "fcaown_fakeOwner1",
        "object": "financial_connections.account_owner",
        "email": "jenny@example.com",
        "name": "Jenny Rosen",
        "ownership": "fcaowns_fake1",
        "phone": "+15555550100",
        "raw_address": "1 Main St",
        "refreshed_at": NOW,
        **kw,
    }


def ownership() -> dict:
    return {
        "id": "fcaowns_fake1",
        "object": "financial_connections.account_ownership",
        "created": NOW,
        "owners": {
            "object": "list",
            "data": [owner()],
            "has_more": False,
            "url": "/v1/financial_connections/accounts/fca_x/owners",
        },
    }


def account() -> dict:
    return {
        "id": "fca_fakeAcc1",
        "object": "financial_connections.account",
        "account_holder": {"customer": "cus_fake1", "type": "customer"},
        "account_numbers": None,
        "balance": {
            "as_of": NOW,
            "cash": {"available": {"usd": 1000}},
            "current": {"usd": 1200},
            "type": "cash",
        },
        "balance_refresh": {
            "last_attempted_at": NOW,
            "next_refresh_available_at": None,
            "status": "pending",
        },
        "category": "cash",
        "created": NOW,
        "display_name": "Checking",
        "institution_name": "StripeBank",
        "last4": "6789",
        "livemode": False,
        "ownership": "fcaowns_fake1",
        "ownership_refresh": {
            "last_attempted_at": NOW,
            "next_refresh_available_at": NOW + 60,
            "status": "succeeded",
        },
        "permissions": ["balances", "ownership", "transactions"],
        "status": "active",
        "subcategory": "checking",
        "subscriptions": ["transactions"],
        "supported_payment_method_types": ["us_bank_account"],
        "transaction_refresh": {
            "id": "fctxnref_fake1",
            "last_attempted_at": NOW,
            "next_refresh_available_at": None,
            "status": "pending",
        },
    }


def transaction() -> dict:
    return {
        "id": "fctxn_fake1",
        "object": "financial_connections.transaction",
        "account": "fca_fakeAcc1",
        "amount": -1250,
        "currency": "usd",
        "description": "Rocket Rides",
        "livemode": False,
        "status": "posted",
        "status_transitions": {"posted_at": NOW, "void_at": None},
        "transacted_at": NOW - 86400,
        "transaction_refresh": "fctxnref_fake1",
        "updated": NOW,
    }


def listing(url: str, *items: dict) -> dict:
    return {"object": "list", "data": list(items), "has_more": False, "url": url}


VALIDATORS = {
    "account": (models.validate_account, account),
    "owner": (models.validate_owner, owner),
    "ownership": (models.validate_ownership, ownership),
    "transaction": (models.validate_transaction, transaction),
}


@pytest.mark.parametrize("kind", sorted(VALIDATORS))
def test_hand_made_objects_are_valid(kind):
    validate, make = VALIDATORS[kind]
    report = validate(make())
    assert report.valid and report.errors == [] and report.drift == []


def test_expanded_ownership_and_lists_are_valid():
    acc = account()
    acc["ownership"] = ownership()
    assert models.validate_account(acc).valid
    assert models.validate_account_list(listing("/v1/financial_connections/accounts", acc)).valid
    assert models.validate_transaction_list(
        listing("/v1/financial_connections/transactions", transaction())
    ).valid
    assert models.validate_owner_list(listing("/v1/x/owners", owner())).valid


@pytest.mark.parametrize(
    "kind, mutate, path",
    [
        (
            "account",
            lambda o: o.update(inferred_balances_refresh={"status": "x"}),
            "inferred_balances_refresh",
        ),
        ("account", lambda o: o["balance"].update(inferred=5), "balance.inferred"),
        ("account", lambda o: o["balance_refresh"].update(reason="x"), "balance_refresh.reason"),
        ("owner", lambda o: o.update(nickname="J"), "nickname"),
        (
            "ownership",
            lambda o: o["owners"]["data"][0].update(nickname=None),
            "owners.data[].nickname",
        ),
        ("transaction", lambda o: o.update(category="travel"), "category"),
        (
            "transaction",
            lambda o: o["status_transitions"].update(disputed_at=None),
            "status_transitions.disputed_at",
        ),
        # issue #26, item 15: ids of another shape (the spec gives none) are drift
        (
            "ownership",
            lambda o: o["owners"]["data"][0].update(id="own_1"),
            "owners.data[].id (not an fcaown_ id)",
        ),
        ("ownership", lambda o: o.update(id=""), "id (not an fcaowns_ id)"),
        ("transaction", lambda o: o.update(id="txn_1"), "id (not an fctxn_ id)"),
    ],
)
def test_unknown_fields_are_drift_not_errors(kind, mutate, path):
    validate, make = VALIDATORS[kind]
    obj = make()
    mutate(obj)
    report = validate(obj)
    assert report.valid, report.errors
    assert report.drift == [path]


@pytest.mark.parametrize(
    "kind, mutate, path",
    [
        ("account", lambda o: o.update(status="closed"), "status"),
        (
            "account",
            lambda o: o["balance_refresh"].update(status="running"),
            "balance_refresh.status",
        ),
        ("account", lambda o: o["balance"].update(as_of="1800000000"), "balance.as_of"),
        ("account", lambda o: o.update(subscriptions=["balances"]), "subscriptions[0]"),
        ("account", lambda o: o["transaction_refresh"].pop("id"), "transaction_refresh.id"),
        ("account", lambda o: o.update(livemode=0), "livemode"),
        ("account", lambda o: o.update(ownership=7), "ownership"),
        ("owner", lambda o: o.update(object="financial_connections.owner"), "object"),
        ("owner", lambda o: o.update(refreshed_at=1.5), "refreshed_at"),
        ("owner", lambda o: o.pop("name"), "name"),
        ("ownership", lambda o: o["owners"].update(has_more="no"), "owners.has_more"),
        ("transaction", lambda o: o.update(status="cleared"), "status"),
        ("transaction", lambda o: o.update(amount="12.50"), "amount"),
        (
            "transaction",
            lambda o: o["status_transitions"].pop("void_at"),
            "status_transitions.void_at",
        ),
    ],
)
def test_wrong_enums_and_types_are_invalid_with_their_paths(kind, mutate, path):
    validate, make = VALIDATORS[kind]
    obj = make()
    mutate(obj)
    report = validate(obj)
    assert not report.valid
    assert path in [e["path"] for e in report.errors], report.errors


@pytest.mark.parametrize(
    "model, params, bad",
    [
        (models.AccountRefreshParams, {"features": ["balance", "ownership", "transactions"]}, None),
        (models.AccountRefreshParams, {"features": ["balances"]}, "features[0]"),
        (models.AccountRefreshParams, {}, "features"),
        (models.AccountRefreshParams, {"features": ["balance"], "colour": "x"}, "colour"),
        (models.AccountSubscribeParams, {"features": ["transactions"]}, None),
        (models.AccountSubscribeParams, {"features": ["balance"]}, "features[0]"),
        (models.AccountOwnersParams, {"ownership": "fcaowns_1", "limit": "5"}, None),
        (models.AccountOwnersParams, {"limit": "5"}, "ownership"),
        (models.AccountOwnersParams, {"ownership": "x", "limit": "five"}, "limit"),
        (
            models.AccountListParams,
            {
                "session": "fcsess_1",
                "account_holder": {"customer": "cus_1"},
                "starting_after": "fca_1",
            },
            None,
        ),
        (models.TransactionListParams, {"account": "fca_1", "transacted_at": "1800000000"}, None),
        (
            models.TransactionListParams,
            {"account": "fca_1", "transacted_at": {"gte": "1", "lt": "2"}},
            None,
        ),
        (
            models.TransactionListParams,
            {"account": "fca_1", "transacted_at": {"gte": "soon"}},
            "transacted_at.gte",
        ),
        (
            models.TransactionListParams,
            {"account": "fca_1", "transaction_refresh": {}},
            "transaction_refresh.after",
        ),
        (models.TransactionListParams, {"limit": "3"}, "account"),
    ],
)
def test_account_endpoint_params(model, params, bad):
    report = models.validate_params(model, params)
    if bad is None:
        assert report.valid, report.errors
    else:
        assert bad in [e["path"] for e in report.errors], report.errors


def test_nested_unknown_params_are_drift():
    report = models.validate_params(
        models.AccountListParams, {"account_holder": {"customer": "cus_1", "kind": "x"}}
    )
    assert report.valid and report.drift == ["account_holder.kind"]


def _req(method: str, path: str, query=None, form=None) -> dict:
    return {
        "method": method,
        "path": path,
        "query": query or {},
        "body": {"form": form} if form is not None else None,
    }


def _resp(status: int, obj) -> dict:
    return {"status": status, "body": {"json": obj}}


def test_interaction_validate_routes_account_endpoints():
    acc = account()
    r = validation.validate(
        _req(
            "POST",
            "/v1/financial_connections/accounts/fca_1/refresh",
            form={"features": ["balance"]},
        ),
        _resp(200, acc),
    )
    assert r["request"].valid and r["response"].valid
    bad = copy.deepcopy(acc)
    bad["status"] = "gone"
    r = validation.validate(
        _req("GET", "/v1/financial_connections/accounts/fca_1"), _resp(200, bad)
    )
    assert not r["response"].valid and verdicts(r) == "request ok response INVALID"
    r = validation.validate(
        _req("GET", "/v1/financial_connections/transactions", query={"limit": "2"}),
        _resp(400, {"error": {"type": "invalid_request_error"}}),
    )
    assert not r["request"].valid and r["response"].valid  # an error envelope
    assert (
        endpoints.name_of("GET", "/v1/financial_connections/accounts/fca_1/owners")
        == "accounts.owners"
    )
    assert endpoints.object_id_in_path("/v1/financial_connections/accounts/fca_9/owners") == "fca_9"


@pytest.mark.parametrize(
    "method, path",
    [
        ("POST", "/v1/charges"),
        ("GET", "/v1/refunds/re_1"),
        ("POST", "/_simulator/financial_connections/sessions/fcsess_1/complete"),
        ("DELETE", "/v1/financial_connections/accounts/fca_1"),
    ],
)
def test_paths_no_model_covers_say_so(method, path):
    r = validation.validate(_req(method, path), _resp(200, {"id": "x"}))
    assert list(r) == ["model"] and isinstance(r["model"], NoModel)
    assert r["model"].valid is None and {k: v.as_dict() for k, v in r.items()} == {"model": "none"}
    assert verdicts(r) == "no model"

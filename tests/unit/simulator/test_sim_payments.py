"""The simulator's objects around FC (issue #23): customers, us_bank_account payment
methods, payment and setup intents, mandates. Pure simulator, no mitmproxy.

Every answer of a known endpoint is judged by the same models record/inspect/verify use
(request and response valid, no drift), so the simulator cannot drift from them.
"""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest

from fc_cassette.simulator import Simulator
from fc_cassette.stripe_api import validation

KEY = "sk_test_" + "FakePaymentsKey123456"
ACCEPTANCE = {
    "mandate_data[customer_acceptance][type]": "online",
    "mandate_data[customer_acceptance][online][ip_address]": "127.0.0.1",
    "mandate_data[customer_acceptance][online][user_agent]": "pytest",
}


class Api:
    def __init__(self, sim: Simulator | None = None):
        self.sim = sim or Simulator(seed=4, settle_after_s=None)
        self.log: list[tuple[int, dict, bytes]] = []

    def call(self, method: str, path: str, status: int = 200, **params) -> dict:
        form = urlencode(params)
        body = b"" if method == "GET" else form.encode()
        resp = self.sim.handle(
            method, path, form if method == "GET" else "", {"Authorization": f"Bearer {KEY}"}, body
        )
        obj = json.loads(resp.body)
        self.log.append((resp.status, resp.headers, resp.body))
        assert resp.status == status, obj
        req = {
            "method": method,
            "path": path,
            "query": _nested(params) if method == "GET" else {},
            "body": {} if method == "GET" else {"form": _nested(params)},
        }
        reports = validation.validate(req, {"status": resp.status, "body": {"json": obj}})
        if "model" not in reports:  # a known endpoint: valid, no drift (the request too,
            for side, report in reports.items():  # when the simulator accepted it)
                if side == "response" or resp.status == 200:
                    assert report.valid and not report.drift, (side, report, obj)
        return obj

    def error(self, method: str, path: str, status: int = 400, **params) -> dict:
        return self.call(method, path, status, **params)["error"]

    # the flow's steps
    def customer(self, **params) -> dict:
        return self.call("POST", "/v1/customers", **params)

    def linked_account(
        self, customer: str, permissions=("payment_method", "balances"), **complete
    ) -> dict:
        form = {"account_holder[type]": "customer", "account_holder[customer]": customer}
        form.update({f"permissions[{i}]": p for i, p in enumerate(permissions)})
        s = self.call("POST", "/v1/financial_connections/sessions", **form)
        self.call(
            "POST",
            f"/_simulator/financial_connections/sessions/{s['id']}/complete",
            accounts="1",
            **complete,
        )
        return self.call("GET", "/v1/financial_connections/accounts", session=s["id"])["data"][0]

    def payment_method(self, account: str, **extra) -> dict:
        return self.call(
            "POST",
            "/v1/payment_methods",
            type="us_bank_account",
            **{
                "us_bank_account[financial_connections_account]": account,
                "billing_details[name]": "Jenny Rosen",
            },
            **extra,
        )

    def intent(self, customer: str | None, pm: str | None, **extra) -> dict:
        form = {
            "amount": "5000",
            "currency": "usd",
            "payment_method_types[0]": "us_bank_account",
            **extra,
        }
        if customer:
            form["customer"] = customer
        if pm:
            form["payment_method"] = pm
        return self.call("POST", "/v1/payment_intents", **form)

    def confirm(self, pi: str, status: int = 200, **extra) -> dict:
        return self.call(
            "POST", f"/v1/payment_intents/{pi}/confirm", status, **{**ACCEPTANCE, **extra}
        )

    def settle(self, pi: str) -> dict:
        return self.call("POST", f"/_simulator/payment_intents/{pi}/settle")


def _nested(flat: dict) -> dict:
    """The form as the codec decodes it (what validation.validate sees)."""
    from fc_cassette.exchange import formcodec

    return formcodec.decode(urlencode(flat))


def event_types(api: Api) -> list[str]:
    return [e["type"] for e in api.sim.events]


@pytest.fixture
def api() -> Api:
    return Api()


@pytest.fixture
def ready(api):
    """A customer with a linked (payment_method) account and a PaymentMethod from it."""
    cus = api.customer(email="jenny@example.com", name="Jenny Rosen")
    acc = api.linked_account(cus["id"])
    pm = api.payment_method(acc["id"])
    return api, cus, acc, pm


# ---------------------------------------------------------------------------- customers
def test_customer_create_retrieve_update_list_delete(api):
    cus = api.customer(email="jenny@example.com", **{"metadata[plan]": "gold"})
    assert cus["id"].startswith("cus_") and cus["object"] == "customer"
    assert cus["email"] == "jenny@example.com" and cus["metadata"] == {"plan": "gold"}
    assert api.call("GET", f"/v1/customers/{cus['id']}") == cus
    upd = api.call("POST", f"/v1/customers/{cus['id']}", name="Jenny", **{"metadata[plan]": ""})
    assert upd["name"] == "Jenny" and upd["metadata"] == {}
    other = api.customer(email="sam@example.com")
    listed = api.call("GET", "/v1/customers")
    assert [c["id"] for c in listed["data"]] == [other["id"], cus["id"]]  # newest first
    assert [c["id"] for c in api.call("GET", "/v1/customers", email="sam@example.com")["data"]] == [
        other["id"]
    ]
    gone = api.call("DELETE", f"/v1/customers/{cus['id']}")
    assert gone == {"id": cus["id"], "object": "customer", "deleted": True}
    err = api.error("GET", f"/v1/customers/{cus['id']}", 404)
    assert err["code"] == "resource_missing"
    created = [e for e in api.sim.events if e["type"] == "customer.created"]
    assert [e["data"]["object"]["id"] for e in created] == [cus["id"], other["id"]]
    updated = next(e for e in api.sim.events if e["type"] == "customer.updated")
    assert updated["data"]["previous_attributes"] == {"name": None, "metadata": {"plan": "gold"}}


def test_session_for_unknown_customer_is_404(api):
    err = api.error(
        "POST",
        "/v1/financial_connections/sessions",
        404,
        **{
            "account_holder[type]": "customer",
            "account_holder[customer]": "cus_FakeNobody1",
            "permissions[0]": "payment_method",
        },
    )
    assert err == {
        "code": "resource_missing",
        "doc_url": "https://stripe.com/docs/error-codes/resource-missing",
        "message": "No such customer: 'cus_FakeNobody1'",
        "param": "account_holder[customer]",
        "type": "invalid_request_error",
    }


def test_accept_unknown_customers_takes_a_made_up_id():
    api = Api(Simulator(seed=4, accept_unknown_customers=True))
    acc = api.linked_account("cus_FakeMadeUp1")
    assert acc["account_holder"]["customer"] == "cus_FakeMadeUp1"
    api.error("GET", "/v1/customers/cus_FakeMadeUp1", 404)  # still never created


# ---------------------------------------------------------------------- payment methods
def test_payment_method_from_linked_account(ready):
    api, cus, acc, pm = ready
    assert pm["type"] == "us_bank_account" and pm["customer"] is None
    bank = pm["us_bank_account"]
    assert bank["financial_connections_account"] == acc["id"]
    assert bank["last4"] == acc["last4"] and bank["networks"]["supported"] == ["ach"]
    assert pm["billing_details"]["name"] == "Jenny Rosen"
    assert api.call("GET", f"/v1/payment_methods/{pm['id']}") == pm
    attached = api.call("POST", f"/v1/payment_methods/{pm['id']}/attach", customer=cus["id"])
    assert attached["customer"] == cus["id"]
    assert "payment_method.attached" in event_types(api)
    listed = api.call("GET", f"/v1/customers/{cus['id']}/payment_methods")
    assert [p["id"] for p in listed["data"]] == [pm["id"]]
    assert api.call("GET", "/v1/payment_methods", customer=cus["id"])["data"][0]["id"] == pm["id"]
    detached = api.call("POST", f"/v1/payment_methods/{pm['id']}/detach")
    assert detached["customer"] is None
    assert api.call("GET", f"/v1/customers/{cus['id']}/payment_methods")["data"] == []


def test_payment_method_from_test_account_numbers(api):
    pm = api.call(
        "POST",
        "/v1/payment_methods",
        type="us_bank_account",
        **{
            "us_bank_account[account_number]": "000123456789",
            "us_bank_account[routing_number]": "110000000",
            "us_bank_account[account_holder_type]": "individual",
            "billing_details[name]": "Jenny Rosen",
        },
    )
    assert pm["us_bank_account"]["last4"] == "6789"
    assert pm["us_bank_account"]["financial_connections_account"] is None


# --------------------------------------------------------------- the ACH state machine
@pytest.mark.parametrize(
    "create, steps, statuses",
    [
        # (what create gets, the calls after it, the status after create and after each call)
        (
            {},
            ["attach_pm", "confirm", "settle"],
            ["requires_payment_method", "requires_confirmation", "processing", "succeeded"],
        ),
        ({"pm": True}, ["confirm", "settle"], ["requires_confirmation", "processing", "succeeded"]),
        ({"pm": True, "confirm": True}, ["settle"], ["processing", "succeeded"]),
        ({}, ["confirm_with_pm", "settle"], ["requires_payment_method", "processing", "succeeded"]),
        ({}, ["cancel"], ["requires_payment_method", "canceled"]),
        ({"pm": True}, ["cancel"], ["requires_confirmation", "canceled"]),
    ],
)
def test_ach_state_machine(ready, create, steps, statuses):
    api, cus, _acc, pm = ready
    extra = {"confirm": "true", **ACCEPTANCE} if create.get("confirm") else {}
    pi = api.intent(cus["id"], pm["id"] if create.get("pm") else None, **extra)
    seen = [pi["status"]]
    for step in steps:
        path = f"/v1/payment_intents/{pi['id']}"
        if step == "attach_pm":
            pi = api.call("POST", path + "/confirm", 400)  # no payment method yet
            pi = api.intent(cus["id"], pm["id"])  # (a new intent with it)
        elif step == "confirm":
            pi = api.confirm(pi["id"])
        elif step == "confirm_with_pm":
            pi = api.confirm(pi["id"], payment_method=pm["id"])
        elif step == "settle":
            pi = api.settle(pi["id"])
        else:
            pi = api.call("POST", path + "/cancel", cancellation_reason="abandoned")
        seen.append(pi["status"])
    assert seen == statuses
    if statuses[-1] == "succeeded":
        assert pi["amount_received"] == 5000 and pi["latest_charge"].startswith("py_")
        kinds = event_types(api)
        assert kinds.index("payment_intent.processing") < kinds.index("payment_intent.succeeded")
        ev = next(e for e in api.sim.events if e["type"] == "payment_intent.succeeded")
        assert ev["data"]["object"]["id"] == pi["id"]
        assert ev["data"]["previous_attributes"]["status"] == "processing"
    if statuses[-1] == "canceled":
        assert pi["cancellation_reason"] == "abandoned" and pi["canceled_at"]


@pytest.mark.parametrize(
    "failure",
    [
        "insufficient_funds",
        "account_closed",
        "no_account",
        "debit_not_authorized",
        "invalid_currency",
    ],
)
def test_a_failing_linked_account_fails_the_payment(api, failure):
    cus = api.customer()
    acc = api.linked_account(cus["id"], failure=failure)
    pm = api.payment_method(acc["id"])
    pi = api.confirm(api.intent(cus["id"], pm["id"])["id"])
    mandate = api.call("GET", f"/_simulator/payment_intents/{pi['id']}/mandate")
    assert pi["status"] == "processing"
    pi = api.settle(pi["id"])
    assert pi["status"] == "requires_payment_method" and pi["payment_method"] is None
    assert pi["last_payment_error"]["code"] == failure
    assert pi["last_payment_error"]["payment_method"]["id"] == pm["id"]
    assert "payment_intent.payment_failed" in event_types(api)
    ends = failure in ("account_closed", "no_account", "debit_not_authorized")
    after = api.call("GET", f"/v1/mandates/{mandate['id']}")
    assert after["status"] == ("inactive" if ends else "active")
    assert ("mandate.updated" in event_types(api)) is ends


@pytest.mark.parametrize(
    "number, outcome",
    [
        ("000123456789", "succeeded"),
        ("000222222227", "insufficient_funds"),
        ("000111111113", "account_closed"),
    ],
)
def test_stripe_test_account_numbers_decide_the_outcome(api, number, outcome):
    pm = api.call(
        "POST",
        "/v1/payment_methods",
        type="us_bank_account",
        **{
            "us_bank_account[account_number]": number,
            "us_bank_account[routing_number]": "110000000",
            "billing_details[name]": "Jenny Rosen",
        },
    )
    pi = api.settle(api.confirm(api.intent(None, pm["id"])["id"])["id"])
    got = pi["status"] if pi["status"] == "succeeded" else pi["last_payment_error"]["code"]
    assert got == outcome


def test_processing_settles_by_itself_after_the_configured_delay():
    now = [100.0]
    sim = Simulator(seed=4, settle_after_s=3.0)
    sim.monotonic = lambda: now[0]
    api = Api(sim)
    cus = api.customer()
    pm = api.payment_method(api.linked_account(cus["id"])["id"])
    pi = api.confirm(api.intent(cus["id"], pm["id"])["id"])
    assert sim.run_due() == 0
    assert api.call("GET", f"/v1/payment_intents/{pi['id']}")["status"] == "processing"
    now[0] += 3.0
    assert sim.run_due() == 1
    assert api.call("GET", f"/v1/payment_intents/{pi['id']}")["status"] == "succeeded"
    ev = next(e for e in sim.events if e["type"] == "payment_intent.succeeded")
    assert ev["request"] == {"id": None, "idempotency_key": None}  # settled, not requested


def test_setup_intent_saves_the_bank_account(ready):
    api, cus, _acc, pm = ready
    si = api.call(
        "POST",
        "/v1/setup_intents",
        customer=cus["id"],
        **{
            "payment_method_types[0]": "us_bank_account",
            "payment_method_options[us_bank_account][financial_connections]"
            "[permissions][0]": "payment_method",
        },
    )
    assert si["status"] == "requires_payment_method"
    assert si["client_secret"].startswith(si["id"] + "_secret_")
    si = api.call(
        "POST", f"/v1/setup_intents/{si['id']}/confirm", payment_method=pm["id"], **ACCEPTANCE
    )
    assert si["status"] == "succeeded" and si["mandate"].startswith("mandate_")
    mandate = api.call("GET", f"/v1/mandates/{si['mandate']}")
    assert mandate["type"] == "multi_use" and mandate["payment_method"] == pm["id"]
    assert mandate["customer_acceptance"]["online"]["user_agent"] == "pytest"
    assert api.call("GET", f"/v1/payment_methods/{pm['id']}")["customer"] == cus["id"]
    assert {"setup_intent.succeeded", "payment_method.attached"} <= set(event_types(api))
    # the saved mandate pays later, without mandate_data
    pi = api.intent(cus["id"], pm["id"])
    pi = api.call("POST", f"/v1/payment_intents/{pi['id']}/confirm", mandate=mandate["id"])
    assert pi["status"] == "processing"


# ------------------------------------------------------------------ Stripe's errors
def _other_customers_pm(api, cus, pm):
    other = api.customer()
    api.call("POST", f"/v1/payment_methods/{pm['id']}/attach", customer=other["id"])
    return api.intent(cus["id"], None)["id"], {"payment_method": pm["id"]}


ERRORS = [
    # (name, how to provoke it -> (method, path, params), status, code, param)
    (
        "unknown customer on an intent",
        lambda api, cus, acc, pm: (
            "POST",
            "/v1/payment_intents",
            {"amount": "5000", "currency": "usd", "customer": "cus_FakeNobody2"},
        ),
        404,
        "resource_missing",
        "customer",
    ),
    (
        "unknown payment method",
        lambda api, cus, acc, pm: (
            "POST",
            "/v1/payment_intents",
            {"amount": "5000", "currency": "usd", "payment_method": "pm_FakeNobody3"},
        ),
        404,
        "resource_missing",
        "payment_method",
    ),
    (
        "payment method of another customer",
        lambda api, cus, acc, pm: (
            "POST",
            "/v1/payment_intents/{}/confirm".format(*_other_customers_pm(api, cus, pm)[:1]),
            {"payment_method": pm["id"], **ACCEPTANCE},
        ),
        400,
        None,
        "payment_method",
    ),
    (
        "confirming a canceled intent",
        lambda api, cus, acc, pm: (
            "POST",
            "/v1/payment_intents/{}/confirm".format(
                api.call(
                    "POST",
                    "/v1/payment_intents/{}/cancel".format(api.intent(cus["id"], pm["id"])["id"]),
                )["id"]
            ),
            ACCEPTANCE,
        ),
        400,
        "payment_intent_unexpected_state",
        None,
    ),
    (
        "FC account without the payment_method permission",
        lambda api, cus, acc, pm: (
            "POST",
            "/v1/payment_methods",
            {
                "type": "us_bank_account",
                "billing_details[name]": "Jenny Rosen",
                "us_bank_account[financial_connections_account]": api.linked_account(
                    cus["id"], ("balances",)
                )["id"],
            },
        ),
        400,
        None,
        "us_bank_account[financial_connections_account]",
    ),
    (
        "unknown FC account",
        lambda api, cus, acc, pm: (
            "POST",
            "/v1/payment_methods",
            {
                "type": "us_bank_account",
                "billing_details[name]": "Jenny Rosen",
                "us_bank_account[financial_connections_account]": "fca_FakeNobody4",
            },
        ),
        404,
        "resource_missing",
        "us_bank_account[financial_connections_account]",
    ),
    (
        "no billing name for a bank debit",
        lambda api, cus, acc, pm: (
            "POST",
            "/v1/payment_methods",
            {
                "type": "us_bank_account",
                "us_bank_account[financial_connections_account]": acc["id"],
            },
        ),
        400,
        "parameter_missing",
        "billing_details[name]",
    ),
    (
        "confirming without a payment method",
        lambda api, cus, acc, pm: (
            "POST",
            "/v1/payment_intents/{}/confirm".format(api.intent(cus["id"], None)["id"]),
            ACCEPTANCE,
        ),
        400,
        "payment_intent_unexpected_state",
        None,
    ),
    (
        "confirm without mandate_data",
        lambda api, cus, acc, pm: (
            "POST",
            "/v1/payment_intents/{}/confirm".format(api.intent(cus["id"], pm["id"])["id"]),
            {},
        ),
        400,
        "parameter_missing",
        "mandate_data",
    ),
    (
        "amount below the minimum",
        lambda api, cus, acc, pm: (
            "POST",
            "/v1/payment_intents",
            {"amount": "10", "currency": "usd"},
        ),
        400,
        "amount_too_small",
        "amount",
    ),
    (
        "us_bank_account in another currency",
        lambda api, cus, acc, pm: (
            "POST",
            "/v1/payment_intents",
            {"amount": "5000", "currency": "eur"},
        ),
        400,
        None,
        "currency",
    ),
    (
        "FC permissions without payment_method",
        lambda api, cus, acc, pm: (
            "POST",
            "/v1/payment_intents",
            {
                "amount": "5000",
                "currency": "usd",
                "payment_method_options[us_bank_account][financial_connections][permissions][0]": "balances",
            },
        ),
        400,
        None,
        "payment_method_options[us_bank_account][financial_connections][permissions]",
    ),
    (
        "attaching another customer's payment method",
        lambda api, cus, acc, pm: (
            "POST",
            f"/v1/payment_methods/{pm['id']}/attach",
            {"customer": _other_customers_pm(api, cus, pm) and cus["id"]},
        ),
        400,
        None,
        "customer",
    ),
    (
        "detaching a payment method attached to nobody",
        lambda api, cus, acc, pm: ("POST", f"/v1/payment_methods/{pm['id']}/detach", {}),
        400,
        None,
        None,
    ),
    (
        "unknown parameter",
        lambda api, cus, acc, pm: ("POST", "/v1/customers", {"nickname": "x"}),
        400,
        "parameter_unknown",
        "nickname",
    ),
    (
        "cancel a succeeded intent",
        lambda api, cus, acc, pm: (
            "POST",
            "/v1/payment_intents/{}/cancel".format(
                api.settle(api.confirm(api.intent(cus["id"], pm["id"])["id"])["id"])["id"]
            ),
            {},
        ),
        400,
        "payment_intent_unexpected_state",
        None,
    ),
    (
        "unknown mandate",
        lambda api, cus, acc, pm: ("GET", "/v1/mandates/mandate_FakeNo5", {}),
        404,
        "resource_missing",
        "mandate",
    ),
]


@pytest.mark.parametrize("name, provoke, status, code, param", ERRORS, ids=[e[0] for e in ERRORS])
def test_stripe_errors(ready, name, provoke, status, code, param):
    api, cus, acc, pm = ready
    method, path, params = provoke(api, cus, acc, pm)
    err = api.error(method, path, status, **params)
    assert err["type"] == "invalid_request_error" and err["message"]
    assert err.get("code") == code and err.get("param") == param, err


# ---------------------------------------------------------------------- determinism
def lending_script(seed: int) -> list[tuple[int, dict, bytes]]:
    """The whole lending flow, a failure and a setup intent, on a fresh simulator."""
    api = Api(Simulator(seed=seed, settle_after_s=None))
    cus = api.customer(email="jenny@example.com")
    pm = api.payment_method(api.linked_account(cus["id"])["id"])
    api.call("POST", f"/v1/payment_methods/{pm['id']}/attach", customer=cus["id"])
    pi = api.confirm(api.intent(cus["id"], pm["id"])["id"])
    api.settle(pi["id"])
    bad = api.payment_method(api.linked_account(cus["id"], failure="no_account")["id"])
    api.settle(api.intent(cus["id"], bad["id"], confirm="true", **ACCEPTANCE)["id"])
    api.call(
        "POST",
        "/v1/setup_intents",
        customer=cus["id"],
        payment_method=pm["id"],
        confirm="true",
        **ACCEPTANCE,
    )
    api.call("GET", "/v1/events", limit="100")
    api.error("POST", f"/v1/payment_intents/{pi['id']}/cancel")
    return api.log


def test_a_failed_confirm_at_creation_creates_nothing(ready):
    api, cus, _acc, pm = ready
    err = api.error(
        "POST",
        "/v1/payment_intents",
        400,
        amount="5000",
        currency="usd",
        customer=cus["id"],
        payment_method=pm["id"],
        confirm="true",
    )
    assert err["param"] == "mandate_data"
    assert api.call("GET", "/v1/payment_intents")["data"] == []


def test_same_seed_same_bytes_over_the_payment_objects():
    a, b = lending_script(11), lending_script(11)
    assert [(s, h, body) for s, h, body in a] == [(s, h, body) for s, h, body in b]
    c = lending_script(12)
    assert a[0][2] != c[0][2]  # another seed, other ids


def test_the_payment_events_go_out_as_signed_webhook_deliveries():
    """The events of the lending flow reach the webhook machinery (issue #22's), signed,
    each with the object as it was when it happened."""
    from fc_cassette.simulator import Target
    from fc_cassette.stripe_api import signing

    secret = "whsec_" + "FakePaymentsHook123"
    sim = Simulator(
        seed=4, settle_after_s=None, webhooks=[Target("http://127.0.0.1:9/hook", secret)]
    )
    api = Api(sim)
    cus = api.customer()
    pm = api.payment_method(api.linked_account(cus["id"])["id"])
    api.call("POST", f"/v1/payment_methods/{pm['id']}/attach", customer=cus["id"])
    pi = api.settle(api.confirm(api.intent(cus["id"], pm["id"])["id"])["id"])
    sent = sim.take_deliveries()
    kinds = [d.event_type for d in sent]
    for kind in (
        "customer.created",
        "payment_method.attached",
        "payment_intent.processing",
        "payment_intent.succeeded",
    ):
        assert kind in kinds, kinds
    done = next(d for d in sent if d.event_type == "payment_intent.succeeded")
    event = json.loads(done.payload)
    assert event["data"]["object"]["id"] == pi["id"]
    assert event["data"]["object"]["status"] == "succeeded"
    processing = json.loads(
        next(d for d in sent if d.event_type == "payment_intent.processing").payload
    )
    assert processing["data"]["object"]["status"] == "processing"  # a copy, not the live one
    header = signing.sign(done.payload, secret, 1767225600)
    assert header.startswith("t=1767225600,v1=")


def test_expand_turns_ids_into_objects(ready):
    api, cus, _acc, pm = ready
    pi = api.intent(cus["id"], pm["id"], **{"expand[0]": "customer", "expand[1]": "payment_method"})
    assert pi["customer"]["email"] == "jenny@example.com"
    assert pi["payment_method"]["id"] == pm["id"]
    plain = api.call("GET", f"/v1/payment_intents/{pi['id']}")
    assert plain["customer"] == cus["id"]  # expansion never changes the stored object
    listed = api.call("GET", "/v1/payment_intents", **{"expand[0]": "data.payment_method"})
    assert listed["data"][0]["payment_method"]["type"] == "us_bank_account"
    err = api.error("GET", f"/v1/payment_intents/{pi['id']}", **{"expand[0]": "latest_charge"})
    assert err["param"] == "expand[0]" and "cannot be expanded" in err["message"]
    si = api.call(
        "POST",
        "/v1/setup_intents",
        customer=cus["id"],
        payment_method=pm["id"],
        confirm="true",
        **ACCEPTANCE,
        **{"expand[0]": "mandate"},
    )
    assert si["mandate"]["object"] == "mandate"
    mandate = api.call(
        "GET", f"/v1/mandates/{si['mandate']['id']}", **{"expand[0]": "payment_method"}
    )
    assert mandate["payment_method"]["id"] == pm["id"]


def test_payment_method_data_creates_the_method_on_the_fly(api):
    cus = api.customer()
    acc = api.linked_account(cus["id"])
    data = {
        "payment_method_data[type]": "us_bank_account",
        "payment_method_data[billing_details][name]": "Jenny Rosen",
        "payment_method_data[us_bank_account][financial_connections_account]": acc["id"],
    }
    pi = api.intent(
        cus["id"], None, setup_future_usage="off_session", confirm="true", **data, **ACCEPTANCE
    )
    assert pi["status"] == "processing" and pi["payment_method"].startswith("pm_")
    pm = api.call("GET", f"/v1/payment_methods/{pi['payment_method']}")
    assert pm["customer"] == cus["id"]  # setup_future_usage saved it for the customer
    mandate = api.call("GET", f"/_simulator/payment_intents/{pi['id']}/mandate")
    assert mandate["type"] == "multi_use"
    no_perm = api.linked_account(cus["id"], ("balances",))
    err = api.error(
        "POST",
        "/v1/payment_intents",
        amount="5000",
        currency="usd",
        **{
            **data,
            "payment_method_data[us_bank_account][financial_connections_account]": no_perm["id"],
        },
    )
    assert err["param"] == "payment_method_data[us_bank_account][financial_connections_account]"
    assert "payment_method permission" in err["message"]


def test_setup_intent_lifecycle_errors(ready):
    api, cus, _acc, pm = ready
    si = api.call("POST", "/v1/setup_intents", customer=cus["id"])
    err = api.error("POST", f"/v1/setup_intents/{si['id']}/confirm", **ACCEPTANCE)
    assert err["code"] == "setup_intent_unexpected_state"
    canceled = api.call(
        "POST", f"/v1/setup_intents/{si['id']}/cancel", cancellation_reason="abandoned"
    )
    assert canceled["status"] == "canceled"
    err = api.error(
        "POST", f"/v1/setup_intents/{si['id']}/confirm", payment_method=pm["id"], **ACCEPTANCE
    )
    assert err["code"] == "setup_intent_unexpected_state" and "canceled" in err["message"]
    api.error("GET", "/v1/setup_intents/seti_FakeNobody9", 404)

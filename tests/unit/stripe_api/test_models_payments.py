"""The models of the objects around FC (issue #23) judge traffic like the FC models:
the simulator's answers are valid, unknown fields are drift (never errors), a missing
required field or a wrong type is an error, and unknown request parameters are errors."""

from __future__ import annotations

import copy
import json

import pytest

from fc_cassette.simulator import Simulator
from fc_cassette.stripe_api import endpoints, models as m, validation

KEY = {"Authorization": "Bearer sk_test_" + "FakeModelsKey000111"}


def call(sim: Simulator, method: str, path: str, form: str = "") -> dict:
    resp = sim.handle(method, path, "", KEY, form.encode())
    assert resp.status == 200, resp.body
    return json.loads(resp.body)


@pytest.fixture(scope="module")
def objects() -> dict[str, dict]:
    sim = Simulator(seed=2, settle_after_s=None)
    cus = call(sim, "POST", "/v1/customers", "email=a%40example.com")
    pm = call(
        sim,
        "POST",
        "/v1/payment_methods",
        "type=us_bank_account&billing_details[name]=A&us_bank_account[account_number]"
        "=000123456789&us_bank_account[routing_number]=110000000",
    )
    pi = call(
        sim,
        "POST",
        "/v1/payment_intents",
        f"amount=5000&currency=usd&customer={cus['id']}&payment_method={pm['id']}"
        "&confirm=true&mandate_data[customer_acceptance][type]=offline",
    )
    si = call(
        sim,
        "POST",
        "/v1/setup_intents",
        f"payment_method={pm['id']}&confirm=true&mandate_data[customer_acceptance][type]=offline",
    )
    mandate = call(sim, "GET", f"/v1/mandates/{si['mandate']}")
    return {"customer": cus, "pm": pm, "pi": pi, "si": si, "mandate": mandate}


MODELS = [
    ("customer", m.Customer),
    ("pm", m.PaymentMethod),
    ("pi", m.PaymentIntent),
    ("si", m.SetupIntent),
    ("mandate", m.Mandate),
]


@pytest.mark.parametrize("name, model", MODELS)
def test_simulator_answers_are_valid_without_drift(objects, name, model):
    report = m.validate_object(model, objects[name])
    assert report.valid and report.drift == [], report


@pytest.mark.parametrize("name, model", MODELS)
def test_unknown_fields_are_drift_not_errors(objects, name, model):
    obj = copy.deepcopy(objects[name])
    obj["brand_new_field"] = {"x": 1}
    report = m.validate_object(model, obj)
    assert report.valid and report.drift == ["brand_new_field"]


def test_nested_drift_and_errors(objects):
    pm = copy.deepcopy(objects["pm"])
    pm["us_bank_account"]["new_network_field"] = "x"
    assert m.validate_object(m.PaymentMethod, pm).drift == ["us_bank_account.new_network_field"]
    pi = copy.deepcopy(objects["pi"])
    del pi["amount"]
    pi["status"] = "teleported"
    errors = {e["path"] for e in m.validate_object(m.PaymentIntent, pi).errors}
    assert errors == {"amount", "status"}
    mandate = copy.deepcopy(objects["mandate"])
    mandate["customer_acceptance"]["type"] = 7
    assert not m.validate_object(m.Mandate, mandate).valid


def test_recorded_exchanges_are_judged_by_endpoint(objects):
    pi = objects["pi"]
    req = {
        "method": "POST",
        "path": f"/v1/payment_intents/{pi['id']}/confirm",
        "body": {
            "form": {"mandate_data": {"customer_acceptance": {"type": "offline"}}, "surprise": "1"}
        },
    }
    reports = validation.validate(req, {"status": 200, "body": {"json": {**pi, "extra": 1}}})
    assert not reports["request"].valid  # an unknown parameter: Stripe would refuse it
    assert reports["response"].valid and reports["response"].drift == ["extra"]
    assert endpoints.name_of("GET", "/v1/mandates/mandate_1") == "mandates.retrieve"
    assert endpoints.object_id_in_path("/v1/payment_intents/pi_9/cancel") == "pi_9"


def test_every_model_says_where_it_comes_from():
    """Issue #23: each model's docstring says spec extract or SDK (these are all SDK)."""
    import pydantic

    from fc_cassette.stripe_api.models import customer, intents, mandate, payment_method

    for module in (customer, payment_method, intents, mandate):
        assert "*SDK*" in module.__doc__
        for name, value in vars(module).items():
            if (
                isinstance(value, type)
                and issubclass(value, pydantic.BaseModel)
                and value.__module__ == module.__name__
            ):
                assert "SDK" in (value.__doc__ or ""), (module.__name__, name)

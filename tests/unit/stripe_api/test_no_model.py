"""A path no model covers is neither valid nor invalid: show, verify and inspect say
"no model" (issue #12), for a hand-written cassette and the inspect report line."""

from __future__ import annotations

import json

from fc_cassette.mitm import inspector


def test_inspect_report_line_says_no_model():
    request = {"method": "GET", "path": "/v1/balance", "query": {}, "body": None}
    response = {"status": 200, "body": {"json": {"object": "balance"}}}
    rep = inspector.judge(request, response)
    assert rep["model"] == "none" and rep["request_valid"] is None
    assert inspector.describe(rep) == "GET /v1/balance 200 no model"
    fc_rep = inspector.judge(
        {
            "method": "GET",
            "path": "/v1/financial_connections/accounts",
            "query": {"limit": "x"},
            "body": None,
        },
        {"status": 400, "body": {"json": {"error": {"type": "invalid_request_error"}}}},
    )
    assert "model" not in fc_rep and fc_rep["endpoint"] == "accounts.list"
    assert fc_rep["request_valid"] is False and "request ✗" in inspector.describe(fc_rep)


def test_inspect_addon_leaves_no_model_flows_unmarked(tmp_path):
    """With the scope widened to every path, a flow no model covers gets a comment
    saying so, no ✓/✗ marker, and counts as "no model" (never invalid)."""
    from mitmproxy import http
    from mitmproxy.test import taddons, tflow

    from fc_cassette.mitm.addon import all_addons
    from fc_cassette.mitm.inspector import MARK_OK, Inspect

    config = tmp_path / "wide.yaml"
    config.write_text("scope:\n  paths:\n    - ^/v1/\n")
    addons = all_addons()
    inspect = next(a for a in addons if isinstance(a, Inspect))
    report = tmp_path / "r.jsonl"

    def flow(path: str, body: bytes):
        return tflow.tflow(
            req=http.Request.make("GET", f"https://api.stripe.com{path}"),
            resp=http.Response.make(200, body, {"Content-Type": "application/json"}),
        )

    with taddons.context(*addons) as tctx:
        tctx.configure(inspect, fc_mode="inspect", fc_report=str(report), fc_config=str(config))
        other = flow("/v1/charges/ch_fakeNoModel1", b'{"id": "ch_fakeNoModel1"}')
        txn = flow(
            "/v1/financial_connections/transactions/fctxn_fake1",
            json.dumps(
                {
                    "id": "fctxn_fake1",
                    "object": "financial_connections.transaction",
                    "account": "fca_fake1",
                    "amount": 100,
                    "currency": "usd",
                    "description": "x",
                    "livemode": False,
                    "status": "posted",
                    "status_transitions": {"posted_at": 1, "void_at": None},
                    "transacted_at": 1,
                    "transaction_refresh": "fctxnref_1",
                    "updated": 1,
                }
            ).encode(),
        )
        inspect.response(other)
        inspect.response(txn)
        assert other.marked == "" and other.comment.endswith(" 200 no model")
        assert txn.marked == MARK_OK and txn.comment.endswith("request ✓ response ✓")
        assert inspect.summary()[0] == (
            "summary: flows seen 2, invalid requests 0, "
            "invalid responses 0, drift fields 0, no model 1"
        )
        inspect.done()
    lines = [json.loads(x) for x in report.read_text().splitlines()]
    assert lines[0]["model"] == "none" and lines[0]["request_valid"] is None
    assert lines[1]["endpoint"] == "transactions.retrieve" and "model" not in lines[1]

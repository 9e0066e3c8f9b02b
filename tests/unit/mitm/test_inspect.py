"""The inspect addon in-process (taddons): comments, markers, reports, failures of ours."""

from __future__ import annotations

import copy
import json

from builders import json_flow
from fc_cassette.mitm.addon import all_addons
from fc_cassette.mitm.inspector import MARK_DRIFT, MARK_INVALID, MARK_OK, Inspect, describe, judge
from inspect_cases import (
    CLIENT_SECRET,
    CREATED,
    KEY,
    ROUTES,
    SESSIONS,
    assert_no_secret,
    bad_enum as _bad_enum,
    json_bytes as _json_bytes,
    read_report,
    with_accounts as _with_accounts,
)


def test_flow_gets_comment_and_marker(tmp_path):
    from mitmproxy.test import taddons

    addons = all_addons()
    inspect = next(a for a in addons if isinstance(a, Inspect))
    report = tmp_path / "r.jsonl"
    with taddons.context(*addons) as tctx:
        tctx.configure(inspect, fc_mode="inspect", fc_report=str(report))
        auth = {"Authorization": f"Bearer {KEY}"}
        ok = json_flow(
            "GET",
            f"{SESSIONS}/fcsess_fakeWithAccounts1",
            200,
            _json_bytes(_with_accounts("fcsess_fakeWithAccounts1")),
            headers=auth,
        )
        drift = json_flow(
            "POST",
            SESSIONS,
            200,
            _json_bytes(CREATED),
            content=b"account_holder[type]=customer&account_holder[customer]=cus_fakeX1"
            b"&permissions[0]=balances",
            headers={**auth, "Content-Type": "application/x-www-form-urlencoded"},
        )
        bad = json_flow(
            "GET",
            f"{SESSIONS}/fcsess_fakeBadEnum1",
            200,
            _json_bytes(_bad_enum("fcsess_fakeBadEnum1")),
            headers=auth,
        )
        other = json_flow("GET", "/v1/charges/ch_fakeX1", 200, b"{}", headers=auth)
        before = [
            (f.request.content, f.response.content, dict(f.response.headers))
            for f in (ok, drift, bad, other)
        ]
        for f in (ok, drift, bad, other):
            inspect.response(f)
        after = [
            (f.request.content, f.response.content, dict(f.response.headers))
            for f in (ok, drift, bad, other)
        ]
        assert after == before  # nothing is changed
        assert ok.marked == MARK_OK and drift.marked == MARK_DRIFT and bad.marked == MARK_INVALID
        assert ok.comment == (
            f"fc-cassette: GET {SESSIONS}/fcsess_fakeWithAccounts1 200 "
            "fcsess_fakeWithAccounts1 request ✓ response ✓"
        )
        assert drift.comment.endswith("drift: accounts.total_count, brand_new_field")
        assert "response ✗" in bad.comment and "accounts.data[1].category" in bad.comment
        assert other.marked == ""  # no model applies: no verdict
        assert other.comment == "fc-cassette: GET /v1/charges/ch_fakeX1 200 no model"
        assert inspect.summary()[0] == (
            "summary: flows seen 4, invalid requests 0, "
            "invalid responses 1, drift fields 2, no model 1"
        )
        inspect.done()
    assert len(read_report(report)) == 4
    assert_no_secret(report.read_text())


def test_inspect_is_inactive_in_other_modes():
    from mitmproxy.test import taddons

    addons = all_addons()
    inspect = next(a for a in addons if isinstance(a, Inspect))
    with taddons.context(*addons) as tctx:
        tctx.configure(inspect, fc_mode="")
        f = json_flow(
            "GET",
            f"{SESSIONS}/fcsess_fakeBadEnum1",
            200,
            _json_bytes(_bad_enum("fcsess_fakeBadEnum1")),
        )
        inspect.response(f)
        assert f.marked == "" and f.comment == "" and inspect.seen == 0


def test_judge_error_envelope_and_non_json_bodies():
    req = {
        "method": "GET",
        "path": f"{SESSIONS}/fcsess_fakeMissing1",
        "query": {},
        "headers": {},
        "body": None,
    }
    resp = {
        "status": 404,
        "headers": {},
        "body": {"json": json.loads(ROUTES[("GET", f"{SESSIONS}/fcsess_fakeMissing1")][2])},
    }
    rep = judge(req, resp)
    assert rep["response_valid"] is True and rep["session_id"] == "fcsess_fakeMissing1"
    # a 404 whose body is a Session is wrong: the error envelope is required
    resp_bad = {"status": 404, "headers": {}, "body": {"json": copy.deepcopy(CREATED)}}
    rep = judge(req, resp_bad)
    assert rep["response_valid"] is False and [e["path"] for e in rep["errors"]] == ["error"]
    assert describe(rep).startswith(f"GET {SESSIONS}/fcsess_fakeMissing1 404 ")
    # a non-JSON body (an HTML gateway page) is a response ✗, not a crash
    html = {"status": 502, "headers": {}, "body": {"text": "<html>bad gateway</html>"}}
    rep = judge(req, html)
    assert rep["response_valid"] is False and "not JSON" in rep["errors"][0]["message"]


def test_a_failure_of_ours_leaves_the_flow_alone_and_logs_one_line(monkeypatch, caplog):
    from mitmproxy.test import taddons

    from fc_cassette.mitm import inspector

    def boom(*a, **kw):
        raise RuntimeError(f"broken judge {KEY}")

    monkeypatch.setattr(inspector, "judge", boom)
    addons = all_addons()
    inspect = next(a for a in addons if isinstance(a, Inspect))
    with taddons.context(*addons) as tctx:
        tctx.configure(inspect, fc_mode="inspect")
        f = json_flow(
            "GET", f"{SESSIONS}/{CLIENT_SECRET}?expand[0]=accounts", 200, _json_bytes(CREATED)
        )
        before = (f.request.content, f.response.content, dict(f.response.headers))
        with caplog.at_level("ERROR", logger="fc_cassette"):
            inspect.response(f)  # must not raise
        assert (f.request.content, f.response.content, dict(f.response.headers)) == before
        assert inspect.seen == 0
    msgs = [r.getMessage() for r in caplog.records if r.name == "fc_cassette"]
    assert msgs == [
        f"fc-cassette inspect: could not judge GET {SESSIONS}/"
        "fcsess_client_secret_REDACTED_1: RuntimeError"
    ]
    assert_no_secret("\n".join(msgs))


def test_flow_without_response_is_reported(tmp_path):
    """An upstream failure (no response at all) is judged too, and leaks nothing."""
    from mitmproxy import flow as mflow, http
    from mitmproxy.test import taddons, tflow

    addons = all_addons()
    inspect = next(a for a in addons if isinstance(a, Inspect))
    report = tmp_path / "r.jsonl"
    with taddons.context(*addons) as tctx:
        tctx.configure(inspect, fc_mode="inspect", fc_report=str(report))
        f = tflow.tflow(
            req=http.Request.make(
                "GET",
                f"https://api.stripe.com{SESSIONS}/fcsess_fakeDown1",
                headers={"Authorization": f"Bearer {KEY}"},
            )
        )
        f.error = mflow.Error(f"connection refused while sending Bearer {KEY}")
        inspect.error(f)
        assert f.marked == ":x:" and "no response" in f.comment
        assert KEY not in f.comment
        inspect.done()
    (line,) = [json.loads(x) for x in report.read_text().splitlines()]
    assert line["status"] is None and line["response_valid"] is None
    assert line["path"] == f"{SESSIONS}/fcsess_fakeDown1"
    assert KEY not in report.read_text()
    assert inspect.summary()[0].endswith("no response 1")

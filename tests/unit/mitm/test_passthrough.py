"""Traffic outside the scope is never silent (issue: the whole Stripe conversation).

In-process with mitmproxy's taddons for the tracker itself; end to end with a real
``fc-cassette record --forward`` / ``replay --forward`` and a real client through the
proxy to a non-Stripe host on 127.0.0.1.
"""

from __future__ import annotations

import pytest

from fc_cassette.mitm.addon import all_addons
from fc_cassette.mitm.core import FcCore
from fc_cassette.mitm.passthrough import Passthrough

KEY = "sk_test_" + "fakePassthroughKey0123456789"


def _flow(tflow, url: str, *, answered: bool = False):
    from mitmproxy import http

    f = tflow.tflow(req=http.Request.make("GET", url), resp=False)
    f.client_conn.proxy_mode = f.client_conn.proxy_mode.parse("regular")
    if answered:
        f.response = http.Response.make(400, b"{}")
    return f


@pytest.mark.parametrize("mode", ["record", "replay"])
def test_each_flow_outside_the_scope_is_logged_counted_and_listed(mode, caplog):
    from mitmproxy.test import taddons, tflow

    tracker = Passthrough()
    addons = [FcCore(), tracker]  # (the mode addons would want a cassette)
    with taddons.context(*addons) as tctx:
        tctx.options.fc_mode = mode
        refused = mode == "replay"
        other = _flow(tflow, f"https://example.test/api/thing?token={KEY}", answered=refused)
        tracker.request(other)
        tracker.request(_flow(tflow, "https://api.stripe.com/v1/customers"))  # in scope
        tracker.request(_flow(tflow, "https://example.test/api/thing", answered=refused))
        what = (
            "refused: outside the scope, replay never forwards"
            if refused
            else "passed through, NOT recorded: outside the scope"
        )
        assert tracker.flows == [f"GET example.test/api/thing ({what})"] * 2
        assert tracker.total == 2
        assert caplog.text.count("GET example.test/api/thing") == 2  # once per flow
        assert KEY not in caplog.text
        tracker.rewind()
        assert tracker.flows == [] and tracker.total == 2  # the summary counts all
        caplog.clear()
        tracker.done()
        assert "2 request(s) outside the scope" in caplog.text
        assert "2x GET example.test/api/thing" in caplog.text


def test_a_secret_in_the_host_or_path_is_redacted(caplog):
    from mitmproxy.test import taddons, tflow

    tracker = Passthrough()
    addons = [FcCore(), tracker]  # (the mode addons would want a cassette)
    with taddons.context(*addons) as tctx:
        tctx.options.fc_mode = "record"
        tracker.request(_flow(tflow, f"https://example.test/keys/{KEY}/x"))
    assert KEY not in " ".join(tracker.flows) and KEY not in caplog.text
    assert "sk_test_REDACTED" in tracker.flows[0]


def test_the_tracker_follows_the_mode_addon_in_every_chain_that_records_or_replays():
    for mode in ("record", "replay"):
        chain = [type(a).__name__ for a in all_addons(mode)]
        assert chain[-1] == "Passthrough" and chain.index(mode.capitalize()) == 1
    assert "Passthrough" not in [type(a).__name__ for a in all_addons("simulate")]
    raw = [type(a).__name__ for a in all_addons()]
    assert raw.index("Passthrough") > max(raw.index(m) for m in ("Record", "Replay"))


def test_other_modes_and_control_calls_are_not_tracked():
    from mitmproxy.test import taddons, tflow

    tracker = Passthrough()
    addons = [FcCore(), tracker]  # (the mode addons would want a cassette)
    with taddons.context(*addons) as tctx:
        for mode in ("", "inspect", "simulate"):
            tctx.options.fc_mode = mode
            tracker.request(_flow(tflow, "https://example.test/x"))
        tctx.options.fc_mode = "record"
        f = _flow(tflow, "http://127.0.0.1:8080/__fc_cassette__/status")
        f.client_conn.sockname = ("127.0.0.1", 8080)
        tracker.request(f)
    assert tracker.total == 0


def test_the_scope_verdict_is_kept_per_flow_until_the_request_or_rules_change():
    from mitmproxy.test import tflow

    from fc_cassette.mitm.scope import in_scope
    from fc_cassette.settings.config import ScopeRules

    narrow = ScopeRules(paths=["^/v1/financial_connections/"])
    f = _flow(tflow, "https://api.stripe.com/v1/financial_connections/sessions")
    assert in_scope(f, narrow) is True
    f.request.path = "/v1/customers"  # changed by another addon: decided again
    assert in_scope(f, narrow) is False
    assert in_scope(f, ScopeRules()) is True  # other rules: decided again
    f.request.host = "example.test"
    assert in_scope(f, ScopeRules()) is False

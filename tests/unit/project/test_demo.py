"""scripts/demo.sh runs the whole loop offline; the bundled cassette is what it records."""

from __future__ import annotations

from fc_cassette.cassette import store as cio
from support import ROOT

BUNDLED = ROOT / "cassettes" / "fc_sessions.yaml"


def test_bundled_cassette_shows_a_session_before_and_after_linking():
    c = cio.load(BUNDLED)
    assert c.warnings == []
    retrieves = [
        i
        for i in c.interactions
        if i["request"]["method"] == "GET"
        and "/sessions/" in i["request"]["path"]
        and i["response"]["status"] == 200
    ]
    counts = [len(i["response"]["body"]["json"]["accounts"]["data"]) for i in retrieves]
    assert counts == [0, 2, 2]
    categories = {
        a["category"] for a in retrieves[-1]["response"]["body"]["json"]["accounts"]["data"]
    }
    assert categories == {"cash", "credit"}


def test_bundled_cassette_goes_on_with_the_linked_account():
    c = cio.load(BUNDLED)
    calls = [
        (i["request"]["method"], i["request"]["path"].rsplit("/", 1)[-1], i["response"]["status"])
        for i in c.interactions[6:]
    ]
    account = c.interactions[6]["request"]["path"].rsplit("/", 1)[-1]
    assert calls == [
        ("GET", account, 200),
        ("POST", "refresh", 200),
        ("GET", account, 200),
        ("GET", "owners", 200),
        ("GET", "transactions", 200),
        ("GET", "transactions", 200),
        ("POST", "disconnect", 200),
        ("POST", "refresh", 400),
    ]
    bodies = [i["response"]["body"]["json"] for i in c.interactions[6:]]
    assert bodies[1]["balance_refresh"]["status"] == "pending"
    assert bodies[2]["balance_refresh"]["status"] == "succeeded"
    assert bodies[2]["balance"]["as_of"] > bodies[0]["balance"]["as_of"]
    assert bodies[6]["status"] == "disconnected"
    assert bodies[7]["error"]["code"] == "financial_connections_account_inactive"
    for it in c.interactions:  # every FC exchange validated as it was recorded
        assert it["validation"]["response"]["valid"], it["validation"]

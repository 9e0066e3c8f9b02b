"""Playback's answers: miss explanations never carry a secret to the client, the status
endpoint or pytest's report (they quote recorded values and request values)."""

from __future__ import annotations

import json

from fc_cassette.cassette import store as cio
from fc_cassette.matching.matcher import Miss
from fc_cassette.playback.state import Playback
from fc_cassette.settings.config import Settings

SESSIONS = "/v1/financial_connections/sessions"
# made at run time: never a literal secret in the repository
LIVE = "sk_live_" + "51AbCdEfGhIjKlMnOpQrStUv"
TEST = "sk_test_" + "51ZyXwVuTsRqPoNmLkJiHgFe"


def cassette_with_stripe_account(tmp_path, value: str) -> cio.Cassette:
    """A hand-made cassette whose recorded request carries ``value`` (e.g. a key that
    slipped past review as a YAML escape: verify is tested for that separately)."""
    p = tmp_path / "c.yaml"
    w = cio.Writer(p, fsync=False)
    w.append(
        {
            "request": {
                "method": "POST",
                "path": SESSIONS,
                "query": {},
                "headers": {"Stripe-Account": value},
                "body": {"form": {"permissions": ["balances"]}},
            },
            "response": {"status": 200, "headers": {}, "body": {"json": {"id": "fcsess_1"}}},
        }
    )
    w.close()
    return cio.load(p)


def test_a_miss_quoting_a_recorded_secret_is_redacted_everywhere(tmp_path):
    settings = Settings.model_validate({"matching": {"headers": ["stripe-account"]}})
    pb = Playback(cassette_with_stripe_account(tmp_path, LIVE), settings)
    got = pb.take(
        {
            "method": "POST",
            "path": SESSIONS,
            "query": {},
            "headers": {},
            "body": {"form": {"permissions": ["balances"]}},
        }
    )
    assert isinstance(got, Miss) and LIVE in got.message  # the matcher's own words
    resp = pb.refuse(got)
    seen = [
        resp.text,
        json.dumps(pb.status()),
        "\n".join(pb.summary()),
        *pb.misses,
        *resp.headers.values(),
    ]
    for text in seen:
        assert LIVE not in text and LIVE[8:] not in text
    assert "sk_live_REDACTED_1" in json.loads(resp.text)["error"]["message"]
    assert "sk_live_REDACTED_1" in pb.misses[0]


def test_an_out_of_scope_miss_naming_a_secret_host_is_redacted(tmp_path):
    pb = Playback(cassette_with_stripe_account(tmp_path, "acct_1"), Settings())
    resp = pb.refuse(
        Miss("out_of_scope", f"GET {TEST}.example/v1/x is outside fc-cassette's scope")
    )
    assert TEST not in resp.text and TEST not in json.dumps(pb.status())
    assert pb.misses == ["GET sk_test_REDACTED_1.example/v1/x is outside fc-cassette's scope"]


def test_misses_are_counted_all_but_kept_bounded(tmp_path):
    from fc_cassette.playback.state import MAX_KEPT_MISSES

    pb = Playback(cassette_with_stripe_account(tmp_path, "acct_1"), Settings())
    for i in range(MAX_KEPT_MISSES + 5):
        pb.refuse(Miss("unmatched", f"miss {i}"))
    assert len(pb.misses) == MAX_KEPT_MISSES and pb.missed == MAX_KEPT_MISSES + 5
    assert pb.last_miss == f"miss {MAX_KEPT_MISSES + 4}"
    assert "  ... and 5 more miss(es)" in pb.summary()
    pb.rewind()
    assert (pb.missed, pb.misses, pb.missed_total) == (0, [], MAX_KEPT_MISSES + 5)


def test_a_huge_value_is_quoted_clipped_in_the_explanation(tmp_path):
    """A 20 MB form value must not become a 20 MB explanation, kept and logged."""
    pb = Playback(cassette_with_stripe_account(tmp_path, "acct_1"), Settings())
    got = pb.take(
        {
            "method": "POST",
            "path": SESSIONS,
            "query": {},
            "headers": {},
            "body": {"form": {"permissions": ["x" * 5_000_000]}},
        }
    )
    assert isinstance(got, Miss)
    assert len(got.message) < 2000
    assert "... (5000002 chars)" in got.message
    assert len(pb.refuse(got).content) < 4000

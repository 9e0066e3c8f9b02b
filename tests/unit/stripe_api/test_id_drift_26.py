"""Issue #26, item 15: our id patterns are never stricter than Stripe's spec.

stripe-mock answers ``"id": ""`` for an expanded ownership; the spec gives ids no
pattern, so such a value is drift (reported), not invalid: ``verify`` exits 0 and
``show`` names the drift.
"""

from __future__ import annotations

import yaml

from builders import entry, session_with_accounts
from fc_cassette.cli import show, verify
from fc_cassette.stripe_api.models import validate_session

CREATE = {
    "account_holder": {"type": "customer", "customer": "cus_fake1"},
    "permissions": ["balances"],
}


def _cassette(tmp_path, body):
    c = tmp_path / "mock.yaml"
    c.write_text(
        "---\nfc_cassette: 1\n...\n---\n"
        + yaml.safe_dump(
            {
                "seq": 1,
                **entry(request={"body": {"form": CREATE}}, response={"body": {"json": body}}),
            }
        )
        + "...\n"
    )
    return c


def test_stripe_mocks_empty_ownership_id_is_drift_and_verify_passes(tmp_path, capsys):
    body = session_with_accounts()
    body["accounts"]["data"][0]["ownership"]["id"] = ""
    report = validate_session(body)
    assert report.valid, report.errors
    assert "accounts.data[].ownership.id (not an fcaowns_ id)" in report.drift
    c = _cassette(tmp_path, body)
    assert verify.main([str(c)]) == 0, capsys.readouterr()
    assert show.main(str(c), as_json=True) == 0
    assert "ownership.id (not an fcaowns_ id)" in capsys.readouterr().out


def test_a_type_error_in_an_id_is_still_invalid():
    body = session_with_accounts()
    body["accounts"]["data"][0]["ownership"]["id"] = 5
    assert not validate_session(body).valid

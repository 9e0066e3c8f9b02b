"""Issue #26, items 3 and 4: secrets in their real shapes.

A real ephemeral key is ``ek_test_<base64>_00<tail>``: it is redacted whole, wherever
it stands, and a cassette that holds one redacted in part (``ek_test_REDACTED_1_00…``)
is flagged by ``verify``. A secret of a known shape keeps its kind inside a ``secret``
field, and a Bearer token that is a key with underscores is one placeholder in the
header and in the body that echoes it.
"""

from __future__ import annotations

import yaml

from builders import entry
from fc_cassette.cli import verify
from fc_cassette.redact import Redactor, scan

# made up (Fake), in the real format: base64 of "acct_Fake...", then _00 and a tail
EK = "ek_test_YWNjdF8xRmFrZUVwaGVtZXJhbEtleUFCQyxGYWtlRmFrZUZha2U_00FakeTail9"
KEY_ = "sk_test_FakeKey123_withUnderscore456"


def test_a_real_format_ephemeral_key_is_redacted_whole_anywhere():
    e = entry(
        request={"headers": {"X-Key": EK}, "query": {"k": EK}},
        response={
            "body": {
                "json": {
                    "object": "ephemeral_key",
                    "note": f"key {EK}.",
                    "secret": EK,
                    "associated": [{"id": EK}],
                }
            }
        },
    )
    out = Redactor().redact_entry(e)
    text = yaml.safe_dump(out)
    assert "_00FakeTail9" not in text and "YWNjdF8x" not in text, text
    assert out["request"]["headers"]["X-Key"] == "ek_test_REDACTED_1"
    body = out["response"]["body"]["json"]
    assert body["note"] == "key ek_test_REDACTED_1."
    assert body["secret"] == "ek_test_REDACTED_1"  # the kind is kept inside `secret` too
    assert scan(text) == []


def test_verify_flags_an_ephemeral_key_redacted_only_in_part(tmp_path, capsys):
    c = tmp_path / "c.yaml"
    c.write_text(
        "---\nfc_cassette: 1\n...\n---\n"
        + yaml.safe_dump(
            {
                "seq": 1,
                **entry(
                    response={
                        "body": {
                            "json": {"id": "ephkey_1Fake", "note": "ek_test_REDACTED_1_00abcDEF"}
                        }
                    }
                ),
            }
        )
        + "...\n"
    )
    assert scan("ek_test_REDACTED_1_00abcDEF")[0].kind == "ek_test"
    assert scan("ek_test_REDACTED_1 and sk_test_REDACTED_2rk_test_REDACTED_1") == []
    assert verify.main([str(c)]) == 1
    assert "ek_test" in capsys.readouterr().out


def test_one_placeholder_per_bearer_token_per_exchange():
    e = entry(
        request={"headers": {"Authorization": f"Bearer {KEY_}"}},
        response={
            "status": 401,
            "body": {
                "json": {"error": {"message": f"Invalid API Key provided: {KEY_}", "key": KEY_}}
            },
        },
    )
    out = Redactor().redact_entry(e)
    assert out["request"]["headers"]["Authorization"] == "Bearer sk_test_REDACTED_1"
    err = out["response"]["body"]["json"]["error"]
    assert err == {
        "message": "Invalid API Key provided: sk_test_REDACTED_1",
        "key": "sk_test_REDACTED_1",
    }

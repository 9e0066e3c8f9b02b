"""The echoed Basic credentials (issue #27): an upstream that echoes the whole
``user:password`` pair of a Basic ``Authorization`` header, in base64 or hex, never
leaves a copy that decodes to it in the cassette, whatever the password looks like."""

from __future__ import annotations

import base64
import json

import pytest

from builders import make_flow, record_flow
from fc_cassette.cassette import store as cio

PASSWORDS = ["FakePassw0rdForEchoes42", "hunter2x", "correcthorse"]  # strong, short, a word


@pytest.mark.parametrize("password", PASSWORDS)
def test_the_echoed_basic_pair_in_base64_and_hex_is_redacted(recorder, password):
    record, path = recorder
    pair = f"admin:{password}".encode()
    b64, hexed = base64.b64encode(pair).decode(), pair.hex()
    body = json.dumps(
        {
            "id": "fcsess_fake1",
            "object": "financial_connections.session",
            "seen_b64": b64,
            "seen_hex": hexed,
            "seen_HEX": hexed.upper(),
            "seen_url": base64.urlsafe_b64encode(pair).decode().rstrip("="),
        }
    )
    f = record_flow(
        record,
        make_flow(
            "GET",
            "/v1/financial_connections/sessions/fcsess_fake1",
            req_headers={"Authorization": f"Basic {b64}"},
            status=200,
            resp_body=body.encode(),
            resp_headers={"Content-Type": "application/json", "X-Echo": b64},
        ),
    )
    assert f.response.status_code == 200, f.response.text
    text = path.read_text()
    for form in (b64, b64.rstrip("="), hexed, hexed.upper(), password):
        assert form not in text, form
    got = cio.load(path).interactions[0]["response"]
    for key in ("seen_b64", "seen_hex", "seen_HEX", "seen_url"):
        value = got["body"]["json"][key]
        decoded = (
            bytes.fromhex(value)
            if "hex" in key.lower() and all(c in "0123456789abcdefABCDEF" for c in value)
            else base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
            if key == "seen_url"
            else base64.b64decode(value + "=" * (-len(value) % 4))
        )
        assert password.encode() not in decoded, (key, value)


@pytest.mark.parametrize(
    "encode",
    [lambda b: base64.b64encode(b).decode(), lambda b: b.hex(), lambda b: b.hex().upper()],
    ids=["base64", "hex", "HEX"],
)
def test_verify_flags_an_echoed_basic_pair_left_in_a_cassette(tmp_path, capsys, encode):
    """A cassette written before (or by hand) holding the pair's copy: verify flags it;
    the redacted pair and unrelated base64/hex are not flagged."""
    from fc_cassette.cli.verify import main as verify_main

    path = tmp_path / "c.yaml"
    w = cio.Writer(path, fsync=False)
    for value in (
        encode(b"admin:correcthorse"),
        encode(b"REDACTED_1:REDACTED_2"),
        encode(bytes(range(40))),
    ):
        w.append(
            {
                "request": {
                    "method": "GET",
                    "path": "/v1/customers/cus_fake",
                    "query": {},
                    "headers": {},
                    "body": None,
                },
                "response": {"status": 200, "headers": {"X-Echo": value}, "body": None},
            }
        )
    w.close()
    assert verify_main([str(path)]) == 1
    out = capsys.readouterr().out
    flagged = [line for line in out.splitlines() if "secret" in line]
    assert len(flagged) == 1 and "entry 1" in flagged[0], out

"""Secret fields (``client_secret``, ``secret``) in the two shapes the ``name=value``
rule does not read: a multipart/form-data part, and a value of bytes that are not text
in a binary body (stored as base64). The redactor replaces the value (the rest of the
body byte for byte); the scanner, an independent second line, finds what is left, in a
body, in a cassette's YAML text (line breaks escaped) and inside base64.

Every secret literal contains "fake" (the repo's key scanner skips those).
"""

from __future__ import annotations

import base64
import json

import pytest

from fc_cassette.cassette import yamlio
from fc_cassette.redact import Redactor, scan

VALUE = "odd fakeMPSECRET40 value"


def _part(disposition: str, value: str = VALUE, br: str = "\r\n") -> str:
    return (
        f"--b0{br}Content-Disposition: form-data; {disposition}{br}"
        f"Content-Type: text/plain{br}{br}{value}{br}"
        f'--b0{br}Content-Disposition: form-data; name="purpose"{br}{br}x{br}--b0--{br}'
    )


DISPOSITIONS = [
    'name="client_secret"',
    'name="secret"',
    "name=client_secret",
    "name*=UTF-8''client_secret",
    'name="intent[client_secret]"',
    "name*=utf-8''client%5Fsecret",
    "NAME='secret'",
]


@pytest.mark.parametrize("disposition", DISPOSITIONS)
def test_a_multipart_part_named_secret_is_redacted_in_a_text_body(disposition):
    r = Redactor()
    body = _part(disposition)
    out = r.redact_entry({"request": {"body": {"text": body}}})["request"]["body"]["text"]
    assert "MPSECRET40" not in out
    assert out == body.replace(VALUE, "REDACTED_1")  # the rest kept byte for byte
    assert (
        r.redact_entry({"request": {"body": {"text": out}}})["request"]["body"]["text"] == out
    )  # idempotent


@pytest.mark.parametrize("br", ["\r\n", "\n"])
def test_multipart_values_of_any_shape_and_other_parts_untouched(br):
    r = Redactor()
    body = _part('name="secret"', value=f"line one{br}fake line two", br=br)
    out = r.redact_text(body)
    assert "line" not in out.split("purpose")[0].split(f"{br}{br}", 1)[1]
    assert f'name="purpose"{br}{br}x{br}' in out
    # a part that is not a secret field keeps its value; a filename is not a name
    plain = _part('name="note"', value="fakeKEEPME")
    assert r.redact_text(plain) == plain
    fname = _part('name="file"; filename="secret"', value="fakeKEEPME")
    assert r.redact_text(fname) == fname


def test_a_miss_explanation_quoting_a_multipart_body_does_not_show_the_value():
    r = Redactor()
    body = _part('name="client_secret"')
    quoted = f"text: recorded 'x', got {body!r}"
    out = r.redact_text(quoted)
    assert "MPSECRET40" not in out and "REDACTED_1" in out
    assert 'name="purpose"\\r\\n\\r\\nx' in out  # the rest stays readable


def test_the_same_value_echoed_elsewhere_gets_the_same_placeholder():
    r = Redactor()
    entry = r.redact_entry(
        {
            "request": {"body": {"text": _part('name="client_secret"')}},
            "response": {"body": {"json": {"echo": {"form": VALUE}}}},
        }
    )
    assert entry["response"]["body"]["json"]["echo"]["form"] == "REDACTED_1"


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


@pytest.mark.parametrize(
    "raw, value",
    [
        (b"client_secret=\xff\xfefakeLATIN52", b"\xff\xfefakeLATIN52"),
        (b"a=1&secret=fake\x00LATIN52&b=\xe9", b"fake\x00LATIN52"),
        (b"intent[client_secret]=\xfffakeLATIN52&z=1", b"\xfffakeLATIN52"),
        (b'{"secret": "\xfffake LATIN52 x", "\xfe": 1}', b"\xfffake LATIN52 x"),
    ],
)
def test_a_secret_field_in_a_binary_body_is_redacted_byte_exactly(raw, value):
    r = Redactor()
    out = r.redact_entry({"request": {"body": {"base64": _b64(raw)}}})
    got = base64.b64decode(out["request"]["body"]["base64"])
    assert got == raw.replace(value, b"REDACTED_1")  # the rest kept byte for byte


def test_a_binary_body_multipart_part_is_redacted():
    r = Redactor()
    raw = _part('name="secret"').encode().replace(b"purpose", b"file\xff\xfe")
    out = r.redact_entry({"request": {"body": {"base64": _b64(raw)}}})
    got = base64.b64decode(out["request"]["body"]["base64"])
    assert got == raw.replace(VALUE.encode(), b"REDACTED_1")


# ----------------------------------------------------------------------------- scanner
def _cassette_text(body: dict) -> str:
    return yamlio.dump({"request": {"method": "POST", "path": "/v1/files", "body": body}})


@pytest.mark.parametrize("disposition", DISPOSITIONS)
def test_the_scanner_finds_a_multipart_value_raw_and_in_yaml_and_json(disposition):
    body = _part(disposition)
    for text in (body, _cassette_text({"text": body}), json.dumps({"text": body})):
        found = scan(text)
        assert [f.kind for f in found] == ["secret_field"], text
        assert "MPSECRET40" not in repr(found)


def test_the_scanner_finds_a_binary_body_value_and_passes_redacted_ones():
    raw = b"client_secret=\xff\xfefakeLATIN52"
    found = scan(_cassette_text({"base64": _b64(raw)}))
    assert [f.kind for f in found] == ["secret_field"]
    assert "LATIN52" not in repr(found) and found[0].encoding == "base64"
    r = Redactor()
    for body in (
        {"base64": _b64(raw)},
        {"text": _part('name="client_secret"')},
        {"base64": _b64(_part("name=secret").encode() + b"\xff")},
    ):
        red = r.redact_entry({"request": {"method": "POST", "path": "/v1/files", "body": body}})
        assert scan(yamlio.dump(red)) == [], red
    # not findings: a plain part, a placeholder, an empty value
    assert scan(_part('name="purpose"')) == []
    assert scan(_part('name="client_secret"', value="REDACTED_3")) == []
    assert scan(_part('name="client_secret"', value="")) == []
    assert scan(_cassette_text({"base64": _b64(b"client_secret=REDACTED_2&x=\xff")})) == []

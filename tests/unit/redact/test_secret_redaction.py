"""Issue #14/#12: every secret kind, in every place a secret can sit, in every encoding.

Kinds: webhook secrets, ephemeral keys, ``<object id>_secret_<random>`` client secrets
of any object (PaymentIntent, SetupIntent, FC Session), short API keys, and values of
fields named ``client_secret``/``secret`` whatever their shape. Places: headers, query
(as data and as raw text), form and JSON bodies at depth, error messages, text bodies,
paths, log lines. Encodings the redactor rewrites (percent, ``\\u``, base64) are
redacted in place; the ones only the scanner reads (hex, base32, HTML references,
MIME-wrapped base64, gzip inside base64) make the recorder refuse the entry. Either way
nothing reaches the cassette.

Every secret literal contains "fake" or "Example" (the repo's key scanner skips those).
"""

from __future__ import annotations

import base64
import copy
import gzip
import html
import json
import logging
from urllib.parse import quote

import pytest
import yaml

import builders
from builders import make_flow, record_flow as run
from fc_cassette.cassette import store as cio, yamlio
from fc_cassette.redact import Redactor, scan

SECRETS = {  # name -> (value, the placeholder's kept prefix)
    "whsec": ("whsec_" + "fakeExampleWebhook0123456789", "whsec_"),
    "ek_test": ("ek_test_" + "fakeExampleEphemeral012345", "ek_test_"),
    "ek_live": ("ek_live_" + "fakeExampleEphemeralLive01", "ek_live_"),
    "pi": ("pi_3FakeExample01_secret_" + "fakeExamplePiSecret0123", "pi_3FakeExample01_secret_"),
    "seti": ("seti_1FakeX_secret_" + "fakeExampleSetiSecret9", "seti_1FakeX_secret_"),
    "fcsess": ("fcsess_123_secret_" + "fake456", "fcsess_123_secret_"),
    "cs_test": ("cs_test_a1FakeB2_secret_" + "fakeCheckout7", "cs_test_a1FakeB2_secret_"),
    "short_sk": ("sk_test_" + "fake1", "sk_test_"),
    "short_rk": ("rk_live_" + "fake2", "rk_live_"),
}
IDS = sorted(SECRETS)


def b64(s: str) -> str:
    return base64.b64encode(s.encode()).decode()


def pct_all(s: str) -> str:
    return "".join(f"%{ord(c):02X}" for c in s)


def rand_part(value: str) -> str:
    """What must never show: everything after the kind's visible prefix."""
    return value.rsplit("_", 1)[1]


def entry(request: dict | None = None, response: dict | None = None) -> dict:
    return builders.entry(
        {"path": "/v1/payment_intents", **(request or {})},
        {
            "body": {"json": {"id": "pi_3FakeExample01", "object": "payment_intent"}},
            **(response or {}),
        },
    )


def assert_clean(data, value: str) -> None:
    for text in (yaml.safe_dump(data, sort_keys=False), yamlio.dump(data)):
        for form in {value, quote(value, safe=""), pct_all(value), rand_part(value)}:
            assert form not in text, form
        if len(value) >= 12:
            assert b64(value) not in text
        assert scan(text) == [], scan(text)


# ----------------------------------------------------------------------- every place

PLACES = {
    "header": lambda v: entry(request={"headers": {"X-Note": f"key={v}"}}),
    "response_header": lambda v: entry(response={"headers": {"X-Echo": v}}),
    "query": lambda v: entry(request={"query": {"a": {"b": [v]}}}),
    "raw_query": lambda v: entry(request={"query": f"a=1&k={v}&%zz"}),
    "form_at_depth": lambda v: entry(request={"body": {"form": {"pm": {"card": [{"x": v}]}}}}),
    "json_at_depth": lambda v: entry(
        response={"body": {"json": {"data": [{"nested": {"deeper": [{"value": v}]}}]}}}
    ),
    "json_key": lambda v: entry(response={"body": {"json": {"m": {v: 1}}}}),
    "error_message": lambda v: entry(
        response={
            "status": 400,
            "body": {
                "json": {
                    "error": {
                        "type": "invalid_request_error",
                        "message": f"No such object: '{v}'; check it",
                    }
                }
            },
        }
    ),
    "text_body": lambda v: entry(response={"body": {"text": f"echo: {v}\n"}}),
    "path": lambda v: entry(request={"path": f"/v1/things/{v}/confirm"}),
    "json_in_a_string": lambda v: entry(
        response={"body": {"json": {"payload": json.dumps({"client_id": 1, "inner": v})}}}
    ),
}


@pytest.mark.parametrize("place", sorted(PLACES))
@pytest.mark.parametrize("name", IDS)
def test_each_kind_in_each_place_is_redacted_with_its_prefix_kept(name, place):
    value, prefix = SECRETS[name]
    e = PLACES[place](value)
    assert scan(yaml.safe_dump(e)), "test bug: nothing planted that scan() sees"
    before = copy.deepcopy(e)
    out = Redactor().redact_entry(e)
    assert e == before
    assert_clean(out, value)
    assert f"{prefix}REDACTED_1" in yaml.safe_dump(out)


ENCODINGS = {
    "percent": pct_all,
    "percent_underscore": lambda v: v.replace("_", "%5F"),
    "base64": b64,
    "base64url": lambda v: base64.urlsafe_b64encode(v.encode()).decode().rstrip("="),
    "unicode_escape": lambda v: v.replace("_", "\\u005f"),
}


@pytest.mark.parametrize("enc", sorted(ENCODINGS))
@pytest.mark.parametrize("name", IDS)
def test_each_kind_under_each_rewritable_encoding(name, enc):
    value, _ = SECRETS[name]
    if enc.startswith("base64") and len(value) < 12:
        pytest.skip("base64 runs under 16 characters are not decoded (docs/security.md)")
    e = entry(response={"body": {"json": {"a": [f"x {ENCODINGS[enc](value)} y"]}}})
    assert scan(yaml.safe_dump(e))
    out = Redactor().redact_entry(e)
    assert_clean(out, value)


def test_redact_text_log_lines_and_miss_explanations():
    r = Redactor()
    for name in IDS:
        value, prefix = SECRETS[name]
        line = (
            f"fc-cassette replay: miss: no recorded request matches GET /v1/x; closest "
            f"is interaction 3: query.k: recorded 'a', got '{value}'"
        )
        red = r.redact_text(line)
        assert value not in red and rand_part(value) not in red and f"{prefix}REDACTED_" in red
        assert scan(red) == []


def test_the_same_secret_is_the_same_placeholder_everywhere():
    value, prefix = SECRETS["pi"]
    r = Redactor()
    resp = r.redact_entry(entry(response={"body": {"json": {"client_secret": value}}}))
    later = r.redact_entry(
        entry(
            request={
                "method": "GET",
                "path": "/v1/payment_intents/pi_3FakeExample01",
                "query": {"client_secret": value},
            }
        )
    )
    ph = resp["response"]["body"]["json"]["client_secret"]
    assert ph == f"{prefix}REDACTED_1"
    assert later["request"]["query"]["client_secret"] == ph
    assert r.redact_text(f"client_secret={value}") == f"client_secret={ph}"
    # the placeholder itself is left alone (a replayed client sends it back)
    assert r.redact_entry(later) == later
    assert Redactor().redact_text(ph) == ph


def test_short_keys_keep_their_prefix_in_every_place():
    r = Redactor()
    out = r.redact_entry(
        entry(
            request={
                "headers": {"Authorization": "Bearer sk_test_123"},
                "body": {"form": {"key": "sk_test_123", "other": "rk_test_9"}},
            }
        )
    )
    assert out["request"]["headers"]["Authorization"] == "Bearer sk_test_REDACTED_1"
    assert out["request"]["body"]["form"] == {
        "key": "sk_test_REDACTED_1",
        "other": "rk_test_REDACTED_1",
    }


# ----------------------------------------------------------------------- by field name

FIELD_PLACES = {
    "json_at_depth": lambda n, v: entry(response={"body": {"json": {"a": {"b": [{n: v}]}}}}),
    "form": lambda n, v: entry(request={"body": {"form": {"payment_intent": {n: v}}}}),
    "query": lambda n, v: entry(request={"method": "GET", "query": {n: v}}),
    "raw_query": lambda n, v: entry(request={"method": "GET", "query": f"{n}={v}&%zz"}),
    "text_json": lambda n, v: entry(response={"body": {"text": json.dumps({n: v})}}),
    "text_form": lambda n, v: entry(request={"body": {"text": f"intent[{n}]={v}&x=1"}}),
    "error_message": lambda n, v: entry(
        response={"status": 400, "body": {"json": {"error": {"message": f"Invalid {n}: {v}"}}}}
    ),
}


@pytest.mark.parametrize("place", sorted(FIELD_PLACES))
@pytest.mark.parametrize("name", ["client_secret", "secret"])
@pytest.mark.parametrize("value", ["abc123", "fakeShapeless9Value", "FAKE-x.y/z+1="])
def test_a_secret_field_is_redacted_whatever_its_shape(name, place, value):
    e = FIELD_PLACES[place](name, value)
    assert value in yaml.safe_dump(e)
    assert scan(yaml.safe_dump(e)), "the scanner flags a secret field's value too"
    out = Redactor().redact_entry(e)
    text = yaml.safe_dump(out)
    assert value not in text and quote(value, safe="") not in text
    assert "REDACTED_1" in text
    assert scan(text) == []


def test_field_values_that_are_not_secrets_stay():
    r = Redactor()
    e = entry(
        response={
            "body": {
                "json": {
                    "client_secret": None,
                    "secret": "",
                    "has_secret": "keep",
                    "secret_note": "keep1",
                }
            }
        }
    )
    assert r.redact_entry(e) == e
    text = "client_secret: null; secret=true; client_secret: recorded 'x'"
    assert r.redact_text(text) == text and scan(text) == []


# ----------------------------------------------------------------------- scanner-only layers


def _gzip_b64(v: str) -> str:
    return base64.b64encode(gzip.compress(f"payload {v} end".encode())).decode()


def _mime(v: str) -> str:
    blob = base64.b64encode(("x" * 50 + f" {v} " + "y" * 80).encode()).decode()
    return "\n".join(blob[i : i + 76] for i in range(0, len(blob), 76))


SCANNER_ENCODINGS = {
    "hex": lambda v: v.encode().hex(),
    "HEX": lambda v: v.encode().hex().upper(),
    "base32": lambda v: base64.b32encode(v.encode()).decode(),
    "base32_lower": lambda v: base64.b32encode(v.encode()).decode().lower().rstrip("="),
    "html_decimal": lambda v: f"&#{ord(v[0])};{v[1:]}",
    "html_all": lambda v: "".join(f"&#{ord(c)};" for c in v),
    "html_hex": lambda v: "".join(f"&#x{ord(c):x};" for c in v),
    "html_named": lambda v: v.replace("_", "&lowbar;"),
    "mime_base64": _mime,
    "gzip_in_base64": _gzip_b64,
}


@pytest.mark.parametrize("enc", sorted(SCANNER_ENCODINGS))
@pytest.mark.parametrize("name", ["whsec", "ek_live", "pi", "seti", "fcsess", "short_sk"])
def test_the_scanner_reads_more_layers(name, enc):
    value, _ = SECRETS[name]
    encoded = SCANNER_ENCODINGS[enc](value)
    assert value not in encoded
    for text in (
        yaml.safe_dump({"body": {"text": f"before {encoded} after"}}),
        yamlio.dump({"body": {"text": f"before {encoded} after"}}),
        json.dumps({"note": encoded}),
    ):
        found = scan(text)
        assert found, (enc, text[:200])
        assert all(rand_part(value) not in f.excerpt for f in found)


@pytest.mark.parametrize("enc", sorted(SCANNER_ENCODINGS))
def test_the_recorder_refuses_what_only_the_scanner_can_read(recorder, caplog, enc):
    """Fail closed: the redactor does not rewrite inside these layers, so the entry is
    not written and the flow is flagged; the log does not carry the secret either."""
    record, path = recorder
    value, _ = SECRETS["pi"]
    encoded = SCANNER_ENCODINGS[enc](value)
    f = make_flow(
        "POST",
        "/v1/financial_connections/sessions",
        status=200,
        resp_body=json.dumps({"id": "fcsess_1", "note": encoded}).encode(),
        resp_headers={"Content-Type": "application/json"},
    )
    with caplog.at_level(logging.INFO, logger="fc_cassette"):
        run(record, f)
    on_disk = path.read_text() if path.exists() else ""
    assert encoded not in on_disk and rand_part(value) not in on_disk
    if enc != "html_decimal":  # (there, "i_3Fake…_secret_…" after "&#112;" is itself
        assert f.marked == ":no_entry:", f.comment  # an object secret: redacted, written)
    assert encoded not in caplog.text and rand_part(value) not in caplog.text


# ----------------------------------------------------------------------- charsets


@pytest.mark.parametrize("charset", ["cp500", "cp1140", "utf-7", "x-unknown-charset"])
def test_bodies_in_charsets_that_are_not_ascii_compatible_are_refused(recorder, caplog, charset):
    record, path = recorder
    value, _ = SECRETS["short_sk"]
    codec = {"x-unknown-charset": "utf-8"}.get(charset, charset)
    body = f"note={value}".encode(codec)
    f = make_flow(
        "POST",
        "/v1/financial_connections/sessions",
        status=200,
        resp_body=body,
        resp_headers={"Content-Type": f"text/plain; charset={charset}"},
    )
    with caplog.at_level(logging.INFO, logger="fc_cassette"):
        run(record, f)
    assert not path.exists()
    assert f.marked == ":no_entry:" and charset in f.comment
    assert value not in caplog.text


def test_ascii_compatible_charsets_are_still_recorded(recorder):
    record, path = recorder
    value, _ = SECRETS["short_sk"]
    f = make_flow(
        "POST",
        "/v1/financial_connections/sessions",
        status=200,
        resp_body=f"note={value} é".encode("latin-1"),
        resp_headers={"Content-Type": "text/plain; charset=ISO-8859-1"},
    )
    run(record, f)
    assert value not in path.read_text()
    body = cio.load(path).interactions[0]["response"]["body"]
    assert base64.b64decode(body["base64"]) == "note=sk_test_REDACTED_1 é".encode("latin-1")


# ----------------------------------------------------------------------- echoed credentials

USER, PASSWORD = "fakeuser1", "fakePassw0rd99X"
OPAQUE = "fakeOpaqueT0kenForBearerXYZ"


def _echo_forms(cred: str) -> dict[str, str]:
    return {
        "raw": cred,
        "b64": b64(cred),
        "b64url": base64.urlsafe_b64encode(cred.encode()).decode().rstrip("="),
        "hex": cred.encode().hex(),
        "HEX": cred.encode().hex().upper(),
        "pct": quote(cred, safe=""),
    }


@pytest.mark.parametrize(
    "auth,cred",
    [
        (f"Basic {b64(USER + ':' + PASSWORD)}", PASSWORD),
        (f"Bearer {OPAQUE}", OPAQUE),
    ],
    ids=["basic", "bearer"],
)
def test_learned_credentials_are_chased_in_their_echoed_forms(recorder, auth, cred):
    record, path = recorder
    echoed = {k: f"seen {v}" for k, v in _echo_forms(cred).items()}
    if auth.startswith("Basic"):  # (a Basic pair nothing taught the redactor is a
        # secret only the scanner reads since #27: that entry is refused, not written)
        echoed["whole_basic"] = b64(USER + ":" + PASSWORD)
        echoed["whole_hex"] = (USER + ":" + PASSWORD).encode().hex()
    f = make_flow(
        "GET",
        "/v1/financial_connections/sessions/fcsess_1",
        req_headers={"Authorization": auth},
        status=200,
        resp_body=json.dumps({"id": "fcsess_1", "echo": echoed}).encode(),
        resp_headers={"Content-Type": "application/json", "X-Echo-Hex": cred.encode().hex()},
    )
    run(record, f)
    assert f.marked != ":no_entry:", f.comment  # redacted, so written
    text = path.read_text()
    for form in _echo_forms(cred).values():
        assert form not in text
    echo = cio.load(path).interactions[0]["response"]["body"]["json"]["echo"]
    ph = echo["raw"].split(" ")[1]
    assert ph.startswith("REDACTED_")
    assert {echo[k] for k in ("raw", "b64", "b64url", "hex", "HEX", "pct")} == {f"seen {ph}"}
    if auth.startswith("Basic"):
        assert b64(USER + ":" + PASSWORD) not in text
        assert base64.b64decode(echo["whole_basic"]).decode().startswith("REDACTED_")
        assert (USER + ":" + PASSWORD).encode().hex() not in text


def test_html_unescape_is_what_browsers_do():
    value, _ = SECRETS["whsec"]
    assert html.unescape(SCANNER_ENCODINGS["html_named"](value)) == value


def test_numbering_continues_after_an_existing_cassettes_placeholders():
    existing = yamlio.dump(
        {"a": "pi_3Old1_secret_REDACTED_4", "b": "whsec_REDACTED_2", "c": "ek_test_REDACTED_7"}
    )
    r = Redactor(existing=existing)
    assert r.redact_text(SECRETS["seti"][0]) == "seti_1FakeX_secret_REDACTED_5"
    assert r.redact_text(SECRETS["whsec"][0]) == "whsec_REDACTED_3"
    assert r.redact_text(SECRETS["ek_test"][0]) == "ek_test_REDACTED_8"


@pytest.mark.parametrize("name", IDS)
def test_redaction_of_new_kinds_is_idempotent(name):
    value, _ = SECRETS[name]
    e = entry(
        request={"query": {"client_secret": value}, "headers": {"X": f"Bearer {value}"}},
        response={"body": {"json": {"secret": value, "m": f"x {b64(value)} y"}}},
    )
    r = Redactor()
    once = r.redact_entry(e)
    assert r.redact_entry(once) == once
    assert Redactor().redact_entry(once) == once

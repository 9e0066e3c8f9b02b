"""Record mode's redaction as a security control, through the real addon hooks.

Flows are built with mitmproxy's own test helpers and run through the record addon
exactly as mitmdump would; secrets are planted in every place an FC exchange can carry
them. Nothing may reach the cassette or the log, in any encoding; and when redaction
fails, the scanner must refuse the entry (fail closed).
"""

from __future__ import annotations

import base64
import gzip
import json
import logging
import random
import string
import zlib
from urllib.parse import quote

import pytest
from hypothesis import given, settings, strategies as st
from mitmproxy.test import taddons

from builders import examples, make_flow, record_flow as run
from fc_cassette.cassette import store as cio
from fc_cassette.mitm.addon import all_addons
from fc_cassette.redact import scan
from support import encoded_forms

_rnd = random.Random(20261126)


def secret(prefix: str) -> str:
    """A realistic-looking secret made at run time (never a literal in this file)."""
    return prefix + "fake" + "".join(_rnd.choices(string.ascii_letters + string.digits, k=24))


def test_secrets_everywhere_never_reach_the_cassette_or_log(recorder, caplog):
    record, path = recorder
    key, rk, secret1, secret2 = (
        secret("sk_test_"),
        secret("rk_test_"),
        secret("fcsess_client_secret_"),
        secret("fcsess_client_secret_"),
    )
    form = "&".join(
        [
            "account_holder[type]=customer",
            "account_holder[customer]=cus_fake1",
            "permissions[0]=balances",
            f"return_url={quote('https://app.test/cb?key=' + rk, safe='')}",  # URL-encoded
            f"metadata[note]={quote('my key is ' + key, safe='')}",
            f"metadata[nested][0]={quote(json.dumps({'deep': [secret1]}), safe='')}",
        ]
    ).encode()
    session = {
        "id": "fcsess_fake1",
        "object": "financial_connections.session",
        "livemode": False,
        "client_secret": secret1,
        "permissions": ["balances"],
        "accounts": {
            "object": "list",
            "data": [],
            "has_more": False,
            "url": "/v1/financial_connections/accounts",
        },
        "metadata": {"list": [secret2, {"k": f"Bearer {key}"}], secret2: "as a key"},
        "error_hint": f"Invalid API Key provided: {key}",
    }
    flow = make_flow(
        "POST",
        f"/v1/financial_connections/sessions?token={quote(key, safe='')}&cs={secret2}",
        form,
        {
            "Content-Type": "application/x-www-form-urlencoded",
            "Authorization": "Basic " + base64.b64encode(f"{rk}:".encode()).decode(),
            "Cookie": f"sid={secret2}",
            "X-Debug": base64.b64encode(key.encode()).decode(),
        },
        200,
        gzip.compress(json.dumps(session).encode()),
        {
            "Content-Type": "application/json",
            "Content-Encoding": "gzip",
            "Set-Cookie": f"sid={key}; Path=/",
        },
    )
    with caplog.at_level(logging.DEBUG):
        run(record, flow)
        # a Stripe error response whose message carries the key in full
        err = {
            "error": {
                "type": "invalid_request_error",
                "message": f"Invalid API Key provided: {key}",
            }
        }
        run(
            record,
            make_flow(
                "GET",
                "/v1/financial_connections/sessions/fcsess_fake1",
                req_headers={"Authorization": f"Bearer {key}"},
                status=401,
                resp_body=json.dumps(err).encode(),
                resp_headers={"Content-Type": "application/json"},
            ),
        )
    text = path.read_text()
    c = cio.load(path)
    assert len(c.interactions) == 2
    first = c.interactions[0]
    # bodies are stored decompressed, with the encoding header gone
    placeholder = first["response"]["body"]["json"]["client_secret"]
    assert placeholder.startswith("fcsess_client_secret_REDACTED_")
    # the same secret got the same placeholder in the request (inside JSON in a form value)
    assert placeholder in first["request"]["body"]["form"]["metadata"]["nested"][0]
    assert "Content-Encoding" not in first["response"]["headers"]
    assert (
        base64.b64decode(first["request"]["headers"]["Authorization"][6:]) == b"rk_test_REDACTED_1:"
    )
    assert first["request"]["headers"]["Cookie"] == "REDACTED"
    assert first["response"]["headers"]["Set-Cookie"] == "REDACTED"
    for s in (key, rk, secret1, secret2):
        for form_ in encoded_forms(s):
            assert form_ not in text, form_
            assert form_ not in caplog.text, form_
    assert scan(text) == []


def test_secret_as_an_unknown_json_key_stays_out_of_the_log(recorder, caplog):
    """Drift is reported by key name; a key can itself be a secret."""
    record, path = recorder
    key = secret("sk_test_")
    session = {
        "id": "fcsess_fake1",
        "object": "financial_connections.session",
        "livemode": False,
        "permissions": ["balances"],
        "accounts": {
            "object": "list",
            "data": [],
            "has_more": False,
            "url": "/v1/financial_connections/accounts",
            key: 1,
        },
        key: "x",
    }
    with caplog.at_level(logging.INFO):
        run(
            record,
            make_flow(
                "GET",
                "/v1/financial_connections/sessions/fcsess_fake1",
                status=200,
                resp_body=json.dumps(session).encode(),
                resp_headers={"Content-Type": "application/json"},
            ),
        )
    assert "drift:" in caplog.text  # the unknown keys were reported ...
    for form_ in encoded_forms(key):  # ... redacted, in the log and on disk
        assert form_ not in caplog.text
        assert form_ not in path.read_text()


def test_secret_in_stripe_version_never_reaches_the_cassette_header(recorder):
    """The header records the first request's Stripe-Version: redacted and scanned too."""
    record, path = recorder
    key = secret("sk_test_")
    run(
        record,
        make_flow(
            "GET",
            "/v1/financial_connections/sessions/fcsess_fake1",
            req_headers={"Stripe-Version": f"2026-10-28.endive {key}"},
            status=404,
            resp_body=b'{"error": {"type": "invalid_request_error"}}',
            resp_headers={"Content-Type": "application/json"},
        ),
    )
    text = path.read_text()
    for form_ in encoded_forms(key):
        assert form_ not in text
    assert cio.load(path).header["stripe_version"] == "2026-10-28.endive sk_test_REDACTED_1"


def test_binary_body_with_a_secret_is_redacted(recorder):
    record, path = recorder
    key = secret("sk_live_")
    blob = b"\x00\x01\xff" + key.encode() + b"\x00"
    run(
        record,
        make_flow(
            "POST",
            "/v1/financial_connections/sessions",
            blob,
            {"Content-Type": "application/octet-stream"},
            400,
            b"{}",
            {"Content-Type": "application/json"},
        ),
    )
    text = path.read_text()
    for form_ in encoded_forms(key):
        assert form_ not in text
    body = cio.load(path).interactions[0]["request"]["body"]
    assert b"sk_live_REDACTED_1" in base64.b64decode(body["base64"])


def test_bodies_under_any_content_coding_are_decoded_then_redacted(recorder):
    """x-gzip and stacked codings: mitmproxy's lenient decoding returned the compressed
    bytes, stored as base64 that no redaction or scan could read."""
    import gzip

    record, path = recorder
    cs = secret("fcsess_client_secret_")
    body = json.dumps(
        {"id": "fcsess_fake1", "object": "financial_connections.session", "client_secret": cs}
    ).encode()
    for coding, data in (
        ("x-gzip", gzip.compress(body)),
        ("gzip, gzip", gzip.compress(gzip.compress(body))),
        ("deflate, br, identity", None),
    ):
        if data is None:
            import zlib

            import brotli

            data = brotli.compress(zlib.compress(body))
        run(
            record,
            make_flow(
                "GET",
                "/v1/financial_connections/sessions/fcsess_fake1",
                status=200,
                resp_body=data,
                resp_headers={"Content-Type": "application/json", "Content-Encoding": coding},
            ),
        )
    text = path.read_text()
    for form_ in encoded_forms(cs):
        assert form_ not in text
    bodies = [i["response"]["body"] for i in cio.load(path).interactions]
    assert [b["json"]["client_secret"] for b in bodies] == ["fcsess_client_secret_REDACTED_1"] * 3


@pytest.mark.parametrize("coding", ["gzip", "deflate", "br", "zstd"])
def test_a_compression_bomb_is_not_recorded(recorder, coding):
    from mitmproxy.net import encoding

    record, path = recorder
    bomb = b"{" * (32 << 20)
    # each at its fastest level, in the format mitmproxy's encoder writes: brotli 6 KB
    # in 5 ms (its default level: 0.8 s); gzip (mtime 0) and deflate (zlib's header and
    # checksum) 146 KB in 0.06 s (the default level: 0.2 s)
    if coding == "br":
        import brotli

        packed = brotli.compress(bomb, quality=1)
    elif coding == "gzip":
        packed = gzip.compress(bomb, compresslevel=1, mtime=0)
    elif coding == "deflate":
        packed = zlib.compress(bomb, 1)
    else:
        packed = encoding.encode(bomb, coding)  # zstd: mitmproxy 11 and 12 differ
    f = make_flow(
        "GET",
        "/v1/financial_connections/sessions/fcsess_fake1",
        status=200,
        resp_body=packed,
        resp_headers={"Content-Type": "application/json", "Content-Encoding": coding},
    )
    run(record, f)
    assert not path.exists() and f.marked == ":no_entry:"
    assert "the decompressed body is larger than 16 MiB" in f.comment


@pytest.mark.parametrize(
    "coding", ["compress", "gzip", "gzip, x-unknown", "rot13", "bz2", "zlib", "base64"]
)
def test_a_body_that_cannot_be_decoded_is_not_recorded(recorder, caplog, coding):
    """Fail closed: bytes fc-cassette cannot decode could hide a secret."""
    import gzip

    record, path = recorder
    cs = secret("fcsess_client_secret_")
    raw = b"not gzip at all " + cs.encode() if coding == "gzip" else gzip.compress(cs.encode())
    f = make_flow(
        "GET",
        "/v1/financial_connections/sessions/fcsess_fake1",
        status=200,
        resp_body=raw,
        resp_headers={"Content-Type": "application/json", "Content-Encoding": coding},
    )
    with caplog.at_level(logging.INFO, logger="fc_cassette"):
        run(record, f)
    assert not path.exists()
    assert f.marked == ":no_entry:" and "cannot be undone" in f.comment
    assert any(
        "NOT recorded GET /v1/financial_connections/sessions/fcsess_fake1: "
        "Content-Encoding" in r.getMessage()
        for r in caplog.records
    )
    assert cs not in caplog.text


def test_credentials_without_a_known_prefix_are_chased_through_the_entry(recorder):
    """An opaque Bearer token or a Basic password matches no secret pattern; once seen
    in Authorization, its copies elsewhere (echoed by the upstream, in the query, in a
    body) are replaced too, with the same placeholder."""
    import base64

    record, path = recorder
    # (not ek_test_: ephemeral keys are a known kind now, issue #14)
    token = "opq_" + "".join(_rnd.choices(string.ascii_letters, k=30))
    password = "".join(_rnd.choices(string.ascii_letters + string.digits, k=18))
    basic = base64.b64encode(f"admin:{password}".encode()).decode()
    for auth, cred in ((f"Bearer {token}", token), (f"Basic {basic}", password)):
        body = json.dumps(
            {
                "id": "fcsess_fake1",
                "object": "financial_connections.session",
                "note": f"token {cred}",
                "nested": {"q": quote(cred, safe="")},
            }
        )
        run(
            record,
            make_flow(
                "GET",
                f"/v1/financial_connections/sessions/fcsess_fake1?echo={cred}",
                req_headers={"Authorization": auth},
                status=200,
                resp_body=body.encode(),
                resp_headers={"Content-Type": "application/json", "X-Echo-Token": cred},
            ),
        )
    text = path.read_text()
    for cred in (token, password):
        for form_ in encoded_forms(cred):
            if len(form_) >= 8:
                assert form_ not in text
    first, second = cio.load(path).interactions
    assert first["request"]["headers"]["Authorization"] == "Bearer REDACTED_1"
    assert first["request"]["query"] == {"echo": "REDACTED_1"}
    assert first["response"]["headers"]["X-Echo-Token"] == "REDACTED_1"
    assert first["response"]["body"]["json"]["note"] == "token REDACTED_1"
    assert first["response"]["body"]["json"]["nested"]["q"] == "REDACTED_1"
    assert second["response"]["body"]["json"]["note"] == "token REDACTED_3"  # 2: "admin"
    assert second["request"]["query"] == {"echo": "REDACTED_3"}


@pytest.mark.parametrize("charset", ["utf-16", "utf-16-be", "utf-32"])
@pytest.mark.parametrize("ascii_prefix", [b"", b"--boundary0123456789abcdef\r\n"])
def test_a_secret_in_a_utf16_or_utf32_text_body_is_never_written(recorder, charset, ascii_prefix):
    """Stored as base64 (not UTF-8), its secrets are interleaved with NULs: redaction
    cannot rewrite them in place, so the scanner refuses the entry (fail closed), also
    when ASCII text shares the body."""
    record, path = recorder
    key = secret("sk_test_")
    f = make_flow(
        "POST",
        "/v1/financial_connections/sessions",
        ascii_prefix + f"note={key}".encode(charset),
        {"Content-Type": f"text/plain; charset={charset}"},
        400,
        b"{}",
        {"Content-Type": "application/json"},
    )
    run(record, f)
    assert not path.exists() and f.marked == ":no_entry:"
    assert "secret scanner found" in f.comment


def test_mitmproxys_own_log_lines_number_secrets_as_the_cassette_does(recorder):
    """Key B first shows in one of mitmproxy's lines, then is recorded: one number."""
    from fc_cassette.mitm.core import RedactingFilter

    record, path = recorder
    a, b = secret("sk_test_"), secret("sk_test_")
    sessions = "/v1/financial_connections/sessions"

    def call(key):
        run(
            record,
            make_flow(
                "GET",
                f"{sessions}/fcsess_fake1",
                req_headers={"Authorization": f"Bearer {key}"},
                status=200,
                resp_body=b"{}",
                resp_headers={"Content-Type": "application/json"},
            ),
        )

    call(a)
    line = logging.LogRecord(
        "mitmproxy.proxy.server",
        logging.INFO,
        __file__,
        1,
        "Bad HTTP request line: %r",
        (f"GET /v1/x?k={b} HTTP/1.1",),
        None,
    )
    RedactingFilter().filter(line)
    assert line.getMessage() == "Bad HTTP request line: 'GET /v1/x?k=sk_test_REDACTED_2 HTTP/1.1'"
    call(b)
    auth = [i["request"]["headers"]["Authorization"] for i in cio.load(path).interactions]
    assert auth == ["Bearer sk_test_REDACTED_1", "Bearer sk_test_REDACTED_2"]


def test_only_credential_shaped_tokens_are_chased_and_only_whole(recorder):
    """Chasing replaces whole tokens of credentials that look like credentials: a Bearer
    'sessions' or '1712345678' must not rewrite paths, keys or numbers."""
    record, path = recorder
    token = "Tok3n" + "".join(_rnd.choices(string.ascii_letters, k=12))
    for auth in ("Bearer sessions", "Bearer 1712345678", f"Bearer {token}"):
        body = json.dumps(
            {
                "id": "fcsess_fake1",
                "object": "financial_connections.session",
                "sessions": 1,
                "created": "1712345678",
                "inside": f"x{token}y",
                "alone": f"token={token};",
            }
        )
        run(
            record,
            make_flow(
                "GET",
                "/v1/financial_connections/sessions/fcsess_fake1",
                req_headers={"Authorization": auth},
                status=200,
                resp_body=body.encode(),
                resp_headers={"Content-Type": "application/json"},
            ),
        )
    entries = cio.load(path).interactions
    assert len(entries) == 3
    for e in entries:
        assert e["request"]["path"] == "/v1/financial_connections/sessions/fcsess_fake1"
        body = e["response"]["body"]["json"]
        assert body["sessions"] == 1 and body["created"] == "1712345678"
    assert entries[2]["response"]["body"]["json"]["inside"] == f"x{token}y"  # not a token
    assert entries[2]["response"]["body"]["json"]["alone"] == "token=REDACTED_3;"


class _NoRedaction:
    learned: dict[str, str] = {}

    def redact_entry(self, entry):
        return entry

    def redact_text(self, s):
        return s


def test_a_learned_credential_left_in_an_entry_is_refused(recorder, caplog):
    """The scanner's second net: a credential learned from Authorization (no pattern
    would find it) must not be written even if a redaction rule let it through."""
    record, path = recorder
    # (not ek_test_: ephemeral keys are a known kind now, issue #14)
    token = "opq_" + "".join(_rnd.choices(string.ascii_letters, k=30))

    class Leaky(_NoRedaction):
        learned = {token: "REDACTED_1"}

    record.switch.redactor = Leaky()
    f = make_flow(
        "GET",
        "/v1/financial_connections/sessions/fcsess_fake1",
        req_headers={"Authorization": f"Bearer {token}"},
        status=200,
        resp_body=b"{}",
        resp_headers={"Content-Type": "application/json"},
    )
    with caplog.at_level(logging.INFO, logger="fc_cassette"):
        run(record, f)
    assert not path.exists() and f.marked == ":no_entry:"
    assert "learned from an Authorization header" in f.comment
    assert token not in caplog.text


def test_scanner_refuses_an_entry_redaction_missed(recorder, caplog):
    record, path = recorder
    key = secret("sk_test_")
    good = make_flow(
        "GET",
        "/v1/financial_connections/sessions/fcsess_fake1",
        status=404,
        resp_body=b'{"error": {"type": "invalid_request_error"}}',
        resp_headers={"Content-Type": "application/json"},
    )
    run(record, good)
    record.switch.redactor = _NoRedaction()  # simulate a redaction bug
    bad = make_flow(
        "GET",
        "/v1/financial_connections/sessions/fcsess_fake2",
        req_headers={"Authorization": f"Bearer {key}"},
        status=404,
        resp_body=b"{}",
        resp_headers={"Content-Type": "application/json"},
    )
    with caplog.at_level(logging.ERROR):
        run(record, bad)
    assert len(cio.load(path).interactions) == 1  # the leaky entry was not written
    assert key not in path.read_text()
    assert bad.marked and "NOT recorded" in bad.comment
    assert "NOT recorded" in caplog.text and key not in caplog.text
    assert record.tally.refused == 1


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=20)),
    lambda c: st.one_of(
        st.lists(c, max_size=4), st.dictionaries(st.text(min_size=1, max_size=8), c, max_size=4)
    ),
    max_leaves=15,
)
prefixes = st.sampled_from(
    ["sk_test_", "sk_live_", "rk_test_", "rk_live_", "fcsess_client_secret_"]
)
tails = st.text(alphabet=string.ascii_letters + string.digits, min_size=12, max_size=40)
wrappers = st.sampled_from(
    [
        lambda s: s,
        lambda s: f"before {s} after",
        lambda s: quote(s, safe=""),
        lambda s: base64.b64encode(s.encode()).decode(),
        lambda s: json.dumps({"x": s}),
    ]
)


def _plant(value, s: str, where: int):
    if isinstance(value, dict):
        return {**value, f"k{where}": s}
    if isinstance(value, list):
        return [*value[: where % (len(value) + 1)], s, *value[where % (len(value) + 1) :]]
    return {"v": value, "s": s}


@settings(max_examples=examples(60), derandomize=True, deadline=None)
@given(json_values, prefixes, tails, wrappers, st.integers(0, 10), st.booleans())
def test_property_planted_secret_never_on_disk(
    tmp_path_factory, payload, prefix, tail, wrap, where, gz
):
    s = prefix + "fake" + tail
    body = json.dumps({"data": _plant(payload, wrap(s), where)}).encode()
    headers = {"Content-Type": "application/json"}
    if gz:
        body, headers = gzip.compress(body), {**headers, "Content-Encoding": "gzip"}
    path = tmp_path_factory.mktemp("prop") / "c.yaml"
    addons = all_addons()
    record = next(a for a in addons if type(a).__name__ == "Record")
    with taddons.context(*addons) as tctx:
        tctx.options.update(fc_mode="record", fc_cassette=str(path), fc_record_mode="all")
        run(
            record,
            make_flow(
                "GET",
                "/v1/financial_connections/sessions/fcsess_fake1",
                status=200,
                resp_body=body,
                resp_headers=headers,
            ),
        )
        record.done()
    text = path.read_text() if path.exists() else ""
    for form_ in encoded_forms(s):
        assert form_ not in text
    assert scan(text) == []

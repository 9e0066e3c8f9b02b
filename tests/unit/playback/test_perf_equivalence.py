"""The replay hot path's shortcuts change nothing: each is compared with the full path
it replaces, on every cassette of the corpus (tests/data, cassettes/) and on crafted
requests.

- the compact load (playback.Compactor: wire form, prepared keys, no decoded bodies)
  against the full load: same bytes served, same keys, same miss explanations, same
  errors for every malformed file;
- the one-pass header map and the request-content shortcut against mitmproxy's
  ``Headers.get`` and :func:`interaction.content_of` (gzip, charsets, repeats, case);
- the unchecked response constructor against mitmproxy's checked one.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from mitmproxy import http
from mitmproxy.test import taddons, tflow

from fc_cassette.cassette import store as cassette_io
from fc_cassette.exchange import interaction
from fc_cassette.exchange.interaction import (
    UndecodableBody,
    content_of,
    decode_body,
    encode_body,
    header_items,
    header_map,
    match_record,
    request_content,
)
from fc_cassette.matching.matcher import Miss, prepare
from fc_cassette.mitm import mitm_compat
from fc_cassette.mitm.player import Player, load_player
from fc_cassette.playback.state import Compactor, Playback, wire
from fc_cassette.redact import Redactor
from fc_cassette.settings.config import Settings

ROOT = Path(__file__).resolve().parents[3]
CORPUS = sorted([*ROOT.glob("tests/data/**/*.yaml"), *ROOT.glob("cassettes/**/*.yaml")])


def _loads(path: Path):
    """(full, compact) loads of ``path``, or the two errors."""
    out = []
    for compact in (None, Compactor(Settings().matching)):
        try:
            out.append(cassette_io.load(path, compact))
        except cassette_io.CassetteError as e:
            out.append(str(e))
        if compact is not None and not isinstance(out[-1], str):
            _DONE[id(out[-1])] = compact.done
    return out


_DONE: dict = {}  # a compact load's Compactor's results (wire forms, keys), by id(cassette)


@pytest.fixture(scope="module", autouse=True)
def _forget_the_compact_loads():
    """``_DONE`` is dropped with the module: the garbage collector would walk what it
    holds again in every later test's full collection."""
    yield
    _DONE.clear()


def _good() -> list[Path]:
    return [p for p in CORPUS if not isinstance(_loads(p)[0], str)]


def test_the_corpus_has_good_and_malformed_cassettes():
    good = _good()
    assert len(good) >= 2 and len(CORPUS) - len(good) >= 20


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: str(p.relative_to(ROOT)))
def test_compact_load_fails_exactly_like_the_full_load(path):
    full, compact = _loads(path)
    if isinstance(full, str):
        assert compact == full  # the same one-line error, location included
    else:
        assert not isinstance(compact, str), compact
        assert len(compact.interactions) == len(full.interactions)
        assert compact.warnings == full.warnings
        assert compact.header == full.header


def _flow_for(req: dict) -> http.HTTPFlow:
    """A live request carrying a recorded request (as a client would send it)."""
    body = encode_body(req.get("body"))
    query = req.get("query") or {}
    qs = query if isinstance(query, str) else interaction.formcodec.encode(query, sort=False)
    path = req["path"] + (f"?{qs}" if qs else "")
    headers = [(k.encode(), v.encode()) for k, v in header_items(req.get("headers") or {})]
    r = http.Request.make(
        req["method"], f"https://api.stripe.com{path}", body, http.Headers(headers)
    )
    f = tflow.tflow(req=r)
    f.response = None
    return f


@pytest.mark.parametrize("path", _good(), ids=lambda p: str(p.relative_to(ROOT)))
def test_compact_replay_serves_the_same_bytes_and_keys(path):
    settings = Settings()
    full, compact = _loads(path)
    done = _DONE[id(compact)]
    pb_full, pb_compact = Playback(full, settings), Playback(compact, settings, compacted=done)
    for a, b in zip(full.interactions, compact.interactions, strict=False):
        assert a.get("seq") == b.get("seq")
        # the key the full path computes from the recorded request, and the prepared one
        assert prepare(a["request"], settings.matching) == done.prepared[id(b)]
        served = (
            pb_full.response_for(a),
            pb_compact.response_for(b),  # the Player's way:
            mitm_compat.response(*pb_compact.wire_for(b), 1.0),
        )
        status, reason, headers, body = wire(a["response"])
        checked = http.Response(b"HTTP/1.1", status, reason, headers, body, None, 1.0, 1.0)
        for resp in served:
            resp.timestamp_start = resp.timestamp_end = 1.0
            assert resp.get_state() == checked.get_state()
            assert resp.content == body
    assert pb_full.status() == pb_compact.status()


def _mutations(req: dict) -> list[dict]:
    """Requests that miss: a changed parameter, an extra query, an unknown id."""
    body = req.get("body") or {}
    out = [
        {**req, "query": {"expand": ["accounts"], "extra": "1"}},
        {**req, "method": "GET", "body": None, "path": req["path"] + "_never"},
    ]
    if "form" in body and isinstance(body["form"], dict):
        out.append({**req, "body": {"form": {**body["form"], "permissions": ["nope"]}}})
    return out


@pytest.mark.parametrize("path", _good(), ids=lambda p: str(p.relative_to(ROOT)))
def test_compact_replay_explains_misses_identically(path):
    settings = Settings()
    full, compact = _loads(path)
    pb_full = Playback(full, settings)
    pb_compact = Playback(compact, settings, compacted=_DONE[id(compact)])
    for it in full.interactions:
        for req in _mutations(it["request"]):
            a, b = pb_full.take(req), pb_compact.take(req)
            if isinstance(a, Miss):
                assert isinstance(b, Miss) and (a.reason, a.message) == (b.reason, b.message)
                assert pb_full.refuse(a).content == pb_compact.refuse(b).content
            else:
                assert a.get("seq") == b.get("seq")
    assert pb_full.summary() == pb_compact.summary()


def _reference_match_record(flow, names):
    """match_record as it was: mitmproxy's Headers.get for every header, content_of."""
    req = flow.request
    path, query = interaction.split_path(req.path)
    return {
        "method": req.method,
        "host": req.pretty_host,
        "path": path,
        "query": interaction.decode_query(query),
        "headers": {n: v for n in names if (v := req.headers.get(n)) is not None},
        "body": decode_body(content_of(req), req.headers.get("content-type", "")),
    }


@pytest.mark.parametrize("path", _good(), ids=lambda p: str(p.relative_to(ROOT)))
def test_live_requests_get_the_same_key_and_redaction(path):
    settings = Settings()
    names = [*settings.matching.headers, "Authorization", "Stripe-Version"]
    full = cassette_io.load(path)
    with taddons.context():
        player = load_player(str(path), settings, "replay")
        for it in full.interactions:
            for req in [it["request"], *_mutations(it["request"])]:
                flow = _flow_for(req)
                fast = match_record(flow, names)
                assert fast == _reference_match_record(flow, names)
                ref = Redactor(settings.redaction).redact_entry({"request": fast})
                assert (
                    Redactor(settings.redaction).redact_entry(
                        {"request": _reference_match_record(flow, names)}
                    )
                    == ref
                )
                # the Player's key (memoized or not) is the full path's
                want = player.playback.matcher.prepare(
                    Redactor(settings.redaction).redact_entry(
                        {"request": _reference_match_record(flow, settings.matching.headers)}
                    )["request"]
                )
                assert player.prepared(flow) == want
                assert player.prepared(flow) == want  # memoized


def test_a_replayed_hit_is_byte_identical_through_the_player(tmp_path):
    path = ROOT / "cassettes" / "fc_sessions.yaml"
    full = cassette_io.load(path)
    with taddons.context():
        player = load_player(str(path), Settings(), "replay")
        assert isinstance(player, Player)
        for it in full.interactions:
            flow = _flow_for(it["request"])
            assert player.answer(flow)
            if flow.response.status_code == 400 and "Fc-Cassette-Miss" in flow.response.headers:
                continue  # a repeated request: its recordings were used (exhausted)
            assert flow.response.content == encode_body(it["response"]["body"])


HEADER_CASES = [
    [(b"Content-Type", b"application/json"), (b"X-A", b"1"), (b"x-a", b"2")],
    [(b"CONTENT-ENCODING", b"gzip"), (b"Stripe-Account", b"acct_1")],
    [(b"X-\xc3\x89t\xc3\xa9", b"caf\xc3\xa9"), (b"x-\xc3\xa9t\xc3\xa9", b"\xff\xfe")],
    [],
]


@pytest.mark.parametrize("fields", HEADER_CASES)
def test_header_map_answers_like_headers_get(fields):
    headers = http.Headers(fields)
    got = header_map(headers)
    for name, _ in fields:
        low = name.lower().decode("utf-8", "surrogateescape")
        assert got[low] == headers.get(name)
    for name in ("content-type", "Content-Encoding", "stripe-account", "missing"):
        assert got.get(name.lower()) == headers.get(name)


def _request(body: bytes, **headers: str) -> http.Request:
    return http.Request.make(
        "POST",
        "https://api.stripe.com/v1/x",
        body,
        http.Headers([(k.replace("_", "-").encode(), v.encode()) for k, v in headers.items()]),
    )


CONTENT_CASES = [
    _request(b""),
    _request(b"a=1&b=2", content_type="application/x-www-form-urlencoded"),
    _request(
        gzip.compress(b"a=1"),
        content_type="application/x-www-form-urlencoded",
        content_encoding="gzip",
    ),
    _request(b"a=1", content_encoding="identity"),
    _request(b"a=1", content_encoding="br"),  # not brotli data: refused
    _request(b"{}", content_type="application/json; charset=cp500"),  # refused
    _request(b"{}", content_type="application/json; Charset=UTF-8"),
    _request("é".encode("utf-16"), content_type="text/plain; charset=utf-16"),
]


@pytest.mark.parametrize("req", CONTENT_CASES)
def test_request_content_is_content_of(req):
    def outcome(fn):
        try:
            return fn()
        except UndecodableBody as e:
            return ("refused", str(e))

    assert outcome(lambda: request_content(req, header_map(req.headers))) == outcome(
        lambda: content_of(req)
    )

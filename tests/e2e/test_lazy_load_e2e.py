"""End to end: ``fc-cassette replay`` of a cassette bigger than what is parsed before
the first answer (cassette.lazy.SYNC_BYTES) answers a real HTTP client exactly as the
whole load does (same bytes, same misses with the same explanations), and a cassette
whose late document is broken gets the whole load's error, then fails the run."""

from __future__ import annotations

import json
import random

import pytest
import requests

from fc_cassette.cassette import lazy, store as cio
from fc_cassette.matching.matcher import Miss
from fc_cassette.playback.state import Playback
from fc_cassette.settings.config import Settings
from support import start

SESSIONS = "/v1/financial_connections/sessions"
N = 600  # ~2.3 KB each: past SYNC_BYTES


def _doc(i: int) -> dict:
    return {
        "seq": i + 1,
        "request": {
            "method": "GET",
            "scheme": "https",
            "host": "api.stripe.com",
            "path": f"{SESSIONS}/fcsess_{i}",
            "query": {"expand": ["accounts"]} if i % 3 == 0 else {},
        },
        "response": {
            "status": 200,
            "headers": {"Content-Type": "application/json", "Request-Id": f"req_{i}"},
            "body": {"json": {"id": f"fcsess_{i}", "n": i, "pad": "p" * 2000}},
        },
    }


def _write(path, bad_at: int | None = None) -> list[dict]:
    docs = [_doc(i) for i in range(N)]
    text = [cio.serialize(cio.new_header(None))] + [cio.serialize(d) for d in docs]
    if bad_at is not None:
        text[bad_at + 1] = "---\nseq: 0\nrequest: {method: GET\n...\n"
    path.write_text("".join(text))
    assert path.stat().st_size > lazy.SYNC_BYTES
    return docs


def _url(stack, req: dict) -> str:
    q = "?expand[]=accounts" if req.get("query") else ""
    return f"{stack.base}{req['path']}{q}"


def test_a_big_cassette_answers_as_the_whole_load(tmp_path):
    path = tmp_path / "big.yaml"
    docs = _write(path)
    stack = start(["replay", str(path)], tmp_path, "replay")
    whole = Playback(cio.load(path), Settings())
    rng = random.Random(7)
    reqs = [docs[0]["request"]] + [docs[rng.randrange(N)]["request"] for _ in range(60)]
    reqs += [{**docs[5]["request"], "path": f"{SESSIONS}/fcsess_nope"}, docs[599]["request"]]
    reqs += [docs[599]["request"], docs[599]["request"]]  # used up: an explained miss
    try:
        with requests.Session() as http:
            for req in reqs:
                got = http.get(_url(stack, req), timeout=60)
                want = whole.take(req)
                if isinstance(want, Miss):
                    resp = whole.refuse(want)
                    assert got.status_code == resp.status_code == 400
                    assert got.headers["Fc-Cassette-Miss"] == want.reason
                    want_message = json.loads(resp.content)["error"]["message"]
                    assert got.json()["error"]["message"] == want_message
                else:
                    status, _, _, body = whole.wire_for(want)
                    assert (got.status_code, got.content) == (status, body)
    finally:
        code = stack.proc.stop()
    out = stack.proc.output()
    assert code == 0, out
    assert "interactions so far, the rest loading" in out  # answered before the end
    assert f"served {whole.served}, missed {whole.missed}" in out and whole.missed >= 3


def _whole_load_error(path) -> str:
    """The error the whole load (cio.load) refuses ``path`` with."""
    with pytest.raises(cio.CassetteError) as e:
        cio.load(path)
    return str(e.value)


def test_a_broken_late_document_gets_the_whole_loads_error(tmp_path):
    path = tmp_path / "broken.yaml"
    docs = _write(path, bad_at=500)
    error = _whole_load_error(path)
    stack = start(["replay", str(path)], tmp_path, "replay")
    try:
        got = requests.get(_url(stack, docs[550]["request"]), timeout=60)  # after the error
        assert got.status_code == 400 and got.headers["Fc-Cassette-Miss"] == "cassette_error"
        assert error in got.json()["error"]["message"]
        again = requests.get(_url(stack, docs[0]["request"]), timeout=60)
        assert again.status_code == 400 and error in again.json()["error"]["message"]
    finally:
        code = stack.proc.stop()
    out = stack.proc.output()
    assert code == 1, out
    assert f"fc-cassette: {error}" in out


def test_a_late_error_fails_the_run_even_when_no_request_reached_it(tmp_path):
    """The app asks for the first recording only and stops: whether or not the load had
    reached the broken document by then, the end of the run finishes the load and fails
    the run with the whole load's error (which would have refused it at start)."""
    path = tmp_path / "broken.yaml"
    docs = _write(path, bad_at=N - 2)
    error = _whole_load_error(path)
    stack = start(["replay", str(path)], tmp_path, "replay")
    try:
        got = requests.get(_url(stack, docs[0]["request"]), timeout=60)
        assert got.status_code == 200 or error in got.json()["error"]["message"]
    finally:
        code = stack.proc.stop()
    out = stack.proc.output()
    assert code == 1, out
    assert out.count(f"fc-cassette: {error}") == 1, out


def test_a_use_through_the_control_endpoint_is_refused_as_the_whole_load_refuses(tmp_path):
    """The pytest plugin's and the Python API's way: `use` answers once the cassette is
    parsed whole (in a worker thread), so a test's cassette with a late error is refused
    before the test's first request, with the whole load's words."""
    good, broken = tmp_path / "good.yaml", tmp_path / "broken.yaml"
    _write(good)
    _write(broken, bad_at=N - 2)
    error = _whole_load_error(broken)
    stack = start(["replay", str(good), "--cassette-root", str(tmp_path)], tmp_path, "replay")
    try:
        r = requests.post(f"{stack.base}/__fc_cassette__/use", json={"cassette": str(broken)})
        assert r.status_code >= 400 and error in r.text, r.text
        r = requests.post(f"{stack.base}/__fc_cassette__/use", json={"cassette": str(good)})
        assert r.status_code == 200, r.text
    finally:
        stack.proc.stop()

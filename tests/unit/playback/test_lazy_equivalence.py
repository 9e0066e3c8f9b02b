"""The progressive load (cassette.lazy) answers exactly as the whole load does.

For every cassette of the corpus (tests/data, cassettes/) and for generated ones (the
same request recorded several times, webhooks, a torn tail, CRLF line ends, an error in
a late document, bad UTF-8 late), the same script of requests (every recording, each
again, misses, in recorded and reverse order) goes to a Playback over the whole load
and to one over a progressive load whose parse is advanced a little between requests
(no background thread: the test drives it, so every interleaving is reproducible):

- where the whole load fails, the progressive one fails with the very same one-line
  error: at once for what is in the file's bytes, the header or the first
  ``sync_bytes``; otherwise the load's error, and every request from then on, and
  every request whose recording lies beyond the error, gets it;
- otherwise every answer is the same: the same bytes served, the same misses with the
  same explanations, the same status and summary.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from fc_cassette.cassette import lazy, store as cassette_io
from fc_cassette.matching.matcher import Miss
from fc_cassette.playback.state import Compactor, Playback
from fc_cassette.redact import Redactor
from fc_cassette.settings.config import Settings

ROOT = Path(__file__).resolve().parents[3]
CORPUS = sorted([*ROOT.glob("tests/data/**/*.yaml"), *ROOT.glob("cassettes/**/*.yaml")])
SESSIONS = "/v1/financial_connections/sessions"
SETTINGS = {
    "default": Settings(),
    "repeat_last": Settings.model_validate({"replay": {"on_exhausted": "repeat_last"}}),
    "stripe_account": Settings.model_validate({"matching": {"headers": ["stripe-account"]}}),
}


def _entry(i: int) -> dict[str, Any]:
    """Interaction ``i``: a few distinct requests, each recorded several times."""
    kind = i % 4
    req: dict[str, Any] = {"method": "GET", "path": f"{SESSIONS}/fcsess_{i % 5}", "query": {}}
    if kind == 0:
        req = {"method": "POST", "path": SESSIONS, "body": {"form": {"permissions": ["balances"]}}}
    elif kind == 1:
        req["query"] = {"expand": ["accounts"]}
    elif kind == 2:
        req["headers"] = {"Stripe-Account": f"acct_{i % 2}"}
    body = {"json": {"id": f"fcsess_{i % 5}", "n": i, "object": "financial_connections.session"}}
    return {
        "seq": i + 1,
        "request": {"scheme": "https", "host": "api.stripe.com", "headers": {}, **req},
        "response": {"status": 200 if i % 7 else 402, "headers": {"X-N": str(i)}, "body": body},
    }


def _write(path: Path, n: int, webhooks: bool = True) -> list[dict[str, Any]]:
    """A cassette of ``n`` generated interactions (a webhook after every 9th)."""
    docs = [cassette_io.new_header("2024-06-20")]
    entries = []
    for i in range(n):
        entries.append(_entry(i))
        docs.append(entries[-1])
        if webhooks and i % 9 == 8:
            event = {"json": {"id": f"evt_{i}", "type": "financial_connections.account.created"}}
            docs.append({"webhook": {"after": i + 1, "id": f"evt_{i}", "type": "x", "body": event}})
    path.write_text("".join(cassette_io.serialize(d) for d in docs))
    return entries


def _generated(tmp: Path) -> dict[str, Path]:
    """Generated cassettes: good ones and ones the whole load refuses late."""
    out = {name: tmp / f"{name}.yaml" for name in ("mixed", "torn", "crlf", "late_yaml")}
    _write(out["mixed"], 60)
    text = out["mixed"].read_text()
    out["torn"].write_text(text[: len(text) - 40])
    out["crlf"].write_bytes(text.replace("\n", "\r\n").encode())
    docs = text.split("\n---\n")
    for name, broken in (
        ("late_yaml", "seq: 41\nrequest: {method: GET\n"),
        ("late_entry", "seq: 41\nrequest:\n  method: GET\n  path: /x\n"),
        ("late_tag", "seq: 41\nrequest: !!binary aGk=\nresponse: {status: 200}\n"),
    ):
        out[name] = tmp / f"{name}.yaml"
        out[name].write_text("\n---\n".join([*docs[:45], broken + "...", *docs[46:]]))
    out["late_utf8"] = tmp / "late_utf8.yaml"
    raw = text.encode()
    at = raw.index(b"fcsess_4", len(raw) * 3 // 4)
    out["late_utf8"].write_bytes(raw[:at] + b"\xff" + raw[at + 1 :])
    return out


def _full(path: Path, settings: Settings) -> Playback | str:
    compactor = Compactor(settings.matching)
    try:
        loaded = cassette_io.load(path, compactor)
    except cassette_io.CassetteError as e:
        return str(e)
    return Playback(loaded, settings, Redactor(settings.redaction), compactor.done)


def _progressive(path: Path, settings: Settings, sync_bytes: int = 0) -> Playback | str:
    compactor = Compactor(settings.matching)
    try:
        prog = cassette_io.open_progressive(path, compactor, sync_bytes)
    except cassette_io.CassetteError as e:
        return str(e)
    return Playback(prog.cassette, settings, Redactor(settings.redaction), compactor.done, prog)


_REQUESTS: dict[Path, list[dict[str, Any]]] = {}


def _requests(path: Path) -> list[dict[str, Any]]:
    """Every recorded request (of the file's valid documents), then misses: parsed once
    a file (every test only reads its file), a copy of its own for each caller."""
    if path not in _REQUESTS:
        _REQUESTS[path] = _parse_requests(path)
    return copy.deepcopy(_REQUESTS[path])


def _parse_requests(path: Path) -> list[dict[str, Any]]:
    text = path.read_bytes().decode("utf-8", "replace").replace("\r\n", "\n")
    header = cassette_io.serialize(cassette_io.new_header(None))
    reqs = []
    for doc in text.split("\n---\n")[1:]:
        try:
            got = cassette_io.parse(header + "---\n" + doc.split("\n...")[0] + "\n...\n", path)
        except cassette_io.CassetteError:
            continue
        reqs += [it["request"] for it in got.interactions]
    for d in [_entry(i) for i in range(6)]:
        reqs.append(d["request"])
    misses = [{**r, "path": r["path"] + "_never"} for r in reqs[:5]]
    misses += [{**r, "query": {"expand": ["nope"]}} for r in reqs[:3]]
    return reqs + reqs[::-1] + misses + reqs[:4]


def _answer(pb: Playback, req: dict[str, Any]) -> tuple:
    got = pb.take(req)
    if isinstance(got, Miss):
        pb.refuse(got)
        return ("miss", got.reason, got.message)
    return ("hit", got.get("seq"), pb.wire_for(got))


def _script(pb: Playback, reqs: list[dict[str, Any]], step: int) -> list[tuple]:
    """Answers to ``reqs``; with a progressive load, ``step`` documents parsed between
    requests (1, 2, 3... in turn: 0 = none, the requests alone drive the parse)."""
    out = []
    for n, req in enumerate(reqs):
        if step and pb.progress is not None:
            pb.progress.pump(1 + n % step)
        out.append(_answer(pb, req))
        if n == len(reqs) // 2:
            pb.rewind()
    return out


_WHOLE: dict[tuple[Path, str], str | tuple] = {}


def _whole(path: Path, config: str) -> str | tuple:
    """The whole load of ``path`` under ``config``: its one-line error, or its answers to
    the file's script with its status and summary after it; and the default progressive
    load (``SYNC_BYTES``: a small file is loaded whole at once) checked against it. None
    of it depends on the step, so it is computed once a (file, config), not once a test
    (every test compares a progressive load of its own with it)."""
    key = (path, config)
    if key not in _WHOLE:
        settings = SETTINGS[config]
        full = _full(path, settings)
        default = _progressive(path, settings, sync_bytes=lazy.SYNC_BYTES)
        if isinstance(full, str):
            assert default == full  # a small cassette: refused at once, the same words
            _WHOLE[key] = full
        else:
            assert not isinstance(default, str), default
            assert default.progress is not None and default.progress.finished  # whole, at once
            answers = _script(full, _requests(path), 0)
            _WHOLE[key] = (answers, full.status(), full.summary())
    return _WHOLE[key]


@pytest.fixture(scope="module", autouse=True)
def _forget_the_module_caches():
    """The cached scripts and whole loads are dropped with the module: the garbage
    collector would walk them again in every later test's full collection."""
    yield
    _WHOLE.clear()
    _REQUESTS.clear()


def _compare(path: Path, config: str, step: int) -> None:
    whole, lazy_pb = _whole(path, config), _progressive(path, SETTINGS[config])
    if isinstance(whole, str):
        if isinstance(lazy_pb, str):
            assert lazy_pb == whole
            return
        _compare_late_error(whole, lazy_pb, _requests(path), step)
        return
    assert not isinstance(lazy_pb, str), lazy_pb
    answers, status, summary = whole
    assert _script(lazy_pb, _requests(path), step) == answers
    assert lazy_pb.status() == status
    assert lazy_pb.summary() == summary
    assert lazy_pb.load_error is None


def _compare_late_error(full: str, pb: Playback, reqs: list[dict[str, Any]], step: int) -> None:
    """A progressive load of a file the whole load refuses: answers come only from the
    documents before the error; once it is found every request gets it."""
    assert pb.progress is not None
    answers = _script(pb, reqs, step)
    assert pb.progress.finished and str(pb.load_error) == full
    seen_error = False
    for got in answers:
        if got[0] == "miss" and got[1] == "cassette_error":
            assert got[2] == f"the cassette cannot be loaded: {full}"
            seen_error = True
        else:
            assert not seen_error, "answered after the load's error was found"
            assert got[0] == "hit", got  # a miss waits for the whole load: the error
    valid = {it.get("seq") for it in pb.progress.cassette.interactions}
    assert {got[1] for got in answers if got[0] == "hit"} <= valid
    assert seen_error
    assert f"the cassette cannot be loaded: {full}" in "\n".join(pb.summary())


@pytest.mark.parametrize("step", [0, 2])
@pytest.mark.parametrize("config", list(SETTINGS))
@pytest.mark.parametrize("path", CORPUS, ids=lambda p: str(p.relative_to(ROOT)))
def test_corpus_answers_equal_the_whole_load(path, config, step):
    _compare(path, config, step)


GENERATED = ["mixed", "torn", "crlf", "late_yaml", "late_entry", "late_tag", "late_utf8"]


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> dict[str, Path]:
    """The generated cassettes, written once a module: the tests only read them."""
    return _generated(tmp_path_factory.mktemp("generated"))


@pytest.mark.parametrize("step", [0, 1, 5])
@pytest.mark.parametrize("config", list(SETTINGS))
@pytest.mark.parametrize("name", GENERATED)
def test_generated_answers_equal_the_whole_load(generated, name, config, step):
    _compare(generated[name], config, step)


def test_the_generated_cassettes_cover_late_errors_and_the_whole_loads_way(generated):
    files = generated
    for name in ("late_yaml", "late_entry", "late_tag"):
        assert isinstance(_full(files[name], Settings()), str)
        pb = _progressive(files[name], Settings())
        assert not isinstance(pb, str)  # refused late, not at once
    for name in ("torn", "crlf"):  # loaded whole at once, as before
        pb = _progressive(files[name], Settings())
        assert not isinstance(pb, str) and pb.progress is not None and pb.progress.finished
    assert "not valid UTF-8" in str(_progressive(files["late_utf8"], Settings()))


def test_a_request_recorded_early_is_answered_before_the_rest_is_parsed(tmp_path):
    path = tmp_path / "c.yaml"
    entries = _write(path, 300)
    pb = _progressive(path, Settings())
    assert not isinstance(pb, str) and pb.progress is not None
    pb.progress.pump(2)
    got = pb.take(entries[0]["request"])
    assert not isinstance(got, Miss) and got["seq"] == 1
    assert not pb.progress.finished and len(pb.progress.cassette.interactions) == 2
    got = pb.take({**entries[0]["request"], "path": "/v1/nope"})  # a miss: all of it first
    assert isinstance(got, Miss) and pb.progress.finished

"""The Player (answering a flow from a cassette), the record plan, the cassette cache and
the control endpoint's ``use``, in-process with mitmproxy's taddons/tflow."""

from __future__ import annotations

import itertools
import json

import pytest
from mitmproxy import http
from mitmproxy.proxy.mode_specs import ProxyMode
from mitmproxy.test import taddons, tflow

from builders import write_cassette
from fc_cassette.cassette import store as cio
from fc_cassette.cassette.lock import RecordingLock
from fc_cassette.mitm.addon import all_addons
from fc_cassette.mitm.player import load_player
from fc_cassette.mitm.players import PlayerCache
from fc_cassette.mitm.record_plan import MissingCassette, Plan, plan
from fc_cassette.playback.state import MISS_HEADER
from fc_cassette.settings.config import Settings
from fc_cassette.settings.modes import row

SESSIONS = "/v1/financial_connections/sessions"

CONTROL_HEADERS = {"Host": "127.0.0.1:8080", "Content-Type": "application/json"}


def _root(cassette) -> str:
    """The cassette root the tests' control calls are confined to: the cassette's folder."""
    import os

    return os.path.dirname(str(cassette))


def get(path: str, host: str = "api.stripe.com", **kw) -> http.HTTPFlow:
    return tflow.tflow(req=http.Request.make("GET", f"https://{host}{path}", **kw))


def undecodable() -> http.HTTPFlow:
    f = get(f"{SESSIONS}/fcsess_fakeA", headers={"content-encoding": "gzip"})
    f.request.raw_content = b"not gzip"  # claims gzip, is not
    return f


def control(method: str, action: str, body=None) -> http.HTTPFlow:
    raw = (
        body
        if isinstance(body, bytes)
        else (json.dumps(body).encode() if body is not None else b"")
    )
    f = tflow.tflow(
        req=http.Request.make(
            method, f"http://127.0.0.1:8080/__fc_cassette__/{action}", raw, CONTROL_HEADERS
        )
    )
    f.client_conn.proxy_mode = ProxyMode.parse("reverse:http://127.0.0.1:1")
    return f


# ------------------------------------------------------------------ the plan, every case
EXPECTED = {  # (mode, exists, written) -> (replay, record, append, continues) or refusal
    ("none", False, False): MissingCassette,
    ("none", False, True): MissingCassette,
    ("none", True, False): (True, False, False, False),
    ("none", True, True): (True, False, False, False),
    ("once", False, False): (False, True, False, False),
    ("once", False, True): (False, True, False, False),
    ("once", True, False): (True, False, False, False),
    ("once", True, True): (False, True, True, True),
    ("new_episodes", False, False): (False, True, False, False),
    ("new_episodes", False, True): (False, True, False, False),
    ("new_episodes", True, False): (True, True, True, False),
    ("new_episodes", True, True): (True, True, True, False),
    ("all", False, False): (False, True, False, False),
    ("all", False, True): (False, True, False, False),
    ("all", True, False): (False, True, False, False),
    ("all", True, True): (False, True, True, True),
    # rewrite plans as all (it differs in removing a cassette it records nothing into)
    ("rewrite", False, False): (False, True, False, False),
    ("rewrite", False, True): (False, True, False, False),
    ("rewrite", True, False): (False, True, False, False),
    ("rewrite", True, True): (False, True, True, True),
}


@pytest.mark.parametrize(
    "mode,exists,written",
    list(
        itertools.product(
            ("none", "once", "new_episodes", "all", "rewrite"), (False, True), (False, True)
        )
    ),
)
def test_the_record_plan_over_every_combination(mode, exists, written):
    want = EXPECTED[(mode, exists, written)]
    if want is MissingCassette:
        with pytest.raises(MissingCassette):
            plan(mode, exists, written)
        return
    got = plan(mode, exists, written)
    assert isinstance(got, Plan)
    assert (got.replay, got.record, got.append, got.continues) == want
    assert row(mode).offline == (mode == "none")  # no lock, a replay process
    assert got.load == (got.replay or got.append)
    # only rewrite removes, and only a cassette there before that it does not continue
    assert got.remove_unrecorded == (mode == "rewrite" and exists and not written)


def test_an_unknown_mode_is_refused():
    with pytest.raises(ValueError, match="record mode must be one of"):
        plan("sometimes", True, False)


# ------------------------------------------------------------------ the Player itself
@pytest.fixture
def ctx():
    with taddons.context() as tctx:
        yield tctx


def test_player_hit_miss_out_of_scope_undecodable_and_forward(ctx, tmp_path):
    player = load_player(write_cassette(tmp_path / "a.yaml", "fcsess_fakeA"), Settings(), "replay")
    hit = get(f"{SESSIONS}/fcsess_fakeA")
    assert player.answer(hit) and hit.response.status_code == 200
    assert json.loads(hit.response.content)["id"] == "fcsess_fakeA"
    miss = get(f"{SESSIONS}/fcsess_fakeA")  # the only recording is used up
    assert player.answer(miss) and miss.response.status_code == 400
    assert "recorded 1 time, this is call 2" in miss.response.text
    outside = get("/v1/customers", host="example.com")
    assert player.answer(outside) and outside.response.headers[MISS_HEADER] == "out_of_scope"
    bad = undecodable()
    assert player.answer(bad) and "cannot be matched" in bad.response.text
    assert player.playback.missed == 3 and player.playback.served == 1
    # recording: misses and the rest are left alone (forwarded)
    player.playback.rewind()
    for f in (get(f"{SESSIONS}/fcsess_other"), get("/v1/x", host="example.com"), undecodable()):
        assert player.answer(f, forward_misses=True) is False and f.response is None
    assert player.playback.missed == 0


def test_player_memoizes_the_request_key(ctx, tmp_path, monkeypatch):
    player = load_player(
        write_cassette(tmp_path / "a.yaml", "fcsess_fakeA", 3), Settings(), "replay"
    )
    calls = []
    real = player.redactor.redact_entry
    monkeypatch.setattr(player.redactor, "redact_entry", lambda e: calls.append(1) or real(e))
    for _ in range(3):
        f = get(f"{SESSIONS}/fcsess_fakeA")
        assert player.answer(f) and f.response.status_code == 200
    assert len(calls) == 1  # prepared once, then taken from the cache


def test_player_error_fallback_and_offline_guard(ctx, tmp_path):
    player = load_player(write_cassette(tmp_path / "a.yaml", "fcsess_fakeA"), Settings(), "replay")
    f = get(f"{SESSIONS}/fcsess_fakeA")
    try:
        raise RuntimeError("boom")
    except RuntimeError as e:
        player.fail(f, e)
    assert f.response.headers[MISS_HEADER] == "internal_error"
    assert "RuntimeError" in f.response.text

    class Data:
        class server:
            error = None

    player.refuse_connect(Data)
    assert player.upstream_refused == 1 and "offline" in Data.server.error


# ------------------------------------------------------------------ the cache
def test_the_cache_parses_once_reloads_a_changed_file_and_is_bounded(ctx, tmp_path):
    paths = [write_cassette(tmp_path / f"c{i}.yaml", f"fcsess_fake{i}") for i in range(3)]
    size = (tmp_path / "c0.yaml").stat().st_size
    cache = PlayerCache(max_bytes=size * 4 * 2)  # room for two
    first = cache.get(paths[0], lambda: load_player(paths[0], Settings(), "replay"))
    assert cache.get(paths[0], lambda: pytest.fail("parsed again")) is first
    first.answer(get(f"{SESSIONS}/nope"))  # a miss, kept for the report
    for p in paths[1:]:
        cache.get(p, lambda p=p: load_player(p, Settings(), "replay"))
    assert list(cache.entries) == paths[1:] and cache.size <= cache.max_bytes
    assert cache.missed_total() == 1  # the evicted one's miss still counts (--strict)
    assert any(paths[0] in ln for ln in cache.summary())
    write_cassette(tmp_path / "c2.yaml", "fcsess_fake2", 2)  # re-recorded on disk
    again = cache.get(paths[2], lambda: load_player(paths[2], Settings(), "replay"))
    assert len(again.playback.matcher.unused()) == 2 and cache.loads == 4


# ------------------------------------------------------------------ replay's ``use``
@pytest.fixture
def replay(tmp_path):
    core, replay, *_ = all_addons("replay")
    a = write_cassette(tmp_path / "a.yaml", "fcsess_fakeA")
    b = write_cassette(tmp_path / "b.yaml", "fcsess_fakeB")
    with taddons.context(core, replay) as tctx:
        tctx.options.update(fc_mode="replay", fc_cassette=a, fc_cassette_root=_root(a))
        yield replay, a, b


def ask(addon, f: http.HTTPFlow) -> http.HTTPFlow:
    addon.request(f)
    return f


def test_replay_switches_cassettes_and_keeps_each_ones_state(replay):
    addon, a, b = replay
    assert ask(addon, get(f"{SESSIONS}/fcsess_fakeB")).response.status_code == 400  # on a
    r = ask(addon, control("POST", "use", {"cassette": b, "rewind": True}))
    assert r.response.status_code == 200
    assert json.loads(r.response.content)["cassette"] == b
    assert ask(addon, get(f"{SESSIONS}/fcsess_fakeB")).response.status_code == 200
    status = json.loads(ask(addon, control("GET", "status")).response.content)
    assert status["served"] == 1 and status["misses"] == []
    assert status["not_recorded"] == [] and status["passthrough"] == []
    loads = addon.cache.loads
    ask(addon, control("POST", "use", {"cassette": a}))  # back to a: cached, not parsed
    assert addon.cache.loads == loads
    status = json.loads(ask(addon, control("GET", "status")).response.content)
    assert status["cassette"] == a and len(status["misses"]) == 1  # a's own miss
    addon.done()
    assert addon.exit_code == 0  # not strict


@pytest.mark.parametrize(
    "body,field",
    [
        (b"{not json", "body"),
        ([1], "body"),
        ({}, "cassette"),
        ({"cassette": 3}, "cassette"),
        ({"cassette": "/nonexistent/x.yaml"}, "cassette"),
        ({"cassette": "x.yaml", "record_mode": "once"}, "record_mode"),
        ({"cassette": "x.yaml", "rewind": "yes"}, "rewind"),
        ({"cassette": "x", "y": 1}, "y"),
    ],
)
def test_a_bad_use_gets_a_400_naming_the_field(replay, body, field):
    addon, a, _ = replay
    r = ask(addon, control("POST", "use", body))
    assert r.response.status_code == 400, r.response.text
    assert json.loads(r.response.content)["field"] == field
    assert addon.player.path == a  # still on the old cassette


def test_strict_counts_misses_on_every_cassette(replay):
    addon, a, b = replay
    ask(addon, get(f"{SESSIONS}/nope"))
    ask(addon, control("POST", "use", {"cassette": b, "rewind": True}))
    addon.cache.max_bytes = 1  # a is evicted: its miss still counts
    ask(addon, control("POST", "use", {"cassette": a}))
    ask(addon, control("POST", "use", {"cassette": b}))
    from mitmproxy import ctx as mctx

    mctx.options.update(fc_strict=True)
    addon.done()
    assert addon.exit_code == 1


# ------------------------------------------------------------------ record's ``use``
@pytest.fixture
def record(tmp_path):
    core, record, *_ = all_addons("record")
    with taddons.context(core, record) as tctx:
        yield tctx, record
        record.done()


def exchange(sid: str) -> http.HTTPFlow:
    f = get(f"{SESSIONS}/{sid}")
    f.response = None
    return f


def respond(f: http.HTTPFlow, sid: str) -> None:
    f.response = http.Response.make(
        200, json.dumps({"id": sid}).encode(), {"Content-Type": "application/json"}
    )


def test_record_replay_only_modes_answer_as_replay_does(record, tmp_path):
    tctx, rec = record
    a = write_cassette(tmp_path / "a.yaml", "fcsess_fakeA")
    answers = {}
    for mode in ("none", "once"):
        tctx.options.update(
            fc_mode="record", fc_cassette=a, fc_cassette_root=_root(a), fc_record_mode=mode
        )
        assert rec.rewind()  # the same cassette, hence the same (cached) player
        answers[mode] = [
            ask(rec, f).response
            for f in (
                get(f"{SESSIONS}/fcsess_fakeA"),
                get(f"{SESSIONS}/nope"),
                get("/v1/x", host="example.com"),
            )
        ]
        assert rec.writer is None and rec.switch.lock is None
    statuses = [[r.status_code for r in rs] for rs in answers.values()]
    assert statuses == [[200, 400, 400]] * 2
    assert [r.headers.get(MISS_HEADER) for r in answers["none"]] == [
        None,
        "unmatched",
        "out_of_scope",
    ]


def test_record_use_moves_the_lock_and_never_records_into_the_wrong_cassette(record, tmp_path):
    tctx, rec = record
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    tctx.options.update(
        fc_mode="record", fc_cassette=str(a), fc_cassette_root=_root(a), fc_record_mode="once"
    )
    first = exchange("fcsess_fakeA")
    rec.request(first)
    respond(first, "fcsess_fakeA")
    rec.response(first)
    assert rec.switch.lock is not None and rec.switch.lock.held
    in_flight = exchange("fcsess_fakeLate")
    rec.request(in_flight)  # arrives while a is active...
    r = ask(rec, control("POST", "use", {"cassette": str(b), "record_mode": "once"}))
    assert r.response.status_code == 200 and json.loads(r.response.content)["recording"]
    RecordingLock.acquire(a).release()  # a's lock was released when the proxy moved on
    respond(in_flight, "fcsess_fakeLate")
    rec.response(in_flight)  # ...and is answered after the switch: refused, explained
    assert in_flight.response.status_code == 500  # withheld, as any unrecorded response
    assert "changed while it was in flight" in in_flight.response.text
    assert len(rec.tally.not_recorded) == 1 and "fcsess_fakeLate" in rec.tally.not_recorded[0]
    second = exchange("fcsess_fakeB")
    rec.request(second)
    respond(second, "fcsess_fakeB")
    rec.response(second)
    assert [i["request"]["path"] for i in cio.load(a).interactions] == [f"{SESSIONS}/fcsess_fakeA"]
    assert [i["request"]["path"] for i in cio.load(b).interactions] == [f"{SESSIONS}/fcsess_fakeB"]
    # options re-applied to a (e.g. mitmproxy rolling back a refused change): this run
    # wrote it, so it is continued, not replayed nor started over
    tctx.options.update(fc_cassette=str(a))
    assert rec.writer is not None and rec.active.plan.continues
    status = json.loads(ask(rec, control("GET", "status")).response.content)
    assert status["recording"] is True and status["not_recorded"] == []
    # so does a ``use`` of it (the next test on a cassette this run is recording): the
    # run goes on writing it, and the lock moves with it
    ask(rec, control("POST", "use", {"cassette": str(b)}))
    RecordingLock.acquire(a).release()
    r = ask(rec, control("POST", "use", {"cassette": str(a), "rewind": True}))
    assert json.loads(r.response.content)["recording"] is True and rec.switch.lock.held


def test_record_use_refuses_none_on_a_missing_cassette(record, tmp_path):
    tctx, rec = record
    a = write_cassette(tmp_path / "a.yaml", "fcsess_fakeA")
    tctx.options.update(
        fc_mode="record", fc_cassette=a, fc_cassette_root=_root(a), fc_record_mode="none"
    )
    r = ask(rec, control("POST", "use", {"cassette": str(tmp_path / "missing.yaml")}))
    assert r.response.status_code == 400
    body = json.loads(r.response.content)
    assert body["field"] == "cassette" and "no such cassette" in body["error"]
    assert rec.active.real.endswith("a.yaml")


def test_a_config_change_keeps_the_cassette_chosen_by_use(replay, tmp_path):
    addon, a, b = replay
    ask(addon, control("POST", "use", {"cassette": b}))
    cfg = tmp_path / "fc.yaml"
    cfg.write_text("replay:\n  on_exhausted: repeat_last\n")
    from mitmproxy import ctx as mctx

    mctx.options.update(fc_config=str(cfg))
    assert addon.player.path == b and addon.settings.replay.on_exhausted == "repeat_last"
    for _ in range(2):  # the new settings apply: the last recording repeats
        assert ask(addon, get(f"{SESSIONS}/fcsess_fakeB")).response.status_code == 200


def test_record_a_config_change_keeps_the_cassette_chosen_by_use(record, tmp_path):
    tctx, rec = record
    a = write_cassette(tmp_path / "a.yaml", "fcsess_fakeA")
    b = write_cassette(tmp_path / "b.yaml", "fcsess_fakeB")
    tctx.options.update(
        fc_mode="record", fc_cassette=a, fc_cassette_root=_root(a), fc_record_mode="none"
    )
    ask(rec, control("POST", "use", {"cassette": b}))
    cfg = tmp_path / "fc.yaml"
    cfg.write_text("record:\n  fsync: false\n")
    tctx.options.update(fc_config=str(cfg))
    assert rec.active.real.endswith("b.yaml") and rec.active.mode == "none"
    assert rec.active.settings.record.fsync is False

"""Players over a progressive load (cassette.lazy, ``SYNC_BYTES`` set to 0 here so that
even a small cassette is parsed in the background): a cassette edited on disk is never
served stale, between two uses nor while it is being loaded; a load that fails late
refuses the cassette's next ``use`` with the whole load's error."""

from __future__ import annotations

import os

import pytest
from mitmproxy import http
from mitmproxy.test import taddons, tflow

from fc_cassette.cassette import lazy, store as cio
from fc_cassette.mitm.player import load_player
from fc_cassette.mitm.players import PlayerCache
from fc_cassette.settings.config import Settings

SESSIONS = "/v1/financial_connections/sessions"


@pytest.fixture
def ctx(monkeypatch):
    monkeypatch.setattr(lazy, "SYNC_BYTES", 0)
    with taddons.context() as tctx:
        yield tctx


def _write(path, sid: str, n: int, bad_at: int | None = None) -> str:
    docs = [cio.new_header(None)]
    for i in range(n):
        docs.append(
            {
                "seq": i + 1,
                "request": {"method": "GET", "path": f"{SESSIONS}/{sid}_{i}"},
                "response": {"status": 200, "body": {"json": {"id": sid, "i": i}}},
            }
        )
    text = [cio.serialize(d) for d in docs]
    if bad_at is not None:
        text[bad_at] = "---\nseq: 0\nrequest: [unclosed\n...\n"
    tmp = f"{path}.tmp"
    with open(tmp, "w") as fh:
        fh.write("".join(text))
    os.replace(tmp, path)  # a new inode, as the recorder writes
    return str(path)


def _ask(player, path: str) -> http.Response:
    flow = tflow.tflow(req=http.Request.make("GET", f"https://api.stripe.com{path}"))
    flow.response = None
    player.answer(flow)
    assert flow.response is not None
    return flow.response


def _load(path: str):
    return lambda: load_player(path, Settings(), "replay")


def test_an_edit_between_two_uses_is_served(ctx, tmp_path):
    path = _write(tmp_path / "c.yaml", "fcsess_old", 300)
    cache = PlayerCache()
    first = cache.get(path, _load(path))
    assert _ask(first, f"{SESSIONS}/fcsess_old_0").status_code == 200
    first.playback.complete()
    _write(tmp_path / "c.yaml", "fcsess_new", 300)
    second = cache.get(path, _load(path))
    assert second is not first
    assert _ask(second, f"{SESSIONS}/fcsess_new_299").status_code == 200
    assert _ask(second, f"{SESSIONS}/fcsess_old_1").status_code == 400  # a miss


@pytest.mark.parametrize("how", ["replaced", "in_place"])
def test_an_edit_while_it_loads_is_served_on_the_next_use(ctx, tmp_path, how):
    path = _write(tmp_path / "c.yaml", "fcsess_old", 600)
    cache = PlayerCache()
    first = cache.get(path, _load(path))
    if how == "replaced":
        _write(tmp_path / "c.yaml", "fcsess_new", 600)
    else:
        new = _write(tmp_path / "n.yaml", "fcsess_new", 600)
        with open(path, "r+b") as fh:
            fh.write(open(new, "rb").read())
            fh.truncate()
    first.playback.complete()
    # whichever way the race went, the first player served one version only...
    error = first.playback.load_error
    assert error is None or lazy.CHANGED in str(error)
    last = _ask(first, f"{SESSIONS}/fcsess_old_599")
    assert last.status_code == (200 if error is None else 400)
    # ... and the next use loads the new one
    second = cache.get(path, _load(path))
    assert second is not first and second.playback.load_error is None
    assert _ask(second, f"{SESSIONS}/fcsess_new_599").status_code == 200


def test_a_late_error_answers_with_it_and_refuses_the_next_use(ctx, tmp_path):
    path = _write(tmp_path / "c.yaml", "fcsess_a", 300, bad_at=250)
    with pytest.raises(cio.CassetteError) as whole:
        cio.load(path)
    cache = PlayerCache()
    player = cache.get(path, _load(path))
    got = _ask(player, f"{SESSIONS}/fcsess_a_280")  # recorded after the error
    assert got.status_code == 400 and str(whole.value) in got.text
    assert got.headers["Fc-Cassette-Miss"] == "cassette_error"
    assert _ask(player, f"{SESSIONS}/fcsess_a_0").status_code == 400  # after: refused too
    assert cache.failed_loads() == [str(whole.value)]
    with pytest.raises(cio.CassetteError) as again:
        cache.get(path, _load(path))
    assert str(again.value) == str(whole.value)
    assert cache.failed_loads() == [str(whole.value)]  # kept for the shutdown report


def _unstarted(path: str):  # the rest parsed only when something waits for it
    return lambda: load_player(path, Settings(), "replay", start=False)


@pytest.mark.parametrize("retired", [False, True])
def test_an_error_still_ahead_of_the_load_when_the_run_ends_is_reported(ctx, tmp_path, retired):
    """The app asked only for early recordings and stopped before the load reached the
    broken document: the end of the run finishes the load, and reports the error the
    whole load would have refused the cassette with at start (once), also for a player
    that left the cache meanwhile."""
    path = _write(tmp_path / "c.yaml", "fcsess_a", 2 * lazy.BATCH + 100, bad_at=2 * lazy.BATCH)
    with pytest.raises(cio.CassetteError) as whole:
        cio.load(path)
    cache = PlayerCache()
    player = cache.get(path, _unstarted(path))
    assert _ask(player, f"{SESSIONS}/fcsess_a_0").status_code == 200
    assert player.playback.load_error is None and not player.playback.progress.finished
    if retired:
        cache.clear()
    assert cache.failed_loads() == [str(whole.value)]
    assert cache.failed_loads() == [str(whole.value)]  # asked again: still once


def test_a_small_cassette_is_parsed_by_preload_itself_a_big_one_by_the_job(ctx, tmp_path):
    """A ``use`` of a small cassette is parsed at once (no hop to a worker thread): the
    next get takes that player, or that error, and parses nothing again; a cassette
    over INLINE_BYTES comes back as a job, parsed only when the job runs."""
    from fc_cassette.mitm import players

    cache = PlayerCache()
    small = _write(tmp_path / "small.yaml", "fcsess_fakeS", 2)
    assert os.path.getsize(small) <= players.INLINE_BYTES
    assert cache.preload(small, _load(small)) is None
    player = cache.get(small, lambda: pytest.fail("parsed again"))
    assert _ask(player, f"{SESSIONS}/fcsess_fakeS_1").status_code == 200
    assert cache.preload(small, _load(small)) is None  # cached: nothing to do

    bad = _write(tmp_path / "bad.yaml", "fcsess_fakeX", 3, bad_at=2)
    assert cache.preload(bad, lambda: load_player(bad, Settings(), "replay", whole=True)) is None
    with pytest.raises(cio.CassetteError, match="bad.yaml"):
        cache.get(bad, lambda: pytest.fail("parsed again"))

    big = _write(tmp_path / "big.yaml", "fcsess_fakeB", 400)
    assert os.path.getsize(big) > players.INLINE_BYTES
    job = cache.preload(big, _load(big))
    assert job is not None and big not in cache.preloaded
    job()
    assert cache.get(big, lambda: pytest.fail("parsed again")) is not None


def test_the_cache_size_is_the_sum_of_its_entries_through_every_change(ctx, tmp_path):
    """The running total the eviction reads stays the sum of the entries' costs through
    loads, reloads of a changed file, evictions and clear."""
    paths = [_write(tmp_path / f"c{i}.yaml", f"fcsess_fake{i}", 2 + i) for i in range(5)]
    cache = PlayerCache(max_bytes=os.path.getsize(paths[4]) * 4 * 3)

    def check() -> None:
        assert cache.size == sum(e.cost for e in cache.entries.values())
        assert cache.size <= cache.max_bytes or len(cache.entries) == 1

    for p in paths + paths[:2]:
        cache.get(p, _load(p))
        check()
    _write(tmp_path / "c1.yaml", "fcsess_fake1", 30)  # changed on disk: reloaded
    cache.get(paths[1], _load(paths[1]))
    check()
    assert len(cache.entries) < 5  # the bound evicted some
    cache.clear()
    assert cache.size == 0 and not cache.entries


def test_a_cassette_edited_after_its_hint_is_parsed_again_never_served_stale(ctx, tmp_path):
    """A harness's hint parses the next test's cassette ahead (issue #25); a ``use``
    takes that player only if the file is unchanged since: an edit in between (the
    test before rewrote it, in place or replaced, same size) is what gets served."""
    cache = PlayerCache()
    path = _write(tmp_path / "c.yaml", "fcsess_old", 2)
    assert cache.hint(path, _load(path)) is True
    assert cache.hint(path, lambda: pytest.fail("parsed again")) is False  # parsed ahead
    assert os.path.getsize(_write(tmp_path / "c.yaml", "fcsess_new", 2)) == os.path.getsize(path)
    player = cache.get(path, _load(path))
    assert _ask(player, f"{SESSIONS}/fcsess_new_1").status_code == 200
    assert _ask(player, f"{SESSIONS}/fcsess_old_0").status_code == 400
    # in place, mtime only: the same
    other = _write(tmp_path / "d.yaml", "fcsess_aaa", 2)
    assert cache.hint(other, _load(other)) is True
    text = open(other).read().replace("fcsess_aaa", "fcsess_bbb")
    with open(other, "w") as fh:
        fh.write(text)
    st = os.stat(other)
    os.utime(other, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000))
    assert _ask(cache.get(other, _load(other)), f"{SESSIONS}/fcsess_bbb_0").status_code == 200


def test_hints_keep_a_few_players_and_skip_big_cassettes_and_go_with_the_settings(ctx, tmp_path):
    from fc_cassette.mitm import players

    cache = PlayerCache()
    paths = [_write(tmp_path / f"c{i}.yaml", f"fcsess_fake{i}", 2) for i in range(7)]
    for p in paths:
        assert cache.hint(p, _load(p)) is True
    assert list(cache.preloaded) == paths[-players.HINTS_KEPT :]  # the last ones wait
    big = _write(tmp_path / "big.yaml", "fcsess_fakeB", 400)
    assert cache.hint(big, lambda: pytest.fail("a big cassette is parsed at its use")) is False
    assert cache.hint(str(tmp_path / "nope.yaml"), _load(paths[0])) is False
    # a bad cassette's hint keeps its error for the use, as the use's own parse would
    bad = _write(tmp_path / "bad.yaml", "fcsess_fakeX", 3, bad_at=2)
    assert cache.hint(bad, lambda: load_player(bad, Settings(), "replay", whole=True)) is True
    with pytest.raises(cio.CassetteError, match="bad.yaml"):
        cache.get(bad, lambda: pytest.fail("parsed again"))
    cache.clear()  # (a new config: the players built on the old one go, hinted too)
    assert cache.preloaded == {}

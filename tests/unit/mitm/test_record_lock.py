"""The record addon and its recording lock across start-up, reconfiguration and mode
switches (mitmproxy's own taddons; the e2e side is in test_record_e2e.py)."""

from __future__ import annotations

import os

import pytest
from mitmproxy import exceptions, http
from mitmproxy.test import taddons

from builders import queries, record_flow, session_flow, small_session
from fc_cassette.cassette import format as cformat, lock as lock_mod, store as cio
from fc_cassette.cassette.lock import RecordingLock, lock_path
from fc_cassette.mitm.addon import all_addons

SID = "fcsess_fakeLock1"
SESSION = small_session(SID, "fcsess_client_secret_fakeLockSecret0001")


def flow(n: int) -> http.HTTPFlow:
    return session_flow(SID, SESSION, n)


def record_one(record, n: int) -> None:
    record_flow(record, flow(n))


def test_another_spelling_of_the_same_cassette_keeps_recording(addons, tmp_path, monkeypatch):
    tctx, record = addons
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sub").mkdir()
    os.symlink(tmp_path / "c.yaml", tmp_path / "alias.yaml")
    tctx.options.update(fc_mode="record", fc_cassette="c.yaml", fc_record_mode="all")
    record_one(record, 1)
    held = record.switch.lock
    for spelling in (str(tmp_path / "c.yaml"), "sub/../c.yaml", "alias.yaml"):
        tctx.options.update(fc_cassette=spelling)  # not "being recorded by" itself
        assert record.switch.lock is held and held.held
    record_one(record, 2)
    assert queries(tmp_path / "c.yaml") == [{"n": "1"}, {"n": "2"}]


@pytest.mark.parametrize("mode", ["all", "new_episodes", "once", "rewrite"])
def test_a_refused_switch_keeps_the_current_recording(addons, tmp_path, mode):
    """mitmproxy re-applies the old options after a refused change: the recording goes on
    ('all' must not start its cassette over, 'once' must not turn into replaying)."""
    tctx, record = addons
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    tctx.options.update(fc_mode="record", fc_cassette=str(a), fc_record_mode=mode)
    record_one(record, 1)
    record_one(record, 2)
    other = RecordingLock.acquire(b)  # someone else records b
    try:
        with pytest.raises(exceptions.OptionsError, match="being recorded by another"):
            tctx.options.update(fc_cassette=str(b))
    finally:
        other.release()
    assert tctx.options.fc_cassette == str(a) and record.switch.lock.held
    record_one(record, 3)
    assert queries(a) == [{"n": "1"}, {"n": "2"}, {"n": "3"}]
    with pytest.raises(lock_mod.CassetteBusy):  # still ours
        RecordingLock.acquire(a)


def test_a_refused_config_keeps_the_current_recording(addons, tmp_path):
    tctx, record = addons
    bad = tmp_path / "bad.yaml"
    bad.write_text("replay:\n  on_exhausted: sometimes\n")
    a = tmp_path / "a.yaml"
    tctx.options.update(fc_mode="record", fc_cassette=str(a), fc_record_mode="all")
    record_one(record, 1)
    with pytest.raises(exceptions.OptionsError, match="on_exhausted"):
        tctx.options.update(fc_config=str(bad))
    record_one(record, 2)
    assert queries(a) == [{"n": "1"}, {"n": "2"}]


def test_once_decides_after_locking(addons, tmp_path, monkeypatch):
    """A recorder that finished (creating the cassette) while 'once' waited for the lock:
    'once' must replay that cassette, not replace it."""
    tctx, record = addons
    c = tmp_path / "c.yaml"
    real = RecordingLock.acquire.__func__

    def acquire(cls, cassette):
        if not c.exists():  # the other recorder's cassette appears, then it releases
            w = cio.Writer(c)
            w.append(
                {
                    "request": {"method": "GET", "path": "/x", "query": {"n": "0"}},
                    "response": {"status": 200},
                }
            )
            w.close()
        return real(cls, cassette)

    monkeypatch.setattr(RecordingLock, "acquire", classmethod(acquire))
    tctx.options.update(fc_mode="record", fc_cassette=str(c), fc_record_mode="once")
    assert record.writer is None and record.switch.lock is None  # replaying only, unlocked
    assert not lock_path(c).exists()
    assert queries(c) == [{"n": "0"}]


def test_switching_to_another_mode_releases_the_cassette(tmp_path):
    addons = all_addons()  # a raw `mitmdump -s` loads every mode's addon
    record = next(a for a in addons if type(a).__name__ == "Record")
    c = tmp_path / "c.yaml"
    with taddons.context(*addons) as tctx:
        tctx.options.update(fc_mode="record", fc_cassette=str(c), fc_record_mode="all")
        record_one(record, 1)
        assert lock_path(c).exists()
        tctx.options.update(fc_mode="replay")
        assert record.switch.lock is None and record.writer is None and not lock_path(c).exists()
        RecordingLock.acquire(c).release()
        tctx.options.update(fc_mode="record", fc_record_mode="new_episodes")
        assert record.switch.lock.held
        for a in addons:
            if hasattr(a, "done"):
                a.done()
    assert not lock_path(c).exists()


@pytest.mark.parametrize("name", [".", "..", "adir"])
def test_a_directory_is_not_a_cassette(addons, tmp_path, monkeypatch, name):
    tctx, record = addons
    monkeypatch.chdir(tmp_path)
    (tmp_path / "adir").mkdir()
    with pytest.raises(exceptions.OptionsError, match="is a directory, not a cassette"):
        tctx.options.update(fc_mode="record", fc_cassette=name, fc_record_mode="all")


def test_a_full_cassette_is_reported_not_written(addons, tmp_path, monkeypatch, caplog):
    import logging

    tctx, record = addons
    c = tmp_path / "c.yaml"
    tctx.options.update(fc_mode="record", fc_cassette=str(c), fc_record_mode="all")
    monkeypatch.setattr(cformat, "MAX_CASSETTE_BYTES", 100)
    f = flow(1)
    with caplog.at_level(logging.INFO, logger="fc_cassette"):
        record.request(f)
        record.response(f)
    assert not c.exists() and record.tally.failed == 1 and f.marked == ":no_entry:"
    assert "would grow past" in f.comment and "Traceback" not in caplog.text


@pytest.mark.parametrize("mode", ["all", "once"])
def test_a_refused_switch_to_another_mode_keeps_the_recording(tmp_path, mode):
    """Under a raw mitmdump -s every mode's addon is loaded: leaving record closes the
    cassette, and when mitmproxy rolls the refused switch back, the recorder continues
    its own cassette ('all' must not start it over, 'once' must not replay it)."""
    addons = all_addons()
    record = next(a for a in addons if type(a).__name__ == "Record")
    c = tmp_path / "c.yaml"
    with taddons.context(*addons) as tctx:
        tctx.options.update(fc_mode="record", fc_cassette=str(c), fc_record_mode=mode)
        record_one(record, 1)
        record_one(record, 2)
        with pytest.raises(exceptions.OptionsError):
            tctx.options.update(fc_mode="replay", fc_cassette=str(tmp_path / "missing.yaml"))
        assert tctx.options.fc_mode == "record" and record.writer is not None
        record_one(record, 3)
        for a in addons:
            if hasattr(a, "done"):
                a.done()
    assert queries(c) == [{"n": "1"}, {"n": "2"}, {"n": "3"}]
    assert [i["seq"] for i in cio.load(c).interactions] == [1, 2, 3]


def test_rewrite_replaces_and_removes_a_cassette_it_records_nothing_into(addons, tmp_path):
    """rewrite: the cassette is what this run records: one new interaction replaces the
    old ones; a cassette it records nothing into is removed when the run leaves it."""
    tctx, record = addons
    a, b, c = tmp_path / "a.yaml", tmp_path / "b.yaml", tmp_path / "c.yaml"
    for path in (a, b):
        w = cio.Writer(path, fsync=False)
        for n in (7, 8):
            w.append(
                {
                    "request": {"method": "GET", "path": "/v1/x", "query": {"n": str(n)}},
                    "response": {"status": 200},
                }
            )
        w.close()
    tctx.options.update(fc_mode="record", fc_cassette=str(a), fc_record_mode="rewrite")
    record_one(record, 1)
    tctx.options.update(fc_cassette=str(b))  # leaves a; b: nothing recorded into it
    assert queries(a) == [{"n": "1"}]  # replaced, not appended to
    assert [i["seq"] for i in cio.load(a).interactions] == [1]
    tctx.options.update(fc_cassette=str(c))
    assert not b.exists()
    record_one(record, 2)
    record.done()
    assert queries(c) == [{"n": "2"}]


def test_rewrite_that_never_ran_keeps_the_old_cassette(addons, tmp_path):
    """A start-up that fails after the cassette was chosen closes the recorder without
    its done hook: the old cassette stays."""
    tctx, record = addons
    a = tmp_path / "a.yaml"
    w = cio.Writer(a, fsync=False)
    w.append({"request": {"method": "GET", "path": "/v1/x"}, "response": {"status": 200}})
    w.close()
    tctx.options.update(fc_mode="record", fc_cassette=str(a), fc_record_mode="rewrite")
    record.close()  # what the CLI does when mitmproxy fails to start
    assert len(cio.load(a).interactions) == 1

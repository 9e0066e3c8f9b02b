"""Acknowledged => durable, or the client is told (the record addon under mitmproxy's
taddons, real files): a cassette deleted or replaced while recording, a scanner
refusal, hard links to one cassette, and timing kept out of the cassette."""

from __future__ import annotations

import json
import logging
import os

import pytest
from mitmproxy import http
from mitmproxy.test import tflow

from builders import queries, record_flow, session_flow, small_session
from fc_cassette.cassette import store as cio
from fc_cassette.cassette.lock import CassetteBusy, RecordingLock
from fc_cassette.mitm.record import NOT_RECORDED_CODE

SID = "fcsess_fakeDurable1"
SESSION = small_session(SID, "fcsess_client_secret_fakeDurableSecret01")


def flow(n: int) -> http.HTTPFlow:
    f = session_flow(SID, SESSION, n)
    f.request.timestamp_start, f.response.timestamp_end = 100.0, 100.25
    return f


def record_one(record, n: int) -> http.HTTPFlow:
    return record_flow(record, flow(n))


def assert_withheld(f: http.HTTPFlow, why: str) -> None:
    """The client got fc-cassette's error, not the upstream's 200."""
    assert f.response.status_code == 500
    assert f.response.headers["Stripe-Should-Retry"] == "false"
    err = json.loads(f.response.content)["error"]
    assert err["type"] == "api_error" and err["code"] == NOT_RECORDED_CODE
    assert "fc-cassette could not record" in err["message"] and why in err["message"]
    assert "upstream already answered 200" in err["message"]
    assert "already happened" in err["message"]
    assert f.marked == ":no_entry:"


@pytest.mark.parametrize("mode", ["all", "new_episodes"])
def test_a_cassette_deleted_while_recording_is_not_acknowledged(addons, tmp_path, mode, caplog):
    tctx, record = addons
    c = tmp_path / "c.yaml"
    if mode == "new_episodes":
        w = cio.Writer(c)
        w.append({"request": {"method": "GET", "path": "/x"}, "response": {"status": 200}})
        w.close()
    tctx.options.update(fc_mode="record", fc_cassette=str(c), fc_record_mode=mode)
    assert record_one(record, 1).response.status_code == 200
    c.unlink()
    with caplog.at_level(logging.INFO, logger="fc_cassette"):
        second, third = record_one(record, 2), record_one(record, 3)
    assert_withheld(second, "was deleted while recording")
    assert_withheld(third, "was deleted while recording")
    assert not c.exists()
    said = [r.getMessage() for r in caplog.records if "nothing more is recorded" in r.getMessage()]
    assert len(said) == 1 and str(c) in said[0]
    assert record.tally.not_recorded_total == 2 and len(record.tally.not_recorded) == 2
    assert record.tally.not_recorded[0].startswith(
        f"GET /v1/financial_connections/sessions/{SID}: {c} was deleted while recording"
    )
    record.done()
    assert record.exit_code == 1


def test_a_cassette_replaced_while_recording_is_left_alone(addons, tmp_path):
    tctx, record = addons
    c, other = tmp_path / "c.yaml", tmp_path / "other.yaml"
    tctx.options.update(fc_mode="record", fc_cassette=str(c), fc_record_mode="all")
    record_one(record, 1)
    record_one(record, 2)
    other.write_text("someone else's file\n")
    os.replace(other, c)  # renamed over the cassette
    f = record_one(record, 3)
    assert_withheld(f, "was replaced by another file while recording")
    assert c.read_text() == "someone else's file\n"
    assert record.tally.recorded == 2 and record.tally.failed == 1
    record.done()
    assert record.exit_code == 1


def test_a_cassette_replaced_before_the_first_append_is_not_cut(addons, tmp_path):
    """new_episodes loaded the cassette at start-up; the file now at the path is another
    one: it must be neither appended to nor cut back to the loaded size."""
    tctx, record = addons
    c = tmp_path / "c.yaml"
    w = cio.Writer(c)
    w.append({"request": {"method": "GET", "path": "/x"}, "response": {"status": 200}})
    w.close()
    tctx.options.update(fc_mode="record", fc_cassette=str(c), fc_record_mode="new_episodes")
    replacement = "x" * 5000 + "\n"
    (tmp_path / "new.yaml").write_text(replacement)
    os.replace(tmp_path / "new.yaml", c)
    assert_withheld(record_one(record, 1), "was replaced by another file")
    assert c.read_text() == replacement


def test_a_scanner_refusal_is_not_acknowledged(addons, tmp_path):
    tctx, record = addons
    c = tmp_path / "c.yaml"
    tctx.options.update(fc_mode="record", fc_cassette=str(c), fc_record_mode="all")
    record_one(record, 1)
    record.switch.redactor.redact_entry = lambda entry: entry  # a redaction bug
    f = flow(2)
    f.response.content = json.dumps({**SESSION, "note": "sk_test_" + "fakeLeft" * 4}).encode()
    record.request(f)
    record.response(f)
    assert_withheld(f, "the secret scanner found")
    assert queries(c) == [{"n": "1"}] and record.tally.refused == 1
    assert "sk_test_fakeLeft" not in f.response.text


def test_a_run_without_failures_exits_0(addons, tmp_path):
    tctx, record = addons
    tctx.options.update(
        fc_mode="record", fc_cassette=str(tmp_path / "c.yaml"), fc_record_mode="all"
    )
    record_one(record, 1)
    record.done()
    assert record.exit_code == 0 and record.tally.not_recorded == []


def test_the_kept_explanations_are_bounded(addons, tmp_path, monkeypatch):
    from fc_cassette.mitm import record_tally as record_mod

    monkeypatch.setattr(record_mod, "MAX_KEPT_MISSES", 2)
    tctx, record = addons
    c = tmp_path / "c.yaml"
    tctx.options.update(fc_mode="record", fc_cassette=str(c), fc_record_mode="all")
    record_one(record, 1)
    c.unlink()
    for n in range(2, 7):
        record_one(record, n)
    assert record.tally.not_recorded_total == 5 and len(record.tally.not_recorded) == 2


def test_hard_links_to_one_cassette_share_its_lock(tmp_path):
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    a.write_text("")
    os.link(a, b)
    held = RecordingLock.acquire(a)
    with pytest.raises(CassetteBusy, match="another name of the same file"):
        RecordingLock.acquire(b)
    assert not (tmp_path / ".b.yaml.lock").exists()  # the refused one left nothing behind
    held.release()
    RecordingLock.acquire(b).release()


def test_a_cassette_created_while_recording_is_covered_too(addons, tmp_path):
    """No file at start-up (nothing to lock but the name); once the recorder created it,
    a hard link made to it cannot be recorded by another recorder."""
    tctx, record = addons
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    tctx.options.update(fc_mode="record", fc_cassette=str(a), fc_record_mode="all")
    record_one(record, 1)
    os.link(a, b)
    with pytest.raises(CassetteBusy, match="hard link"):
        RecordingLock.acquire(b)
    record_one(record, 2)
    assert queries(a) == [{"n": "1"}, {"n": "2"}]


def test_timing_stays_out_of_the_cassette_unless_asked(addons, tmp_path):
    tctx, record = addons
    plain, timed = tmp_path / "plain.yaml", tmp_path / "timed.yaml"
    tctx.options.update(fc_mode="record", fc_cassette=str(plain), fc_record_mode="all")
    record_one(record, 1)
    cfg = tmp_path / "timing.yaml"
    cfg.write_text("record:\n  timing: true\n")
    tctx.options.update(fc_config=str(cfg), fc_cassette=str(timed))
    record_one(record, 1)
    p, t = cio.load(plain), cio.load(timed)
    assert "duration_ms" not in p.interactions[0] and "created" not in p.header
    assert t.interactions[0]["duration_ms"] == 250.0 and "created" in t.header


def test_a_response_after_shutdown_closed_the_cassette_is_withheld(addons, tmp_path):
    """done() closes the cassette; a response still under way must not reach the client
    as if it were recorded."""
    tctx, record = addons
    c = tmp_path / "c.yaml"
    tctx.options.update(fc_mode="record", fc_cassette=str(c), fc_record_mode="all")
    record_one(record, 1)
    late = flow(2)
    record.request(late)
    record.done()
    assert record.exit_code == 0
    record.response(late)
    assert_withheld(late, "fc-cassette was shutting down")
    assert queries(c) == [{"n": "1"}] and record.exit_code == 1


def test_what_prints_after_mitmproxys_handlers_is_redacted_and_one_line(capsys):
    """At shutdown mitmproxy removes its log handlers: logging's last resort prints,
    through the redacting filter; asyncio's report of a cancelled connection is dropped
    and its other reports lose their traceback."""
    import asyncio

    from fc_cassette.mitm import core

    core.install_log_redaction()
    key = "sk_test_" + "fakeShutdownLeak0123456789"
    asyncio_log = logging.getLogger("asyncio")

    def report(exc: BaseException, text: str) -> None:
        try:
            raise exc
        except BaseException:
            import sys

            rec = asyncio_log.makeRecord(
                "asyncio", logging.ERROR, __file__, 1, text, (), sys.exc_info()
            )
        if asyncio_log.filter(rec):
            logging.lastResort.handle(rec)

    report(asyncio.CancelledError(), "Exception in callback StreamReaderProtocol...")
    report(
        ConnectionResetError(f"peer sent {key}"),
        f"Task exception was never retrieved\nfuture: <Task {key}>",
    )
    logging.lastResort.handle(
        logging.getLogger("fc_cassette").makeRecord(
            "fc_cassette", logging.ERROR, __file__, 1, "late line with %s", (key,), None
        )
    )
    err = capsys.readouterr().err
    assert "Traceback" not in err and "CancelledError" not in err and key not in err
    import re

    lines = [re.sub(r"sk_test_REDACTED_\d+", "sk_test_REDACTED", ln) for ln in err.splitlines()]
    assert lines == [
        "Task exception was never retrieved: ConnectionResetError: peer sent sk_test_REDACTED",
        "late line with sk_test_REDACTED",
    ], err


def test_an_exchange_without_a_response_is_listed(addons, tmp_path):
    tctx, record = addons
    tctx.options.update(
        fc_mode="record", fc_cassette=str(tmp_path / "c.yaml"), fc_record_mode="all"
    )
    f = tflow.tflow(req=flow(1).request, err=True)
    f.response = None
    record.request(f)
    record.error(f)
    assert record.tally.not_recorded == [
        f"GET /v1/financial_connections/sessions/{SID}: no response from upstream: error"
    ]
    assert record.exit_code == 1

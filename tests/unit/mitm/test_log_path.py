"""The per-interaction log line of record mode: redacted at its source, not redacted a
second time by the log filter, and kept out of mitmproxy's deprecated ``add_log``
event (which sent every line through the whole addon chain)."""

from __future__ import annotations

import asyncio
import json
import logging

from mitmproxy import log as mlog, master, options

from builders import make_flow, record_flow as run
from fc_cassette.mitm import core
from fc_cassette.mitm.core import PRE_REDACTED, RedactingFilter
from support import encoded_forms

KEY = "sk_test_" + "fakeLogPathKey0123456789"


def _record(name: str, msg: str, *args, **extra) -> logging.LogRecord:
    rec = logging.getLogger(name).makeRecord(name, logging.INFO, __file__, 1, msg, args, None)
    rec.__dict__.update(extra)
    return rec


def test_the_recorded_line_is_redacted_where_it_is_made(recorder, caplog):
    """The id, the path and the drift keys of the line all come from the traffic."""
    record, path = recorder
    sid = f"fcsess_{KEY}"
    session = {
        "id": sid,
        "object": "financial_connections.session",
        "livemode": False,
        "permissions": ["balances"],
        KEY: 1,
        "accounts": {
            "object": "list",
            "data": [],
            "has_more": False,
            "url": "/v1/financial_connections/accounts",
        },
    }
    with caplog.at_level(logging.INFO, logger="fc_cassette"):
        run(
            record,
            make_flow(
                "GET",
                f"/v1/financial_connections/sessions/{sid}",
                status=200,
                resp_body=json.dumps(session).encode(),
                resp_headers={"Content-Type": "application/json"},
            ),
        )
    lines = [r for r in caplog.records if r.getMessage().startswith("fc-cassette record: #1")]
    assert len(lines) == 1 and getattr(lines[0], PRE_REDACTED) is True
    text = lines[0].getMessage()
    assert "drift:" in text and "sk_test_REDACTED_1" in text
    for form in encoded_forms(KEY):
        assert form not in text


def test_the_filter_leaves_a_pre_redacted_line_and_redacts_any_other():
    pre = _record(
        "fc_cassette", "fc-cassette record: %s", "#1 GET /v1/x -> 200", **{PRE_REDACTED: True}
    )
    other = _record("fc_cassette", "fc-cassette record: %s", f"#1 GET /v1/{KEY} -> 200")
    assert RedactingFilter().filter(pre) and pre.args == ("#1 GET /v1/x -> 200",)
    assert RedactingFilter().filter(other)
    assert KEY not in other.getMessage() and "sk_test_REDACTED" in other.getMessage()


def test_our_records_skip_the_deprecated_add_log_event_and_others_do_not():
    async def check() -> None:
        m = master.Master(options.Options(), event_loop=asyncio.get_running_loop())
        legacy = mlog.LegacyLogEvents(m)
        legacy.install()
        try:
            core.install_log_redaction()
            assert legacy.filter(_record("mitmproxy.proxy.server", "a line"))
            assert legacy.filter(_record("fc_cassettex", "a line"))
            assert not legacy.filter(_record("fc_cassette", "a line"))
            assert not legacy.filter(_record("fc_cassette.sub", "a line"))
        finally:
            legacy.uninstall()

    asyncio.run(check())

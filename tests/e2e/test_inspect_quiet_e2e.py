"""Issue #26, item 13: ``inspect`` (and every proxy command) prints its own lines, not
mitmproxy's four connection lines per request; ``termlog_verbosity=debug`` has them."""

from __future__ import annotations

import logging

from fc_cassette.mitm.core import ConnectionLinesFilter
from support import start

KEY = "sk_test_" + "FakeInspectQuiet01"
CREATE = {
    "account_holder": {"type": "customer", "customer": "cus_FakeQuiet"},
    "permissions": ["balances"],
}


def test_inspect_prints_no_connection_lines(tmp_path):
    sim = start(["simulate"], tmp_path, "sim")
    try:
        ins = start(["inspect", "--upstream", sim.base], tmp_path, "inspect")
        ins.client(KEY).v1.financial_connections.sessions.create(params=CREATE)
        assert ins.proc.stop() == 0
        out = ins.proc.output()
        assert "fc-cassette inspect: POST /v1/financial_connections/sessions 200" in out, out
        for noise in ("client connect", "client disconnect", "server connect", "server disconnect"):
            assert noise not in out, out
    finally:
        sim.proc.stop()


def test_the_connection_lines_are_debug_lines():
    f = ConnectionLinesFilter()
    for msg, level in (
        ("client connect", logging.DEBUG),
        ("server disconnect 127.0.0.1:443", logging.DEBUG),
        ("server connect api.stripe.com:443 (1.2.3.4:443)", logging.DEBUG),
        ("client connection handler", logging.INFO),
        ("Server TLS handshake failed. x", logging.INFO),
    ):
        record = logging.LogRecord("mitmproxy.proxy.server", logging.INFO, "", 0, msg, (), None)
        assert f.filter(record) and record.levelno == level, msg

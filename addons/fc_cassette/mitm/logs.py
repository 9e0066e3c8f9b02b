"""fc-cassette's log lines and mitmproxy's: redacted at the handler (by the filter
:mod:`.core` hands :func:`install_filters`: it holds the active mode's redactor, one
numbering with the mode's cassette), mitmproxy's connection chatter quieted, asyncio's
shutdown reports filtered."""

from __future__ import annotations

import asyncio
import logging
import re

from mitmproxy import ctx
from mitmproxy.log import MitmLogHandler

from fc_cassette.mitm import mitm_compat

log = logging.getLogger("fc_cassette")

# ``extra={PRE_REDACTED: True}``: the caller built the record's message from pieces it
# redacted itself, with the active mode's redactor (see record's per-interaction line)
PRE_REDACTED = "fc_cassette_pre_redacted"


def _not_ours(record: logging.LogRecord) -> bool:
    return record.name != "fc_cassette" and not record.name.startswith("fc_cassette.")


class AsyncioReportFilter(logging.Filter):
    """asyncio's own error reports, mostly printed at shutdown (SIGTERM/SIGINT while
    clients are connected), after mitmproxy removed its handlers and its exception
    handler: a connection task cancelled by the shutdown is no error (Python 3.11's
    StreamReaderProtocol reports one with a traceback), so it is dropped; any other
    report becomes one line without a traceback (redacted by the handler's filter).
    Once the proxy is shutting down, the connection tasks mitmproxy leaves pending when
    its loop closes ("Task was destroyed but it is pending!", one per client connected
    under load) are no error either (issue #27)."""

    shutting_down = False  # set by FcCore.done

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, asyncio.CancelledError):
            return False
        if AsyncioReportFilter.shutting_down and str(record.msg).startswith(
            "Task was destroyed but it is pending"
        ):
            return False
        lines = record.getMessage().splitlines()
        text = lines[0] if lines else ""
        if exc is not None:
            text += f": {type(exc).__name__}: {exc}".rstrip(": ")
        record.msg, record.args, record.exc_info, record.exc_text = text, (), None, None
        return True


_CONNECTION_LINE = re.compile(r"(?:client|server) (?:connect|disconnect)\b.*", re.S)


class ConnectionLinesFilter(logging.Filter):
    """mitmproxy's per-connection lines (``client connect``, ``server disconnect
    127.0.0.1:443``...) are demoted to DEBUG: about four of them per useful line in
    ``inspect`` and ``record``. ``--set termlog_verbosity=debug`` shows them again."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno == logging.INFO and _CONNECTION_LINE.fullmatch(str(record.msg)):
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return True


class ReplayListenLine(logging.Filter):
    """replay runs mitmproxy as a reverse proxy to api.stripe.com that never connects:
    its start-up line says so instead of "reverse proxy to https://api.stripe.com"
    (``listening at HOST:PORT`` is kept: --port 0 is read from it)."""

    def filter(self, record: logging.LogRecord) -> bool:
        msg = str(record.msg)
        if msg.startswith("reverse proxy to ") and getattr(ctx.options, "fc_mode", "") == "replay":
            _, sep, rest = msg.partition(" listening at ")
            if sep:
                record.msg, record.args = (
                    ("fc-cassette replay (offline: no upstream connection) listening at " + rest),
                    (),
                )
        return True


def quiet_connection_lines() -> None:
    """mitmproxy's own lines, as fc-cassette's users need them (see the two filters)."""
    for name, kind in (
        ("mitmproxy.proxy.server", ConnectionLinesFilter),
        ("mitmproxy.proxy.mode_servers", ReplayListenLine),
    ):
        logger = logging.getLogger(name)
        if not any(isinstance(f, kind) for f in logger.filters):
            logger.addFilter(kind())


def install_filters(redacting: type[logging.Filter]) -> None:
    """Put a ``redacting`` filter (core's, which holds the redactor) on each of
    mitmproxy's log handlers and on logging's last-resort handler, which prints once
    mitmproxy removed its handlers at shutdown (once each); asyncio's reports get
    :class:`AsyncioReportFilter`; our own records skip the deprecated ``add_log`` event."""
    handlers: list[logging.Handler] = [
        h for h in logging.getLogger().handlers if isinstance(h, MitmLogHandler)
    ]
    if logging.lastResort is not None:
        handlers.append(logging.lastResort)
    for handler in handlers:
        if not any(isinstance(f, redacting) for f in handler.filters):
            handler.addFilter(redacting())
        # fc-cassette's records (a line per recorded interaction) are not turned into
        # mitmproxy's deprecated add_log event: it went through every addon, per line
        if mitm_compat.is_legacy_log_handler(handler) and _not_ours not in handler.filters:
            handler.addFilter(_not_ours)
    asyncio_log = logging.getLogger("asyncio")
    if not any(isinstance(f, AsyncioReportFilter) for f in asyncio_log.filters):
        asyncio_log.addFilter(AsyncioReportFilter())

"""The options every mode shares, and the settings they read.

``FcCore`` declares ``fc_mode``, ``fc_config`` and ``fc_cassette``, validates them in
``configure`` (mitmproxy does not enforce ``choices`` on string options, and ignores
``--set`` names nobody declared), and loads :class:`~fc_cassette.config.Settings`.
The CLI puts it first in the addon chain, so its checks of mitmproxy's own options
(choices, host regexes) run before the addons that would fail on a bad value with a
traceback.
Mode addons read the settings through :func:`settings`.
"""

from __future__ import annotations

import asyncio
import logging
import re
import traceback

from mitmproxy import ctx, exceptions
from mitmproxy.log import MitmLogHandler

from fc_cassette.proxy import mitm_compat
from fc_cassette.redact import Redactor
from fc_cassette.settings.config import (
    OPTION_OVERRIDES,
    ConfigError,
    Settings,
    load_settings,
    with_options,
)
from fc_cassette.settings.modes import FC_MODES as MODES, RECORD_MODES

REGEX_OPTIONS = {"ignore_hosts", "allow_hosts", "tcp_hosts", "udp_hosts"}
log = logging.getLogger("fc_cassette")


_shared: list[Redactor] = []  # the active mode's redactor (see share_redactor)


def share_redactor(redactor: Redactor) -> None:
    """Number secrets in mitmproxy's own log lines as the active mode numbers them in
    its cassette and its own lines (``sk_test_REDACTED_2`` is one key everywhere)."""
    _shared[:] = [redactor]


def shared_redactor() -> Redactor:
    """The active mode's redactor (a fresh one before any mode shared its own)."""
    if not _shared:
        _shared.append(Redactor())
    return _shared[0]


class RedactingFilter(logging.Filter):
    """Redacts every record mitmproxy's handlers print, ours and mitmproxy's own
    (e.g. "Bad HTTP request line: b'GET /...?key=sk_test_...'"), tracebacks included."""

    def __init__(self) -> None:
        super().__init__()
        self.redactor = Redactor()

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, PRE_REDACTED, False) and not record.exc_info:
            return True  # redacted by its caller with the same rules (a hot-path line)
        text = record.getMessage()
        if record.exc_info:
            text += "\n" + logging.Formatter().formatException(record.exc_info)
            record.exc_info, record.exc_text = None, None
        redacted = (_shared[0] if _shared else self.redactor).redact_text(text)
        if redacted != record.msg or record.args:
            record.msg, record.args = redacted, ()
        return True


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
    report becomes one line without a traceback (redacted by the handler's filter)."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, asyncio.CancelledError):
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
        if record.levelno == logging.INFO and _CONNECTION_LINE.fullmatch(
                str(record.msg)):
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return True


class ReplayListenLine(logging.Filter):
    """replay runs mitmproxy as a reverse proxy to api.stripe.com that never connects:
    its start-up line says so instead of "reverse proxy to https://api.stripe.com"
    (``listening at HOST:PORT`` is kept: --port 0 is read from it)."""

    def filter(self, record: logging.LogRecord) -> bool:
        msg = str(record.msg)
        if msg.startswith("reverse proxy to ") and getattr(ctx.options, "fc_mode", "") \
                == "replay":
            _, sep, rest = msg.partition(" listening at ")
            if sep:
                record.msg, record.args = ("fc-cassette replay (offline: no upstream "
                                           "connection) listening at " + rest), ()
        return True


def quiet_connection_lines() -> None:
    """mitmproxy's own lines, as fc-cassette's users need them (see the two filters)."""
    for name, kind in (("mitmproxy.proxy.server", ConnectionLinesFilter),
                       ("mitmproxy.proxy.mode_servers", ReplayListenLine)):
        logger = logging.getLogger(name)
        if not any(isinstance(f, kind) for f in logger.filters):
            logger.addFilter(kind())


def install_log_redaction() -> None:
    """Put a :class:`RedactingFilter` on each of mitmproxy's log handlers and on
    logging's last-resort handler, which prints once mitmproxy removed its handlers at
    shutdown (once each); asyncio's reports get :class:`AsyncioReportFilter`; our own
    records skip the deprecated ``add_log`` event."""
    handlers = [h for h in logging.getLogger().handlers if isinstance(h, MitmLogHandler)]
    if logging.lastResort is not None:
        handlers.append(logging.lastResort)
    for handler in handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
        # fc-cassette's records (a line per recorded interaction) are not turned into
        # mitmproxy's deprecated add_log event: it went through every addon, per line
        if mitm_compat.is_legacy_log_handler(handler) and _not_ours not in handler.filters:
            handler.addFilter(_not_ours)
    asyncio_log = logging.getLogger("asyncio")
    if not any(isinstance(f, AsyncioReportFilter) for f in asyncio_log.filters):
        asyncio_log.addFilter(AsyncioReportFilter())


class FcCore:
    addons: list  # its sub-addons (the h2c guard), set by proxy.addon.all_addons

    @property
    def exit_code(self) -> int:
        """A sub-addon's exit code (the CLI reads the addon chain's, not sub-addons')."""
        return max([getattr(a, "exit_code", 0) for a in getattr(self, "addons", [])] or [0])

    def __init__(self) -> None:
        self.loaded = Settings()  # the config files alone
        self.settings = self.loaded  # ... with the overriding options applied

    def load(self, loader) -> None:
        install_log_redaction()
        quiet_connection_lines()
        from fc_cassette.proxy.upstream_errors import (
            install,  # an upstream failure: Stripe-shaped JSON
        )

        install()
        mitm_compat.prefer_h2()  # HTTP/2 for clients that offer it second (httpx)
        loader.add_option("fc_mode", str, "",
                          f"fc-cassette mode: one of {', '.join(MODES)} (empty: fc-cassette off).")
        loader.add_option("fc_config", str, "",
                          "YAML file overriding fc-cassette's config/default.yaml.")
        loader.add_option("fc_cassette", str, "", "Cassette file for record and replay.")
        loader.add_option("fc_strict", bool, False,
                          "Replay: exit with code 1 at shutdown if any request missed. "
                          "Record: also if no request reached the proxy.")

    def configure(self, updated: set[str]) -> None:
        for name in sorted(updated):  # mitmproxy declares choices but does not enforce them
            opt = mitm_compat.option(ctx.options, name)
            if opt is not None and opt.choices and opt.current() not in opt.choices:
                raise exceptions.OptionsError(
                    f"{name} must be one of {', '.join(map(str, opt.choices))}, "
                    f"not {opt.current()!r}")
        for name in sorted(updated & REGEX_OPTIONS):  # mitmproxy's next_layer compiles
            for pattern in getattr(ctx.options, name, []):  # them: a traceback if bad
                try:
                    re.compile(pattern, re.IGNORECASE)
                except re.error as e:
                    raise exceptions.OptionsError(
                        f"{name}: not a regular expression: {pattern!r}: {e}") from None
        if "fc_mode" in updated and ctx.options.fc_mode not in ("", *MODES):
            raise exceptions.OptionsError(
                f"fc_mode must be one of {', '.join(MODES)}, not {ctx.options.fc_mode!r}")
        if "fc_config" in updated:
            try:
                self.loaded = load_settings(ctx.options.fc_config or None)
            except ConfigError as e:
                raise exceptions.OptionsError(str(e)) from None
        if updated & {"fc_config", *OPTION_OVERRIDES}:
            resolved = with_options(self.loaded, {
                name: getattr(ctx.options, name) for name in OPTION_OVERRIDES
                if name in ctx.options})
            # a new object only when something changed: addons rebuild what they built
            # on the settings when the object changes
            if "fc_config" in updated or resolved != self.settings:
                self.settings = resolved

    def running(self) -> None:
        install_log_redaction()  # handlers added after our load (e.g. mitmweb's event store)
        # Under the CLI, unknown --set names are refused before start-up; under a raw
        # `mitmdump -s`, this error stops mitmdump (errorcheck exits 1 on start-up errors).
        unknown = sorted(n for n in mitm_compat.deferred(ctx.options) if n.startswith("fc_"))
        if unknown:
            log.error("fc-cassette: unknown option(s): %s", ", ".join(unknown))
        if not ctx.options.fc_mode:  # a raw `mitmdump -s` without --set fc_mode=...
            log.warning("fc-cassette: inactive: fc_mode is not set, so mitmdump runs as a "
                        "plain proxy; add --set fc_mode=%s", "|".join(MODES))


class DeferredOptionsCheck:
    """Last of a raw ``mitmdump -s`` script's addons: checks the script's ``--set fc_*``
    values before mitmproxy applies them.

    mitmproxy holds ``--set`` values for options a script declares and applies them all
    in one update once the script's addons are loaded; one value that does not parse
    (``fc_strict=maybe``) fails that update, and the failure is lost in a task, so
    every fc-cassette option, ``fc_mode`` included, stays unset: mitmdump would run
    as a plain proxy and forward replay traffic upstream. A bad value is dropped
    here and logged as an error instead (mitmdump then exits 1, as on any start-up
    error), and the others apply.
    """

    def load(self, loader) -> None:
        allowed = {"fc_mode": MODES, "fc_record_mode": RECORD_MODES}  # or "" (the default)
        opts = loader.master.options
        for name in sorted(n for n in mitm_compat.deferred(opts)
                           if n.startswith("fc_") and n in opts):
            raw = mitm_compat.deferred_raw(opts, name)
            if raw is None:  # already a value, not strings to parse
                continue
            try:
                value = mitm_compat.parse_value(opts, mitm_compat.option(opts, name), raw)
                if name in allowed and value not in ("", *allowed[name]):
                    raise exceptions.OptionsError(
                        f"must be one of {', '.join(allowed[name])}")
            except exceptions.OptionsError as e:
                mitm_compat.drop_deferred(opts, name)
                log.error("fc-cassette: --set %s=%s: %s", name, " ".join(raw), e)


def log_failure(what: str, redactor) -> None:
    """Log the exception being handled, redacted (a traceback can quote a secret)."""
    log.error("fc-cassette: %s: %s", redactor.redact_text(what),
              redactor.redact_text(traceback.format_exc()))


def settings() -> Settings:
    core = ctx.master.addons.get("fccore")
    return core.settings if core is not None else Settings()


def active(mode: str) -> bool:
    return ctx.options.fc_mode == mode

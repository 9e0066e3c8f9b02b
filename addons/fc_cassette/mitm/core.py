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
import os
import re
import sys
import threading
import traceback
from pathlib import Path
from typing import Any

from mitmproxy import ctx, exceptions, http
from mitmproxy.addonmanager import Loader
from mitmproxy.log import MitmLogHandler
from mitmproxy.net.http import url
from mitmproxy.proxy import server_hooks
from mitmproxy.proxy.mode_specs import ReverseMode

from fc_cassette.mitm import mitm_compat, scope
from fc_cassette.redact import Redactor
from fc_cassette.settings.config import (
    OPTION_OVERRIDES,
    OPTION_PARSERS,
    ConfigError,
    Settings,
    load_settings,
    with_options,
)
from fc_cassette.settings.modes import FC_MODES as MODES

REGEX_OPTIONS = {"ignore_hosts", "allow_hosts", "tcp_hosts", "udp_hosts"}
log = logging.getLogger("fc_cassette")
TOKEN_ENV = "FC_CASSETTE_CONTROL_TOKEN"
CONTROL_TOKEN_HEADER = "X-FC-Cassette-Token"
START_DIR = os.getcwd()  # the directory the proxy was started in: the default cassette root
SELF_FORWARD = ("fc-cassette does not forward a request to its own listening address "
                "(it would loop through itself)")


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
                "Task was destroyed but it is pending"):
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
    handlers: list[logging.Handler] = [
        h for h in logging.getLogger().handlers if isinstance(h, MitmLogHandler)]
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
    addons: list[Any]  # sub-addons, set by addon.all_addons (mitmproxy runs them after it)

    @property
    def exit_code(self) -> int:
        """A sub-addon's exit code (the CLI reads the addon chain's, not sub-addons')."""
        return max([getattr(a, "exit_code", 0) for a in getattr(self, "addons", [])] or [0])

    def __init__(self) -> None:
        self.loaded = Settings()  # the config files alone
        self.settings = self.loaded  # ... with the overriding options applied
        self.rewrite_host = False  # we turned keep_host_header on (see running)

    def requestheaders(self, flow: http.HTTPFlow) -> None:
        if self.rewrite_host and isinstance(flow.client_conn.proxy_mode, ReverseMode):
            r = flow.request
            flow.metadata[scope.CLIENT_HOST] = r.host_header or ""
            r.host_header = url.hostport(r.scheme, r.host, r.port)  # as mitmproxy does

    def server_connect(self, data: server_hooks.ServerConnectionHookData) -> None:
        """Never connect to the proxy's own listening address, in any spelling (a
        forward proxy asked for ``LOCALHOST:PORT`` or ``0.0.0.0:PORT``, an upstream
        that is the proxy itself): it would loop through itself, and a control request
        must never arrive through the proxy's own forwarding."""
        address = data.server.address
        if address and scope.own_address(str(address[0]), address[1], data.client.sockname):
            data.server.error = SELF_FORWARD

    def load(self, loader: Loader) -> None:
        install_log_redaction()
        quiet_connection_lines()
        from fc_cassette.mitm.upstream_errors import (
            install,  # an upstream failure: Stripe-shaped JSON
        )

        install()
        mitm_compat.prefer_h2()  # HTTP/2 for clients that offer it second (httpx)
        loader.add_option("fc_mode", str, "",
                          f"fc-cassette mode: one of {', '.join(MODES)} (empty: fc-cassette off).")
        loader.add_option("fc_config", str, "",
                          "YAML file overriding fc-cassette's config/default.yaml.")
        loader.add_option("fc_cassette", str, "", "Cassette file for record and replay.")
        loader.add_option("fc_webhooks_to", str, "",
                          "Record/replay: the app URL webhook deliveries go to "
                          "(docs/webhooks.md).")
        loader.add_option("fc_webhook_secret", str, "",
                          "Replay: the whsec_ secret recorded events are signed with again "
                          "(empty: the documented test secret).")
        loader.add_option("fc_events", str, "",
                          "For harnesses: a file a byte is appended to whenever the control "
                          "status gets news (a miss, an exchange not recorded, a request "
                          "outside the scope).")
        loader.add_option("fc_parent_pipe", bool, False,
                          "For harnesses: stdin is a pipe from the process that started this "
                          "one; shut down when it closes (that process exited or died).")
        loader.add_option("fc_cassette_root", str, "",
                          "Directory the control endpoint's cassettes must lie in, after "
                          "resolving '..' and symlinks (empty: the directory the proxy was "
                          "started in).")
        loader.add_option("fc_control_token", str, "",
                          f"Token every control call must carry in {CONTROL_TOKEN_HEADER} "
                          f"(empty: ${TOKEN_ENV}, then the config's control.token; none: "
                          "no token needed).")
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
        _check_webhook_options(updated)
        if "fc_mode" in updated and ctx.options.fc_mode not in ("", *MODES):
            raise exceptions.OptionsError(
                f"fc_mode must be one of {', '.join(MODES)}, not {ctx.options.fc_mode!r}")
        if "fc_config" in updated:
            try:
                self.loaded = load_settings(ctx.options.fc_config or None)
            except ConfigError as e:
                raise exceptions.OptionsError(str(e)) from None
        if updated & {"fc_config", *OPTION_OVERRIDES}:
            try:
                resolved = with_options(self.loaded, {
                    name: getattr(ctx.options, name) for name in OPTION_OVERRIDES
                    if name in ctx.options})
            except ValueError as e:  # e.g. fc_record_mode=sometimes
                raise exceptions.OptionsError(str(e)) from None
            # a new object only when something changed: addons rebuild what they built
            # on the settings when the object changes
            if "fc_config" in updated or resolved != self.settings:
                self.settings = resolved

    def done(self) -> None:
        AsyncioReportFilter.shutting_down = True

    def running(self) -> None:
        if ctx.options.fc_parent_pipe:
            watch_parent(asyncio.get_running_loop())
        install_log_redaction()  # handlers added after our load (e.g. mitmweb's event store)
        # Reverse mode rewrites the Host header to the upstream's before any addon sees
        # it; the control endpoint needs the client's (DNS rebinding): keep it, and do
        # the rewrite here (requestheaders) after noting the client's.
        if "keep_host_header" in ctx.options and not ctx.options.keep_host_header:
            self.rewrite_host = True
            ctx.options.update(keep_host_header=True)
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

    def load(self, loader: Loader) -> None:
        opts = loader.master.options
        for name in sorted(n for n in mitm_compat.deferred(opts)
                           if n.startswith("fc_") and n in opts):
            raw = mitm_compat.deferred_raw(opts, name)
            if raw is None:  # already a value, not strings to parse
                continue
            try:
                value = mitm_compat.parse_value(opts, mitm_compat.option(opts, name), raw)
                if name == "fc_mode" and value not in ("", *MODES):
                    raise exceptions.OptionsError(f"must be one of {', '.join(MODES)}")
                if name in OPTION_PARSERS and value != "":  # "": the default, unset
                    OPTION_PARSERS[name](value)
            except (exceptions.OptionsError, ValueError) as e:
                mitm_compat.drop_deferred(opts, name)
                log.error("fc-cassette: --set %s=%s: %s", name, " ".join(raw), e)


def _check_webhook_options(updated: set[str]) -> None:
    from fc_cassette.settings.config import check_webhook_secret, check_webhook_url

    for name, flag, check in (("fc_webhooks_to", "--webhooks-to", check_webhook_url),
                              ("fc_webhook_secret", "--webhook-secret", check_webhook_secret)):
        value = getattr(ctx.options, name, "") if name in updated else ""
        if value:
            try:
                check(value)
            except ValueError as e:
                shown = value if name == "fc_webhooks_to" else "(hidden)"
                raise exceptions.OptionsError(f"{flag} {shown}: {e}") from None


def watch_parent(loop: asyncio.AbstractEventLoop) -> None:
    """Shut down when stdin (a pipe from the harness that started this process) reaches
    its end: the harness closed it, exited or was killed; no proxy outlives its pytest
    worker (a daemon thread: it blocks in read)."""
    master = ctx.master

    def wait() -> None:
        try:
            while sys.stdin.buffer.read(4096):
                pass
        except (OSError, ValueError, AttributeError):
            pass
        log.info("fc-cassette: the process that started this proxy is gone: shutting down")
        loop.call_soon_threadsafe(master.shutdown)

    threading.Thread(target=wait, name="fc-parent-pipe", daemon=True).start()


def log_failure(what: str, redactor: Redactor) -> None:
    """Log the exception being handled, redacted (a traceback can quote a secret)."""
    log.error("fc-cassette: %s: %s", redactor.redact_text(what),
              redactor.redact_text(traceback.format_exc()))


def control_token() -> str:
    """The token control calls must carry: ``--control-token`` (``fc_control_token``),
    else ``$FC_CASSETTE_CONTROL_TOKEN``, else the config's ``control.token``; empty:
    none is needed."""
    opt = ctx.options.fc_control_token if "fc_control_token" in ctx.options else ""
    return opt or os.environ.get(TOKEN_ENV, "") or settings().control.token


def cassette_root() -> Path:
    """The directory cassettes named through the control endpoint must lie in (real
    path): ``--cassette-root`` (``fc_cassette_root``), else the start-up directory."""
    opt = ctx.options.fc_cassette_root if "fc_cassette_root" in ctx.options else ""
    return Path(os.path.realpath(opt or START_DIR))


def settings() -> Settings:
    core = ctx.master.addons.get("fccore")
    return core.settings if core is not None else Settings()


def active(mode: str) -> bool:
    return ctx.options.fc_mode == mode

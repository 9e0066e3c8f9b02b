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
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mitmproxy import ctx, exceptions, http
from mitmproxy.addonmanager import Loader
from mitmproxy.net.http import url
from mitmproxy.proxy import server_hooks
from mitmproxy.proxy.mode_specs import ReverseMode

from fc_cassette.mitm import mitm_compat, scope
from fc_cassette.mitm.logs import (
    PRE_REDACTED as PRE_REDACTED,
    AsyncioReportFilter as AsyncioReportFilter,
    ConnectionLinesFilter as ConnectionLinesFilter,
    ReplayListenLine as ReplayListenLine,
    install_filters,
    quiet_connection_lines as quiet_connection_lines,
)
from fc_cassette.redact.redactor import Redactor
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
SERVED_SEQ = "fc_cassette_served_seq"  # flow.metadata: the seq of the interaction served
START_DIR = os.getcwd()  # the directory the proxy was started in: the default cassette root
SELF_FORWARD = (
    "fc-cassette does not forward a request to its own listening address "
    "(it would loop through itself)"
)


# log redaction: the one redactor of the log lines and of the upstream failures' bodies
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


def install_log_redaction() -> None:
    """A :class:`RedactingFilter` on every handler that prints (see :mod:`.logs`)."""
    install_filters(RedactingFilter)


def redact_line(text: str) -> str:
    """``text`` redacted as the active mode redacts (what core hands the modules that
    write text for people without holding a redactor: upstream failures' bodies)."""
    return shared_redactor().redact_text(text)


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

        install(redact_line)
        mitm_compat.prefer_h2()  # HTTP/2 for clients that offer it second (httpx)
        loader.add_option(
            "fc_mode",
            str,
            "",
            f"fc-cassette mode: one of {', '.join(MODES)} (empty: fc-cassette off).",
        )
        loader.add_option(
            "fc_config", str, "", "YAML file overriding fc-cassette's config/default.yaml."
        )
        loader.add_option("fc_cassette", str, "", "Cassette file for record and replay.")
        loader.add_option(
            "fc_webhooks_to",
            str,
            "",
            "Record/replay: the app URL webhook deliveries go to (docs/webhooks.md).",
        )
        loader.add_option(
            "fc_webhook_secret",
            str,
            "",
            "Replay: the whsec_ secret recorded events are signed with again "
            "(empty: the documented test secret).",
        )
        _harness_options(loader)
        loader.add_option(
            "fc_strict",
            bool,
            False,
            "Replay: exit with code 1 at shutdown if any request missed. "
            "Record: also if no request reached the proxy.",
        )

    def configure(self, updated: set[str]) -> None:
        for name in sorted(updated):  # mitmproxy declares choices but does not enforce them
            opt = mitm_compat.option(ctx.options, name)
            if opt is not None and opt.choices and opt.current() not in opt.choices:
                raise exceptions.OptionsError(
                    f"{name} must be one of {', '.join(map(str, opt.choices))}, "
                    f"not {opt.current()!r}"
                )
        for name in sorted(updated & REGEX_OPTIONS):  # mitmproxy's next_layer compiles
            for pattern in getattr(ctx.options, name, []):  # them: a traceback if bad
                try:
                    re.compile(pattern, re.IGNORECASE)
                except re.error as e:
                    raise exceptions.OptionsError(
                        f"{name}: not a regular expression: {pattern!r}: {e}"
                    ) from None
        _check_webhook_options(updated)
        if "fc_mode" in updated and ctx.options.fc_mode not in ("", *MODES):
            raise exceptions.OptionsError(
                f"fc_mode must be one of {', '.join(MODES)}, not {ctx.options.fc_mode!r}"
            )
        if "fc_config" in updated:
            try:
                self.loaded = load_settings(ctx.options.fc_config or None)
            except ConfigError as e:
                raise exceptions.OptionsError(str(e)) from None
        if updated & {"fc_config", *OPTION_OVERRIDES}:
            try:
                resolved = with_options(
                    self.loaded,
                    {
                        name: getattr(ctx.options, name)
                        for name in OPTION_OVERRIDES
                        if name in ctx.options
                    },
                )
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
            log.warning(
                "fc-cassette: inactive: fc_mode is not set, so mitmdump runs as a "
                "plain proxy; add --set fc_mode=%s",
                "|".join(MODES),
            )


def _harness_options(loader: Loader) -> None:
    """The options harnesses and the control endpoint use (events file, parent pipe,
    cassette root, control token)."""
    loader.add_option(
        "fc_events",
        str,
        "",
        "For harnesses: a file a byte is appended to whenever the control "
        "status gets news (a miss, an exchange not recorded, a request "
        "outside the scope).",
    )
    loader.add_option(
        "fc_parent_pipe",
        bool,
        False,
        "For harnesses: stdin is a pipe from the process that started this "
        "one; shut down when it closes (that process exited or died).",
    )
    loader.add_option(
        "fc_cassette_root",
        str,
        "",
        "Directory the control endpoint's cassettes must lie in, after "
        "resolving '..' and symlinks (empty: the directory the proxy was "
        "started in).",
    )
    loader.add_option(
        "fc_control_token",
        str,
        "",
        f"Token every control call must carry in {CONTROL_TOKEN_HEADER} "
        f"(empty: ${TOKEN_ENV}, then the config's control.token; none: "
        "no token needed).",
    )


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
        for name in sorted(
            n for n in mitm_compat.deferred(opts) if n.startswith("fc_") and n in opts
        ):
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

    for name, flag, check in (
        ("fc_webhooks_to", "--webhooks-to", check_webhook_url),
        ("fc_webhook_secret", "--webhook-secret", check_webhook_secret),
    ):
        value = getattr(ctx.options, name, "") if name in updated else ""
        if value:
            try:
                check(value)
            except ValueError as e:
                shown = value if name == "fc_webhooks_to" else "(hidden)"
                raise exceptions.OptionsError(f"{flag} {shown}: {e}") from None


PARENT_LINE_MAX = 8192  # a longer line on the parent pipe is dropped
PARENT_LINES: list[Callable[[bytes], None]] = []
"""What a line the harness writes on the parent pipe goes to (on the event loop): the
replay addon's preload hints and control calls (:meth:`.replay.Replay.parent_line`)."""


def _deliver(line: bytes) -> None:
    for listener in list(PARENT_LINES):
        try:
            listener(line)
        except Exception:  # a hint is only a hint: it never stops the proxy
            log.debug("fc-cassette: a line from the parent pipe failed", exc_info=True)


def reply_to_parent(data: bytes) -> None:
    """Write one line (``data`` and a newline) back to the harness on stdin: a socket
    pair's end when the pytest plugin started this proxy (on a plain pipe it cannot be
    written: the line is dropped)."""
    out = memoryview(data + b"\n")
    try:
        while out:
            out = out[os.write(0, out) :]
    except OSError as e:
        log.debug("fc-cassette: cannot answer on the parent pipe: %s", e)


def watch_parent(loop: asyncio.AbstractEventLoop) -> None:
    """Shut down when stdin (a pipe from the harness that started this process) reaches
    its end: the harness closed it, exited or was killed; no proxy outlives its pytest
    worker (a daemon thread: it blocks in read). Each whole line read before that goes
    to :data:`PARENT_LINES` (only the harness holds the pipe's other end)."""
    master = ctx.master

    def wait() -> None:
        whole = True  # the line read is the start of a line (not a too-long one's rest)
        try:
            while line := sys.stdin.buffer.readline(PARENT_LINE_MAX):
                if whole and line.endswith(b"\n"):
                    loop.call_soon_threadsafe(_deliver, line)
                whole = line.endswith(b"\n")
        except (OSError, ValueError, AttributeError, RuntimeError):
            pass  # (RuntimeError: the loop closed)
        log.info("fc-cassette: the process that started this proxy is gone: shutting down")
        try:
            loop.call_soon_threadsafe(master.shutdown)
        except RuntimeError:  # the loop closed: shut down already
            pass

    threading.Thread(target=wait, name="fc-parent-pipe", daemon=True).start()


def log_failure(what: str, redactor: Redactor) -> None:
    """Log the exception being handled, redacted (a traceback can quote a secret)."""
    log.error(
        "fc-cassette: %s: %s",
        redactor.redact_text(what),
        redactor.redact_text(traceback.format_exc()),
    )


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

"""Simulate mode: a local, stateful FC API (sessions, accounts, owners, transactions)
answered by :class:`Simulator` (contract: docs/simulator.md).

Every request is answered in the ``request`` hook (relative-form requests to the
proxy and requests tunnelled through CONNECT alike), and the ``server_connect`` guard
refuses any upstream connection, so nothing ever leaves the machine. The seed comes
from ``fc_seed`` (the CLI's ``--seed``) or, when that is left at -1, from the config's
``simulate.seed``; the clock from ``simulate.clock_start``. Changing ``fc_mode``,
``fc_seed`` or ``fc_config`` starts a fresh simulator (all sessions and accounts are forgotten).

One INFO line per request: method, path (no query), status, and the object id or the
error type. Never a key, a client secret, or a request body.

Events (docs/webhooks.md): after each request, the deliveries the simulator queued go to
a :class:`~.delivery.Deliverer` (worker threads: a delivery never delays an
answer), and a timer on mitmproxy's event loop runs the simulator's scheduled tasks
(refreshes settling by themselves) when they fall due. Targets: ``fc_webhook_urls`` with
``fc_webhook_secrets`` (the CLI's ``--webhook-url``/``--webhook-secret``), else the
config's ``simulate.webhooks``; plus the endpoints created with ``POST
/v1/webhook_endpoints``.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence
from urllib.parse import urlsplit

from mitmproxy import exceptions, http
from mitmproxy.addonmanager import Loader
from mitmproxy.proxy.server_hooks import ServerConnectionHookData

from fc_cassette.mitm import core
from fc_cassette.mitm.delivery import Deliverer
from fc_cassette.redact.redactor import Redactor
from fc_cassette.settings import config
from fc_cassette.simulator import Simulator, Target

log = logging.getLogger("fc_cassette")
NO_UPSTREAM = "fc-cassette simulate never connects upstream"
USE_CONFIG_SEED = -1


class Simulate:
    def __init__(self) -> None:
        self.redactor = Redactor()
        self.simulator: Simulator | None = None
        self.deliverer: Deliverer | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._timer_due: float | None = None

    def load(self, loader: Loader) -> None:
        loader.add_option(
            "fc_seed",
            int,
            USE_CONFIG_SEED,
            "Simulate: seed for ids and secrets (-1: the config's simulate.seed).",
        )
        loader.add_option(
            "fc_webhook_urls",
            Sequence[str],
            [],
            "Simulate: URLs every event is delivered to (replace the config's simulate.webhooks).",
        )
        loader.add_option(
            "fc_accept_unknown_customers",
            bool,
            False,
            "Simulate: accept customer ids never created in the simulator "
            "(the config's simulate.accept_unknown_customers).",
        )
        loader.add_option(
            "fc_webhook_secrets",
            Sequence[str],
            [],
            "Simulate: the whsec_ secret of each fc_webhook_urls entry (one "
            "secret: for every URL).",
        )

    def configure(self, updated: set[str]) -> None:
        if not core.active("simulate"):
            self._stop()
            return
        if self.simulator is None or updated & {
            "fc_mode",
            "fc_seed",
            "fc_config",
            "fc_webhook_urls",
            "fc_webhook_secrets",
            "fc_accept_unknown_customers",
        }:
            settings = core.settings()
            sim = settings.simulate
            seed = sim.seed  # fc_seed applied (core: config.with_options)
            targets = webhook_targets(sim)
            self._stop()
            self.simulator = Simulator(
                seed=seed,
                clock_start=sim.clock_start,
                webhooks=targets,
                settle_after_s=sim.settle_after_s,
                accept_unknown_customers=sim.accept_unknown_customers,
            )
            self.deliverer = Deliverer(backoff=tuple(settings.webhooks.retry_after_s))
            log.info(
                "fc-cassette simulate: seed %d, clock starts at %d, %d webhook target(s)",
                seed,
                sim.clock_start,
                len(targets),
            )

    def _stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = self._timer_due = None
        if self.deliverer is not None:
            self.deliverer.close()
            self.deliverer = None
        self.simulator = None

    def done(self) -> None:
        self._stop()

    def request(self, flow: http.HTTPFlow) -> None:
        if not core.active("simulate") or flow.response is not None:
            return
        if self.simulator is None:
            self.configure({"fc_mode"})
        assert self.simulator is not None
        req = flow.request
        split = urlsplit(req.path)
        body = req.get_content(strict=False) or b""
        resp = self.simulator.handle(req.method, split.path, split.query, req.headers, body)
        flow.response = http.Response.make(resp.status, resp.body, resp.headers)
        self._after()
        # redacted before clipping: a clip through a key would hide it from redaction
        log.info(
            "simulate: %s %s -> %d %s",
            req.method,
            _clip(self.redactor.redact_text(split.path)),
            resp.status,
            _summary(resp.status, resp.body),
        )

    # ------------------------------------------------------------------- events
    def _after(self) -> None:
        """Hand queued deliveries to the deliverer; arm the timer of the next due task."""
        sim, deliverer = self.simulator, self.deliverer
        if sim is None or deliverer is None:
            return
        for out in sim.take_deliveries():
            deliverer.submit(
                out.target.url, out.target.secret, out.event_id, out.event_type, out.payload
            )
        due = sim.next_due()
        if due is None or (self._timer_due is not None and self._timer_due <= due):
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no event loop (a unit test calling the hook)
            return
        if self._timer is not None:
            self._timer.cancel()
        self._timer_due = due
        self._timer = loop.call_later(max(0.0, due - sim.monotonic()), self._pump)

    def _pump(self) -> None:
        """The timer: run the tasks due now (e.g. a refresh settling by itself)."""
        self._timer = self._timer_due = None
        if self.simulator is None:
            return
        try:
            self.simulator.run_due()
        except Exception:  # a simulator bug must not kill the proxy
            core.log_failure("simulate: a scheduled task failed", self.redactor)
        self._after()

    def server_connect(self, data: ServerConnectionHookData) -> None:
        if core.active("simulate"):
            data.server.error = NO_UPSTREAM


def webhook_targets(sim: config.SimulatePolicy) -> list[Target]:
    """The command line's targets (``fc_webhook_urls`` paired with
    ``fc_webhook_secrets``), else the config's ``simulate.webhooks``."""
    from mitmproxy import ctx

    urls = list(ctx.options.fc_webhook_urls) if ctx.options else []
    secrets = list(ctx.options.fc_webhook_secrets) if ctx.options else []
    if not urls and not secrets:
        return [Target(w.url, w.secret) for w in sim.webhooks]
    if len(secrets) == 1:
        secrets = secrets * len(urls)
    if not urls or len(secrets) != len(urls):
        raise exceptions.OptionsError(
            f"--webhook-url/--webhook-secret: {len(urls)} URL(s) and {len(secrets)} "
            "secret(s): give one secret for every URL, or one for all"
        )
    out = []
    for url, secret in zip(urls, secrets, strict=True):
        for what, check, value in (
            ("--webhook-url", config.check_webhook_url, url),
            ("--webhook-secret", config.check_webhook_secret, secret),
        ):
            try:
                check(value)
            except ValueError as e:
                shown = value if what == "--webhook-url" else "(hidden)"
                raise exceptions.OptionsError(f"{what} {shown}: {e}") from None
        out.append(Target(url, secret))
    return out


def _clip(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


def _summary(status: int, body: bytes) -> str:
    """The session id of a success, or ``type/code`` of an error: nothing secret."""
    try:
        obj = json.loads(body)
    except ValueError:
        return ""
    if not isinstance(obj, dict):
        return ""
    if 200 <= status < 300:
        sid = obj.get("id")
        return sid if isinstance(sid, str) else ""
    err = obj.get("error")
    if isinstance(err, dict):
        return "/".join(str(err[k]) for k in ("type", "code") if err.get(k))
    return ""

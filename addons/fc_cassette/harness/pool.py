"""The pytest plugin's proxy processes: started on demand, switched per test, stopped.

One fc-cassette process per kind ("replay", or "record" in front of an upstream) and
per effective config serves every cassette of a pytest process (each xdist worker is
one): a test costs a ``use`` and a ``status`` call on a kept-alive connection, not a
process start. See :mod:`.pytest_plugin` and docs/pytest.md.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import secrets
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fc_cassette.harness import procs
from fc_cassette.harness.channel import Channel
from fc_cassette.harness.folders import shared_confdir
from fc_cassette.settings.modes import row

if TYPE_CHECKING:
    import stripe

# The proxy picks a free port itself (--port 0) and says which: a port chosen here and
# bound later could be taken meanwhile by another worker's proxy (pytest-xdist), whose
# socket would then pass for this one (see procs.wait_listening).
START_TIMEOUT = procs.START_TIMEOUT
# The ports of the fc-cassette proxies this process started and has not stopped: what
# --fc-block-network lets a test connect to (see :mod:`.block_network`).
LIVE_PORTS: set[int] = set()
# Every proxy started here gets a fresh random control token (in its environment, not
# on its command line) and every control call sends it: see docs/security.md.
TOKEN_ENV, TOKEN_HEADER = "FC_CASSETTE_CONTROL_TOKEN", "X-FC-Cassette-Token"


class ProxyError(Exception):
    """The proxy did not start, died, or did not answer: the test fails with this."""


class ControlError(Exception):
    """The control endpoint refused a call (``status`` and the JSON ``body``)."""

    def __init__(self, status: int, body: dict[str, Any]):
        super().__init__(body.get("error", f"HTTP {status}"))
        self.status, self.body = status, body


@dataclass
class ProxyProcess:
    """One running fc-cassette proxy and a kept-alive connection to its control endpoint
    (http.client: HTTP(S)_PROXY in the environment cannot divert it)."""

    kind: str  # "replay" or "record"
    port: int
    confdir: Path
    process: subprocess.Popen = field(repr=False)
    log: Path = field(repr=False)
    events: Path | None = field(default=None, repr=False)  # its fc_events file
    _conn: http.client.HTTPConnection | None = field(default=None, repr=False)
    _seen: int = field(default=0, repr=False)  # the events file's size last seen
    _signalled: bool = field(default=False, repr=False)
    token: str = field(default="", repr=False)  # the control token it was started with
    _channel: Channel | None = field(default=None, repr=False)  # its parent pipe

    def alive(self) -> bool:
        return self.process.poll() is None

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def news(self) -> bool:
        """Whether the status got news (a miss, an exchange not recorded, a request
        outside the scope) since the last call: a stat of the events file the proxy
        appends to before it answers, not a round trip. True without an events file."""
        if self.events is None:
            return True
        try:
            size = self.events.stat().st_size
        except OSError:
            return True
        news, self._seen = size != self._seen, size
        return news

    def call(self, method: str, action: str, body: dict | None = None) -> dict[str, Any]:
        """A control call; ControlError if refused, OSError/ValueError if unanswered. A
        replay proxy is called on its parent pipe (no HTTP round trip through mitmproxy:
        :func:`fc_cassette.mitm.control.parent_call`), a recording one on its endpoint."""
        channel = self._pipe() if self.kind == "replay" else None
        if channel is not None:
            status, answer = channel.call(action, body)
            if status != 200:
                raise ControlError(status, answer)
            return answer
        data = (
            json.dumps(body).encode() if body is not None else (b"" if method == "POST" else None)
        )
        for attempt in (0, 1):  # a kept-alive connection the proxy closed: once more
            if self._conn is None:
                self._conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
            try:
                self._conn.request(
                    method,
                    f"/__fc_cassette__/{action}",
                    body=data,
                    headers={"Content-Type": "application/json", TOKEN_HEADER: self.token},
                )
                resp = self._conn.getresponse()
                raw = resp.read()
                break
            except (OSError, http.client.HTTPException):
                self._conn.close()
                self._conn = None
                if attempt or not self.alive():
                    raise
        answer = json.loads(raw or b"{}")
        if resp.status != 200:
            raise ControlError(resp.status, answer)
        return answer

    def _pipe(self) -> Channel | None:
        """The parent pipe's channel (None: its stdin is not one)."""
        if self._channel is None and self.process.stdin is not None:
            self._channel = Channel(self.process.stdin.fileno())
        return self._channel

    def hint(self, cassette: Path) -> None:
        """Tell a replay proxy the cassette the next test will use (:meth:`Channel.hint`)."""
        channel = self._pipe() if self.kind == "replay" and self.alive() else None
        if channel is not None:
            try:
                channel.hint(cassette)
            except ValueError:  # (closed meanwhile)
                pass

    def signal_stop(self) -> None:
        """Begin stopping (see :meth:`stop`) without waiting (once)."""
        LIVE_PORTS.discard(self.port)
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._signalled:
            return
        self._signalled = True
        _close_pipe(self.process)
        if self.kind == "replay":  # nothing to flush: no need to wait for a clean exit
            procs.stop(self.process, ladder=((procs.signal.SIGKILL, 0.0),))
        else:
            procs.stop(self.process, ladder=((procs.signal.SIGINT, 0.0),))

    def stop(self) -> None:
        """Stop it: a replay proxy is killed (it has nothing to flush), a recording one
        gets SIGINT (flush, unlock) and the rest of the ladder if it does not exit."""
        self.signal_stop()
        try:
            self.process.wait(procs.LADDER[0][1] if self.kind != "replay" else 5.0)
        except subprocess.TimeoutExpired:
            procs.stop(self.process, ladder=procs.LADDER[1:])


def _close_pipe(proc: subprocess.Popen) -> None:
    """Close the proxy's stdin (its ``fc_parent_pipe``): it shuts down when it sees EOF."""
    if proc.stdin is not None:
        try:
            proc.stdin.close()
        except OSError:
            pass


@dataclass
class FcProxy:
    """A running fc-cassette proxy on one cassette: the pytest plugin's ``fc_proxy`` and
    the Python API's ``fc_cassette.proxy(...)`` (see docs/pytest.md, docs/python-api.md)."""

    cassette: Path
    mode: str
    port: int
    confdir: Path
    process: Any = field(repr=False)  # the subprocess.Popen
    log: Path = field(repr=False)
    recording: bool = False  # this test records (its cassette is being written)
    _proxy: ProxyProcess | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        """Reverse-mode base URL, e.g. ``StripeClient(key, base_addresses={"api": url})``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def proxy_url(self) -> str | None:
        """Forward-proxy URL (replay only), e.g. ``StripeClient(key, proxy=proxy_url)``."""
        return self.url if row(self.mode).offline else None

    @property
    def ca_bundle(self) -> Path:
        """mitmproxy's CA certificate, for ``stripe.ca_bundle_path`` in forward mode."""
        return self.confdir / "mitmproxy-ca-cert.pem"

    def client(self, api_key: str, **kwargs: Any) -> stripe.StripeClient:
        """A ``stripe.StripeClient`` pointed at the proxy (needs the stripe package)."""
        import requests
        import stripe

        kwargs.setdefault("max_network_retries", 0)
        if "http_client" not in kwargs and "proxy" not in kwargs:
            session = requests.Session()
            session.trust_env = False  # HTTP(S)_PROXY must not divert it from the proxy
            kwargs["http_client"] = stripe.RequestsClient(session=session)
        return stripe.StripeClient(api_key, base_addresses={"api": self.url}, **kwargs)

    def rewind(self) -> None:
        if self._proxy is not None:
            try:
                self._proxy.call("POST", "rewind")
            except ControlError as e:
                if e.status != 409:  # nothing played back (a new cassette): nothing to do
                    raise

    def status(self) -> dict[str, Any] | None:
        return self._proxy.call("GET", "status") if self._proxy is not None else None

    @property
    def misses(self) -> list[str]:
        """The explanations of this cassette's misses since the last rewind."""
        return list(self._status().get("misses", []))

    @property
    def not_recorded(self) -> list[str]:
        """When recording: the exchanges that could not be written."""
        return list(self._status().get("not_recorded", []))

    def _status(self) -> dict[str, Any]:
        return self.status() or {}

    def output(self) -> str:
        return self._proxy.output() if self._proxy is not None else ""

    # ------------------------------------------------------------------- webhooks
    @property
    def webhook_url(self) -> str:
        """Record's ingress (docs/webhooks.md): where ``stripe listen --forward-to`` or a
        simulator's webhook endpoint sends deliveries while recording."""
        return f"{self.url}/__fc_cassette__/webhooks"

    @property
    def webhooks(self) -> list[dict[str, Any]]:
        """The webhook deliveries of this cassette so far (replay: each recorded event sent
        to ``webhooks_to``; record: each one received at the ingress): event id, type,
        the app's status, attempts, delivered."""
        return list((self._status().get("webhooks") or {}).get("deliveries", []))

    def wait_for_webhooks(self, n: int, timeout: float = 60.0) -> list[dict[str, Any]]:
        """Wait until ``n`` deliveries are finished (delivered or given up); they, or
        AssertionError with what there is after ``timeout`` seconds."""
        import time

        deadline = time.monotonic() + timeout
        while True:
            got = self.webhooks
            done = [d for d in got if d.get("done")]
            if len(done) >= n:
                return got
            if time.monotonic() >= deadline:
                raise AssertionError(
                    f"fc-cassette: {n} webhook deliveries expected within "
                    f"{timeout:g} s, {len(done)} finished: {got}"
                )
            time.sleep(0.05)


def config_file(base: str | None, overrides: dict[str, Any], tmp: Path) -> str | None:
    """The config a proxy runs with: ``base`` (--fc-config), with the test's
    ``fc_cassette_config`` fixture merged over it (written to ``tmp`` when not empty)."""
    if not overrides:
        return base
    import yaml

    from fc_cassette.settings.config import _merge  # the CLI's own merge: one meaning for both

    data: dict[str, Any] = {}
    if base:
        loaded = yaml.safe_load(Path(base).read_text())
        data = loaded if isinstance(loaded, dict) else {}
    text = yaml.safe_dump(_merge(data, overrides), sort_keys=True)
    path = tmp / f"config-{hashlib.sha256(text.encode()).hexdigest()[:12]}.yaml"
    if not path.exists():
        path.write_text(text)
    return str(path)


def webhook_args(kind: str, webhooks_to: str | None, webhook_secret: str | None) -> tuple[str, ...]:
    """The flags that send a proxy's webhooks to an app (record's ingress forwards to it,
    replay delivers to it; replay signs with ``webhook_secret``)."""
    if not webhooks_to:
        return ()
    extra: tuple[str, ...] = ("--webhooks-to", webhooks_to)
    if kind == "replay" and webhook_secret:
        extra += ("--webhook-secret", webhook_secret)
    return extra


class Pool:
    """The session's proxies, by (kind, config): usually exactly one. A proxy may be
    started ahead (:meth:`prestart`, while pytest collects) and waited for on first use."""

    def __init__(self, upstream: str, tmp: Path, root: Path | None = None):
        self.upstream, self.tmp = upstream, tmp
        self.root = root  # --cassette-root (None: the proxy's working directory)
        self.proxies: dict[tuple[str | None, ...], ProxyProcess] = {}
        self.pending: dict[tuple[str | None, ...], tuple[subprocess.Popen, Path, Path, str]] = {}
        self.started = 0  # proxies that came up for a test (not those started ahead unused)
        self._spawned = 0
        self.confdir = shared_confdir() or tmp / "mitmproxy"  # (its CA: see shared_confdir)

    def prestart(
        self,
        kind: str,
        config: str | None,
        cassette: Path,
        record_mode: str = "none",
        extra: tuple[str, ...] = (),
    ) -> None:
        """Start a proxy of ``kind`` for ``config`` now, without waiting for it."""
        key = (kind, config, *extra)
        if key not in self.pending and key not in self.proxies:
            self.pending[key] = self._spawn(kind, config, cassette, record_mode, extra)

    def get(
        self,
        kind: str,
        config: str | None,
        cassette: Path,
        record_mode: str,
        extra: tuple[str, ...] = (),
    ) -> ProxyProcess:
        """A live proxy of ``kind`` for ``config`` (started, on ``cassette``, if none);
        ``extra``: more command-line flags (webhooks: :func:`webhook_args`)."""
        key = (kind, config, *extra)
        proxy = self.proxies.get(key)
        if proxy is None or not proxy.alive():
            if proxy is not None:
                proxy.stop()
                del self.proxies[key]
            pending = self.pending.pop(key, None) or self._spawn(
                kind, config, cassette, record_mode, extra
            )
            proxy = self.proxies[key] = self._ready(kind, *pending)
        return proxy

    def _spawn(
        self,
        kind: str,
        config: str | None,
        cassette: Path,
        record_mode: str,
        extra: tuple[str, ...] = (),
    ) -> tuple[subprocess.Popen, Path, Path, str]:
        self._spawned += 1
        confdir, log = self.confdir, self.tmp / f"proxy-{self._spawned}.log"
        events = self.tmp / f"proxy-{self._spawned}.events"
        events.write_bytes(b"")
        # --lean: only the mitmproxy addons a proxy needs (about half a second of each
        # start, and work on every request); nothing here sets another addon's option
        if kind == "replay":
            args = ["replay", str(cassette), "--lean", "--forward"]
        else:
            args = [
                "record",
                str(cassette),
                "--lean",
                "--record-mode",
                record_mode,
                "--upstream",
                self.upstream,
            ]
        if config:
            args += ["--config", config]
        args += list(extra)
        if self.root is not None:
            args += ["--cassette-root", str(self.root)]
        token = secrets.token_urlsafe(32)  # fresh per proxy, passed in its environment
        proc = procs.spawn(
            [
                *args,
                "--port",
                "0",
                "--set",
                f"confdir={confdir}",
                "--set",
                f"fc_events={events}",
                "--set",
                "fc_parent_pipe=true",
            ],
            log,
            stdin_pipe=True,
            env={**os.environ, TOKEN_ENV: token},
        )
        return proc, log, events, token

    def _ready(
        self, kind: str, proc: subprocess.Popen, log: Path, events: Path, token: str
    ) -> ProxyProcess:
        self.started += 1
        try:  # ready when it says where it listens: it listens only once loaded
            port = procs.wait_listening(proc, log, START_TIMEOUT, f"fc-cassette {kind} proxy")
        except procs.StartError as e:
            _close_pipe(proc)
            raise ProxyError(str(e)) from None
        LIVE_PORTS.add(port)
        return ProxyProcess(kind, port, self.confdir, proc, log, events, token=token)

    def discard_pending(self) -> None:
        """Stop the proxies started ahead that no test asked for."""
        for proc, *_ in self.pending.values():
            _close_pipe(proc)
            procs.stop(proc, ladder=((procs.signal.SIGKILL, 5.0),))
        self.pending.clear()

    def stop_all(self) -> None:
        """Stop every proxy: all signalled first, then each waited for."""
        self.discard_pending()
        for proxy in self.proxies.values():
            proxy.signal_stop()
        for proxy in self.proxies.values():
            proxy.stop()
        self.proxies.clear()

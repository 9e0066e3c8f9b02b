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
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fc_cassette.harness import procs

# The proxy picks a free port itself (--port 0) and says which: a port chosen here and
# bound later could be taken meanwhile by another worker's proxy (pytest-xdist), whose
# socket would then pass for this one (see procs.wait_listening).
START_TIMEOUT = procs.START_TIMEOUT
# The ports of the fc-cassette proxies this process started and has not stopped: what
# --fc-block-network lets a test connect to (see :mod:`.block_network`).
LIVE_PORTS: set[int] = set()


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
    _conn: http.client.HTTPConnection | None = field(default=None, repr=False)

    def alive(self) -> bool:
        return self.process.poll() is None

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def call(self, method: str, action: str, body: dict | None = None) -> dict[str, Any]:
        """A control call; ControlError if refused, OSError/ValueError if unanswered."""
        data = json.dumps(body).encode() if body is not None else (
            b"" if method == "POST" else None)
        for attempt in (0, 1):  # a kept-alive connection the proxy closed: once more
            if self._conn is None:
                self._conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
            try:
                self._conn.request(method, f"/__fc_cassette__/{action}", body=data,
                                   headers={"Content-Type": "application/json"})
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

    def stop(self) -> None:
        LIVE_PORTS.discard(self.port)
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        procs.stop(self.process)


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
        return self.url if self.mode == "none" else None

    @property
    def ca_bundle(self) -> Path:
        """mitmproxy's CA certificate, for ``stripe.ca_bundle_path`` in forward mode."""
        return self.confdir / "mitmproxy-ca-cert.pem"

    def client(self, api_key: str, **kwargs: Any):
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


class Pool:
    """The session's proxies, by (kind, config): usually exactly one."""

    def __init__(self, upstream: str, tmp: Path):
        self.upstream, self.tmp = upstream, tmp
        self.proxies: dict[tuple[str, str | None], ProxyProcess] = {}
        self.started = 0

    def get(self, kind: str, config: str | None, cassette: Path,
            record_mode: str) -> ProxyProcess:
        """A live proxy of ``kind`` for ``config`` (started, on ``cassette``, if none)."""
        proxy = self.proxies.get((kind, config))
        if proxy is None or not proxy.alive():
            if proxy is not None:
                proxy.stop()
            proxy = self.proxies[(kind, config)] = self._start(kind, config, cassette,
                                                               record_mode)
        return proxy

    def _start(self, kind: str, config: str | None, cassette: Path,
               record_mode: str) -> ProxyProcess:
        self.started += 1
        confdir, log = self.tmp / "mitmproxy", self.tmp / f"proxy-{self.started}.log"
        if kind == "replay":
            args = ["replay", str(cassette), "--forward"]
        else:
            args = ["record", str(cassette), "--record-mode", record_mode,
                    "--upstream", self.upstream]
        if config:
            args += ["--config", config]
        proc = procs.spawn([*args, "--port", "0", "--set", f"confdir={confdir}"], log)
        try:  # ready when it says where it listens: it listens only once loaded
            port = procs.wait_listening(proc, log, START_TIMEOUT, f"fc-cassette {kind} proxy")
        except procs.StartError as e:
            raise ProxyError(str(e)) from None
        LIVE_PORTS.add(port)
        return ProxyProcess(kind, port, confdir, proc, log)

    def stop_all(self) -> None:
        for proxy in self.proxies.values():
            proxy.stop()

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

from . import procs

# The proxy picks a free port itself (--port 0) and says which: a port chosen here and
# bound later could be taken meanwhile by another worker's proxy (pytest-xdist), whose
# socket would then pass for this one (see procs.wait_listening).
START_TIMEOUT = procs.START_TIMEOUT


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
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        procs.stop(self.process)


def config_file(base: str | None, overrides: dict[str, Any], tmp: Path) -> str | None:
    """The config a proxy runs with: ``base`` (--fc-config), with the test's
    ``fc_cassette_config`` fixture merged over it (written to ``tmp`` when not empty)."""
    if not overrides:
        return base
    import yaml

    from .config import _merge  # the CLI's own merge: one meaning for both

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
        return ProxyProcess(kind, port, confdir, proc, log)

    def stop_all(self) -> None:
        for proxy in self.proxies.values():
            proxy.stop()

"""pytest plugin: ``@pytest.mark.fc_cassette(PATH)`` and the ``fc_proxy`` fixture.

Installing fc-cassette enables it (``pytest11`` entry point). A test marked with a
cassette gets ``fc_proxy``, a real fc-cassette proxy for that cassette:

- ``--fc-record-mode=none`` (default; CI never records): ``fc-cassette replay --forward``,
  usable both as an API base URL (``fc_proxy.url``) and as an HTTPS proxy
  (``fc_proxy.proxy_url`` with ``fc_proxy.ca_bundle``);
- ``once`` / ``new_episodes`` / ``all``: ``fc-cassette record`` in reverse mode in front
  of ``--fc-upstream`` (default ``https://api.stripe.com``); use ``fc_proxy.url``.

One proxy per cassette (and mode) serves the whole session: before each test the
playback is rewound, after it the proxy is asked for the test's misses. A miss fails
the test, with the miss's field-level difference in the report; interactions that no
test used are listed in the terminal summary. Cassette paths are relative to the test
file's folder.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

RECORD_MODES = ("none", "once", "new_episodes", "all")
STASH_STATUS = pytest.StashKey[dict]()
_REPORTED = pytest.StashKey[int]()  # misses already reported for a test
# The control calls go straight to the proxy on 127.0.0.1: HTTP(S)_PROXY in the
# environment must not divert them.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("fc-cassette", "Stripe FC Session cassettes (fc-cassette)")
    group.addoption("--fc-record-mode", choices=RECORD_MODES, default="none",
                    help="none (default: replay only, offline), once, new_episodes, all")
    group.addoption("--fc-upstream", default="https://api.stripe.com",
                    help="where record modes forward to (default https://api.stripe.com)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "fc_cassette(path): the test's fc-cassette cassette "
                                       "(relative to the test file)")
    config.stash[_REGISTRY] = _Registry(config.getoption("--fc-record-mode"),
                                        config.getoption("--fc-upstream"))


def pytest_unconfigure(config: pytest.Config) -> None:
    registry = config.stash.get(_REGISTRY, None)
    if registry is not None:
        registry.stop_all()


# The proxy picks a free port itself (--port 0) and says which: a port chosen here and
# bound later could be taken meanwhile by another worker's proxy (pytest-xdist), whose
# socket would then pass for this one.
_LISTENING = re.compile(r"listening at 127\.0\.0\.1:(\d+)")


@dataclass
class FcProxy:
    """A running fc-cassette proxy for one cassette."""

    cassette: Path
    mode: str
    port: int
    confdir: Path
    process: subprocess.Popen = field(repr=False)
    log: Path = field(repr=False)

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

    def _control(self, method: str, action: str) -> dict[str, Any] | None:
        req = urllib.request.Request(f"{self.url}/__fc_cassette__/{action}", method=method,
                                     data=b"" if method == "POST" else None)
        try:
            with _DIRECT.open(req, timeout=10) as resp:
                return json.loads(resp.read())
        except urllib.error.HTTPError as e:
            if e.code == 409:  # recording a new cassette: nothing is played back
                return None
            raise

    def rewind(self) -> None:
        self._control("POST", "rewind")

    def status(self) -> dict[str, Any] | None:
        return self._control("GET", "status")

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


class _Registry:
    def __init__(self, record_mode: str, upstream: str):
        self.record_mode, self.upstream = record_mode, upstream
        self.proxies: dict[Path, FcProxy] = {}
        self.never_used: dict[Path, list[int]] = {}
        self.tmp = Path(tempfile.mkdtemp(prefix="fc-cassette-pytest-"))

    def get(self, cassette: Path) -> FcProxy:
        proxy = self.proxies.get(cassette)
        if proxy is None or proxy.process.poll() is not None:
            proxy = self.proxies[cassette] = self._start(cassette)
        return proxy

    def _start(self, cassette: Path) -> FcProxy:
        if self.record_mode == "none" and not cassette.exists():
            pytest.fail(f"fc-cassette: {cassette} does not exist; record it with "
                        f"--fc-record-mode=once (and --fc-upstream URL)", pytrace=False)
        n = len(self.proxies)
        confdir, log = self.tmp / "mitmproxy", self.tmp / f"proxy-{n}.log"
        if self.record_mode == "none":
            args = ["replay", str(cassette), "--forward"]
        else:
            args = ["record", str(cassette), "--record-mode", self.record_mode,
                    "--upstream", self.upstream]
        cmd = [sys.executable, "-m", "fc_cassette", *args, "--port", "0",
               "--set", f"confdir={confdir}"]
        with open(log, "w") as fh:
            proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True)
        proxy = FcProxy(cassette, self.record_mode, 0, confdir, proc, log)
        deadline = time.monotonic() + 60
        while True:  # ready when it says where it listens: it listens only once loaded
            if proc.poll() is not None:
                pytest.fail(f"fc-cassette proxy for {cassette} exited "
                            f"({proc.returncode}):\n{proxy.output()}", pytrace=False)
            listening = _LISTENING.search(proxy.output())
            if listening:
                proxy.port = int(listening.group(1))
                return proxy
            if time.monotonic() > deadline:
                self._stop(proxy)
                pytest.fail(f"fc-cassette proxy for {cassette} did not start:\n"
                            f"{proxy.output()}", pytrace=False)
            time.sleep(0.05)

    def _stop(self, proxy: FcProxy) -> None:
        if proxy.process.poll() is not None:
            return
        try:
            status = proxy.status() if proxy.mode in ("none", "once") else None
            if status:
                self.never_used[proxy.cassette] = status["never_used"]
        except (OSError, ValueError):  # not answering: it is stopped all the same
            pass
        finally:  # never leave a proxy running after the session
            proxy.process.send_signal(signal.SIGINT)
            try:
                proxy.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proxy.process.pid, signal.SIGKILL)
                proxy.process.wait(5)

    def stop_all(self) -> None:
        for proxy in self.proxies.values():
            self._stop(proxy)
        # the proxies' logs and mitmproxy's CA (a private key): not left in /tmp
        shutil.rmtree(self.tmp, ignore_errors=True)


_REGISTRY = pytest.StashKey[_Registry]()


@pytest.fixture
def fc_proxy(request: pytest.FixtureRequest) -> FcProxy:
    """The fc-cassette proxy for the test's ``@pytest.mark.fc_cassette(PATH)``."""
    marker = request.node.get_closest_marker("fc_cassette")
    if marker is None or not marker.args:
        pytest.fail("fc_proxy needs @pytest.mark.fc_cassette(PATH)", pytrace=False)
    cassette = (Path(request.node.path).parent / marker.args[0]).resolve()
    proxy = request.config.stash[_REGISTRY].get(cassette)
    proxy.rewind()  # each test starts with every recording available
    return proxy


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """After the test's call, and again after its teardown (a fixture's teardown or a
    late thread can still miss): new misses fail the test, with their explanations."""
    outcome = yield
    report = outcome.get_result()
    proxy = getattr(item, "funcargs", {}).get("fc_proxy")
    if call.when not in ("call", "teardown") or not isinstance(proxy, FcProxy):
        return
    if call.when == "teardown" and proxy.process.poll() is not None:
        return  # it died during the test: that test's call failed already
    try:
        status = proxy.status()
    except (OSError, ValueError) as e:  # the proxy died or hangs: this test's failure
        tail = "\n".join(proxy.output().splitlines()[-20:])
        _fail(report, f"fc-cassette: the proxy for {proxy.cassette} did not answer "
                      f"({e}); the end of its log:\n{tail}")
        return
    misses = status["misses"] if status else []
    reported = item.stash.get(_REPORTED, 0)
    if len(misses) <= reported:
        return
    item.stash[_REPORTED] = len(misses)
    new = misses[reported:]
    when = "" if call.when == "call" else " during teardown"
    text = "\n".join([f"fc-cassette: {len(new)} replay miss(es){when} against "
                      f"{status['cassette']}:"] + [f"  - {m}" for m in new])
    _fail(report, text)


def _fail(report: pytest.TestReport, text: str) -> None:
    if report.passed:  # the app swallowed the error: the miss still fails the test
        report.outcome = "failed"
        report.longrepr = text
    else:
        report.sections.append(("fc-cassette", text))


def pytest_terminal_summary(terminalreporter, exitstatus, config: pytest.Config) -> None:
    registry = config.stash.get(_REGISTRY, None)
    if registry is None:
        return
    registry.stop_all()
    for cassette, seqs in registry.never_used.items():
        if seqs:
            terminalreporter.write_line(
                f"fc-cassette: {cassette}: interactions no test used: "
                f"{', '.join(map(str, seqs))}")

"""pytest plugin: ``@pytest.mark.fc_cassette`` and the ``fc_proxy`` fixture.

Installing fc-cassette enables it (``pytest11`` entry point). A test marked with a
cassette gets ``fc_proxy``: the session's fc-cassette proxy, switched to the test's
cassette and rewound (one process per pytest process, see :mod:`.pytest_proxy`):

- record mode ``none`` (default; CI never records): ``fc-cassette replay --forward``,
  usable both as an API base URL (``fc_proxy.url``) and as an HTTPS proxy
  (``fc_proxy.proxy_url`` with ``fc_proxy.ca_bundle``);
- ``once`` / ``new_episodes`` / ``all``: ``fc-cassette record`` in reverse mode in front
  of the upstream (default ``https://api.stripe.com``); use ``fc_proxy.url``.

pytest-recording's conventions: the marker without a path uses
``cassettes/<test file stem>/<test name>.yaml`` beside the test file; a module- or
class-level marker applies to each test; ``record_mode=`` on the marker overrides the
session's mode; ``--fc-record-mode``/``--fc-upstream``/``--fc-config`` have ini
counterparts; the ``fc_cassette_config`` fixture (override it in a conftest.py) merges
config over the file's. After the test, a miss (or, when recording, an exchange that
was not recorded) fails it, with the explanation in the report. ``--fc-block-network``
(ini ``fc_block_network``) lets a test connect only to the proxies and
``--fc-allowed-hosts`` (:mod:`.block_network`). The same proxy outside pytest:
:mod:`.api`. See docs/pytest.md.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import pytest

from fc_cassette.harness import block_network
from fc_cassette.harness.folders import FolderError, make_parent, remove_empty
from fc_cassette.harness.pool import (
    LIVE_PORTS,
    ControlError,
    FcProxy,
    Pool,
    ProxyError,
    ProxyProcess,
    config_file,
)
from fc_cassette.settings import modes as vocab
from fc_cassette.settings.config import UpstreamError, parse_upstream

__all__ = ["FcProxy", "default_cassette", "cassette_of"]

RECORD_MODES = ("none", *(m for m in vocab.RECORD_MODES if m != "none"))  # none: the default
DEFAULT_UPSTREAM = "https://api.stripe.com"
_REPORTED = pytest.StashKey[tuple]()  # (misses, not recorded, passthrough) reported


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("fc-cassette", "Stripe FC Session cassettes (fc-cassette)")
    group.addoption("--fc-record-mode", choices=RECORD_MODES, default=None,
                    help="none (default: replay only, offline), once, new_episodes, all "
                         "(ini: fc_record_mode)")
    group.addoption("--fc-upstream", default=None,
                    help=f"where record modes forward to (default {DEFAULT_UPSTREAM}; "
                         "ini: fc_upstream)")
    group.addoption("--fc-config", default=None, metavar="FILE",
                    help="fc-cassette's YAML config (scope, matching, redaction, replay), "
                         "as the CLI's --config (ini: fc_config)")
    parser.addini("fc_record_mode", "fc-cassette record mode (none, once, new_episodes, "
                                    "all)", default="none")
    parser.addini("fc_upstream", "where fc-cassette's record modes forward to",
                  default=DEFAULT_UPSTREAM)
    parser.addini("fc_config", "fc-cassette's YAML config file (relative to the ini file)",
                  default="")
    group.addoption("--fc-block-network", action="store_true", default=None,
                    help="a test may connect only to the fc-cassette proxies (and "
                         "--fc-allowed-hosts); any other connection fails it "
                         "(ini: fc_block_network)")
    group.addoption("--fc-allowed-hosts", default=None, metavar="HOSTS",
                    help="with --fc-block-network: hosts a test may also reach, "
                         "comma-separated HOST or HOST:PORT, e.g. localhost:5432 "
                         "(ini: fc_allowed_hosts)")
    parser.addini("fc_block_network", "a test may connect only to the fc-cassette "
                                      "proxies (and fc_allowed_hosts)", type="bool",
                  default=False)
    parser.addini("fc_allowed_hosts", "with fc_block_network: hosts a test may also reach "
                                      "(HOST or HOST:PORT, comma-separated)", default="")


def _option(config: pytest.Config, name: str) -> tuple[str, Path]:
    """An option's value (the command line's, else the ini's) and the folder a relative
    path in it is relative to."""
    value = config.getoption(f"--{name.replace('_', '-')}")
    if value is not None:
        return value, Path(config.invocation_params.dir)
    base = Path(config.inipath).parent if config.inipath else Path(config.rootpath)
    return str(config.getini(name) or ""), base


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "fc_cassette(path=None, record_mode=None): the "
                                       "test's fc-cassette cassette (relative to the test "
                                       "file; default cassettes/<file>/<test>.yaml)")
    mode, _ = _option(config, "fc_record_mode")
    if mode not in RECORD_MODES:
        raise pytest.UsageError(f"fc-cassette: fc_record_mode: must be one of "
                                f"{', '.join(RECORD_MODES)}, not {mode!r}")
    cfg, base = _option(config, "fc_config")
    path = str((base / cfg).resolve()) if cfg else None
    if path and not Path(path).is_file():
        raise pytest.UsageError(f"fc-cassette: --fc-config {cfg}: no such file")
    if path:  # said once, before any proxy starts (each would say it again)
        from fc_cassette.settings.config import ConfigError, load_settings

        try:
            load_settings(path)
        except ConfigError as e:
            raise pytest.UsageError(f"fc-cassette: {e}") from None
    config.stash[_SESSION] = _Session(mode, _upstream(config), path)
    config.stash[_GUARD] = _guard(config)


def _upstream(config: pytest.Config) -> str:
    upstream, _ = _option(config, "fc_upstream")
    cmdline = config.getoption("--fc-upstream") is not None
    try:
        return parse_upstream(upstream or DEFAULT_UPSTREAM,
                              "--fc-upstream" if cmdline else "fc_upstream (ini)")
    except UpstreamError as e:
        raise pytest.UsageError(f"fc-cassette: {e}") from None


def _guard(config: pytest.Config) -> block_network.Guard | None:
    """--fc-block-network's guard (None: the network is not blocked)."""
    on = config.getoption("--fc-block-network")
    if not (on if on is not None else config.getini("fc_block_network")):
        return None
    hosts = config.getoption("--fc-allowed-hosts")
    what = "--fc-allowed-hosts" if hosts is not None else "fc_allowed_hosts (ini)"
    try:
        allowed = block_network.parse_allowed(
            hosts if hosts is not None else config.getini("fc_allowed_hosts"), what)
    except block_network.AllowedHostsError as e:
        raise pytest.UsageError(f"fc-cassette: {e}") from None
    return block_network.Guard(allowed, lambda: LIVE_PORTS)


def pytest_unconfigure(config: pytest.Config) -> None:
    session = config.stash.get(_SESSION, None)
    if session is not None:
        session.stop()


def _safe(name: str) -> str:
    """A test name (parametrized ids included) as a file name: ``test_x[a/b c]`` ->
    ``test_x-a-b-c``."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-.") or "test"


def default_cassette(item: pytest.Item) -> Path:
    """pytest-recording's default: ``cassettes/<file stem>/<[Class.]test>.yaml``."""
    name = _safe(item.name)
    cls = getattr(item, "cls", None)
    if cls is not None:
        name = f"{cls.__name__}.{name}"
    path = Path(item.path)
    return path.parent / "cassettes" / path.stem / f"{name}.yaml"


def cassette_of(item: pytest.Item, marker: pytest.Mark) -> Path:
    path = marker.args[0] if marker.args else marker.kwargs.get("path")
    if not path:
        return default_cassette(item).resolve()
    return (Path(item.path).parent / path).resolve()


class _Session:
    def __init__(self, record_mode: str, upstream: str, config: str | None):
        self.record_mode, self.upstream, self.config = record_mode, upstream, config
        self.never_used: dict[Path, list[int]] = {}
        # folders made for cassettes: removed at the end if nothing was recorded there
        self.created: list[tuple[list[Path], Path]] = []
        self._pool: Pool | None = None
        self._tmp: Path | None = None

    @property
    def started(self) -> int:
        return self._pool.started if self._pool is not None else 0

    def pool(self) -> Pool:
        if self._pool is None:
            self._tmp = Path(tempfile.mkdtemp(prefix="fc-cassette-pytest-"))
            self._pool = Pool(self.upstream, self._tmp)
        return self._pool

    def open(self, cassette: Path, mode: str, overrides: dict[str, Any]) -> FcProxy:
        """The proxy, switched to ``cassette`` in ``mode`` and rewound (or the test fails)."""
        if mode == "none" and not cassette.exists():
            pytest.fail(f"fc-cassette: {cassette} does not exist; record it with "
                        f"--fc-record-mode=once (and --fc-upstream URL)", pytrace=False)
        kind = "replay" if mode == "none" else "record"
        body: dict[str, Any] = {"cassette": str(cassette), "rewind": True}
        if kind == "record":
            body["record_mode"] = mode  # (its folder: made by fc_proxy)
        pool = self.pool()
        proxy, failure = None, ""
        try:
            proxy = pool.get(kind, config_file(self.config, overrides, pool.tmp),
                             cassette, mode)
            status = proxy.call("POST", "use", body)
        except ProxyError as e:
            failure = str(e)
        except ControlError as e:
            failure = f"fc-cassette: cannot use {cassette}: {e}"
        except (OSError, ValueError) as e:
            failure = f"fc-cassette: the proxy did not answer ({e}):\n{_tail(proxy)}"
        if failure or proxy is None:  # outside the except: said once, not chained twice
            pytest.fail(failure, pytrace=False)
        return FcProxy(cassette, mode, proxy.port, proxy.confdir, proxy.process, proxy.log,
                       bool(status.get("recording")), proxy)

    def stop(self) -> None:
        if self._pool is not None:
            self._pool.stop_all()  # (first: a recorder's lock file is in the folder)
        for created, cassette in reversed(self.created):
            remove_empty(created, cassette)
        self.created.clear()
        if self._tmp is not None:  # the proxies' logs and mitmproxy's CA (a private key)
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None


_SESSION = pytest.StashKey[_Session]()
_GUARD = pytest.StashKey["block_network.Guard | None"]()


def _tail(proxy: ProxyProcess | None) -> str:
    return "\n".join(proxy.output().splitlines()[-20:]) if proxy is not None else ""


@pytest.fixture
def fc_cassette_config() -> dict[str, Any]:
    """Config merged over ``--fc-config`` for the tests it applies to (override it in a
    conftest.py, per folder, like pytest-recording's ``vcr_config``), e.g.
    ``{"matching": {"ignore_params": ["expand"]}}``. Each distinct config gets its own
    proxy process."""
    return {}


@pytest.fixture
def fc_proxy(request: pytest.FixtureRequest, fc_cassette_config: dict[str, Any]) -> FcProxy:
    """The fc-cassette proxy on this test's cassette (``@pytest.mark.fc_cassette``)."""
    marker = request.node.get_closest_marker("fc_cassette")
    if marker is None:
        pytest.fail("fc_proxy needs @pytest.mark.fc_cassette (on the test, its class or "
                    "its module)", pytrace=False)
    session = request.config.stash[_SESSION]
    mode = marker.kwargs.get("record_mode") or session.record_mode
    if mode not in RECORD_MODES:
        pytest.fail(f"fc-cassette: record_mode={mode!r}: must be one of "
                    f"{', '.join(RECORD_MODES)}", pytrace=False)
    _check_fixture_config(request, session.config, fc_cassette_config)
    cassette = cassette_of(request.node, marker)
    if mode != "none":  # recording: the folder first, in one line if it cannot be
        created, problem = [], ""
        try:
            created = make_parent(cassette)
        except FolderError as e:
            problem = str(e)
        if problem:  # (outside the except: one message, not a chained second copy)
            pytest.fail(f"fc-cassette: {problem}", pytrace=False)
        session.created.append((created, cassette))  # removed at the end if left empty
    return session.open(cassette, mode, fc_cassette_config or {})


def _check_fixture_config(request: pytest.FixtureRequest, base: str | None,
                          overrides: Any) -> None:
    """A typo in ``fc_cassette_config`` fails the test before a proxy starts, naming the
    fixture where it is defined (the test's conftest.py), not a generated file."""
    if not overrides:
        return
    from fc_cassette.settings.config import ConfigError, check_overrides

    try:
        problem = check_overrides(base, overrides)
    except ConfigError as e:  # the --fc-config file itself (checked at start-up too)
        problem = str(e)
    if problem:
        pytest.fail(f"fc-cassette: the fc_cassette_config fixture "
                    f"({_fixture_where(request)}): {problem}", pytrace=False)


def _fixture_where(request: pytest.FixtureRequest) -> str:
    """``path/conftest.py:12``: where the ``fc_cassette_config`` in effect is defined."""
    import inspect

    try:  # pytest's fixture definitions (no public API names a fixture's function)
        defs = request._pyfuncitem._fixtureinfo.name2fixturedefs["fc_cassette_config"]
        func = defs[-1].func
        source = inspect.getsourcefile(func) or "?"
        try:
            source = str(Path(source).relative_to(request.config.rootpath))
        except ValueError:
            pass
        return f"{source}:{func.__code__.co_firstlineno}"
    except Exception:  # noqa: BLE001 - only the location is lost
        return "see the conftest.py that overrides it"


def _blocked(item: pytest.Item):
    guard = item.config.stash.get(_GUARD, None)
    return block_network.blocked(guard) if guard is not None else nullcontext()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item: pytest.Item):
    with _blocked(item):
        yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item):
    with _blocked(item):
        yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item: pytest.Item):
    with _blocked(item):
        yield


def _report_refused(item: pytest.Item, report: pytest.TestReport) -> None:
    """Connections --fc-block-network refused in this phase fail it (even if the
    application swallowed the error)."""
    guard = item.config.stash.get(_GUARD, None)
    if guard is None or not guard.refused:
        return
    refused, guard.refused = list(dict.fromkeys(guard.refused)), []
    _fail(report, f"fc-cassette: --fc-block-network refused {len(refused)} connection(s): "
                  f"{', '.join(refused)}; a test may reach only the fc-cassette proxy; to "
                  f"allow an address: " + block_network.HOW.format(where=",".join(refused)))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """After the test's call, and again after its teardown (a fixture's teardown or a
    late thread can still miss): new misses fail the test, with their explanations; so
    does, when recording, an exchange that was not recorded, and (any phase) a
    connection --fc-block-network refused."""
    outcome = yield
    report = outcome.get_result()
    _report_refused(item, report)
    proxy = getattr(item, "funcargs", {}).get("fc_proxy")
    if call.when not in ("call", "teardown") or not isinstance(proxy, FcProxy):
        return
    if call.when == "teardown" and proxy.process.poll() is not None:
        return  # it died during the test: that test's call failed already
    try:
        status = proxy.status() or {}
    except (OSError, ValueError, ControlError) as e:  # died or hangs: this test's failure
        _fail(report, f"fc-cassette: the proxy for {proxy.cassette} did not answer "
                      f"({e}); the end of its log:\n{_tail(proxy._proxy)}")
        return
    if call.when == "call" and not status.get("recording", True):
        item.config.stash[_SESSION].never_used[proxy.cassette] = status["never_used"]
    _report_new(item, report, status, "" if call.when == "call" else " during teardown")


def _report_new(item: pytest.Item, report: pytest.TestReport, status: dict[str, Any],
                when: str) -> None:
    misses, unrecorded = status.get("misses", []), status.get("not_recorded", [])
    seen_misses, seen_unrecorded, seen_passed = item.stash.get(_REPORTED, (0, 0, 0))
    item.stash[_REPORTED] = (len(misses), len(unrecorded),
                             len(status.get("passthrough", [])))
    lines = []
    if len(misses) > seen_misses:
        new = misses[seen_misses:]
        lines += [f"fc-cassette: {len(new)} replay miss(es){when} against "
                  f"{status['cassette']}:"] + [f"  - {_indented(m)}" for m in new]
    if len(unrecorded) > seen_unrecorded:
        new = unrecorded[seen_unrecorded:]
        lines += [f"fc-cassette: {len(new)} exchange(s) NOT recorded{when} into "
                  f"{status['cassette']}:"] + [f"  - {_indented(m)}" for m in new]
    if lines:
        _fail(report, "\n".join(lines))
    passed = status.get("passthrough", [])
    if len(passed) > seen_passed:  # outside the scope: not in the cassette, a warning
        item.warn(pytest.PytestWarning(
            f"fc-cassette: {len(passed) - seen_passed} request(s) outside the scope, not in "
            f"{status['cassette']}: " + "; ".join(passed[seen_passed:][:5])))


def _indented(explanation: str) -> str:
    """A miss's continuation lines (its ``To fix:``) indented under its ``  - `` line."""
    return explanation.replace("\n", "\n    ")


def _fail(report: pytest.TestReport, text: str) -> None:
    if report.passed:  # the app swallowed the error: the miss still fails the test
        report.outcome = "failed"
        report.longrepr = text
    else:
        report.sections.append(("fc-cassette", text))


def pytest_terminal_summary(terminalreporter, exitstatus, config: pytest.Config) -> None:
    session = config.stash.get(_SESSION, None)
    if session is None:
        return
    session.stop()
    for cassette, seqs in session.never_used.items():
        if seqs:
            terminalreporter.write_line(
                f"fc-cassette: {cassette}: interactions no test used: "
                f"{', '.join(map(str, seqs))}")
    if session.started:
        terminalreporter.write_line(f"fc-cassette: {session.started} proxy process(es) "
                                    "started")

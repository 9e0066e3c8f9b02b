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

import json
from collections.abc import Generator
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

import pytest

from fc_cassette.harness import block_network, fixture_check, options, report as wording, scan
from fc_cassette.harness.folders import FolderError, make_parent, remove_empty
from fc_cassette.harness.paths import cassette_of, default_cassette
from fc_cassette.harness.pool import ControlError, FcProxy, ProxyError
from fc_cassette.harness.session import Session, SessionError, tail
from fc_cassette.settings import modes as vocab
from fc_cassette.settings.upstream import DEFAULT_UPSTREAM

__all__ = ["FcProxy", "default_cassette", "cassette_of"]

RECORD_MODES = vocab.REPLAY_FIRST  # none: the default
_REPORTED = pytest.StashKey[tuple]()  # (misses, not recorded, passthrough) reported


def pytest_addoption(parser: pytest.Parser, pluginmanager: pytest.PytestPluginManager) -> None:
    options.add(parser)
    # (issue #25) called as this plugin is registered, while pytest still imports the
    # other plugins: the replay proxy can start now if the whole command line is known
    config = pluginmanager.get_plugin("pytestconfig")
    if isinstance(config, pytest.Config):
        ns = options.complete_args(config, parser)
        if ns is not None:
            _start_early(config, ns)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "fc_cassette(path=None, record_mode=None): the "
        "test's fc-cassette cassette (relative to the test "
        "file; default cassettes/<file>/<test>.yaml)",
    )
    mode, _ = options.value(config, "fc_record_mode")
    try:
        vocab.parse_record_mode(mode, RECORD_MODES)
    except ValueError as e:
        raise pytest.UsageError(f"fc-cassette: fc_record_mode: {e}") from None
    cfg, path = options.config_path(config)
    if path and not Path(path).is_file():
        raise pytest.UsageError(f"fc-cassette: --fc-config {cfg}: no such file")
    session = _Session(mode, options.upstream(config), path, Path(config.rootpath))
    early = config.stash.get(_SESSION, None)  # started before the conftest.py files
    replays = mode == "none" and _runs_tests(config)
    if early is not None and replays and (early.config, early.root) == (path, session.root):
        early.retarget(session.upstream)  # (it was started before the options were read)
        session = early
    elif early is not None:
        early.stop()
    config.stash[_SESSION] = session
    config.stash[_GUARD] = options.guard(config)
    if session is not early and replays and scan.mentions_fc(config):
        session.prestart()  # while pytest collects; stopped if no test needs it
    if path:  # said once here (each proxy would say it again), while the proxy starts
        from fc_cassette.settings.config import ConfigError, load_settings

        try:
            load_settings(path)
        except ConfigError as e:  # (pytest_unconfigure stops the proxy started ahead)
            raise pytest.UsageError(f"fc-cassette: {e}") from None


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config) -> None:
    """Unless started already (when the plugin registered), the replay proxy is started
    here, still before pytest imports the conftest.py files (a
    project's conftest often imports its application) when the options parsed so far
    already say this process will replay (:func:`.options.early_replay_config`) and a
    test file uses the marker; ``pytest_configure`` takes it over, or stops it."""
    if _SESSION not in early_config.stash:  # (else started when the plugin registered)
        _start_early(early_config, early_config.known_args_namespace)


def _start_early(config: pytest.Config, ns: Any) -> None:
    """Start the replay proxy now if ``ns`` (the command line as parsed so far) says
    this process will replay (:func:`.options.early_replay_config`) and a test file uses
    the marker; ``pytest_configure`` takes it over, or stops it."""
    known = options.early_replay_config(config, ns)
    if known is None or not scan.mentions_fc(config, list(ns.file_or_dir or [])):
        return
    session = _Session("none", DEFAULT_UPSTREAM, known[0], Path(config.rootpath))
    config.stash[_SESSION] = session  # (stopped at unconfigure, whatever happens)
    session.prestart()


def _runs_tests(config: pytest.Config) -> bool:
    """This process runs tests (not --collect-only, --help, nor xdist's controller,
    whose workers each run their own proxy)."""
    opt = config.option
    if getattr(opt, "collectonly", False) or getattr(opt, "help", False):
        return False
    controller = getattr(opt, "dist", "no") != "no" and not hasattr(config, "workerinput")
    return not controller


def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    """The replay proxy started ahead is stopped at once if no collected test replays."""
    fc = config.stash.get(_SESSION, None)
    if fc is None:
        return
    for item in items:
        marker = item.get_closest_marker("fc_cassette")
        if marker is not None and (marker.kwargs.get("record_mode") or fc.record_mode) == "none":
            return
    fc.discard_prestarted()


def pytest_unconfigure(config: pytest.Config) -> None:
    session = config.stash.get(_SESSION, None)
    if session is not None:
        session.stop()


class _Session(Session):
    """The pytest process's :class:`~fc_cassette.harness.session.Session`, with the
    session's record mode; a failure to use a cassette fails the test."""

    def __init__(
        self, record_mode: str, upstream: str, config: str | None, root: Path | None = None
    ) -> None:
        super().__init__(upstream, config, prefix="fc-cassette-pytest-", root=root)
        self.record_mode = record_mode
        self.named: set[Path] = set()  # cassettes the collected tests' markers name
        self.test_files: set[Path] = set()
        # folders made for cassettes: removed at the end if nothing was recorded there
        self.created: list[tuple[list[Path], Path]] = []

    def stop(self) -> None:
        super().stop()  # (first: a recorder's lock file is in the folder)
        for created, cassette in reversed(self.created):
            remove_empty(created, cassette)
        self.created.clear()

    def use(
        self,
        cassette: Path,
        mode: str,
        overrides: dict[str, Any],
        hooks: dict[str, str | None] | None = None,
    ) -> FcProxy:
        """The proxy, switched to ``cassette`` in ``mode`` and rewound (or the test fails)."""
        offline = vocab.row(mode).offline  # served by a replay process
        if offline and not cassette.exists():
            pytest.fail(
                f"fc-cassette: {cassette} does not exist; record it with "
                f"--fc-record-mode=once (and --fc-upstream URL)",
                pytrace=False,
            )
        try:
            return self.open(cassette, mode, overrides, hooks)
        except (ProxyError, SessionError) as e:
            pytest.fail(str(e), pytrace=False)


_SESSION = pytest.StashKey[_Session]()
_GUARD = pytest.StashKey["block_network.Guard | None"]()


WEBHOOK_KEYS = ("webhooks_to", "webhook_secret")  # fc_cassette_config keys, ini fc_<key>


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
        pytest.fail(
            "fc_proxy needs @pytest.mark.fc_cassette (on the test, its class or its module)",
            pytrace=False,
        )
    session = request.config.stash[_SESSION]
    mode = marker.kwargs.get("record_mode") or session.record_mode
    try:
        vocab.parse_record_mode(mode, RECORD_MODES)
    except ValueError as e:
        pytest.fail(f"fc-cassette: record_mode={mode!r}: {e}", pytrace=False)
    fixture_check.check_fixture_config(request, session.config, fc_cassette_config)
    cassette = cassette_of(request.node, marker)
    if not vocab.row(mode).offline:  # recording: the folder first, in one line if it cannot be
        created, problem = [], ""
        try:
            created = make_parent(cassette)
        except FolderError as e:
            problem = str(e)
        if problem:  # (outside the except: one message, not a chained second copy)
            pytest.fail(f"fc-cassette: {problem}", pytrace=False)
        session.created.append((created, cassette))  # removed at the end if left empty
    overrides = dict(fc_cassette_config or {})
    hooks = {
        key: overrides.pop(key, None) or request.config.getini(f"fc_{key}") or None
        for key in WEBHOOK_KEYS
    }  # not config-file keys: command-line flags
    return session.use(cassette, mode, overrides, hooks)


def pytest_itemcollected(item: pytest.Item) -> None:
    marker = item.get_closest_marker("fc_cassette")
    session = item.config.stash.get(_SESSION, None)
    if marker is not None and session is not None:
        session.named.add(cassette_of(item, marker))
        session.test_files.add(Path(item.path))


def _blocked(item: pytest.Item) -> AbstractContextManager[object]:
    guard = item.config.stash.get(_GUARD, None)
    return block_network.blocked(guard) if guard is not None else nullcontext()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, None, None]:
    with _blocked(item):
        yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    with _blocked(item):
        yield
    _hint_next(item, item.stash.get(_NEXT, None))


_NEXT = pytest.StashKey["pytest.Item | None"]()  # the test pytest runs after this one


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    item.stash[_NEXT] = nextitem


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Generator[None, None, None]:
    with _blocked(item):
        yield


def _hint_next(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    """The test's call is over: its replay proxy is told the next test's cassette, to
    parse while pytest tears this test down, reports it and sets the next one up
    (issue #25)."""
    proxy = getattr(item, "funcargs", {}).get("fc_proxy")
    if nextitem is None or not isinstance(proxy, FcProxy) or proxy._proxy is None:
        return
    marker = nextitem.get_closest_marker("fc_cassette")
    if marker is None:
        return
    session = item.config.stash[_SESSION]
    try:
        if vocab.row(marker.kwargs.get("record_mode") or session.record_mode).offline:
            proxy._proxy.hint(cassette_of(nextitem, marker))
    except Exception:  # a bad marker fails that test, in its own setup
        pass


def _report_refused(item: pytest.Item, report: pytest.TestReport) -> None:
    """Connections --fc-block-network refused in this phase fail it (even if the
    application swallowed the error)."""
    guard = item.config.stash.get(_GUARD, None)
    if guard is None or not guard.refused:
        return
    refused, guard.refused = list(dict.fromkeys(guard.refused)), []
    _fail(
        report,
        f"fc-cassette: --fc-block-network refused {len(refused)} connection(s): "
        f"{', '.join(refused)}; a test may reach only the fc-cassette proxy; to "
        f"allow an address: " + block_network.HOW.format(where=",".join(refused)),
    )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, Any, None]:
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
    if proxy.process.poll() is not None:
        if call.when == "call":  # died during the test: its misses are lost with it
            _fail(
                report,
                f"fc-cassette: the proxy for {proxy.cassette} did not answer (it "
                f"exited with code {proxy.process.returncode} during the test); "
                f"the end of its log:\n{tail(proxy._proxy)}",
            )
        return
    try:
        status = item.config.stash[_SESSION].news(proxy)
    except (OSError, ValueError, ControlError) as e:  # hangs: this test's failure
        _fail(
            report,
            f"fc-cassette: the proxy for {proxy.cassette} did not answer "
            f"({e}); the end of its log:\n{tail(proxy._proxy)}",
        )
        return
    if status is not None:
        _report_new(item, report, status, "" if call.when == "call" else " during teardown")


def _report_new(
    item: pytest.Item, report: pytest.TestReport, status: dict[str, Any], when: str
) -> None:
    seen_misses, seen_unrecorded, seen_passed = item.stash.get(_REPORTED, (0, 0, 0))
    item.stash[_REPORTED] = (
        len(status.get("misses", [])),
        len(status.get("not_recorded", [])),
        len(status.get("passthrough", [])),
    )
    lines = wording.problems(status, (seen_misses, seen_unrecorded), when)
    if lines:
        _fail(report, "\n".join(lines))
    warning = wording.outside_scope(status, seen_passed)
    if warning:  # outside the scope: not in the cassette, a warning
        item.warn(pytest.PytestWarning(warning))


def _fail(report: pytest.TestReport, text: str) -> None:
    if report.passed:  # the app swallowed the error: the miss still fails the test
        report.outcome = "failed"
        report.longrepr = text
    else:
        report.sections.append(("fc-cassette", text))


_WORKERS = pytest.StashKey[dict]()  # xdist's controller: what the workers reported


def pytest_sessionfinish(session: pytest.Session) -> None:
    """An xdist worker stops its proxies here and sends its summary to the controller
    through xdist's channel (``workeroutput``): a worker prints no terminal summary."""
    config = session.config
    fc = config.stash.get(_SESSION, None)
    if fc is None or not hasattr(config, "workeroutput"):
        return
    fc.stop()
    config.workeroutput["fc_cassette"] = json.dumps(
        {"started": fc.started, "never_used": {str(k): v for k, v in fc.never_used.items()}}
    )


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """xdist's controller: a worker finished; keep its summary."""
    raw = getattr(node, "workeroutput", {}).get("fc_cassette")
    if not raw:
        return
    got = json.loads(raw)
    merged = node.config.stash.setdefault(_WORKERS, {"started": 0, "never_used": {}})
    merged["started"] += got["started"]
    for cassette, seqs in got["never_used"].items():  # never used: by any worker
        before = merged["never_used"].get(cassette)
        merged["never_used"][cassette] = (
            seqs if before is None else [s for s in before if s in set(seqs)]
        )


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, exitstatus: int, config: pytest.Config
) -> None:
    session = config.stash.get(_SESSION, None)
    if session is None:
        return
    session.stop()
    never_used: dict[Any, list[int]] = dict(session.never_used)
    started = session.started
    workers = config.stash.get(_WORKERS, None)
    if workers is not None:
        never_used.update(workers["never_used"])
        started += workers["started"]
    for line in wording.summary(never_used, started):
        terminalreporter.write_line(line)
    _unused(terminalreporter, config, session)


def _unused(terminalreporter: Any, config: pytest.Config, session: _Session) -> None:
    """--fc-usage-out and --fc-report-unused (:mod:`fc_cassette.harness.unused`)."""
    target = config.getoption("--fc-usage-out")
    report = config.getoption("--fc-report-unused")
    if not (target or report):  # (its import, the cassette store's, only when asked)
        return
    from fc_cassette.harness import unused as pytest_unused

    if target:
        terminalreporter.write_line(
            pytest_unused.write_usage(
                str(Path(config.invocation_params.dir) / target), session.never_used
            )
        )
    if report:
        for line in pytest_unused.report(session.named, session.test_files, session.never_used):
            terminalreporter.write_line(line)

"""The pytest plugin's reporting and options, with pytester and a stand-in proxy (no
processes): what fails a test, and the ini options."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

CONFTEST = '''
import pytest
from fc_cassette.harness.pytest_plugin import FcProxy


class FakeProcess:
    pid = 0

    def poll(self):
        return None


class FakeProxy:
    """Answers ``status`` with what the test put in STATUS."""

    def call(self, method, action, body=None):
        return STATUS

    def output(self):
        return ""


STATUS = {}


@pytest.fixture
def fc_proxy(request):
    STATUS.clear()
    STATUS.update({"cassette": "c.yaml", "misses": [], "not_recorded": [],
                   "recording": True, "never_used": [], "passthrough": []})
    return FcProxy(request.path, "once", 1, request.path, FakeProcess(), request.path,
                   True, FakeProxy())
'''

TESTS = """
import conftest


def test_clean(fc_proxy):
    assert fc_proxy.recording


def test_not_recorded(fc_proxy):
    conftest.STATUS["not_recorded"] = ["POST /v1/financial_connections/sessions: the secret "
                                       "scanner found 1 secret(s) left after redaction"]


def test_a_miss(fc_proxy):
    conftest.STATUS["misses"] = ["no recorded request matches GET /v1/x"]


def test_passed_through(fc_proxy):
    conftest.STATUS["passthrough"] = ["GET example.com/v1/x (passed through, NOT recorded: "
                                      "outside the scope)"]
"""


def test_a_not_recorded_exchange_fails_its_test_only_and_passthrough_warns(pytester):
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_it=TESTS)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, failed=2, warnings=1)
    result.stdout.fnmatch_lines(
        [
            "*1 exchange(s) NOT recorded into c.yaml:*",
            "*the secret scanner found 1 secret(s) left after redaction*",
            "*1 replay miss(es) against c.yaml:*",
            "*test_passed_through*",
            "*fc-cassette: 1 request(s) outside the scope, not in c.yaml: GET example.com/v1/x*",
        ]
    )


def test_an_unknown_ini_record_mode_is_a_usage_error(pytester):
    pytester.makeini("[pytest]\nfc_record_mode = sometimes\n")
    pytester.makepyfile(test_x="def test_x():\n    pass\n")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "*fc-cassette: fc_record_mode: must be one of none, once, "
            "new_episodes, all, rewrite, not 'sometimes'*"
        ]
    )


def test_default_cassette_names(pytester):
    pytester.makepyfile(
        test_names="""
        import pytest
        from pathlib import Path
        from fc_cassette.harness.pytest_plugin import default_cassette


        @pytest.mark.parametrize("x", ["a/b c", "ok"])
        def test_p(request, x):
            got = default_cassette(request.node).relative_to(Path(__file__).parent)
            assert got.as_posix() == {"a/b c": "cassettes/test_names/test_p-a-b-c.yaml",
                                      "ok": "cassettes/test_names/test_p-ok.yaml"}[x]


        class TestC:
            def test_m(self, request):
                got = default_cassette(request.node).relative_to(Path(__file__).parent)
                assert got.as_posix() == "cassettes/test_names/TestC.test_m.yaml"
    """
    )
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=3)


def test_the_marker_needs_a_marker(pytester):
    pytester.makepyfile(test_m="def test_unmarked(fc_proxy):\n    pass\n")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*fc_proxy needs @pytest.mark.fc_cassette*"])


@pytest.mark.parametrize(
    "argv, addopts, env, expected",
    [
        (["--fc-record-mode=none", "tests"], "", "", ("none", ["tests"])),
        (["tests"], "--fc-record-mode=once", "", ("once", ["tests"])),  # the ini's addopts
        (["tests"], "", "--fc-record-mode=all", ("all", ["tests"])),  # $PYTEST_ADDOPTS
        (["--no-such-option-yet", "tests"], "", "", None),  # a later plugin's, maybe: wait
    ],
)
def test_the_whole_command_line_is_read_when_the_plugin_registers(
    pytester, monkeypatch, argv, addopts, env, expected
):
    """What the plugin reads to start its proxy while pytest still loads plugins: the
    arguments with the ini's addopts and $PYTEST_ADDOPTS, as pytest puts them together;
    nothing if an argument is not known yet (e.g. xdist's -n before xdist loads)."""
    from fc_cassette.harness import options

    pytester.makeini(f"[pytest]\naddopts = {addopts}\n")
    monkeypatch.setenv("PYTEST_ADDOPTS", env)
    config = pytester.parseconfig(*[a for a in argv if a != "--no-such-option-yet"])
    config.invocation_params = type(config.invocation_params)(
        args=argv, plugins=None, dir=config.invocation_params.dir
    )
    ns = options.complete_args(config, config._parser)
    got = None if ns is None else (ns.fc_record_mode, ns.file_or_dir)
    assert got == expected

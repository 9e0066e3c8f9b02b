"""Issue #26, item 12: config typos are said early, once, in our words, and a typo in
the ``fc_cassette_config`` fixture names the conftest.py that defines it.

pytester runs the real plugin in-process; the checks fail the test before any test
uses a proxy (the run's summary would otherwise say "N proxy process(es) started"); the
replay proxy started ahead while a config file is checked is stopped with the run.
"""

from __future__ import annotations

import os

from fc_cassette.settings.config import ConfigError, check_overrides, load_settings
from support import children_proxies

pytest_plugins = ["pytester"]

CONFTEST = """
import pytest


@pytest.fixture
def fc_cassette_config():
    return {"matching": {"ignore_parms": ["expand"]}}
"""
TESTS = """
import pytest


@pytest.mark.fc_cassette
def test_one(fc_proxy):
    pass


@pytest.mark.fc_cassette
def test_two(fc_proxy):
    pass
"""


def test_a_typo_in_the_fixture_names_the_conftest_before_any_proxy_starts(pytester):
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_cfg=TESTS)
    result = pytester.runpytest(
        "-p", "no:cacheprovider", "--fc-record-mode=once", "--fc-upstream", "http://127.0.0.1:9"
    )
    result.assert_outcomes(errors=2)
    out = result.stdout.str()
    line = (
        "fc-cassette: the fc_cassette_config fixture (conftest.py:4): "
        "matching.ignore_parms: unknown key (did you mean 'ignore_params'?)"
    )
    # Once per test in the error sections, not twice (no chained exception). Counted as whole
    # lines: the short summary repeats it after "ERROR test_cfg.py::..." unless the terminal
    # is narrow enough to cut it (it is not under xdist workers).
    assert [ln.strip() for ln in out.splitlines()].count(line) == 2, out
    assert "During handling" not in out and "Extra inputs" not in out
    assert "proxy process(es) started" not in out and "config-" not in out


def test_a_typo_in_the_config_file_is_a_usage_error_at_start(pytester):
    cfg = pytester.makefile(".yaml", fc="recrod:\n  mode: all\n")
    pytester.makepyfile(test_cfg=TESTS)
    result = pytester.runpytest("-p", "no:cacheprovider", f"--fc-config={cfg}")
    assert result.ret == 4  # a usage error: no test ran
    err = result.stderr.str()
    assert f"fc-cassette: {cfg}:1: recrod: unknown key (did you mean 'record'?)" in err, err
    assert err.count("recrod") == 1
    # the replay proxy started ahead while the file was checked is gone with the run
    assert children_proxies(os.getpid()) == set()


def test_check_overrides_and_the_file_errors_speak_our_words(tmp_path):
    assert check_overrides(None, {"replay": {"on_exhausted": "repeat_last"}}) is None
    assert check_overrides(None, {"recrod": {}}) == "recrod: unknown key (did you mean 'record'?)"
    assert check_overrides(None, ["x"]) == "must be a mapping (a dict), not list"
    f = tmp_path / "c.yaml"
    f.write_text("matching:\n  header: []\n")
    try:
        load_settings(f)
    except ConfigError as e:
        assert str(e) == f"{f}:2: matching.header: unknown key (did you mean 'headers'?)"
    else:
        raise AssertionError("no ConfigError")

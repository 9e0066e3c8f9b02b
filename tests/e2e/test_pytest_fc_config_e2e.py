"""The pytest plugin's configuration on a real suite: ``--fc-config``, the ``fc_config``
ini option (relative to the ini file) and the overridable ``fc_cassette_config`` fixture
change matching for the suite; a missing file is a one-line error. Recorded against a
real ``fc-cassette simulate``, replayed offline (split from test_pytest_suite.py so that
two xdist workers can share the two files)."""

from __future__ import annotations

import textwrap

from support import SUITE_HELPERS as HELPERS, run_pytest

RETURN_URL = """
import time

import pytest
from suitehelp import create_and_retrieve


@pytest.mark.fc_cassette
def test_with_a_changing_return_url(fc_proxy):
    create_and_retrieve(fc_proxy, "cus_fakeR1",
                        return_url=f"https://example.com/back?t={time.time_ns()}")
"""


def test_fc_config_changes_matching_for_the_suite(simulate, tmp_path):
    upstream, _ = simulate
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "suitehelp.py").write_text(HELPERS)
    (suite / "test_url.py").write_text(textwrap.dedent(RETURN_URL))
    cfg = suite / "fc.yaml"
    cfg.write_text("matching:\n  ignore_params: [return_url]\n")
    r = run_pytest(suite, "--fc-record-mode=once", f"--fc-upstream={upstream}")
    assert r.returncode == 0, r.stdout
    r = run_pytest(suite)  # the return_url differs on every run: a miss...
    assert r.returncode == 1 and "return_url" in r.stdout, r.stdout
    r = run_pytest(suite, "--fc-config", str(cfg))  # ...unless matching ignores it
    assert r.returncode == 0, r.stdout
    (suite / "pytest.ini").write_text("[pytest]\nfc_config = fc.yaml\n")
    r = run_pytest(suite)  # the ini option, relative to the ini file
    assert r.returncode == 0, r.stdout
    (suite / "pytest.ini").unlink()
    (suite / "conftest.py").write_text(
        textwrap.dedent("""
        import pytest

        @pytest.fixture
        def fc_cassette_config():
            return {"matching": {"ignore_params": ["return_url"]}}
    """)
    )
    r = run_pytest(suite)  # the overridable fixture, per folder
    assert r.returncode == 0, r.stdout
    r = run_pytest(suite, "--fc-config", str(suite / "nope.yaml"))
    assert r.returncode != 0 and "fc-cassette: --fc-config" in r.stdout + r.stderr

"""The replay proxy of a pytest run starts before pytest imports the conftest.py files
(issue #25): a project's conftest often imports its application, and the proxy's start
(about a second of imports) overlaps that as well as the collection. A real pytest
process whose conftest.py looks, while it is imported, for a replay proxy among the
process's children."""

from __future__ import annotations

import json
import os

import pytest

from builders import write_cassette
from support import run_pytest

CONFTEST = """
import json
import os
import re

here = os.getpid()
seen = []
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        stat = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        cmd = open(f"/proc/{pid}/cmdline", "rb").read()
    except OSError:
        continue
    if int(stat[1]) == here and re.search(rb"-m\\x00fc_cassette\\x00replay\\x00", cmd):
        seen.append(pid)
# the run the test started, or one of its xdist workers (whose names xdist sets)
main = os.getppid() == int(os.environ["FC_TEST_OUTER"])
name = "seen-" + ("main" if main else os.environ["PYTEST_XDIST_WORKER"]) + ".json"
with open(name, "w") as fh:
    json.dump(seen, fh)
"""

TEST = """
import urllib.request

import pytest


@pytest.mark.fc_cassette("a.yaml")
def test_a(fc_proxy):
    url = f"{fc_proxy.url}/v1/financial_connections/sessions/fcsess_fakeA"
    with urllib.request.urlopen(url, timeout=30) as r:
        assert r.status == 200
"""


OUTER = {"FC_TEST_OUTER": str(os.getpid())}


@pytest.fixture
def project(tmp_path):
    write_cassette(tmp_path / "a.yaml", "fcsess_fakeA")
    (tmp_path / "conftest.py").write_text(CONFTEST)
    (tmp_path / "test_a.py").write_text(TEST)
    return tmp_path


def _seen(project, who="main"):
    return json.loads((project / f"seen-{who}.json").read_text())


def test_a_replay_run_starts_its_proxy_before_the_conftest_files_load(project):
    r = run_pytest(project, "-p", "no:xdist", env=OUTER)
    assert r.returncode == 0, r.stdout + r.stderr
    assert len(_seen(project)) == 1  # already running while conftest.py was imported
    assert "1 proxy process(es) started" in r.stdout  # the same one served the test


@pytest.mark.parametrize(
    "args",
    [
        ("--collect-only",),  # no test runs: no proxy at all
        ("--fc-record-mode=once", "--fc-upstream=http://127.0.0.1:9", "--co"),
        ("--fc-config=missing.yaml",),  # its usage error comes first, from pytest_configure
    ],
)
def test_no_proxy_is_started_early_when_the_run_may_not_replay(project, args):
    r = run_pytest(project, "-p", "no:xdist", *args, env=OUTER)
    assert _seen(project) == [], r.stdout + r.stderr


def test_under_xdist_the_controller_starts_none_and_each_worker_its_own(project):
    """xdist's controller runs no test: it starts no proxy; each worker starts its own
    once its options are read (pytest_configure), while it collects."""
    (project / "test_b.py").write_text(TEST.replace("test_a", "test_b"))
    r = run_pytest(project, "-n", "2", env=OUTER)
    assert r.returncode == 0, r.stdout + r.stderr
    assert _seen(project) == []
    assert "2 proxy process(es) started" in r.stdout

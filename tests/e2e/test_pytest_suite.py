"""The pytest plugin on a real suite: one proxy per pytest process serves every cassette.

A generated suite of 53 tests on 52 cassettes (default names, parametrized ids, a
class-level marker, explicit paths, two tests sharing a module-level marker) is recorded
in one ``pytest --fc-record-mode=once --fc-upstream URL`` run against a real
``fc-cassette simulate``, then replayed offline; the fc-cassette processes each run
starts are counted from /proc while it runs.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

from fc_cassette.cassette import store as cio
from support import SUITE_HELPERS as HELPERS, run_counted

DEFAULTS = "import pytest\nfrom suitehelp import create_and_retrieve\n" + "".join(
    f"""

@pytest.mark.fc_cassette
def test_d{i}(fc_proxy):
    create_and_retrieve(fc_proxy, "cus_fakeD{i}")
"""
    for i in range(20)
)

PARAMS = """
import pytest
from suitehelp import create_and_retrieve


@pytest.mark.fc_cassette
@pytest.mark.parametrize("who", [f"cus/{i} x" for i in range(10)])
def test_p(fc_proxy, who):
    create_and_retrieve(fc_proxy, "cus_fakeP" + who.split("/")[1].split()[0])


@pytest.mark.fc_cassette
class TestGrouped:
    def test_one(self, fc_proxy):
        create_and_retrieve(fc_proxy, "cus_fakeG1")

    def test_two(self, fc_proxy):
        create_and_retrieve(fc_proxy, "cus_fakeG2")
"""

EXPLICIT = "import pytest\nfrom suitehelp import create_and_retrieve\n" + "".join(
    f"""

@pytest.mark.fc_cassette("cassettes/explicit/e{i}.yaml")
def test_e{i}(fc_proxy):
    create_and_retrieve(fc_proxy, "cus_fakeE{i}")
"""
    for i in range(18)
)

SHARED = """
import pytest
from suitehelp import create_and_retrieve

pytestmark = pytest.mark.fc_cassette("cassettes/shared.yaml")


def test_shared_first(fc_proxy):
    create_and_retrieve(fc_proxy, "cus_fakeS1")


def test_shared_second(fc_proxy):
    create_and_retrieve(fc_proxy, "cus_fakeS1")  # rewound: the same recording again
"""

MISS_THEN_OK = """
import pytest
from suitehelp import create_and_retrieve


@pytest.mark.fc_cassette("cassettes/explicit/e0.yaml")
def test_a_changed_request(fc_proxy):
    create_and_retrieve(fc_proxy, "cus_fakeChanged")


@pytest.mark.fc_cassette("cassettes/explicit/e1.yaml")
def test_the_next_cassette_is_served(fc_proxy):
    create_and_retrieve(fc_proxy, "cus_fakeE1")
"""

RECORDING = """
import pytest
from suitehelp import create_and_retrieve


@pytest.mark.fc_cassette
def test_recording_flag(fc_proxy, request):
    mode = request.config.getoption("--fc-record-mode") or "none"
    assert fc_proxy.recording is (mode != "none")
    create_and_retrieve(fc_proxy, "cus_fakeFlag")
"""

OVERRIDE = """
import time

import pytest
from suitehelp import create_and_retrieve


@pytest.mark.fc_cassette("cassettes/grow.yaml", record_mode="new_episodes")
def test_grows(fc_proxy):
    assert fc_proxy.recording
    create_and_retrieve(fc_proxy, f"cus_fakeGrow{time.time_ns()}")  # new on every run
"""


def write_suite(root: Path) -> None:
    (root / "suitehelp.py").write_text(HELPERS)
    (root / "test_defaults.py").write_text(DEFAULTS)
    (root / "test_params.py").write_text(textwrap.dedent(PARAMS))
    (root / "test_explicit.py").write_text(EXPLICIT)
    (root / "test_shared.py").write_text(textwrap.dedent(SHARED))
    (root / "test_recording.py").write_text(RECORDING)


def test_a_suite_of_53_tests_on_52_cassettes_records_then_replays_with_one_proxy(
    simulate, tmp_path
):
    upstream, sim = simulate
    suite = tmp_path / "suite"
    suite.mkdir()
    write_suite(suite)
    r, started = run_counted(suite, "--fc-record-mode=once", f"--fc-upstream={upstream}")
    assert r.returncode == 0, r.stdout
    assert "53 passed" in r.stdout and "fc-cassette: 1 proxy process(es) started" in r.stdout
    assert started == 1, r.stdout
    cassettes = sorted(p.relative_to(suite).as_posix() for p in suite.glob("cassettes/**/*.yaml"))
    assert len(cassettes) == 52
    assert "cassettes/test_defaults/test_d0.yaml" in cassettes
    assert "cassettes/test_params/test_p-cus-3-x.yaml" in cassettes  # filesystem-safe
    assert "cassettes/test_params/TestGrouped.test_two.yaml" in cassettes
    assert "cassettes/explicit/e17.yaml" in cassettes and "cassettes/shared.yaml" in cassettes
    # the second test on the shared cassette goes on recording it (as one proxy per
    # cassette did): both tests' exchanges are in it
    assert len(cio.load(suite / "cassettes/shared.yaml").interactions) == 4
    assert not list(suite.glob("cassettes/**/*.lock"))  # every lock released
    assert sim.stop() == 0  # offline from here on

    r, started = run_counted(suite)  # replay, the default
    assert r.returncode == 0, r.stdout
    assert "53 passed" in r.stdout and started == 1, r.stdout
    assert r.stdout.count("interactions no test used") == 1  # the shared one's 2nd take
    assert "shared.yaml: interactions no test used: 3, 4" in r.stdout

    # a miss in one test's cassette fails that test only; the next one, on another
    # cassette of the same proxy, is served
    (suite / "test_zmiss.py").write_text(textwrap.dedent(MISS_THEN_OK))
    r, started = run_counted(suite, "test_zmiss.py", "-rA")
    assert r.returncode == 1 and started == 1, r.stdout
    assert "1 failed, 1 passed" in r.stdout
    assert "FAILED test_zmiss.py::test_a_changed_request" in r.stdout
    assert "PASSED test_zmiss.py::test_the_next_cassette_is_served" in r.stdout
    assert "cus_fakeChanged" in r.stdout and "e0.yaml" in r.stdout
    assert r.stdout.count("replay miss(es) against") == 1


def test_a_marker_record_mode_overrides_the_session(simulate, tmp_path):
    upstream, _ = simulate
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "suitehelp.py").write_text(HELPERS)
    (suite / "test_grow.py").write_text(OVERRIDE)
    for n in (1, 2):  # the session replays; this test records a new episode each run
        r, started = run_counted(suite, f"--fc-upstream={upstream}")
        # one proxy served: the recording one (the replay proxy started ahead while
        # pytest collected is stopped once collection shows that no test replays)
        assert r.returncode == 0 and started <= 2, r.stdout
        assert "fc-cassette: 1 proxy process(es) started" in r.stdout, r.stdout
        assert len(cio.load(suite / "cassettes/grow.yaml").interactions) == 2 * n

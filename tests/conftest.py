"""Shared fixtures. Builders are plain functions in builders.py (in-process) and
support.py (real processes); ``pythonpath = ["tests"]`` (pyproject.toml) makes both
importable from tests/unit and tests/e2e."""

from __future__ import annotations

import gc

import pytest

# Collection imports the package, mitmproxy and every test module: millions of objects,
# almost none of them garbage, which the cyclic collector walked again and again (2.3 s
# of a `pytest tests/unit` collection, issue #25). It is off until collection ends; then
# what collection built is frozen (never walked again: modules, classes, parameters) and
# the collector runs as usual on what the tests create.
gc.disable()

from mitmproxy.test import taddons  # noqa: E402

from fc_cassette.mitm.addon import all_addons  # noqa: E402


def pytest_collection_finish(session):
    gc.freeze()
    gc.enable()
    # full collections a tenth as often: each walked every long-lived object the tests
    # keep (module fixtures and caches, the players and cassettes they load): with them,
    # `scripts/test.sh --unit` took 65.7 s of CPU and 34.0 s of pytest, 56.6 s and 29.0 s
    # without (issue #25; the largest worker's peak memory 308 -> 321 MB)
    young, middle, old = gc.get_threshold()
    gc.set_threshold(young, middle, old * 10)


@pytest.fixture
def addons():
    """The core and the real Record addon in a taddons context: yields ``(tctx, record)``."""
    core, record, *_ = all_addons("record")
    with taddons.context(core, record) as tctx:
        yield tctx, record
        record.done()


@pytest.fixture
def recorder(tmp_path):
    """The real Record addon, in record mode ``all`` into ``tmp_path/c.yaml``:
    yields ``(record, path)``."""
    path = tmp_path / "c.yaml"
    addons = all_addons()
    record = next(a for a in addons if type(a).__name__ == "Record")
    with taddons.context(*addons) as tctx:
        tctx.options.update(fc_mode="record", fc_cassette=str(path), fc_record_mode="all")
        yield record, path
        record.done()


@pytest.fixture
def simulate(tmp_path):
    """A real ``fc-cassette simulate --seed 7`` on a port it chose itself (``--port 0``):
    yields ``(base_url, proc)``."""
    from support import simulator

    proc = simulator(tmp_path)
    yield f"http://127.0.0.1:{proc.port}", proc
    proc.stop()


@pytest.fixture(scope="module")
def module_simulate(tmp_path_factory):
    """``simulate`` shared by a module's tests (for tests that only need a simulator to
    record against, whatever it served before): yields ``(base_url, proc)``."""
    from support import simulator

    proc = simulator(tmp_path_factory.mktemp("sim"))
    yield f"http://127.0.0.1:{proc.port}", proc
    proc.stop()

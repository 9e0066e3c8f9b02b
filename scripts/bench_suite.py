"""The bench's suite section: a generated pytest suite, one cassette per test, replayed
through fc-cassette's pytest plugin and, on the same flows, through VCR.py with
pytest-recording.

Both suites are recorded from one ``fc-cassette simulate`` (ours with
``--fc-record-mode=once --fc-upstream URL``, theirs with ``--record-mode=once``), the
simulator is stopped, and each suite is replayed offline in a fresh pytest process,
timed from spawn to exit (alternated, the median of three). While each runs, /proc is
sampled every 100 ms for fc-cassette processes (how many were started, and their summed
RSS; until issue #25's third session every 10 ms, which took most of a core from the
timed runs: a sample costs ~8 ms of CPU).
Keys: ``suite_100_s``,
``suite_per_test_ms``, ``suite_proxies_started``, ``suite_proxies_peak_mb``,
``vcr_suite_100_s``, ``suite_vs_vcr`` (ours / theirs).

Two more shapes, measured the same way: ``suite_1000_*`` (its own 1,000-test suite,
serial: the per-test cost dominates) and ``suite_xdist_*`` (the 100-test suite with
``-n 2`` on both sides, pytest-xdist; ``suite_xdist_proxies_started`` counts the
workers' proxies). ``--smoke``: one 5-test suite, replayed once, its serial figures
standing for the 1,000 and the ``-n 2`` shapes too (the same code with other pytest
arguments; tests/e2e/test_pytest_xdist.py runs the plugin under xdist, and an xdist run
cost the smoke test 7 of its 40 seconds); its pytest processes (both sides) skip the
hypothesis and anyio plugins that this project's virtualenv installs (seconds of imports
per process, nothing a suite here uses).
"""

from __future__ import annotations

import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

GOALS = {
    "suite_proxies_started": ("<=", 1),
    "suite_proxies_peak_mb": ("<=", 150.0),
    "suite_vs_vcr": ("<=", 1.3),
    "suite_1000_vs_vcr": ("<=", 1.3),
    "suite_xdist_vs_vcr": ("<=", 1.5),
}
REPEATS = 3


@dataclass(frozen=True)
class Runs:
    """How the suites' pytest processes run: the /proc sampling period while one runs,
    extra pytest arguments (the same on both sides)."""

    # 100 ms: a sample costs about 8 ms of CPU (every process's /proc entries), so at
    # the 10 ms of before it took most of a core from the timed runs on a 2-core machine
    # (more from ours: pytest and its proxy share the cores with it; VCR.py's one pytest
    # process less so). A proxy lives for the whole run: 100 ms still sees every one.
    every: float = 0.1
    args: tuple[str, ...] = ()


FULL_RUNS = Runs()
SMOKE_RUNS = Runs(args=("-p", "no:hypothesispytest", "-p", "no:anyio"))
FC = str(Path(sys.executable).parent / "fc-cassette")
PROXY = re.compile(rb"-m\x00fc_cassette\x00(replay|record)\x00")

HELPER = """
import os

import requests

KEY = "sk_test_" + "51BenchSuiteFakeKey0123456789abcdef"
SESSION = requests.Session()
SESSION.trust_env = False
SESSION.headers["Authorization"] = f"Bearer {KEY}"
UPSTREAM = os.environ["BENCH_UPSTREAM"]


def create_and_retrieve(base, i):
    r = SESSION.post(f"{base}/v1/financial_connections/sessions", data={
        "account_holder[type]": "customer", "account_holder[customer]": f"cus_fakeB{i}",
        "permissions[0]": "balances"}, timeout=30)
    assert r.status_code == 200, r.text
    sid = r.json()["id"]
    r = SESSION.get(f"{base}/v1/financial_connections/sessions/{sid}", timeout=30)
    assert r.status_code == 200 and r.json()["id"] == sid, r.text
"""

OURS = """
import pytest
from benchhelp import create_and_retrieve
"""
OURS_TEST = """

@pytest.mark.fc_cassette
def test_t{i}(fc_proxy):
    create_and_retrieve(fc_proxy.url, {i})
"""
THEIRS = """
import pytest
from benchhelp import UPSTREAM, create_and_retrieve


@pytest.fixture(scope="module")
def vcr_config():
    return {{"filter_headers": ["authorization"]}}
"""
THEIRS_TEST = """

@pytest.mark.vcr
def test_t{i}():
    create_and_retrieve(UPSTREAM, {i})
"""


class SuiteError(Exception):
    pass


def write_suites(root: Path, n: int) -> tuple[Path, Path]:
    ours, theirs = root / "suite_fc", root / "suite_vcr"
    for d, head, test in ((ours, OURS, OURS_TEST), (theirs, THEIRS.format(), THEIRS_TEST)):
        d.mkdir(parents=True)
        (d / "benchhelp.py").write_text(HELPER)
        (d / "test_suite.py").write_text(head + "".join(test.format(i=i) for i in range(n)))
    return ours, theirs


def start_simulate(root: Path) -> tuple[subprocess.Popen, str]:
    from fc_cassette.harness import procs

    log = root / "suite-simulate.log"
    # the suite's sessions name made-up customers (cus_fakeB<i>)
    proc = procs.spawn(
        [
            "simulate",
            "--seed",
            "5",
            "--port",
            "0",
            "--set",
            f"confdir={root / 'suite-mitm'}",
            "--set",
            "fc_accept_unknown_customers=true",
        ],
        log,
        command=[FC],
    )
    try:
        port = procs.wait_listening(proc, log, 120, "fc-cassette simulate")
    except procs.StartError as e:
        raise SuiteError(f"fc-cassette simulate did not start:\n{e.output[-2000:]}") from None
    return proc, f"http://127.0.0.1:{port}"


def stop(proc: subprocess.Popen) -> None:
    from fc_cassette.harness import procs

    procs.stop(proc)


def _rss_kb(pid: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _ppid(pid: str) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def sample_proxies(parent: int, seen: set[str], outside: set[str]) -> int:
    """Summed RSS (kB) of the fc-cassette proxies ``parent`` runs now, itself or through
    its children (xdist's workers) (added to seen); other processes on the machine
    (another run's proxies) are not counted. ``outside``, kept by the caller from one
    sample to the next: the processes found not to descend from ``parent``, not read
    again (a process never moves under one that did not start it; a number is reused
    only after the kernel has handed out the others)."""
    parents: dict[str, int] = {}
    for pid in os.listdir("/proc"):
        if pid.isdigit() and pid not in outside:
            try:
                parents[pid] = _ppid(pid)
            except (OSError, IndexError, ValueError):
                continue
    tree = {parent}
    grew = True
    while grew:
        grew = False
        for pid, ppid in parents.items():
            if ppid in tree and int(pid) not in tree:
                tree.add(int(pid))
                grew = True
    outside.update(pid for pid in parents if int(pid) not in tree)
    total = 0
    for pid, ppid in parents.items():
        if ppid not in tree:
            continue
        try:
            if PROXY.search(Path(f"/proc/{pid}/cmdline").read_bytes()):
                total += _rss_kb(pid)
                seen.add(pid)
        except (OSError, IndexError, ValueError):
            continue
    return total


def run_pytest(
    cwd: Path, upstream: str, *args: str, how: Runs = FULL_RUNS
) -> tuple[float, int, float]:
    """Seconds from spawn to exit, the proxies it started and their peak summed RSS (MB),
    sampled from /proc every ``how.every`` seconds (100 ms)."""
    env = {**os.environ, "BENCH_UPSTREAM": upstream}
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *how.args, *args]
    seen: set[str] = set()
    outside: set[str] = set()
    peak = 0
    out = cwd / "pytest.out"
    t0 = time.perf_counter()
    with open(out, "w") as fh:
        p = subprocess.Popen(
            cmd, cwd=cwd, env=env, stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 1200
        while p.poll() is None and time.monotonic() < deadline:
            peak = max(peak, sample_proxies(p.pid, seen, outside))
            time.sleep(how.every)
        if p.poll() is None:
            p.kill()
        p.wait()
    dt = time.perf_counter() - t0
    if p.returncode != 0:
        raise SuiteError(
            f"pytest {' '.join(args)} in {cwd.name} failed:\n{out.read_text()[-4000:]}"
        )
    return dt, len(seen), peak / 1024


def _record(root: Path, n: int, how: Runs = FULL_RUNS) -> tuple[Path, Path, str]:
    """Write a suite of ``n`` tests both ways and record both from one simulator (then
    stopped: the replays are offline)."""
    ours, theirs = write_suites(root, n)
    sim, upstream = start_simulate(root)
    try:
        run_pytest(ours, upstream, "--fc-record-mode=once", f"--fc-upstream={upstream}", how=how)
        run_pytest(theirs, upstream, "--record-mode=once", how=how)
    finally:
        stop(sim)
    shutil.rmtree(root / "suite-mitm", ignore_errors=True)
    return ours, theirs, upstream


def _replay(
    suites: tuple[Path, Path, str], repeats: int, *extra: str, how: Runs = FULL_RUNS
) -> dict[str, Any]:
    """Each suite replayed ``repeats`` times, alternated (a loaded machine shifts single
    runs by seconds: medians), each without the other's plugin, as its users run it."""
    ours, theirs, upstream = suites
    runs: dict[str, list[tuple[float, int, float]]] = {"ours": [], "theirs": []}
    for _ in range(repeats):
        runs["ours"].append(run_pytest(ours, upstream, "-p", "no:recording", *extra, how=how))
        runs["theirs"].append(
            run_pytest(
                theirs, upstream, "--record-mode=none", "-p", "no:fc_cassette", *extra, how=how
            )
        )
    return {
        "ours_s": statistics.median(r[0] for r in runs["ours"]),
        "theirs_s": statistics.median(r[0] for r in runs["theirs"]),
        "started": max(r[1] for r in runs["ours"]),
        "peak_mb": max(r[2] for r in runs["ours"]),
    }


def bench_suite(smoke: bool, tmp: Path) -> dict[str, Any]:
    """The three shapes (100 serial, 1,000 serial, 100 with -n 2); ``smoke``: one
    5-test suite, replayed once serially, standing for the other two shapes."""
    n, repeats = (5, 1) if smoke else (100, REPEATS)
    how = SMOKE_RUNS if smoke else FULL_RUNS
    small = _record(tmp / "suite", n, how)
    one = _replay(small, repeats, how=how)
    res: dict[str, Any] = {
        "suite_tests": n,
        "suite_100_s": one["ours_s"],
        "suite_per_test_ms": one["ours_s"] * 1000 / n,
        "suite_proxies_started": one["started"],
        "suite_proxies_peak_mb": one["peak_mb"],
        "vcr_suite_100_s": one["theirs_s"],
        "suite_vs_vcr": one["ours_s"] / one["theirs_s"],
    }
    xd = one if smoke else _replay(small, repeats, "-n", "2")
    big = n if smoke else 1000
    many = one if smoke else _replay(_record(tmp / "suite_1000", big), repeats)
    res.update(
        {
            "suite_1000_tests": big,
            "suite_1000_s": many["ours_s"],
            "vcr_suite_1000_s": many["theirs_s"],
            "suite_1000_vs_vcr": many["ours_s"] / many["theirs_s"],
            "suite_xdist_s": xd["ours_s"],
            "vcr_suite_xdist_s": xd["theirs_s"],
            "suite_xdist_proxies_started": xd["started"],
            "suite_xdist_vs_vcr": xd["ours_s"] / xd["theirs_s"],
        }
    )
    return res


def table(res: dict[str, Any]) -> str:
    n = res.get("suite_tests", 100)
    rows = [
        ("suite_100_s", f"pytest replay, {n} tests / {n} cassettes (s)", "{:.2f}"),
        ("suite_per_test_ms", "per test, pytest start included (ms)", "{:.1f}"),
        ("suite_proxies_started", "fc-cassette processes started", "{:d}"),
        ("suite_proxies_peak_mb", "their peak summed RSS (MB)", "{:.1f}"),
        ("vcr_suite_100_s", "VCR.py + pytest-recording, same suite (s)", "{:.2f}"),
        ("suite_vs_vcr", "ours / VCR.py", "{:.3f}"),
        ("suite_1000_s", f"pytest replay, {res.get('suite_1000_tests')} tests (s)", "{:.2f}"),
        ("vcr_suite_1000_s", "VCR.py, same suite (s)", "{:.2f}"),
        ("suite_1000_vs_vcr", "ours / VCR.py", "{:.3f}"),
        ("suite_xdist_s", f"pytest -n 2, {n} tests (s)", "{:.2f}"),
        ("suite_xdist_proxies_started", "fc-cassette processes started (-n 2)", "{:d}"),
        ("vcr_suite_xdist_s", "VCR.py -n 2, same suite (s)", "{:.2f}"),
        ("suite_xdist_vs_vcr", "ours / VCR.py (-n 2)", "{:.3f}"),
    ]
    lines = []
    for key, desc, fmt in rows:
        goal = GOALS.get(key)
        g, met = "", ""
        if goal:
            v = res[key]
            g = f"{goal[0]} {goal[1]}"
            met = "yes" if (v >= goal[1] if goal[0] == ">=" else v <= goal[1]) else "NO"
        lines.append(f"{key:34} {fmt.format(res[key]):>10}  {g:9} {met:5} {desc}")
    return "\n".join(lines)

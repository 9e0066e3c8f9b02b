"""Where a test's time goes through the pytest plugin's proxy (docs/benchmark.md, issue
#25): per-step latencies against one real replay proxy, medians of many interleaved
rounds, and the proxy's start and stop.

    .venv/bin/python scripts/profile_test_cost.py [ROUNDS]

A test costs, besides its own requests: before issue #25 a ``use`` and two ``status``
calls; since, a ``use`` and two stats of the events file; since its fourth session,
control calls go on the proxy's parent pipe (what ``ProxyProcess.call`` does). Shapes:
two cassettes used in turn (``ms``: each ``use`` finds its cassette cached), and
``distinct``: as a suite runs, each test on a cassette of its own, used once (each
``use`` parses it; ``distinct_hinted``: the proxy is told the next cassette when a
test's call ends, as the plugin does), with the proxy's CPU per test (user + system,
from /proc: on a busy machine the CPU is steadier than the latency). Prints one JSON
line.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from builders import write_cassette  # noqa: E402
from fc_cassette.harness import procs  # noqa: E402
from fc_cassette.harness.pool import Pool  # noqa: E402


def _start_stop(tmp: Path, cassette: Path, runs: int) -> dict[str, float]:
    starts: list[float] = []
    stops: dict[int, list[float]] = {signal.SIGINT: [], signal.SIGKILL: []}
    for _ in range(runs):
        for sig in (signal.SIGINT, signal.SIGKILL):
            pool = Pool("https://api.stripe.com", tmp, root=tmp)
            t = time.perf_counter()
            proxy = pool.get("replay", None, cassette, "none")
            starts.append(time.perf_counter() - t)
            proxy.call("GET", "status")
            t = time.perf_counter()
            procs.stop(proxy.process, ladder=((sig, 30.0),))
            stops[sig].append(time.perf_counter() - t)
    return {
        "start_s": statistics.median(starts),
        "stop_sigint_s": statistics.median(stops[signal.SIGINT]),
        "stop_sigkill_s": statistics.median(stops[signal.SIGKILL]),
    }


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


GAP_S = 0.002  # pytest's own work between two tests' calls (reports, teardown, setup)


def _distinct(tmp: Path, tests: int, hint: bool = False) -> dict[str, float]:
    """Each test: a ``use`` of a cassette never used before, then its two requests, then
    pytest's gap between tests; ``hint``: as the pytest plugin does since issue #25's
    fourth session, the proxy is told the next cassette when the test's call ends."""
    folder = tmp / ("hinted" if hint else "distinct")
    folder.mkdir()
    paths = [
        Path(write_cassette(folder / f"t{i}.yaml", f"fcsess_fakeD{i}", n=2)) for i in range(tests)
    ]
    pool = Pool("https://api.stripe.com", tmp, root=tmp)
    proxy = pool.get("replay", None, paths[0], "none")
    conn = http.client.HTTPConnection("127.0.0.1", proxy.port)
    use: list[float] = []
    try:
        cpu = _cpu_s(proxy.process.pid)
        for i, path in enumerate(paths):
            t = time.perf_counter()
            proxy.call("POST", "use", {"cassette": str(path), "rewind": True, "previous": True})
            use.append(time.perf_counter() - t)
            for _ in range(2):
                conn.request("GET", f"/v1/financial_connections/sessions/fcsess_fakeD{i}")
                answer = conn.getresponse()
                answer.read()
                if answer.status != 200:
                    raise RuntimeError(f"profile: {answer.status} for fcsess_fakeD{i}")
            if hint and i + 1 < len(paths):
                proxy.hint(paths[i + 1])
            time.sleep(GAP_S)
        cpu = _cpu_s(proxy.process.pid) - cpu
    finally:
        conn.close()
        pool.stop_all()
    return {
        "use_new_cassette_ms": statistics.median(use) * 1000,
        "proxy_cpu_per_test_ms": cpu * 1000 / tests,
    }


def main(rounds: int) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="fc-profile-"))
    a = Path(write_cassette(tmp / "a.yaml", "fcsess_fakeA", n=2))
    b = Path(write_cassette(tmp / "b.yaml", "fcsess_fakeB", n=2))
    res = _start_stop(tmp, a, 4)
    pool = Pool("https://api.stripe.com", tmp, root=tmp)
    proxy = pool.get("replay", None, a, "none")
    conn = http.client.HTTPConnection("127.0.0.1", proxy.port)
    ops: dict[str, list[float]] = {"use": [], "request": [], "status": [], "stat": []}
    try:
        for i in range(rounds):
            cassette, sid = (a, "fcsess_fakeA") if i % 2 else (b, "fcsess_fakeB")
            t = time.perf_counter()
            proxy.call("POST", "use", {"cassette": str(cassette), "rewind": True, "previous": True})
            ops["use"].append(time.perf_counter() - t)
            t = time.perf_counter()
            conn.request("GET", f"/v1/financial_connections/sessions/{sid}")
            answer = conn.getresponse()
            answer.read()
            ops["request"].append(time.perf_counter() - t)
            if answer.status != 200:
                raise RuntimeError(f"profile: {answer.status} for {sid}")
            t = time.perf_counter()
            proxy.call("GET", "status")
            ops["status"].append(time.perf_counter() - t)
            t = time.perf_counter()
            proxy.news()
            ops["stat"].append(time.perf_counter() - t)
    finally:
        conn.close()
        pool.stop_all()
    ms = {k: statistics.median(v) * 1000 for k, v in ops.items()}
    return {
        "ms": ms,
        "distinct": _distinct(tmp, rounds),
        "distinct_hinted": _distinct(tmp, rounds, hint=True),
        **res,
        "overhead_before_ms": ms["use"] + 2 * ms["status"],
        "overhead_after_ms": ms["use"] + 2 * ms["stat"],
        "load": os.getloadavg(),
    }


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)))

"""The benchmark (scripts/bench.py) runs: a tiny ``--smoke`` run, no timing assertions.

It starts real fc-cassette and mitmdump processes on 127.0.0.1, so it proves that the
command lines, the synthetic cassettes (which must replay without a single miss: the
client checks every status and body length) and the JSON summary keep working; and
that its pytest-suite section (scripts/bench_suite.py) replays the suite with exactly
one fc-cassette process (``--smoke`` replays it serially only: its figures stand for the
1,000-test and ``-n 2`` shapes). No timeout shorter than the work needs on a loaded
machine: it gets 30 minutes.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
KEYS = (
    "replay_rps",
    "server_replay_rps",
    "floor_rps",
    "replay_vs_server_replay",
    "replay_vs_floor",
    "scale_10k_vs_10",
    "load_10k_s",
    "load_vs_yaml_parse",
    "load_10k_peak_mb",
    "record_vs_passthrough",
    "record_vs_passthrough_fsync_off",
    "startup_vs_bare",
    # issue #16: first-use headline, repeats, 32 concurrent clients, mitmdump -w, memory
    "replay_repeat_vs_floor",
    "replay_repeat_vs_server_replay",
    "replay_first_use_rps",
    "server_replay_first_use_rps",
    "floor_first_use_rps",
    "replay_32c_vs_floor",
    "replay_32c_p50_ms",
    "replay_32c_p99_ms",
    "floor_32c_p50_ms",
    "floor_32c_p99_ms",
    "record_vs_mitmdump_w",
    "load_mem_vs_file",
    "miss_10k_ms",
    # issue #25: the first answer on big cassettes, the suite's shapes, in-process costs
    "first_answer_10_s",
    "first_answer_10k_s",
    "first_answer_100k_s",
    "first_answer_10k_vs_10",
    "first_answer_100k_vs_10",
    "load_100k_peak_mb",
    "suite_100_s",
    "suite_per_test_ms",
    "suite_proxies_peak_mb",
    "vcr_suite_100_s",
    "suite_vs_vcr",
    "suite_1000_s",
    "vcr_suite_1000_s",
    "suite_1000_vs_vcr",
    "suite_xdist_s",
    "vcr_suite_xdist_s",
    "suite_xdist_vs_vcr",
    "miss_40k_ms",
    "miss_40k_vs_100",
    "validate_session_us",
    "redact_entry_ms",
    "redact_pathological_max_s",
)


def test_bench_smoke_runs_and_reports_every_metric():
    p = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "bench.py"), "--smoke"],
        capture_output=True,
        text=True,
        timeout=1800,
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
    )
    assert p.returncode == 0, f"stdout:\n{p.stdout[-3000:]}\nstderr:\n{p.stderr[-3000:]}"
    lines = p.stdout.strip().splitlines()
    result = json.loads(lines[-1])
    assert isinstance(result, dict)
    for key in KEYS:
        value = result.get(key)
        assert isinstance(value, (int, float)) and not isinstance(value, bool), (key, value)
        assert math.isfinite(value) and value > 0, (key, value)
    assert result["mode"] == "smoke"
    assert result["suite_proxies_started"] == 1
    assert result["suite_xdist_proxies_started"] == 1  # --smoke: the serial run stands in
    # the table comes first and names every goal metric
    table = "\n".join(lines[:-1])
    for key in (
        "replay_vs_server_replay",
        "replay_vs_floor",
        "scale_10k_vs_10",
        "load_vs_yaml_parse",
        "record_vs_passthrough",
        "startup_vs_bare",
        "replay_32c_vs_floor",
        "record_vs_mitmdump_w",
        "load_mem_vs_file",
        "miss_10k_ms",
        "first_answer_10k_vs_10",
        "first_answer_100k_vs_10",
        "suite_vs_vcr",
        "suite_1000_vs_vcr",
        "suite_xdist_vs_vcr",
        "miss_40k_ms",
    ):
        assert key in table

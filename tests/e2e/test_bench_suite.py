"""The bench's suite section (scripts/bench_suite.py) in its smoke size: it runs, reports
every key, and its suite is replayed by exactly one fc-cassette process."""

from __future__ import annotations

import math
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_suite_section_reports_every_key(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "scripts"))
    import bench_suite

    res = bench_suite.bench_suite(True, tmp_path)
    for key in ("suite_100_s", "suite_per_test_ms", "suite_proxies_peak_mb",
                "vcr_suite_100_s", "suite_vs_vcr"):
        assert isinstance(res[key], float) and math.isfinite(res[key]) and res[key] > 0, key
    assert res["suite_proxies_started"] == 1
    assert "suite_vs_vcr" in bench_suite.table(res)
    assert sys.modules["bench_suite"] is bench_suite

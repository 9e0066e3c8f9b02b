"""scripts/profile_suite.py (where the suite's CPU goes) runs and attributes processes:
a tiny pytest run that starts one fc-cassette command. Skipped where the kernel's process
accounting is not allowed (acct(2) needs CAP_SYS_PACCT)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from support import FC, ROOT


def test_profile_suite_names_the_processes_and_the_test(tmp_path):
    import os

    import pytest

    if os.environ.get("FC_PROFILE_SUITE"):
        pytest.skip("the suite is being profiled: accounting is one switch for the system")
    sample = tmp_path / "test_sample.py"
    sample.write_text(
        textwrap.dedent(
            f"""
            import subprocess

            def test_starts_fc_cassette():
                subprocess.run([{FC!r}, "--version"], check=True)
            """
        )
    )
    r = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "profile_suite.py"),
            str(sample),
            "-p",
            "no:randomly",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
        cwd=ROOT,
    )
    if r.returncode == 2 and "acct(2)" in r.stderr:
        pytest.skip(r.stderr.strip())
    assert r.returncode == 0, r.stdout + r.stderr
    out = r.stdout
    assert "CPU of the run's processes" in out
    kinds = out.split("by test")[0]
    assert " fc-cassette" in kinds and "pytest" in kinds, out  # the command, the run
    by_test = out.split("by test")[1]
    assert "test_sample.py::test_starts_fc_cassette" in by_test, out

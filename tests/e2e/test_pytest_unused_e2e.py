"""The pytest plugin's ``--fc-report-unused`` and ``--fc-usage-out`` (issue #24), on a
sample suite run by a real pytest process, then ``fc-cassette prune`` with the usage
file it wrote, and the suite again on the pruned cassette."""

from __future__ import annotations

import json
import os
import textwrap

from builders import write_cassette
from fc_cassette.cassette import store as cio
from support import run_fc, run_pytest

SUITE = """
import pytest

KEY = "sk_test_" + "fakeUnusedKey0123456789"


@pytest.mark.fc_cassette("cassettes/used.yaml")
def test_retrieves_once(fc_proxy):
    sessions = fc_proxy.client(KEY).v1.financial_connections.sessions
    assert sessions.retrieve("fcsess_fakeUsed1").id == "fcsess_fakeUsed1"


@pytest.mark.fc_cassette("cassettes/deselected.yaml")
def test_not_run_here(fc_proxy):
    pass
"""


def test_report_unused_and_usage_out_then_prune(tmp_path):
    (tmp_path / "test_app.py").write_text(textwrap.dedent(SUITE))
    folder = tmp_path / "cassettes"
    folder.mkdir()
    used = write_cassette(folder / "used.yaml", "fcsess_fakeUsed1", n=3)
    write_cassette(folder / "deselected.yaml", "fcsess_fakeOther1")
    (folder / "old").mkdir()
    orphan = write_cassette(folder / "old" / "orphan.yaml", "fcsess_fakeOrphan1")
    (folder / "notes.yaml").write_text("not: a cassette\n")

    r = run_pytest(
        tmp_path, "-k", "retrieves", "--fc-report-unused", "--fc-usage-out", "usage.json"
    )
    assert r.returncode == 0, r.stdout + r.stderr
    out = r.stdout
    assert f"fc-cassette: {orphan}: no collected test uses this cassette" in out
    assert "deselected.yaml: no collected test uses" not in out  # collected, deselected
    assert "notes.yaml" not in out  # not a cassette
    assert f"fc-cassette: {used}: interactions no test used: 2, 3" in out
    assert (
        "fc-cassette: unused: 1 cassette(s) no test uses, 2 interaction(s) no test "
        "used in 1 cassette(s)" in out
    )
    usage = json.loads((tmp_path / "usage.json").read_text())
    assert usage["cassettes"] == [
        {"cassette": os.path.realpath(used), "used": [1], "relative": "cassettes/used.yaml"}
    ]

    r = run_fc(["prune", used, "--usage", str(tmp_path / "usage.json")])
    assert r.returncode == 0, r.stderr
    assert [i["seq"] for i in cio.load(used).interactions] == [1]
    r = run_pytest(tmp_path, "-k", "retrieves", "--fc-report-unused")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "interactions no test used" not in r.stdout

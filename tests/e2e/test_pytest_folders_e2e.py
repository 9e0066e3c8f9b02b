"""Issue #26, item 10: a cassette folder that cannot be made or written is one line
from the pytest plugin (no traceback), and a recording attempt that wrote nothing
leaves no empty per-test folder behind. Real pytest runs, real proxies."""

from __future__ import annotations

from support import dead_url, run_pytest

TESTS = """
import pytest


@pytest.mark.fc_cassette
def test_link(fc_proxy):
    client = fc_proxy.client("sk_test_" + "FakeFolderKey01")
    client.v1.financial_connections.sessions.create(params={
        "account_holder": {"type": "customer", "customer": "cus_FakeFolder"},
        "permissions": ["balances"]})
"""


def test_a_folder_that_cannot_be_made_is_one_line(tmp_path):
    (tmp_path / "test_app.py").write_text(TESTS)
    (tmp_path / "cassettes").write_text("a file where the cassette folder belongs")
    r = run_pytest(tmp_path, "--fc-record-mode=once", f"--fc-upstream={dead_url()}")
    out = r.stdout + r.stderr
    assert r.returncode == 1, out
    line = (
        f"fc-cassette: cannot record {tmp_path}/cassettes/test_app/test_link.yaml: "
        f"{tmp_path}/cassettes exists and is not a folder"
    )
    assert line in out, out
    assert "Traceback" not in out and "FileExistsError" not in out
    assert "proxy process(es) started" not in out  # said before any proxy started


def test_a_failed_recording_leaves_no_empty_folder(tmp_path):
    (tmp_path / "test_app.py").write_text(TESTS)
    r = run_pytest(tmp_path, "--fc-record-mode=once", f"--fc-upstream={dead_url()}")
    assert r.returncode == 1, r.stdout + r.stderr  # nothing answered: not recorded
    assert not (tmp_path / "cassettes").exists(), list((tmp_path / "cassettes").rglob("*"))

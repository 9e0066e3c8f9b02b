"""``fc-cassette diff A B``: the review step of a re-record (issue 17)."""

from __future__ import annotations

import json
from pathlib import Path

from support import ROOT, run_fc

SOURCE = (ROOT / "tests" / "data" / "sessions_v1.yaml").read_text()  # six FC Session calls
SESSION = "fcsess_OhbVrpoiVgRV5IfLBcbfnoGM"


def write(tmp_path: Path, name: str, text: str) -> str:
    p = tmp_path / name
    p.write_text(text)
    return str(p)


def docs(text: str) -> list[str]:
    return text.split("---\n")


def test_same_exchanges_with_other_timings_and_creation_time_exit_0(tmp_path):
    b = SOURCE.replace("duration_ms: 4.9", "duration_ms: 99.0").replace(
        'created: "2026-11-26T10:04:13+00:00"', 'created: "2030-01-01T00:00:00+00:00"'
    )
    assert b != SOURCE
    r = run_fc(["diff", write(tmp_path, "a.yaml", SOURCE), write(tmp_path, "b.yaml", b)])
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.strip() == "diff: 6 vs 6 interaction(s): 6 same, 0 changed, 0 removed, 0 added"


def test_changed_fields_by_path_added_and_removed(tmp_path):
    parts = docs(SOURCE)
    first = parts[2].replace(
        "return_url: https://example.test/fc/return", "return_url: https://example.test/fc/other"
    )
    first = first.replace("has_more: false", "has_more: true")
    b = "---\n".join([parts[0], parts[1], first, *parts[3:7]])  # the last one is gone
    r = run_fc(["diff", write(tmp_path, "a.yaml", SOURCE), write(tmp_path, "b.yaml", b)])
    assert r.returncode == 1, r.stdout + r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "~ A#1 / B#1 POST /v1/financial_connections/sessions -> 200"
    assert (
        '    request.body.form.return_url: "https://example.test/fc/return" -> '
        '"https://example.test/fc/other"'
    ) in lines
    assert "    response.body.json.accounts.has_more: false -> true" in lines
    assert any(
        ln.startswith(
            "- A#6 GET /v1/financial_connections/sessions/fcsess_fakeDoesNotExist -> 404: only in A"
        )
        for ln in lines
    )
    assert lines[-1] == "diff: 6 vs 5 interaction(s): 4 same, 1 changed, 1 removed, 0 added"
    # and the other way round: added
    r = run_fc(["diff", str(tmp_path / "b.yaml"), str(tmp_path / "a.yaml"), "--json"])
    assert r.returncode == 1
    out = json.loads(r.stdout)
    assert [e["n"] for e in out["added"]] == [6] and out["removed"] == []
    assert {f["path"] for f in out["changed"][0]["fields"]} == {
        "request.body.form.return_url",
        "response.body.json.return_url",
        "response.body.json.accounts.has_more",
    }


def test_a_new_session_id_pairs_with_the_old_recording(tmp_path):
    """Issue #26, item 13: a flow re-recorded with a new session id, new request ids
    and a new Date is the same exchange; the id paired consistently is no change."""
    b = SOURCE.replace(SESSION, "fcsess_ReRecorded000000000000")
    assert b != SOURCE
    r = run_fc(["diff", write(tmp_path, "a.yaml", SOURCE), write(tmp_path, "b.yaml", b), "--json"])
    out = json.loads(r.stdout)
    assert r.returncode == 0 and out["same"] == 6, r.stdout
    # the same id of A against two different ids of B is a real change
    parts = docs(b)
    parts[3] = parts[3].replace("fcsess_ReRecorded000000000000", "fcsess_Another0000000000000")
    r = run_fc(
        ["diff", str(tmp_path / "a.yaml"), write(tmp_path, "c.yaml", "---\n".join(parts)), "--json"]
    )
    out = json.loads(r.stdout)
    assert r.returncode == 1 and out["added"] == [] and out["removed"] == []
    paths = {f["path"] for c in out["changed"] for f in c["fields"]}
    assert "request.path" in paths, out


def test_schema_drift_added_and_gone(tmp_path):
    parts = docs(SOURCE)
    first = parts[2].replace(
        "  response:\n    valid: true\n    errors: []\n    drift: []",
        "  response:\n    valid: true\n    errors: []\n    drift:\n    - accounts.new_field",
        1,
    )
    assert first != parts[2]
    b = "---\n".join([parts[0], parts[1], first, *parts[3:]])
    a, bb = write(tmp_path, "a.yaml", SOURCE), write(tmp_path, "b.yaml", b)
    r = run_fc(["diff", a, bb])
    assert r.returncode == 1
    assert "    drift added (response): accounts.new_field" in r.stdout.splitlines()
    r = run_fc(["diff", bb, a])
    assert "    drift gone (response): accounts.new_field" in r.stdout.splitlines()


def test_an_unreadable_cassette_is_one_line_exit_2(tmp_path):
    good = write(tmp_path, "a.yaml", SOURCE)
    bad = write(tmp_path, "bad.yaml", "just: text\n")
    for argv in ([good, bad], [bad, good], [good, str(tmp_path / "missing.yaml")]):
        r = run_fc(["diff", *argv])
        assert r.returncode == 2 and r.stdout == ""
        err = r.stderr.strip()
        assert err.startswith("fc-cassette: ") and "\n" not in err and "Traceback" not in err
        assert "bad.yaml" in err or "missing.yaml" in err


def test_values_printed_are_redacted(tmp_path):
    key = "sk_test_" + "diffLeak0123456789abcdef"
    b = SOURCE.replace("return_url: https://example.test/fc/return", f"return_url: {key}", 1)
    r = run_fc(["diff", write(tmp_path, "a.yaml", SOURCE), write(tmp_path, "b.yaml", b)])
    assert r.returncode == 1 and "return_url" in r.stdout
    assert key not in r.stdout and "diffLeak" not in r.stdout
    r = run_fc(["diff", str(tmp_path / "a.yaml"), str(tmp_path / "b.yaml"), "--json"])
    assert key not in r.stdout and "diffLeak" not in r.stdout

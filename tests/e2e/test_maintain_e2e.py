"""End to end: cassettes that live for years (issue #24): ``audit``, ``redact``,
``replay --usage-out`` and ``prune``, with real ``fc-cassette`` processes, a cassette
recorded through a real record proxy from the simulator with the real stripe SDK, and
real faults (a process killed with SIGKILL mid-write, a read-only cassette and a
read-only filesystem)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

import support
from fc_cassette.cassette import store as cio
from support import FC, encoded_forms, run_fc, start

KEY = "sk_test_" + "fakeMaintainKey0123456789"
CREATE = {
    "account_holder": {"type": "customer", "customer": "cus_fakeMaintain1"},
    "permissions": ["balances", "payment_method"],
    "prefetch": ["balances"],
    "return_url": "https://example.test/return",
}
# Secrets of kinds the rules gained after the cassette was recorded (made up, at run time)
WHSEC = "whsec_" + "FakeWebhookSecret0123456789abcdef"
EPHEMERAL = "ek_test_" + "FakeEphemeralKey0123456789abcdef"


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """A cassette (create, retrieve, retrieve) recorded through a real record proxy."""
    tmp = tmp_path_factory.mktemp("maintain")
    sim = start(["simulate", "--seed", "24"], tmp, "sim")
    cassette = tmp / "flow.yaml"
    rec = start(["record", str(cassette), "--upstream", sim.base], tmp, "rec")
    sessions = rec.client(KEY).v1.financial_connections.sessions
    sid = sessions.create(params=CREATE).id
    sessions.retrieve(sid)
    sessions.retrieve(sid)
    assert rec.proc.stop() == 0
    assert sim.proc.stop() == 0
    return cassette, sid


def write_raw(path: Path, header: dict, interactions: list[dict]) -> None:
    """A cassette written by hand: no redaction, no scanner."""
    path.write_text("".join(cio.serialize(d) for d in [header, *interactions]))


def with_old_secrets(src: Path, dst: Path) -> None:
    """``src`` with raw secrets of kinds the rules gained later, where an old recorder
    would have left them: a response header and a URL in a response body."""
    c = cio.load(src)
    first = c.interactions[0]["response"]
    first["headers"]["X-Webhook-Signing-Secret"] = WHSEC
    first["body"]["json"]["return_url"] = f"https://example.test/return?ek={EPHEMERAL}"
    write_raw(dst, c.header, c.interactions)


def no_secret_in(*texts: str) -> None:
    for secret in (WHSEC, EPHEMERAL):
        for form in encoded_forms(secret):
            for text in texts:
                assert form not in text


def replay_flow(
    cassette: Path, tmp: Path, name: str, sid: str, calls: int = 2, extra: list[str] | None = None
) -> tuple[int, str]:
    rep = start(["replay", str(cassette), "--strict", *(extra or [])], tmp, name)
    sessions = rep.client("sk_test_" + "fakeOtherCiKey42").v1.financial_connections.sessions
    assert sessions.create(params=CREATE).id == sid
    for _ in range(calls):
        assert sessions.retrieve(sid).id == sid
    code = rep.proc.stop()
    return code, rep.proc.output()


def test_audit_finds_a_later_kind_redact_removes_it_and_replay_still_matches(recorded, tmp_path):
    src, sid = recorded
    assert run_fc(["audit", str(src)]).returncode == 0  # recorded today: clean
    cassette = tmp_path / "old.yaml"
    with_old_secrets(src, cassette)

    found = run_fc(["audit", str(tmp_path)])  # a folder, searched recursively
    assert found.returncode == 1, found.stderr
    lines = found.stdout.splitlines()
    assert any(ln.startswith(f"{cassette}:") and "secret (whsec)" in ln for ln in lines), lines
    assert any("secret (ek_test)" in ln for ln in lines), lines
    as_json = json.loads(run_fc(["audit", "--json", str(cassette)]).stdout)
    kinds = {f["kind"] for f in as_json["cassettes"][0]["findings"]}
    assert {"whsec", "ek_test"} <= kinds
    line = next(f["line"] for f in as_json["cassettes"][0]["findings"] if f["kind"] == "whsec")
    assert WHSEC in cassette.read_text().splitlines()[line - 1]  # file:line is right
    no_secret_in(found.stdout, found.stderr, json.dumps(as_json))

    check = run_fc(["redact", "--check", str(cassette)])
    assert check.returncode == 1 and "would redact" in check.stdout
    assert WHSEC in cassette.read_text()  # --check writes nothing
    done = run_fc(["redact", str(cassette)])
    assert done.returncode == 0, done.stderr
    after = cassette.read_text()
    no_secret_in(after, done.stdout, done.stderr, check.stdout)
    assert "whsec_REDACTED_1" in after and "ek_test_REDACTED_1" in after
    # the placeholders already there keep their numbers
    assert after.count("sk_test_REDACTED_1") == src.read_text().count("sk_test_REDACTED_1")

    assert run_fc(["audit", str(cassette)]).returncode == 0
    assert run_fc(["redact", "--check", str(cassette)]).returncode == 0
    assert run_fc(["redact", str(cassette)]).returncode == 0
    assert cassette.read_text() == after  # idempotent
    assert run_fc(["verify", str(cassette)]).returncode == 0
    code, log = replay_flow(cassette, tmp_path, "replay", sid)
    assert code == 0, log


def test_redact_keeps_unchanged_documents_byte_for_byte(recorded, tmp_path):
    src, _ = recorded
    cassette = tmp_path / "c.yaml"
    text = src.read_text().replace("...\n---\nseq: 2", "...\n# reviewed by hand\n---\nseq: 2")
    cassette.write_text(text)
    assert run_fc(["redact", str(cassette)]).returncode == 0
    assert cassette.read_text() == text  # nothing to redact: comments and all kept


def test_audit_flags_another_api_version_and_age(recorded, tmp_path):
    src, _ = recorded
    version = cio.load(src).header["stripe_version"]
    assert run_fc(["audit", "--api-version", version, str(src)]).returncode == 0
    other = run_fc(["audit", "--api-version", "2020-08-27", str(src)])
    assert other.returncode == 1
    assert (
        f"api_version (stripe_version): recorded with Stripe API version {version}, "
        "not 2020-08-27" in other.stdout
    )
    config = tmp_path / "fc.yaml"
    config.write_text("audit:\n  api_version: '2020-08-27'\n")
    assert run_fc(["audit", "--config", str(config), str(src)]).returncode == 1

    old = tmp_path / "old.yaml"
    c = cio.load(src)
    write_raw(old, {**c.header, "created": "2021-03-01T00:00:00+00:00"}, c.interactions)
    aged = run_fc(["audit", "--max-age-days", "365", "--json", str(old)])
    assert aged.returncode == 1
    finding = json.loads(aged.stdout)["cassettes"][0]["findings"][0]
    assert finding["category"] == "age" and finding["kind"] == "created"
    assert "2021-03-01" in finding["message"]


@pytest.mark.parametrize("command", ["audit", "redact"])
def test_bad_input_is_one_line_and_exit_2(command, tmp_path):
    not_cassette = tmp_path / "notes.yaml"
    not_cassette.write_text("hello: world\n")
    for args in ([str(tmp_path / "missing.yaml")], [str(not_cassette)]):
        r = run_fc([command, *args])
        assert r.returncode == 2, (args, r.stdout, r.stderr)
        errors = [ln for ln in r.stderr.splitlines() if ln.startswith("fc-cassette:")]
        assert len(errors) == 1 and "Traceback" not in r.stderr, r.stderr
    # a folder takes only cassettes: notes.yaml is not one
    assert run_fc([command, str(tmp_path)]).returncode == 0


def test_a_partial_replays_usage_prunes_the_cassette_to_what_was_used(recorded, tmp_path):
    src, sid = recorded
    cassette = tmp_path / "flow.yaml"
    shutil.copy(src, cassette)
    usage = tmp_path / "used.json"
    # a run that only creates and retrieves once: interaction 3 is never served
    code, log = replay_flow(
        cassette, tmp_path, "partial", sid, calls=1, extra=["--usage-out", str(usage)]
    )
    assert code == 0, log
    data = json.loads(usage.read_text())
    assert data["cassettes"] == [
        {
            "cassette": os.path.realpath(cassette),
            "used": [1, 2],
            "relative": os.path.relpath(os.path.realpath(cassette), support.ROOT),
        }
    ]

    r = run_fc(["prune", str(cassette), "--usage", str(usage)])
    assert r.returncode == 0, r.stderr
    assert "kept 2, removed 1 (seq 3)" in r.stdout
    assert [i["seq"] for i in cio.load(cassette).interactions] == [1, 2]
    assert run_fc(["verify", str(cassette)]).returncode == 0
    code, log = replay_flow(cassette, tmp_path, "pruned", sid, calls=1)
    assert code == 0, log
    # a usage file that does not name the cassette prunes nothing
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"fc_cassette_usage": 1, "cassettes": []}))
    before = cassette.read_bytes()
    r = run_fc(["prune", str(cassette), "--usage", str(other)])
    assert r.returncode == 2 and r.stderr.startswith("fc-cassette: prune: no usage file")
    assert cassette.read_bytes() == before


# ------------------------------------------------------------------------------ faults
def _stopped(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state == "T"


def _kill_at(point: str, args: list[str], folder: Path) -> None:
    """Run ``fc-cassette ARGS`` until it stops itself at ``point`` of the atomic
    rewrite, then SIGKILL it there."""
    proc = subprocess.Popen(
        [FC, *args],
        env={**os.environ, "FC_CASSETTE_PAUSE_AT": point},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not _stopped(proc.pid):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "never reached the hook point"
            time.sleep(0.05)
        assert list(folder.glob(".*.rewrite")), "no temporary file at the hook point"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL


@pytest.mark.parametrize("point", ["half-written", "before-rename"])
def test_redact_killed_mid_write_leaves_the_old_cassette(recorded, tmp_path, point):
    src, _ = recorded
    cassette = tmp_path / "old.yaml"
    with_old_secrets(src, cassette)
    before = cassette.read_bytes()
    _kill_at(point, ["redact", str(cassette)], tmp_path)
    assert cassette.read_bytes() == before
    assert len(cio.load(cassette).interactions) == 3
    # the next run takes over: the stale lock and the stray temp file do not stop it
    assert run_fc(["redact", str(cassette)]).returncode == 0
    assert run_fc(["audit", str(tmp_path)]).returncode == 0  # the stray file is no cassette


@pytest.mark.parametrize("point", ["half-written", "before-rename"])
def test_prune_killed_mid_write_leaves_the_old_cassette(recorded, tmp_path, point):
    src, _ = recorded
    cassette = tmp_path / "flow.yaml"
    shutil.copy(src, cassette)
    usage = tmp_path / "used.json"
    usage.write_text(
        json.dumps(
            {
                "fc_cassette_usage": 1,
                "cassettes": [{"cassette": os.path.realpath(cassette), "used": [1]}],
            }
        )
    )
    before = cassette.read_bytes()
    _kill_at(point, ["prune", str(cassette), "--usage", str(usage)], tmp_path)
    assert cassette.read_bytes() == before
    assert run_fc(["prune", str(cassette), "--usage", str(usage)]).returncode == 0
    assert len(cio.load(cassette).interactions) == 1


@pytest.mark.parametrize("command", ["redact", "prune"])
def test_a_read_only_cassette_is_one_clear_line(recorded, tmp_path, command):
    src, _ = recorded
    cassette = tmp_path / "old.yaml"
    with_old_secrets(src, cassette)
    cassette.chmod(0o444)
    usage = tmp_path / "used.json"
    usage.write_text(
        json.dumps(
            {
                "fc_cassette_usage": 1,
                "cassettes": [{"cassette": os.path.realpath(cassette), "used": [1]}],
            }
        )
    )
    before = cassette.read_bytes()
    args = [command, str(cassette)] + (["--usage", str(usage)] if command == "prune" else [])
    r = run_fc(args)
    assert r.returncode == 2
    assert r.stderr.splitlines()[0] == (
        f"fc-cassette: {'prune: ' if command == 'prune' else ''}{cassette}: the cassette "
        "is read-only (mode 0444); make it writable to change it; nothing was changed"
    )
    assert len([ln for ln in r.stderr.splitlines() if ln.startswith("fc-cassette:")]) == 1
    assert cassette.read_bytes() == before


def test_redact_on_a_read_only_filesystem_is_one_clear_line(recorded, tmp_path):
    src, _ = recorded
    fs = tmp_path / "ro"
    fs.mkdir()
    r = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(fs)], capture_output=True, text=True
    )
    if r.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.strip()}")
    try:
        cassette = fs / "old.yaml"
        with_old_secrets(src, cassette)
        before = cassette.read_bytes()
        r = subprocess.run(["mount", "-o", "remount,ro", str(fs)], capture_output=True, text=True)
        if r.returncode:
            pytest.skip(f"cannot remount the tmpfs read-only: {r.stderr.strip()}")
        r = run_fc(["redact", str(cassette)])
        assert r.returncode == 2
        errors = [ln for ln in r.stderr.splitlines() if ln.startswith("fc-cassette:")]
        assert errors == [
            f"fc-cassette: {cassette}: cannot create the recording lock "
            f"{fs / '.old.yaml.lock'}: Read-only file system"
        ], r.stderr
        assert cassette.read_bytes() == before
    finally:
        subprocess.run(["umount", "-l", str(fs)], capture_output=True)

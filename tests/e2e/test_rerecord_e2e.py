"""Re-recording is deterministic: the same request sequence recorded twice, each time
against a fresh ``fc-cassette simulate --seed 11``, gives byte-identical cassettes
(no duration_ms, no creation time), so a re-record diff shows only real API changes.
``record.timing: true`` brings both back."""

from __future__ import annotations

import pytest
import stripe

from fc_cassette.cassette import store as cio
from support import Stack, fc, start

KEY = "sk_test_" + "fakeRerecordKey0123456789"
CREATE = {
    "account_holder": {"type": "customer", "customer": "cus_fakeRerec1"},
    "permissions": ["balances", "ownership"],
    "prefetch": ["balances"],
    "filters": {"countries": ["US"]},
    "return_url": "https://example.test/return",
}


# the upstream's port is part of each recorded request: the first simulator picks a free
# port (--port 0), the later ones ask for that same port again
SIM_PORT = [0]


def record_sequence(tmp_path, name: str, *extra: str) -> bytes:
    proc = fc(["simulate", "--seed", "11"], tmp_path, name=f"sim-{name}", port=SIM_PORT[0])
    SIM_PORT[0] = proc.port
    sim = Stack(proc, proc.port, tmp_path / "mitmconf")
    try:
        cassette = tmp_path / f"{name}.yaml"
        rec = start(
            ["record", str(cassette), "--upstream", sim.base, *extra], tmp_path, f"rec-{name}"
        )
        sessions = rec.client(KEY).v1.financial_connections.sessions
        s = sessions.create(params=CREATE)
        sessions.retrieve(s.id)
        rec.complete(s.id, KEY)  # out of scope: not recorded
        sessions.retrieve(s.id, params={"expand": ["accounts"]})
        with pytest.raises(stripe.InvalidRequestError):
            sessions.create(params={**CREATE, "permissions": ["nope"]})
        assert rec.proc.stop() == 0
    finally:
        assert sim.proc.stop() == 0
    return cassette.read_bytes()


def test_recording_the_same_sequence_twice_gives_identical_bytes(tmp_path):
    first = record_sequence(tmp_path, "first")
    second = record_sequence(tmp_path, "second")
    assert b"duration_ms" not in first and b"created: '" not in first
    paths = [i["request"]["path"] for i in cio.parse(first.decode(), tmp_path / "x").interactions]
    assert len([p for p in paths if p.startswith("/v1/financial_connections/")]) == 4
    assert first == second


def test_timing_is_opt_in(tmp_path):
    cfg = tmp_path / "timing.yaml"
    cfg.write_text("record:\n  timing: true\n")
    text = record_sequence(tmp_path, "timed", "--config", str(cfg)).decode()
    c = cio.parse(text, tmp_path / "timed.yaml")
    assert "created" in c.header
    assert all(isinstance(i["duration_ms"], float) for i in c.interactions)

"""HTTP/2: cleartext with prior knowledge (h2c) is refused in one log line and is not a
replay miss; HTTP/2 over TLS keeps working in forward mode (issue 17)."""

from __future__ import annotations

import shutil
import socket
import subprocess

import pytest

from support import start

CASSETTE = "tests/data/sessions_v1.yaml"
SESSION = "/v1/financial_connections/sessions/fcsess_OhbVrpoiVgRV5IfLBcbfnoGM"
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes.fromhex("000000040000000000")


def send_preface(port: int) -> bytes:
    """What a client with HTTP/2 prior knowledge sends first; the proxy's answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(PREFACE)
        chunks = []
        try:
            while chunk := s.recv(65536):
                chunks.append(chunk)
        except (TimeoutError, ConnectionResetError):
            pass
        return b"".join(chunks)


def test_h2c_preface_is_refused_in_one_line_and_is_not_a_replay_miss(tmp_path):
    stack = start(["replay", CASSETTE, "--strict"], tmp_path, "replay")
    assert send_preface(stack.port) == b""  # the connection is closed, nothing answered
    assert send_preface(stack.port) == b""
    # --strict: no miss was counted, but two clients failed (issue #26, item 1): exit 1
    assert stack.proc.stop() == 1
    out = stack.proc.output()
    assert (
        "fc-cassette --strict: 2 client connection(s) refused (HTTP/2 cleartext): exit 1" in out
    ), out
    refused = [
        ln for ln in out.splitlines() if ("h2c" in ln or "HTTP/2" in ln) and "--strict" not in ln
    ]
    assert len(refused) == 2, out  # one line per connection, nothing else
    assert all(
        "fc-cassette: refused HTTP/2 cleartext (h2c prior knowledge) from 127.0.0.1:" in ln
        and "use HTTP/1.1" in ln
        for ln in refused
    ), refused
    assert "served 0, missed 0, unused 6" in out
    assert "PRI" not in out and "out of scope" not in out and "outside" not in out


def test_h2c_preface_is_not_recorded(tmp_path):
    sim = start(["simulate"], tmp_path, "sim")
    cassette = tmp_path / "c.yaml"
    rec = start(["record", str(cassette), "--upstream", sim.base], tmp_path, "rec")
    assert send_preface(rec.port) == b""
    assert rec.proc.stop() == 0 and sim.proc.stop() == 0
    out = rec.proc.output()
    assert "fc-cassette: refused HTTP/2 cleartext" in out
    assert "PRI" not in out and not cassette.exists()


def test_an_h2c_upgrade_offer_goes_on_as_http1(tmp_path):
    import requests

    stack = start(["replay", CASSETTE], tmp_path, "replay")
    r = requests.get(
        f"{stack.base}{SESSION}",
        timeout=10,
        headers={
            "Authorization": "Bearer sk_test_REDACTED_1",
            "Upgrade": "h2c",
            "Connection": "Upgrade, HTTP2-Settings",
            "HTTP2-Settings": "AAMAAABkAARAAAAAAAIAAAAA",
        },
    )
    assert r.status_code == 200 and r.raw.version == 11
    assert stack.proc.stop() == 0
    assert "served 1, missed 0" in stack.proc.output()


@pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl")
def test_curl_prior_knowledge_is_refused_and_h2_over_tls_works_in_forward_mode(tmp_path):
    stack = start(["replay", CASSETTE, "--forward"], tmp_path, "fwd")
    auth = ["-H", "Authorization: Bearer sk_test_REDACTED_1"]
    tls = subprocess.run(
        [
            "curl",
            "-sS",
            "--http2",
            "-x",
            stack.base,
            "--cacert",
            str(stack.ca),
            "-o",
            "/dev/null",
            "-w",
            "%{http_code} %{http_version}",
            f"https://api.stripe.com{SESSION}",
            *auth,
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert tls.stdout == "200 2", tls.stderr  # HTTP/2 over TLS, answered from the cassette
    h2c = subprocess.run(
        ["curl", "-sS", "--http2-prior-knowledge", f"{stack.base}{SESSION}", *auth],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert h2c.returncode != 0
    assert stack.proc.stop() == 0
    out = stack.proc.output()
    assert out.count("fc-cassette: refused HTTP/2 cleartext") == 1
    assert "served 1, missed 0" in out

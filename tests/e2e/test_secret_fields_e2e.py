"""End to end: a secret field (``client_secret``/``secret``) in a multipart/form-data
part, and in an urlencoded body that is not valid UTF-8 (stored as base64), recorded by
a real ``fc-cassette record`` in front of an upstream (written here) that echoes each
request body back. Nothing of the values may reach the cassette, the logs, the status
endpoint or a replay miss; ``fc-cassette verify`` flags a hand-written cassette that
holds such a value.

Every secret literal contains "fake" (the repo's key scanner skips those).
"""

from __future__ import annotations

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from support import ROOT, run_fc, start

MP_CS = "odd fakeMPSECRET40 value"  # spaces: no known shape
MP_SECRET = "fakeMPSEC57"
LATIN = b"\xff\xfefakeLATIN52"  # not valid UTF-8
MARKERS = ["MPSECRET40", "MPSEC57", "LATIN52"]


class Echo(BaseHTTPRequestHandler):
    def log_message(self, *args) -> None:  # quiet
        pass

    def do_POST(self) -> None:
        data = self.rfile.read(int(self.headers.get("content-length") or 0))
        self.send_response(200)
        self.send_header("Content-Type", self.headers.get("content-type") or "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def echo():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _assert_clean(text: str, where: str) -> None:
    for m in MARKERS:
        b = m.encode()
        # the marker's base64 at each of the three alignments (inside a longer body)
        probes = {m, b.hex(), b.hex().upper()}
        for pad in (b"", b"x", b"xx"):
            enc = base64.b64encode(pad + b)[len(pad) * 4 // 3 + 2 : -4]
            probes.add(enc.decode())
        for p in probes:
            assert p not in text, f"{m} in {where} as {p!r}"


def _multipart(base: str, fields: list[tuple[str, str]]) -> requests.Response:
    """A multipart/form-data POST with a fixed boundary (so that replay can match it)."""
    body = (
        "".join(
            f'--b0\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n' for k, v in fields
        )
        + "--b0--\r\n"
    )
    return requests.post(
        f"{base}/v1/files",
        data=body.encode(),
        timeout=10,
        headers={
            "Authorization": "Bearer sk_test_fakeFields123",
            "Content-Type": "multipart/form-data; boundary=b0",
        },
    )


def _send(base: str) -> tuple[requests.Response, requests.Response]:
    h = {"Authorization": "Bearer sk_test_fakeFields123"}
    mp = _multipart(base, [("client_secret", MP_CS), ("secret", MP_SECRET), ("purpose", "x")])
    latin = requests.post(
        f"{base}/v1/tokens",
        timeout=10,
        data=b"client_secret=" + LATIN,
        headers={**h, "Content-Type": "application/x-www-form-urlencoded"},
    )
    return mp, latin


def test_multipart_and_binary_secret_fields_never_reach_disk_log_status_or_miss(tmp_path, echo):
    config = tmp_path / "wide.yaml"
    config.write_text("scope:\n  paths:\n    - '^/v1/'\n")
    cassette = tmp_path / "c.yaml"
    rec = start(
        [
            "record",
            str(cassette),
            "--upstream",
            echo,
            "--config",
            str(config),
            "--record-mode",
            "all",
        ],
        tmp_path,
        "rec",
    )
    mp, latin = _send(rec.base)
    assert mp.status_code == 200 and MP_CS.encode() in mp.content  # the app sees it
    assert latin.status_code == 200 and latin.content == b"client_secret=" + LATIN
    status = requests.get(f"{rec.base}/__fc_cassette__/status", timeout=10).text
    assert rec.proc.stop() == 0
    text = cassette.read_text()
    _assert_clean(text, "the cassette")
    _assert_clean(rec.proc.output(), "the record log")
    _assert_clean(status, "the record status")
    assert text.count("REDACTED_") >= 4, text  # recorded (redacted), not refused
    verify = run_fc(["verify", str(cassette)])
    assert "possible secret" not in verify.stdout + verify.stderr, verify.stdout

    # replay, then a miss whose multipart body and binary body carry other values
    rp = start(["replay", str(cassette), "--config", str(config)], tmp_path, "replay")
    again_mp, again_latin = _send(rp.base)
    assert again_mp.status_code == 200 and again_latin.status_code == 200
    h = {"Authorization": "Bearer sk_test_fakeFields123"}
    miss = _multipart(rp.base, [("client_secret", "other fakeMPSECRET40 value"), ("purpose", "y")])
    miss2 = requests.post(
        f"{rp.base}/v1/tokens",
        timeout=10,
        data=b"client_secret=\xfe\xfffakeLATIN52x",
        headers={**h, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert miss.status_code >= 400 and miss2.status_code >= 400
    status = requests.get(f"{rp.base}/__fc_cassette__/status", timeout=10).text
    rp.proc.stop()
    _assert_clean(miss.text + miss2.text, "the miss bodies")
    _assert_clean(status, "the replay status")
    _assert_clean(rp.proc.output(), "the replay log")


def test_verify_flags_a_hand_written_cassette_with_such_values(tmp_path):
    mp = (
        '--b0\r\nContent-Disposition: form-data; name="client_secret"\r\n\r\n'
        "odd fakeMPSECRET40 value\r\n--b0--\r\n"
    )
    latin = base64.b64encode(b"client_secret=" + LATIN).decode()
    head = (ROOT / "tests" / "data" / "sessions_v1.yaml").read_text().split("...\n")[0]
    for i, body in enumerate([{"text": mp}, {"base64": latin}]):
        entry = {
            "seq": 1,
            "request": {
                "method": "POST",
                "scheme": "http",
                "host": "127.0.0.1",
                "port": 1,
                "path": "/v1/files",
                "query": {},
                "headers": {},
                "body": body,
            },
            "response": {"status": 200, "headers": {}, "body": body},
        }
        path = tmp_path / f"hand{i}.yaml"
        path.write_text(head + "...\n---\n" + json.dumps(entry) + "\n")
        out = run_fc(["verify", str(path)])
        said = out.stdout + out.stderr
        assert "possible secret (secret_field)" in said, (body, said)
        assert out.returncode != 0
        for m in MARKERS:
            assert m not in said

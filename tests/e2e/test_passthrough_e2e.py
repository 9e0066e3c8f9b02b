"""Out-of-scope flows through a real forward proxy: logged and counted, or refused."""

from __future__ import annotations

import http.server
import threading

import pytest
import requests

from fc_cassette.cassette import store as cio
from support import start


class _Other(http.server.BaseHTTPRequestHandler):
    """A non-Stripe service the app also calls."""

    def do_GET(self):  # noqa: N802 (http.server's name)
        body = b'{"weather": "sunny"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture()
def other_host():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Other)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_forward_mode_logs_and_counts_while_recording_and_refuses_while_replaying(
    tmp_path, other_host
):
    cassette = tmp_path / "fwd.yaml"
    rec = start(["record", str(cassette), "--forward"], tmp_path, "rec")
    proxies = {"http": rec.base, "https": rec.base}
    r = requests.get(f"{other_host}/forecast", proxies=proxies, timeout=10)
    assert r.status_code == 200 and r.json() == {"weather": "sunny"}  # passed through
    assert rec.proc.stop() == 0
    log = rec.proc.output()
    host = other_host.removeprefix("http://")
    assert f"GET {host}/forecast (passed through, NOT recorded: outside the scope)" in log
    assert "1 request(s) outside the scope" in log
    assert not cassette.exists() or cio.load(cassette).interactions == []

    cassette.write_text(cio.serialize(cio.new_header(None)))  # an empty cassette
    rp = start(["replay", str(cassette), "--forward"], tmp_path, "rp")
    r = requests.get(f"{other_host}/forecast", proxies={"http": rp.base}, timeout=10)
    assert r.status_code == 400 and r.headers["Fc-Cassette-Miss"] == "out_of_scope"
    assert "outside fc-cassette's scope" in r.json()["error"]["message"]
    status = requests.get(f"{rp.base}/__fc_cassette__/status", timeout=10).json()
    assert len(status["misses"]) == 1
    assert rp.proc.stop() == 0
    log = rp.proc.output()
    assert f"GET {host}/forecast (refused: outside the scope, replay never forwards)" in log
    assert "1 request(s) outside the scope" in log

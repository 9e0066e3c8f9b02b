"""Issue #26, items 1 and 2: HTTP/2 through the proxy with a real HTTP/2 client (httpx).

mitmproxy picked the client's first ALPN, and httpx offers ``http/1.1`` before ``h2``
through a proxy: ``http2=True`` always settled on HTTP/1.1, and ``http1=False`` sent its
HTTP/2 preface over an HTTP/1.1 TLS connection (refused as "h2c prior knowledge"). Now
``h2`` is negotiated, as with curl: a forward-mode recording with ``http1=False``, and
its replay under ``--strict``, both over HTTP/2. A client that really sends h2c prior
knowledge is refused, and ``--strict`` then exits 1 (that client failed).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from fc_cassette.cassette import store as cio
from support import start

httpx = pytest.importorskip("httpx")
pytest.importorskip("h2")

KEY = "sk_test_" + "FakeHttp2Key000001"
FORM = {
    "account_holder[type]": "customer",
    "account_holder[customer]": "cus_FakeH2",
    "permissions[0]": "balances",
}
URL = "https://api.stripe.com/v1/financial_connections/sessions"


def post(stack, **kw):
    with httpx.Client(proxy=stack.base, verify=str(stack.ca), timeout=60, **kw) as c:
        return c.post(URL, data=FORM, auth=(KEY, ""))


def test_http2_only_client_records_and_replays_in_forward_mode(tmp_path: Path):
    cassette = tmp_path / "h2.yaml"
    sim = start(["simulate"], tmp_path, "sim")
    try:
        rec = start(
            [
                "record",
                str(cassette),
                "--forward",
                "--set",
                f"mode=upstream:{sim.base}",
                "--set",
                "ssl_insecure=true",
            ],
            tmp_path,
            "rec",
        )
        recorded = [post(rec, http1=False, http2=True), post(rec, http2=True)]
        assert [(r.http_version, r.status_code) for r in recorded] == [("HTTP/2", 200)] * 2
        assert rec.proc.stop() == 0, rec.proc.output()
    finally:
        sim.proc.stop()
    assert len(cio.load(cassette).interactions) == 2
    rep = start(["replay", str(cassette), "--forward", "--strict"], tmp_path, "rep")
    got = [post(rep, http1=False, http2=True), post(rep, http2=True)]
    assert [(g.http_version, g.status_code) for g in got] == [("HTTP/2", 200)] * 2
    assert [g.json()["id"] for g in got] == [r.json()["id"] for r in recorded]
    out = rep.proc.output()
    assert rep.proc.stop() == 0, out
    assert "refused HTTP/2 cleartext" not in rep.proc.output()


def test_a_refused_h2c_client_fails_replay_strict(tmp_path: Path):
    cassette = Path(__file__).resolve().parents[2] / "cassettes" / "fc_sessions.yaml"
    rep = start(["replay", str(cassette), "--strict"], tmp_path, "rep")
    with httpx.Client(http1=False, http2=True, timeout=60) as c:  # h2c prior knowledge
        with pytest.raises(httpx.HTTPError):
            c.post(f"{rep.base}/v1/financial_connections/sessions", data=FORM, auth=(KEY, ""))
    assert rep.proc.stop() == 1, rep.proc.output()
    assert "client connection(s) refused (HTTP/2 cleartext): exit 1" in rep.proc.output()

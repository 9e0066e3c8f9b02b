"""End to end: record from ``fc-cassette simulate``, stop it, replay offline.

The stripe SDK sees the same objects and the same exceptions with another API key;
misses explain themselves; no upstream connection is ever attempted, in reverse mode
and in forward mode through CONNECT.
"""

from __future__ import annotations

import socket
import threading

import pytest
import requests
import stripe

from fc_cassette.cassette import store as cio
from support import start

REC_KEY = "sk_test_" + "fakeRecorderKey0123456789"
CI_KEY = "sk_test_" + "fakeCiKey9876543210"
CREATE = {
    "account_holder": {"type": "customer", "customer": "cus_fakeReplay1"},
    "permissions": ["balances", "payment_method"],
    "prefetch": ["balances"],
}


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """A cassette recorded through a real record proxy; the simulator is gone afterwards."""
    tmp = tmp_path_factory.mktemp("recorded")
    sim = start(["simulate", "--seed", "11"], tmp, "sim")
    cassette = tmp / "replay.yaml"
    rec = start(["record", str(cassette), "--upstream", sim.base], tmp, "rec")
    sessions = rec.client(REC_KEY).v1.financial_connections.sessions
    truth = {"created": sessions.create(params=CREATE)}
    sid = truth["created"].id
    truth["before"] = sessions.retrieve(sid)
    rec.complete(sid, REC_KEY)
    truth["after"] = sessions.retrieve(sid, params={"expand": ["accounts"]})
    for name, call in [
        ("bad", lambda: sessions.create(params={**CREATE, "permissions": ["x"]})),
        ("missing", lambda: sessions.retrieve("fcsess_fakeNope1")),
    ]:
        try:
            call()
        except stripe.InvalidRequestError as e:
            truth[name] = e
    # a request that carries the client secret back (as an app might): recorded redacted
    truth["with_secret"] = requests.get(
        f"{rec.base}/v1/financial_connections/sessions/{sid}",
        params={"client_secret": truth["created"].client_secret},
        headers={"Authorization": f"Bearer {REC_KEY}"},
        timeout=10,
    )
    assert rec.proc.stop() == 0
    assert sim.proc.stop() == 0
    return cassette, truth


def as_recorded(obj) -> dict:
    """What the cassette holds for a live object: its client secret redacted."""
    d = obj.to_dict()
    if d.get("client_secret"):
        d["client_secret"] = "fcsess_client_secret_REDACTED_1"
    return d


class Sentinel:
    """A loopback TCP server that only counts connections: the 'upstream' must stay at 0."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _run(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            conn.close()

    def close(self):
        self.sock.close()


@pytest.fixture
def sentinel():
    s = Sentinel()
    yield s
    s.close()


def replay(tmp_path, cassette, *extra, name="replay"):
    return start(["replay", str(cassette), *extra], tmp_path, name)


def test_replay_gives_the_same_objects_and_errors_with_another_key(recorded, tmp_path, sentinel):
    cassette, truth = recorded
    rp = replay(
        tmp_path, cassette, "--strict", "--set", f"mode=reverse:http://127.0.0.1:{sentinel.port}"
    )
    sessions = rp.client(CI_KEY).v1.financial_connections.sessions
    created = sessions.create(params=CREATE)
    assert created.id == truth["created"].id
    assert created.client_secret == "fcsess_client_secret_REDACTED_1"
    assert sessions.retrieve(created.id).to_dict() == as_recorded(truth["before"])
    rp.complete(created.id, CI_KEY)  # the simulator's completion endpoint replays too
    after = sessions.retrieve(created.id, params={"expand": ["accounts"]})
    assert after.to_dict() == as_recorded(truth["after"])  # order: before, then after completion
    assert len(after.accounts.data) == 2
    with pytest.raises(stripe.InvalidRequestError) as bad:
        sessions.create(params={**CREATE, "permissions": ["x"]})
    assert (bad.value.http_status, bad.value.param) == (400, truth["bad"].param)
    with pytest.raises(stripe.InvalidRequestError) as missing:
        sessions.retrieve("fcsess_fakeNope1")
    assert missing.value.http_status == 404 and missing.value.code == "resource_missing"
    # the replayed placeholder secret, sent back, matches the recorded (redacted) request
    r = requests.get(
        f"{rp.base}/v1/financial_connections/sessions/{created.id}",
        params={"client_secret": created.client_secret},
        headers={"Authorization": f"Bearer {CI_KEY}"},
        timeout=10,
    )
    assert r.status_code == truth["with_secret"].status_code
    assert "Fc-Cassette-Miss" not in r.headers
    assert rp.proc.stop() == 0  # --strict and no miss: exit 0
    log = rp.proc.output()
    assert "served 7, missed 0, unused 0" in log
    assert "upstream connections attempted: 0" in log
    assert sentinel.accepted == 0


def test_changed_parameter_is_a_miss_that_names_the_difference(recorded, tmp_path, sentinel):
    cassette, truth = recorded
    rp = replay(
        tmp_path, cassette, "--strict", "--set", f"mode=reverse:http://127.0.0.1:{sentinel.port}"
    )
    sessions = rp.client(CI_KEY).v1.financial_connections.sessions
    with pytest.raises(stripe.InvalidRequestError) as e:
        sessions.create(params={**CREATE, "permissions": ["balances", "transactions"]})
    msg = str(e.value)
    assert str(cassette) in msg
    assert "form.permissions[1]: recorded 'payment_method', got 'transactions'" in msg
    assert e.value.http_status == 400
    assert e.value.headers["Fc-Cassette-Miss"] == "unmatched"
    assert e.value.headers["Stripe-Should-Retry"] == "false"
    # the recording for the unchanged request is served once, then exhausted
    sessions.create(params=CREATE)
    with pytest.raises(stripe.InvalidRequestError) as again:
        sessions.create(params=CREATE)
    assert "recorded 1 time, this is call 2" in str(again.value)
    assert rp.proc.stop() == 1  # --strict after a miss
    log = rp.proc.output()
    assert "missed 2" in log and "unused: interaction 2" in log
    assert "form.permissions[1]: recorded 'payment_method', got 'transactions'" in log
    assert sentinel.accepted == 0


def test_replay_is_byte_identical_across_runs(recorded, tmp_path):
    cassette, truth = recorded
    sid = truth["created"].id

    def run(name):
        rp = replay(tmp_path, cassette, name=name)
        out = []
        with requests.Session() as s:
            s.headers["Authorization"] = f"Bearer {CI_KEY}"
            for query in ({}, {"expand[]": "accounts"}):  # curl style; recorded as expand[0]
                r = s.get(f"{rp.base}/v1/financial_connections/sessions/{sid}", params=query)
                out.append((r.status_code, sorted(r.headers.items()), r.content))
            r = s.post(
                f"{rp.base}/v1/financial_connections/sessions",
                data={
                    "account_holder[type]": "customer",
                    "account_holder[customer]": "cus_fakeReplay1",
                    "permissions[]": ["balances", "payment_method"],
                    "prefetch[]": "balances",
                },
            )
            out.append((r.status_code, sorted(r.headers.items()), r.content))
        assert rp.proc.stop() == 0
        return out

    first, second = run("r1"), run("r2")
    assert first == second
    assert [x[0] for x in first] == [200, 200, 200]
    for _status, headers, body in first:
        assert {k.lower(): v for k, v in headers}["content-length"] == str(len(body))
    assert first[0][2] != first[1][2]  # two recorded states, in order


def test_repeat_last_option(recorded, tmp_path):
    cassette, truth = recorded
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text("replay:\n  on_exhausted: repeat_last\n")
    rp = replay(tmp_path, cassette, "--config", str(cfg))
    sessions = rp.client(CI_KEY).v1.financial_connections.sessions
    s1 = sessions.create(params=CREATE)
    assert sessions.create(params=CREATE).id == s1.id
    assert rp.proc.stop() == 0


def test_forward_mode_https_through_connect_with_the_sdk(recorded, tmp_path, sentinel):
    cassette, truth = recorded
    rp = replay(tmp_path, cassette, "--forward")
    old = stripe.ca_bundle_path
    stripe.ca_bundle_path = str(rp.ca)
    try:
        client = stripe.StripeClient(
            CI_KEY, proxy=f"http://127.0.0.1:{rp.port}", max_network_retries=0
        )  # default https://api.stripe.com
        sessions = client.v1.financial_connections.sessions
        created = sessions.create(params=CREATE)
        assert created.id == truth["created"].id
        assert sessions.retrieve(created.id).to_dict() == as_recorded(truth["before"])
    finally:
        stripe.ca_bundle_path = old
    # out-of-scope traffic through the forward proxy is refused locally, never forwarded
    proxies = {"http": rp.base, "https": rp.base}
    r = requests.get(
        f"http://127.0.0.1:{sentinel.port}/v1/financial_connections/sessions/x",
        proxies=proxies,
        timeout=10,
    )
    assert r.status_code == 400 and r.headers["Fc-Cassette-Miss"] == "out_of_scope"
    r = requests.get(
        f"https://127.0.0.1:{sentinel.port}/anything",
        proxies=proxies,
        verify=str(rp.ca),
        timeout=10,
    )
    assert r.status_code == 400
    assert rp.proc.stop() == 0
    log = rp.proc.output()
    assert "upstream connections attempted: 0" in log
    assert sentinel.accepted == 0


def test_malformed_cassette_stops_replay_with_one_line(tmp_path):
    from support import run_fc

    bad = tmp_path / "bad.yaml"
    bad.write_text("---\nfc_cassette: 1\n...\n---\nseq: [1\n...\n")
    r = run_fc(["replay", str(bad), "--port", "0"])
    assert r.returncode != 0
    out = (r.stdout + r.stderr).strip()
    assert out.count("\n") == 0 and str(bad) in out and "Traceback" not in out


def test_truncated_cassette_replays_its_complete_interactions(recorded, tmp_path):
    cassette, truth = recorded
    raw = cassette.read_bytes()
    cut = tmp_path / "cut.yaml"
    cut.write_bytes(raw[: raw.index(b"\nseq: 3\n") + 3])  # inside interaction 3
    rp = replay(tmp_path, cut)
    sessions = rp.client(CI_KEY).v1.financial_connections.sessions
    assert sessions.create(params=CREATE).id == truth["created"].id
    assert rp.proc.stop() == 0
    assert "cut short" in rp.proc.output()
    assert len(cio.load(cut).interactions) == 2


def test_unreplayable_body_stops_replay_with_one_line(tmp_path):
    from support import run_fc

    bad = tmp_path / "bad_body.yaml"
    bad.write_text(
        "---\nfc_cassette: 1\n...\n---\nseq: 1\nrequest: {method: GET, path: /x}\n"
        "response:\n  status: 200\n  body: {base64: 'abc'}\n...\n"
    )
    r = run_fc(["replay", str(bad), "--port", "0"])
    assert r.returncode == 1
    err = r.stderr.strip()
    assert err.count("\n") == 0 and "interaction 1" in err and "Traceback" not in err


def test_mitmproxys_own_error_lines_are_redacted(recorded, tmp_path):
    """A malformed request carrying a key makes mitmproxy log the raw request line."""
    import random
    import string

    cassette, _ = recorded
    key = "sk_test_fake" + "".join(random.Random(3).choices(string.ascii_letters, k=20))
    rp = replay(tmp_path, cassette)
    for raw in (
        f"GET /v1/financial_connections/sessions?key={key} HTTP/1.1 junk\r\n\r\n",
        f"GET / HTTP/1.1\r\nHost: x\r\nBad Header {key}\r\n\r\n",
    ):
        with socket.create_connection(("127.0.0.1", rp.port), timeout=5) as s:
            s.sendall(raw.encode())
            s.recv(65536)
    assert rp.proc.stop() == 0
    log = rp.proc.output()
    assert "Bad HTTP request line" in log or "Invalid header" in log  # mitmproxy did log it
    assert key not in log and key[8:] not in log


def test_memoized_match_key_respects_the_content_type(recorded, tmp_path):
    """Same body bytes, different Content-Type: decoded differently, so keyed apart."""
    cassette, truth = recorded
    rp = replay(tmp_path, cassette)
    body = (
        "account_holder[type]=customer&account_holder[customer]=cus_fakeReplay1"
        "&permissions[0]=balances&permissions[1]=payment_method&prefetch[0]=balances"
    )
    url = f"{rp.base}/v1/financial_connections/sessions"
    auth = {"Authorization": f"Bearer {CI_KEY}"}
    as_text = requests.post(
        url, data=body, timeout=10, headers={**auth, "Content-Type": "text/plain"}
    )
    assert as_text.status_code == 400 and as_text.headers["Fc-Cassette-Miss"] == "unmatched"
    as_form = requests.post(
        url,
        data=body,
        timeout=10,
        headers={**auth, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert as_form.status_code == 200 and as_form.json()["id"] == truth["created"].id
    assert rp.proc.stop() == 0


def test_a_body_that_cannot_be_decoded_is_an_explained_miss(recorded, tmp_path):
    """Its bytes could hide a secret: never quoted, never a crash; later requests work."""
    import gzip

    cassette, truth = recorded
    rp = replay(tmp_path, cassette)
    url = f"{rp.base}/v1/financial_connections/sessions"
    secret = "fcsess_client_secret_" + "fakeHiddenInGzip0123"
    with requests.Session() as http:  # closed before the proxy stops (see test_cli)
        for coding in ("compress", "gzip, x-unknown"):
            r = http.post(
                url,
                data=gzip.compress(secret.encode()),
                timeout=10,
                headers={
                    "Authorization": f"Bearer {CI_KEY}",
                    "Content-Encoding": coding,
                    "Content-Type": "application/x-www-form-urlencoded",
                },
            )
            assert r.status_code == 400 and r.headers["Fc-Cassette-Miss"] == "unmatched"
            assert "cannot be undone, so it cannot be matched" in r.json()["error"]["message"]
        ok = http.get(
            f"{url}/{truth['created'].id}",
            timeout=10,
            headers={"Authorization": f"Bearer {CI_KEY}"},
        )
        assert ok.status_code == 200
    assert rp.proc.stop() == 0
    log = rp.proc.output()
    assert (
        "fc-cassette replay miss: POST /v1/financial_connections/sessions: "
        "Content-Encoding 'compress' cannot be undone" in log
    )
    tracebacks = log[log.find("Traceback") :] if "Traceback" in log else ""
    assert "fc_cassette" not in tracebacks and "H4sI" not in log  # (mitmproxy 11 may print
    # an asyncio CancelledError traceback at shutdown: not ours)


def _connect_then_raw_bytes(proxy_port: int, target_port: int) -> None:
    """CONNECT, then bytes that are neither TLS nor HTTP: mitmproxy would open the
    upstream connection to pass them through, unless something refuses it."""
    with socket.create_connection(("127.0.0.1", proxy_port), timeout=10) as s:
        s.sendall(
            f"CONNECT 127.0.0.1:{target_port} HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{target_port}\r\n\r\n".encode()
        )
        s.recv(4096)
        s.sendall(b"\x00\x01 binary\r\n")
        s.settimeout(2)
        try:
            s.recv(4096)
        except OSError:
            pass


@pytest.mark.parametrize("command", [["replay"], ["record", "--record-mode", "none"]])
def test_modes_that_only_replay_never_connect_upstream_even_for_raw_bytes(
    recorded, tmp_path, sentinel, command
):
    cassette, _ = recorded
    rp = start([command[0], str(cassette), *command[1:], "--forward"], tmp_path, "p")
    _connect_then_raw_bytes(rp.port, sentinel.port)
    assert rp.proc.stop() == 0
    assert sentinel.accepted == 0
    log = rp.proc.output()
    assert "upstream connections attempted: 1" in log or "upstream connections refused 1" in log, (
        log
    )


def test_strict_counts_misses_from_before_a_rewind(recorded, tmp_path):
    """One proxy for several runs: a miss in the first still fails --strict."""
    cassette, _ = recorded
    rp = replay(tmp_path, cassette, "--strict")
    with requests.Session() as http:
        miss = http.get(f"{rp.base}/v1/charges", timeout=10)
        assert miss.status_code == 400
        # a control POST is JSON (docs/control-endpoint.md, docs/security.md)
        assert (
            http.post(f"{rp.base}/__fc_cassette__/rewind", json={}, timeout=10).json()["misses"]
            == []
        )
    assert rp.proc.stop() == 1
    assert "missed since start-up 1" in rp.proc.output()


def test_a_deeply_nested_json_body_is_an_explained_miss(recorded, tmp_path):
    """Not an internal error with a long traceback: kept as text, compared, explained."""
    cassette, _ = recorded
    rp = replay(tmp_path, cassette)
    with requests.Session() as http:
        r = http.post(
            f"{rp.base}/v1/financial_connections/sessions",
            timeout=30,
            data=b"[" * 5000 + b"]" * 5000,
            headers={"Content-Type": "application/json"},
        )
        assert r.status_code == 400 and r.headers["Fc-Cassette-Miss"] == "unmatched"
        assert "closest is interaction" in r.json()["error"]["message"]
    assert rp.proc.stop() == 0
    assert "RecursionError" not in rp.proc.output()


def test_a_compression_bomb_is_refused_quickly(recorded, tmp_path):
    """64 MB of zeros in 64 KB of gzip: stopped at 16 MiB, an explained miss, and the
    proxy keeps serving."""
    import gzip

    cassette, truth = recorded
    rp = replay(tmp_path, cassette)
    bomb = gzip.compress(b"0" * (64 << 20), compresslevel=9)
    with requests.Session() as http:
        r = http.post(
            f"{rp.base}/v1/financial_connections/sessions",
            data=bomb,
            timeout=30,
            headers={
                "Content-Encoding": "gzip",
                "Content-Type": "application/x-www-form-urlencoded",
            },
        )
        assert r.status_code == 400 and r.headers["Fc-Cassette-Miss"] == "unmatched"
        assert "larger than 16 MiB" in r.json()["error"]["message"]
        assert len(r.content) < 2000
        ok = http.get(
            f"{rp.base}/v1/financial_connections/sessions/{truth['created'].id}", timeout=10
        )
        assert ok.status_code == 200
    assert rp.proc.stop() == 0

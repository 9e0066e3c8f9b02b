"""A web page must not drive the proxy, and the control endpoint writes only cassettes
(issue #27; docs/security.md): browser-style attacks as real HTTP requests to real
``fc-cassette`` processes on 127.0.0.1."""

from __future__ import annotations

import http.client
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from builders import write_cassette
from fc_cassette.cassette import store as cio
from support import FC, Proc

SESSIONS = "/v1/financial_connections/sessions"
JSON = {"Content-Type": "application/json"}
BASHRC = "# my shell settings\nexport PATH=$HOME/bin:$PATH\n"


def _call(
    port: int, method: str, action: str, body: bytes | None = None, headers: dict | None = None
) -> tuple[int, dict]:
    """One raw control call: exactly these headers (plus the Host, unless given)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        hdrs = dict(headers or {})
        conn.putrequest(method, f"/__fc_cassette__/{action}", skip_host="Host" in hdrs)
        for name, value in {**hdrs, "Content-Length": str(len(body or b""))}.items():
            conn.putheader(name, value)
        conn.endheaders(body or b"")
        resp = conn.getresponse()
        raw = resp.read()
        return resp.status, (json.loads(raw) if raw else {})
    finally:
        conn.close()


@pytest.fixture
def world(tmp_path):
    """A project folder (the proxy's working directory: the default cassette root) with
    a cassette, and a HOME outside it holding a .bashrc."""
    root, home = tmp_path / "project", tmp_path / "home"
    (root / "cassettes").mkdir(parents=True)
    home.mkdir()
    (home / ".bashrc").write_text(BASHRC)
    a = write_cassette(root / "cassettes" / "a.yaml", "fcsess_fakeA")
    return root, home, Path(a)


def _proxy(tmp_path, args: list[str], cwd: Path, env: dict | None = None, name: str = "fc") -> Proc:
    return Proc(
        [FC, *args, "--port", "0", "--set", f"confdir={tmp_path / 'conf'}"],
        0,
        tmp_path / f"{name}.log",
        env=env,
        cwd=cwd,
    )


def _use_body(cassette: str, mode: str | None = None) -> bytes:
    return json.dumps({"cassette": cassette, **({"record_mode": mode} if mode else {})}).encode()


def test_browser_style_requests_are_refused_and_change_nothing(world, tmp_path):
    root, home, a = world
    proc = _proxy(tmp_path, ["replay", str(a)], cwd=root)
    try:
        port = proc.port
        evil = str(home / ".bashrc")
        # fetch(url, {method: "POST", mode: "no-cors", body: '{...}'}): text/plain
        no_cors = {
            "Content-Type": "text/plain;charset=UTF-8",
            "Origin": "http://evil.example",
            "Sec-Fetch-Site": "cross-site",
            "Sec-Fetch-Mode": "no-cors",
        }
        assert _call(port, "POST", "use", _use_body(evil, "none"), no_cors)[0] == 403
        # the same without the browser's headers: still text/plain, still refused
        assert (
            _call(port, "POST", "use", _use_body(str(a)), {"Content-Type": "text/plain"})[0] == 403
        )
        # an HTML form POST
        form = {"Content-Type": "application/x-www-form-urlencoded", "Origin": "null"}
        assert _call(port, "POST", "rewind", b"cassette=x", form)[0] == 403
        # a JSON POST from a page: it had to preflight (refused), and its Origin is not ours
        page = {**JSON, "Origin": "http://evil.example"}
        status, body = _call(port, "POST", "rewind", b"{}", page)
        assert status == 403 and "Origin" in body["error"] and body.get("refused") is True
        # DNS rebinding: evil.example resolved to 127.0.0.1; the page reads status ...
        rebound = {"Host": f"evil.example:{port}"}
        assert _call(port, "GET", "status", None, rebound)[0] == 403
        # ... and switches cassettes (same-origin to the browser: it may set JSON)
        status, body = _call(
            port,
            "POST",
            "use",
            _use_body(str(a)),
            {**rebound, **JSON, "Origin": f"http://evil.example:{port}"},
        )
        assert status == 403 and "Host" in body["error"]
        # a same-origin fetch from the rebound page without an Origin: Host and fetch metadata
        assert (
            _call(port, "GET", "status", None, {**rebound, "Sec-Fetch-Site": "same-origin"})[0]
            == 403
        )
        # the harness's own calls still work: loopback Host, JSON, no Origin
        status, body = _call(port, "GET", "status")
        assert status == 200 and body["served"] == 0 and body["cassette"].endswith("a.yaml")
        for origin in ("http://127.0.0.1:3000", "http://localhost", "http://[::1]:8080"):
            assert _call(port, "POST", "rewind", b"{}", {**JSON, "Origin": origin})[0] == 200
        assert _call(port, "GET", "status", None, {"Host": f"LOCALHOST:{port}"})[0] == 200
    finally:
        proc.stop()
    assert (home / ".bashrc").read_text() == BASHRC
    assert "refused a control request" in proc.output()


def test_the_bashrc_overwrite_is_refused(world, tmp_path, simulate):
    """The issue's attack, as a local process (JSON, no Origin) would send it: a `use` of
    a file outside the cassette root, by absolute path, by ``..`` and through a symlink,
    then an exchange that would have been recorded into it."""
    root, home, _ = world
    sim, _ = simulate
    bashrc = home / ".bashrc"
    (root / "cassettes" / "link.yaml").symlink_to(bashrc)
    proc = _proxy(
        tmp_path,
        ["record", str(root / "cassettes" / "new.yaml"), "--upstream", sim],
        cwd=root,
        name="rec",
    )
    try:
        port = proc.port
        for path in (
            str(bashrc),
            "../home/.bashrc",
            "cassettes/../../home/.bashrc",
            "cassettes/link.yaml",
        ):
            status, body = _call(port, "POST", "use", _use_body(path, "all"), JSON)
            assert status == 400, body
            assert body["field"] == "cassette" and "outside the cassette root" in body["error"]
        # the page's second step: an exchange that would land in the cassette in use
        r = requests.post(
            f"http://127.0.0.1:{port}{SESSIONS}",
            data={
                "account_holder[type]": "customer",
                "account_holder[customer]": "$(touch PWNED)",
                "permissions[]": "balances",
            },
            headers={"Authorization": "Bearer sk_test_FakeKeyForSecurity1"},
            timeout=30,
        )
        assert r.status_code in (400, 404) and "PWNED" in r.text  # recorded: the sim's answer
    finally:
        proc.stop()
    assert bashrc.read_text() == BASHRC  # untouched
    assert cio.load(root / "cassettes" / "new.yaml").interactions  # recorded where it may


def test_all_never_replaces_a_file_that_is_not_a_cassette(world, tmp_path, simulate):
    root, _, a = world
    sim, _ = simulate
    notes = root / "notes.yaml"
    notes.write_text("todo: keep this\n")
    proc = _proxy(tmp_path, ["record", str(a), "--upstream", sim], cwd=root, name="rec")
    try:
        status, body = _call(proc.port, "POST", "use", _use_body("notes.yaml", "all"), JSON)
        assert status == 400 and "not an fc-cassette cassette" in body["error"], body
        # a real cassette in the root is still re-recorded in 'all'
        assert _call(proc.port, "POST", "use", _use_body(str(a), "all"), JSON)[0] == 200
    finally:
        proc.stop()
    assert notes.read_text() == "todo: keep this\n"


def test_the_control_token_is_required_when_set(world, tmp_path):
    root, _, a = world
    token = "fake-control-token-for-the-test"
    proc = _proxy(tmp_path, ["replay", str(a)], cwd=root, env={"FC_CASSETTE_CONTROL_TOKEN": token})
    try:
        assert _call(proc.port, "GET", "status")[0] == 403
        assert (
            _call(proc.port, "GET", "status", None, {"X-FC-Cassette-Token": token[:-1] + "X"})[0]
            == 403
        )
        status, body = _call(proc.port, "GET", "status", None, {"X-FC-Cassette-Token": token})
        assert status == 200 and body["served"] == 0
        assert (
            _call(proc.port, "POST", "rewind", b"{}", {**JSON, "X-FC-Cassette-Token": token})[0]
            == 200
        )
    finally:
        proc.stop()
    assert token not in proc.output()


def test_a_redirect_into_the_control_endpoint_is_not_followed_into_it(tmp_path):
    """A recorded 307 to /__fc_cassette__/rewind, followed by an API client (requests,
    which the stripe SDK uses): the rewind is refused, so the miss before it still
    counts."""
    root = tmp_path / "project"
    root.mkdir()
    c = root / "c.yaml"
    w = cio.Writer(c, fsync=False)
    w.append(
        {
            "request": {
                "method": "POST",
                "path": SESSIONS,
                "query": {},
                "headers": {},
                "body": {"json": {}},
            },
            "response": {
                "status": 307,
                "headers": {"Location": "/__fc_cassette__/rewind"},
                "body": None,
            },
        }
    )
    w.close()
    proc = _proxy(tmp_path, ["replay", str(c)], cwd=root)
    try:
        base = f"http://127.0.0.1:{proc.port}"
        api = {
            "Authorization": "Bearer sk_test_FakeKeyForRedirects1",
            "Stripe-Version": "2024-06-20",
        }
        with requests.Session() as http_:  # follows redirects, as the SDKs' clients do
            http_.trust_env = False
            assert (
                http_.get(f"{base}/v1/charges/ch_missing", headers=api, timeout=30).status_code
                == 400
            )  # a miss
            # JSON, so only the API headers tell the followed redirect from a harness call
            r = http_.post(f"{base}{SESSIONS}", headers=api, json={}, timeout=30)
            assert r.status_code == 403 and r.history and r.history[0].status_code == 307
        status, body = _call(proc.port, "GET", "status")
        assert status == 200 and len(body["misses"]) == 1, body
    finally:
        proc.stop()
    assert "redirected to the control endpoint" in proc.output()


class _EchoHost(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        body = json.dumps({"id": "fcsess_fakeHost", "host": self.headers.get("Host")}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


def test_reverse_mode_still_sends_the_upstreams_host(world, tmp_path):
    """The proxy keeps the client's Host for its own checks, and still sends the
    upstream's Host upstream (as mitmproxy's reverse mode does)."""
    root, _, _ = world
    server = ThreadingHTTPServer(("127.0.0.1", 0), _EchoHost)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    up = server.server_address[1]
    proc = _proxy(
        tmp_path,
        ["record", str(root / "h.yaml"), "--upstream", f"http://127.0.0.1:{up}"],
        cwd=root,
        name="rec",
    )
    try:
        r = requests.get(
            f"http://127.0.0.1:{proc.port}{SESSIONS}/fcsess_fakeHost",
            headers={"Host": "client.example"},
            timeout=30,
        )
        assert r.status_code == 200, r.text
        assert r.json()["host"] == f"127.0.0.1:{up}"
    finally:
        proc.stop()
        server.shutdown()


@pytest.mark.parametrize("spelling", ["LOCALHOST", "localhost.", "0.0.0.0", "127.1", "127.0.0.1"])
def test_record_forward_never_forwards_to_itself(world, tmp_path, spelling):
    root, _, _ = world
    proc = _proxy(tmp_path, ["record", str(root / "f.yaml"), "--forward"], cwd=root)
    try:
        proxies = {"http": f"http://127.0.0.1:{proc.port}"}
        with requests.Session() as s:
            s.trust_env = False
            r = s.get(
                f"http://{spelling}:{proc.port}/v1/customers/cus_loop",
                proxies=proxies,
                headers={"Authorization": "Bearer sk_test_FakeKeyForLoops1"},
                timeout=60,
            )
        assert r.status_code >= 400
        assert "loop" in r.text or "own listening address" in r.text or r.status_code == 502
    finally:
        proc.stop()
    # one request in, none looped back in: a loop would have logged many
    assert proc.output().count("/v1/customers/cus_loop") <= 3, proc.output()


def _big_cassette(path: Path, n: int) -> None:
    """A valid cassette of ``n`` interactions, written as text (fast)."""
    header = cio.serialize(cio.new_header(None))
    one = cio.serialize(
        {
            "seq": 0,
            "request": {
                "method": "GET",
                "path": f"{SESSIONS}/fcsess_fakeBIG",
                "query": {"n": "N"},
                "headers": {},
                "body": None,
            },
            "response": {
                "status": 200,
                "headers": {"Content-Type": "application/json"},
                "body": {
                    "json": {
                        "id": "fcsess_fakeBIG",
                        "object": "financial_connections.session",
                        "accounts": {"data": [], "has_more": False},
                    }
                },
            },
        }
    )
    with open(path, "w") as fh:
        fh.write(header)
        for i in range(1, n + 1):
            fh.write(one.replace("seq: 0", f"seq: {i}", 1).replace("n: N", f"n: '{i}'", 1))


def test_a_use_of_a_large_cassette_does_not_stop_other_clients(world, tmp_path):
    """The large cassette is parsed off the event loop: requests on the cassette in use
    keep being answered while the `use` is in flight (ordering, not timing)."""
    root, _, a = world
    big = root / "cassettes" / "big.yaml"
    _big_cassette(big, 10000)
    proc = _proxy(tmp_path, ["replay", str(a)], cwd=root)
    port = proc.port
    done = threading.Event()
    answer: dict = {}

    def switch() -> None:
        answer["use"] = _call(port, "POST", "use", _use_body(str(big)), JSON)
        done.set()

    served_meanwhile = 0
    try:
        with requests.Session() as s:
            s.trust_env = False
            url = f"http://127.0.0.1:{port}{SESSIONS}/fcsess_fakeA"
            assert s.get(url, timeout=30).status_code == 200  # on a
            assert _call(port, "POST", "rewind", b"{}", JSON)[0] == 200
            threading.Thread(target=switch, daemon=True).start()
            while not done.is_set():
                r = s.get(url, timeout=120)
                if r.status_code != 200:  # the switch completed: big.yaml answers now
                    assert "big.yaml" in r.text, r.text
                    break
                served_meanwhile += 1  # a, while the use was in flight (or just before)
                assert _call(port, "POST", "rewind", b"{}", JSON)[0] == 200
            assert done.wait(300)
        status, body = answer["use"]
        assert status == 200 and body["cassette"].endswith("big.yaml"), body
        # before, the proxy answered nothing during the parse: at most the request or
        # two that arrived before the use; now the clients go on being served
        assert served_meanwhile >= 5, served_meanwhile
    finally:
        proc.stop()


def test_the_harness_proxies_always_use_a_fresh_token(world, tmp_path):
    """The pytest plugin's and the Python API's proxies (harness.pool) are started with
    a random control token each, passed in their environment and sent with each call:
    a call without it is refused, and two proxies never share one."""
    from fc_cassette.harness.pool import Pool

    root, _, a = world
    pools = [Pool("https://api.stripe.com", tmp_path / f"h{n}", root) for n in (1, 2)]
    try:
        procs = []
        for pool in pools:
            pool.tmp.mkdir()
            procs.append(pool.get("replay", None, a, "none"))
        tokens = {p.token for p in procs}
        assert len(tokens) == 2 and all(len(t) >= 32 for t in tokens)
        for p in procs:
            assert p.call("GET", "status")["served"] == 0  # the harness's own call
            assert _call(p.port, "GET", "status")[0] == 403  # anyone else's
            assert p.token not in " ".join(p.process.args)  # not on its command line
    finally:
        for pool in pools:
            pool.stop_all()

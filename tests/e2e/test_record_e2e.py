"""End to end: ``fc-cassette record`` (a real mitmdump) in front of ``fc-cassette simulate``.

The real stripe SDK drives it; the cassette and the proxy's log are searched for every
key and client secret used in the run, raw and encoded.
"""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest
import requests
import stripe

from fc_cassette.cassette import store as cio
from fc_cassette.redact import scan
from support import dead_url, encoded_forms, start

KEY = "sk_test_" + "fakeRecordE2EKey0123456789"
CREATE = {
    "account_holder": {"type": "customer", "customer": "cus_fakeRec1"},
    "permissions": ["balances", "ownership", "payment_method"],
    "prefetch": ["balances", "ownership"],
    "filters": {"countries": ["US"]},
    "return_url": "https://example.test/return",
}


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    stack = start(["simulate", "--seed", "7"], tmp_path_factory.mktemp("sim"), "sim")
    yield stack
    assert stack.proc.stop() == 0


def record(tmp_path, cassette, upstream, *extra, name="rec"):
    return start(["record", str(cassette), "--upstream", upstream, *extra], tmp_path, name)


def test_record_sdk_traffic_redacted_validated_and_complete(sim, tmp_path):
    cassette = tmp_path / "fc.yaml"
    rec = record(tmp_path, cassette, sim.base)
    client = rec.client(KEY)
    sessions = client.v1.financial_connections.sessions
    s = sessions.create(params=CREATE)
    secret = s.client_secret
    assert secret.startswith("fcsess_client_secret_") and "REDACTED" not in secret
    first = sessions.retrieve(s.id)
    rec.complete(s.id, KEY)  # the simulator's completion: recorded like any call
    second = sessions.retrieve(s.id, params={"expand": ["accounts"]})
    assert len(first.accounts.data) == 0 and len(second.accounts.data) == 2
    with pytest.raises(stripe.InvalidRequestError):
        sessions.create(params={**CREATE, "permissions": ["nope"]})
    with pytest.raises(stripe.InvalidRequestError) as missing:
        sessions.retrieve("fcsess_fakeMissing1")
    assert missing.value.http_status == 404
    assert rec.proc.stop() == 0
    log = rec.proc.output()

    c = cio.load(cassette)
    assert c.header["stripe_version"] == "2026-10-28.endive"
    got = [
        (i["request"]["method"], i["request"]["path"], i["response"]["status"])
        for i in c.interactions
    ]
    sid = s.id
    assert got == [
        ("POST", "/v1/financial_connections/sessions", 200),
        ("GET", f"/v1/financial_connections/sessions/{sid}", 200),
        ("POST", f"/_simulator/financial_connections/sessions/{sid}/complete", 200),
        ("GET", f"/v1/financial_connections/sessions/{sid}", 200),
        ("POST", "/v1/financial_connections/sessions", 400),
        ("GET", "/v1/financial_connections/sessions/fcsess_fakeMissing1", 404),
    ]
    create, r1, _complete, r2, bad, nf = c.interactions
    assert create["request"]["body"]["form"]["permissions"] == CREATE["permissions"]
    assert create["request"]["headers"]["Authorization"] == "Bearer sk_test_REDACTED_1"
    assert create["response"]["body"]["json"]["client_secret"] == "fcsess_client_secret_REDACTED_1"
    assert r2["request"]["query"] == {"expand": ["accounts"]}
    assert [a["balance"]["type"] for a in r2["response"]["body"]["json"]["accounts"]["data"]] == [
        "cash",
        "credit",
    ]
    assert create["validation"]["request"]["valid"] and create["validation"]["response"]["valid"]
    assert bad["validation"]["request"]["valid"] is False  # invalid traffic is kept
    assert bad["validation"]["response"]["valid"] is True  # as a Stripe error body
    assert nf["response"]["body"]["json"]["error"]["code"] == "resource_missing"
    assert not any("duration_ms" in i for i in c.interactions)  # record.timing: false
    for i in c.interactions:  # volatile and fingerprinting headers are dropped
        names = {h.lower() for h in i["request"]["headers"]}
        assert not names & {
            "idempotency-key",
            "x-stripe-client-user-agent",
            "x-stripe-client-telemetry",
        }

    text = cassette.read_text()
    for leaked in encoded_forms(KEY) + encoded_forms(secret):
        assert leaked not in text, leaked
        assert leaked not in log, leaked
    assert scan(text) == []
    assert "#1 POST /v1/financial_connections/sessions -> 200" in log


def test_record_mode_once_records_then_replays_offline(sim, tmp_path):
    cassette = tmp_path / "once.yaml"
    rec = record(tmp_path, cassette, sim.base)
    s = rec.client(KEY).v1.financial_connections.sessions.create(params=CREATE)
    assert rec.proc.stop() == 0
    before = cassette.read_bytes()
    dead = dead_url()  # nothing listens here (a port bound, then closed)
    rec2 = record(tmp_path, cassette, dead, name="rec2")
    # a live key too: nothing is forwarded, so it is served like replay (not refused)
    again = rec2.client("sk_live_" + "fakeOtherKey0123456789").v1.financial_connections.sessions
    assert again.create(params=CREATE).id == s.id  # served from the cassette
    with pytest.raises(stripe.InvalidRequestError) as e:  # a new request is a miss
        again.create(params={**CREATE, "prefetch": ["balances"]})
    assert "fc-cassette replay miss" in str(e.value)
    # replaying only: a request the cassette does not hold is not forwarded either
    r = requests.get(
        f"{rec2.base}/v1/customers/cus_fake1",
        timeout=10,
        headers={"Authorization": f"Bearer {KEY}"},
    )
    assert r.status_code == 400 and r.headers["Fc-Cassette-Miss"] == "unmatched"
    assert rec2.proc.stop() == 0
    assert cassette.read_bytes() == before


def test_record_mode_new_episodes_appends_only_new_requests(sim, tmp_path):
    cassette = tmp_path / "ne.yaml"
    rec = record(tmp_path, cassette, sim.base)
    s = rec.client(KEY).v1.financial_connections.sessions.create(params=CREATE)
    assert rec.proc.stop() == 0
    rec2 = record(tmp_path, cassette, sim.base, "--record-mode", "new_episodes", name="rec2")
    sessions = rec2.client(KEY).v1.financial_connections.sessions
    assert sessions.create(params=CREATE).id == s.id  # replayed, not re-recorded
    got = sessions.retrieve(s.id)  # new: forwarded and recorded
    assert rec2.proc.stop() == 0
    c = cio.load(cassette)
    assert [(i["seq"], i["request"]["method"]) for i in c.interactions] == [(1, "POST"), (2, "GET")]
    assert c.interactions[1]["response"]["body"]["json"]["id"] == got.id
    # new_episodes numbers this run's secrets from 1, as replay numbers a request's: the
    # same key is placeholder 1 in the old and the new interactions (issue #26, item 4)
    assert c.interactions[0]["request"]["headers"]["Authorization"] == "Bearer sk_test_REDACTED_1"
    assert c.interactions[1]["request"]["headers"]["Authorization"] == "Bearer sk_test_REDACTED_1"


def test_record_mode_all_replaces_and_none_only_replays(sim, tmp_path):
    cassette = tmp_path / "all.yaml"
    rec = record(tmp_path, cassette, sim.base)
    rec.client(KEY).v1.financial_connections.sessions.create(params=CREATE)
    assert rec.proc.stop() == 0
    rec2 = record(tmp_path, cassette, sim.base, "--record-mode", "all", name="rec2")
    sessions = rec2.client(KEY).v1.financial_connections.sessions
    s2 = sessions.create(params=CREATE)
    sessions.retrieve(s2.id)
    assert rec2.proc.stop() == 0
    c = cio.load(cassette)
    assert len(c.interactions) == 2
    assert c.interactions[0]["response"]["body"]["json"]["id"] == s2.id

    dead = dead_url()  # nothing listens here (a port bound, then closed)
    rec3 = record(tmp_path, cassette, dead, "--record-mode", "none", name="rec3")
    assert rec3.client(KEY).v1.financial_connections.sessions.retrieve(s2.id).id == s2.id
    assert rec3.proc.stop() == 0
    assert len(cio.load(cassette).interactions) == 2


def test_one_recorder_per_cassette(sim, tmp_path):
    """A second recorder on a cassette being recorded fails at start, naming the first;
    replaying it meanwhile is fine; once the first stops, recording it works again."""
    from support import run_fc

    cassette = tmp_path / "busy.yaml"
    lock = tmp_path / ".busy.yaml.lock"
    rec = record(tmp_path, cassette, sim.base)
    sessions = rec.client(KEY).v1.financial_connections.sessions
    s = sessions.create(params=CREATE)
    assert lock.read_text() == f"{rec.proc.popen.pid}\n"
    for mode in ("new_episodes", "all"):  # (once on an existing cassette only replays)
        r = run_fc(
            [
                "record",
                str(cassette),
                "--record-mode",
                mode,
                "--upstream",
                sim.base,
                "--port",
                "0",
                "--set",
                f"confdir={tmp_path / 'mitmconf'}",
            ]
        )
        assert r.returncode == 1 and r.stdout == "", (mode, r.stderr)
        assert r.stderr.splitlines() == [
            f"fc-cassette: {cassette}: being recorded by another fc-cassette "
            f"(pid {rec.proc.popen.pid}); stop it first (lock file {lock})"
        ], mode
    replay = start(["replay", str(cassette)], tmp_path, "replay")  # readers need no lock
    assert replay.client(KEY).v1.financial_connections.sessions.create(params=CREATE).id == s.id
    assert replay.proc.stop() == 0
    sessions.retrieve(s.id)  # the first recorder was not disturbed
    assert rec.proc.stop() == 0
    assert not lock.exists()
    assert [i["seq"] for i in cio.load(cassette).interactions] == [1, 2]
    rec2 = record(tmp_path, cassette, sim.base, "--record-mode", "new_episodes", name="rec2")
    rec2.client(KEY).v1.financial_connections.sessions.retrieve(
        s.id, params={"expand": ["accounts"]}
    )
    assert rec2.proc.stop() == 0
    assert [i["seq"] for i in cio.load(cassette).interactions] == [1, 2, 3]


def test_an_unreachable_upstream_is_logged_not_recorded(tmp_path):
    cassette = tmp_path / "dead.yaml"
    dead = dead_url()  # nothing listens here (a port bound, then closed)
    rec = record(tmp_path, cassette, dead)
    r = requests.get(
        f"{rec.base}/v1/financial_connections/sessions/fcsess_fakeDead1",
        params={"k": KEY},
        headers={"Authorization": f"Bearer {KEY}"},
        timeout=10,
    )
    assert r.status_code == 502
    assert rec.proc.stop() == 1  # the cassette lacks an in-scope exchange: exit 1
    log = rec.proc.output()
    assert (
        "fc-cassette record: NOT recorded GET /v1/financial_connections/sessions/"
        "fcsess_fakeDead1: no response from upstream:"
    ) in log
    assert "failed 0, no response 1" in log
    assert "1 in-scope exchange(s) not recorded (0 response(s) withheld" in log
    assert KEY not in log and not cassette.exists()


def test_record_mode_none_without_cassette_is_a_clear_start_up_error(tmp_path):
    from support import run_fc

    r = run_fc(["record", str(tmp_path / "nope.yaml"), "--record-mode", "none", "--port", "0"])
    assert r.returncode == 1
    assert "no such cassette" in r.stderr and "Traceback" not in r.stderr + r.stdout


def test_live_keys_are_refused_and_nothing_is_forwarded(sim, tmp_path):
    cassette = tmp_path / "live.yaml"
    rec = record(tmp_path, cassette, sim.base)
    live = "sk_live_" + "fakeLiveKey0123456789"
    with pytest.raises(stripe.PermissionError) as e:
        rec.client(live).v1.financial_connections.sessions.create(params=CREATE)
    assert e.value.json_body["error"]["code"] == "fc_cassette_live_key_refused"
    r = requests.post(
        f"{rec.base}/v1/financial_connections/sessions",
        auth=("rk_live_" + "fakeRestricted0123456", ""),
        data={"permissions[]": "x"},
        timeout=10,
    )
    assert r.status_code == 403
    import base64  # an unpadded Basic credential (lenient servers accept it) is caught too

    unpadded = base64.b64encode(f"{live}:".encode()).decode().rstrip("=")
    r = requests.post(
        f"{rec.base}/v1/financial_connections/sessions",
        headers={"Authorization": f"Basic {unpadded}"},
        timeout=10,
    )
    assert r.status_code == 403
    assert rec.proc.stop() == 0
    assert not cassette.exists()
    log = rec.proc.output() + sim.proc.output()
    for leaked in encoded_forms(live):
        assert leaked not in log


def test_sigkill_mid_traffic_loses_no_answered_interaction(sim, tmp_path):
    cassette = tmp_path / "crash.yaml"
    rec = record(tmp_path, cassette, sim.base)
    answered: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def client_loop(n: int) -> None:
        s = requests.Session()
        form = {
            "account_holder[type]": "customer",
            "account_holder[customer]": f"cus_fake{n}",
            "permissions[0]": "balances",
        }
        while not stop.is_set():
            try:
                r = s.post(
                    f"{rec.base}/v1/financial_connections/sessions",
                    data=form,
                    headers={"Authorization": f"Bearer {KEY}"},
                    timeout=5,
                )
            except requests.RequestException:
                return
            if r.status_code == 200:
                with lock:
                    answered.append(r.json()["id"])

    threads = [threading.Thread(target=client_loop, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 20
    while len(answered) < 40 and time.monotonic() < deadline:
        time.sleep(0.01)
    os.killpg(rec.proc.popen.pid, signal.SIGKILL)  # mid-traffic, no clean shutdown
    rec.proc.popen.wait(10)
    stop.set()
    for t in threads:
        t.join(10)
    assert len(answered) >= 40
    c = cio.load(cassette)
    recorded = [i["response"]["body"]["json"]["id"] for i in c.interactions]
    assert set(answered) <= set(recorded)
    assert [i["seq"] for i in c.interactions] == list(range(1, len(recorded) + 1))
    assert len(set(recorded)) == len(recorded)  # no entry written twice or interleaved


def test_forward_mode_record_then_reverse_mode_replay(sim, tmp_path):
    """The SDK keeps calling https://api.stripe.com through the recording proxy (trusting
    its CA); the recorder's own upstream is the simulator, itself a forward proxy, so
    nothing leaves the machine. The cassette then replays in reverse mode."""
    cassette = tmp_path / "fw.yaml"
    rec = start(
        [
            "record",
            str(cassette),
            "--forward",
            "--set",
            f"mode=upstream:{sim.base}",  # chain to the simulator proxy
            "--set",
            "ssl_insecure=true",
        ],
        tmp_path,
        "rec",
    )  # which has its own CA
    old = stripe.ca_bundle_path
    stripe.ca_bundle_path = str(rec.ca)
    try:
        client = stripe.StripeClient(KEY, proxy=rec.base, max_network_retries=0)
        s = client.v1.financial_connections.sessions.create(params=CREATE)
        client.v1.financial_connections.sessions.retrieve(s.id)
    finally:
        stripe.ca_bundle_path = old
    assert rec.proc.stop() == 0
    c = cio.load(cassette)
    assert [
        (i["request"]["scheme"], i["request"]["host"], i["request"]["method"])
        for i in c.interactions
    ] == [("https", "api.stripe.com", "POST"), ("https", "api.stripe.com", "GET")]
    assert KEY not in cassette.read_text()
    rp = start(["replay", str(cassette), "--strict"], tmp_path, "replay")
    again = rp.client("sk_test_" + "fakeOtherKey0123456789").v1.financial_connections.sessions
    assert again.create(params=CREATE).id == s.id
    assert again.retrieve(s.id).id == s.id
    assert rp.proc.stop() == 0

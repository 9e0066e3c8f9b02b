"""End to end: ``fc-cassette export --format har`` and ``fc-cassette import`` (issue #24).

A cassette recorded through a real record proxy goes out as HAR 1.2 (read back by
mitmproxy's own HAR loader) and comes back as a cassette that replays ``--strict``
with the real stripe SDK. A real ``mitmdump -w`` capture, whose responses hold a raw
client secret and whose requests hold the raw API key, imports with nothing raw on
disk; out-of-scope flows are skipped and counted.
"""

from __future__ import annotations

import json
import signal

import pytest
import requests

from fc_cassette.cassette import store as cio
from support import MITMDUMP, Proc, encoded_forms, run_fc, start

KEY = "sk_test_" + "fakeHarImportKey0123456789"
CREATE = {
    "account_holder": {"type": "customer", "customer": "cus_fakeHar1"},
    "permissions": ["balances"],
    "prefetch": ["balances"],
}


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    stack = start(["simulate", "--seed", "42"], tmp_path_factory.mktemp("sim"), "sim")
    yield stack
    assert stack.proc.stop() == 0


def test_har_export_then_import_replays_strict(sim, tmp_path):
    cassette = tmp_path / "flow.yaml"
    rec = start(["record", str(cassette), "--upstream", sim.base], tmp_path, "rec")
    sessions = rec.client(KEY).v1.financial_connections.sessions
    sid = sessions.create(params=CREATE).id
    sessions.retrieve(sid)
    assert rec.proc.stop() == 0

    har = tmp_path / "flow.har"
    r = run_fc(["export", str(cassette), "--format", "har", "-o", str(har)])
    assert r.returncode == 0, r.stderr
    data = json.loads(har.read_text())
    assert data["log"]["version"] == "1.2"
    entries = data["log"]["entries"]
    assert [e["request"]["method"] for e in entries] == ["POST", "GET"]
    assert entries[1]["request"]["url"].endswith(f"/v1/financial_connections/sessions/{sid}")
    from mitmproxy.io import FlowReader  # mitmproxy's own HAR loader reads it

    with open(har, "rb") as fh:
        flows = list(FlowReader(fh).stream())
    assert [f.response.status_code for f in flows] == [200, 200]
    assert json.loads(flows[0].response.content)["id"] == sid

    back = tmp_path / "back.yaml"
    r = run_fc(["import", str(har), "-o", str(back)])
    assert r.returncode == 0, r.stderr
    assert "imported 2 exchange(s)" in r.stdout
    assert run_fc(["diff", str(cassette), str(back)]).returncode == 0  # the same exchanges
    assert run_fc(["verify", str(back)]).returncode == 0
    rep = start(["replay", str(back), "--strict"], tmp_path, "replay")
    client = rep.client("sk_test_" + "fakeOtherKey42").v1.financial_connections.sessions
    assert client.create(params=CREATE).id == sid
    assert client.retrieve(sid).id == sid
    assert rep.proc.stop() == 0, rep.proc.output()
    # import never overwrites
    again = run_fc(["import", str(har), "-o", str(back)])
    assert again.returncode == 2
    assert again.stderr.strip() == (
        f"fc-cassette: import: {back} exists; import writes a new "
        "cassette (choose another -o, or remove it first)"
    )


def test_a_mitmdump_capture_with_raw_secrets_imports_with_nothing_raw_on_disk(sim, tmp_path):
    flows = tmp_path / "capture.mitm"
    dump = Proc(
        [
            MITMDUMP,
            "--listen-host",
            "127.0.0.1",
            "-p",
            "0",
            "--mode",
            f"reverse:{sim.base}",
            "-w",
            str(flows),
            "--set",
            f"confdir={tmp_path / 'conf'}",
        ],
        0,
        tmp_path / "mitmdump.log",
    )
    base = f"http://127.0.0.1:{dump.port}"
    auth = {"Authorization": f"Bearer {KEY}"}
    created = requests.post(
        f"{base}/v1/financial_connections/sessions",
        headers=auth,
        data={
            "account_holder[type]": "customer",
            "account_holder[customer]": "cus_fakeHar2",
            "permissions[]": "balances",
        },
        timeout=30,
    ).json()
    secret = created["client_secret"]
    assert "_secret_" in secret
    # the app echoes the client secret back in a query, as some do (the simulator
    # refuses the unknown parameter: a 400, recorded as it was answered)
    echoed = requests.get(
        f"{base}/v1/financial_connections/sessions/{created['id']}",
        headers=auth,
        params={"client_secret": secret},
        timeout=30,
    )
    assert echoed.status_code == 400
    requests.get(f"{base}/not-stripe/health", timeout=30)  # outside the scope below
    assert dump.stop(signal.SIGINT) == 0
    raw = flows.read_bytes()
    assert secret.encode() in raw and KEY.encode() in raw  # the capture holds them raw

    config = tmp_path / "fc.yaml"
    config.write_text("scope:\n  paths: ['^/v1/']\n")
    cassette = tmp_path / "out" / "imported.yaml"
    cassette.parent.mkdir()
    r = run_fc(["import", str(flows), "-o", str(cassette), "--config", str(config)])
    assert r.returncode == 0, r.stderr
    assert "imported 2 exchange(s)" in r.stdout and "skipped 1 out of scope" in r.stdout
    loaded = cio.load(cassette)
    assert [i["request"]["method"] for i in loaded.interactions] == ["POST", "GET"]
    assert loaded.interactions[0]["response"]["body"]["json"]["id"] == created["id"]
    on_disk = "".join(p.read_text(errors="replace") for p in cassette.parent.iterdir())
    assert [p.name for p in cassette.parent.iterdir()] == ["imported.yaml"]
    for value in (secret, KEY):
        for form in encoded_forms(value):
            assert form not in on_disk and form not in r.stdout + r.stderr
    placeholder = loaded.interactions[0]["response"]["body"]["json"]["client_secret"]
    # one secret, one placeholder: the echoed copy in the query got the same one
    assert loaded.interactions[1]["request"]["query"]["client_secret"] == placeholder
    assert run_fc(["verify", str(cassette)]).returncode == 0
    assert run_fc(["audit", str(cassette)]).returncode == 0


def test_import_refuses_what_is_not_a_capture(tmp_path):
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"\x00\x01 not a capture")
    r = run_fc(["import", str(junk), "-o", str(tmp_path / "c.yaml")])
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"fc-cassette: import: {junk}: neither")
    assert not (tmp_path / "c.yaml").exists()

"""Issue #26, item 16: stripe-node in forward mode, as docs/forward-mode.md says: it
ignores HTTPS_PROXY, so it gets an ``httpAgent`` (https-proxy-agent) and trusts the
proxy's CA through ``NODE_EXTRA_CA_CERTS``. Records through a forward-mode recorder
chained to the simulator, then replays under ``--strict``. Skipped cleanly when node
or npm is absent, or the npm registry cannot be reached."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from fc_cassette.cassette import store as cio
from support import start, stripe_node

KEY = "sk_test_" + "FakeNodeKey0000001"
APP = """
const Stripe = require("stripe");
const { HttpsProxyAgent } = require("https-proxy-agent");
const stripe = new Stripe(process.env.KEY, {
  httpAgent: new HttpsProxyAgent(process.env.PROXY), maxNetworkRetries: 0,
});
stripe.financialConnections.sessions.create({
  account_holder: {type: "customer", customer: "cus_FakeNode"}, permissions: ["balances"],
}).then((s) => console.log(JSON.stringify({id: s.id})))
  .catch((e) => { console.error(e.message); process.exit(1); });
"""


@pytest.fixture(scope="module")
def node_app(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    app = tmp_path_factory.mktemp("node_app")
    (app / "app.js").write_text(APP)
    return app, stripe_node(tmp_path_factory)


def run_app(node_app: tuple[Path, dict[str, str]], stack) -> dict:
    app, node_env = node_app
    env = {**node_env, "KEY": KEY, "PROXY": stack.base, "NODE_EXTRA_CA_CERTS": str(stack.ca)}
    env.pop("HTTPS_PROXY", None)
    r = subprocess.run(
        ["node", "app.js"],
        cwd=app,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        stdin=subprocess.DEVNULL,
    )
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_stripe_node_records_and_replays_in_forward_mode(node_app, tmp_path):
    cassette = tmp_path / "node.yaml"
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
        recorded = run_app(node_app, rec)
        assert rec.proc.stop() == 0, rec.proc.output()
    finally:
        sim.proc.stop()
    assert recorded["id"].startswith("fcsess_")
    assert [it["request"]["host"] for it in cio.load(cassette).interactions] == ["api.stripe.com"]
    rep = start(["replay", str(cassette), "--forward", "--strict"], tmp_path, "rep")
    assert run_app(node_app, rep) == recorded
    assert rep.proc.stop() == 0, rep.proc.output()

"""Issue #22 end to end: a real ``fc-cassette simulate`` delivers signed events to a real
app (http.server on 127.0.0.1); stripe-python's ``construct_event`` (and stripe-node's
``constructEvent`` when node and npm are there) accept them with the right secret and
reject them with a wrong one or a tampered body; a refresh settles by itself."""

from __future__ import annotations

import json
import subprocess

import pytest
import stripe

from support import start, stripe_node
from webhook_app import App

KEY = "sk_test_FakeHooksE2E123"
SECRET = "whsec_FakeHooksE2ESecret"
ACC = "financial_connections.account."
CREATE = {
    "account_holder": {"type": "customer", "customer": "cus_FakeHooks"},
    "permissions": ["balances", "transactions"],
}
NODE_VERIFY = """
const Stripe = require('stripe');
const fs = require('fs');
const [body, header, secret] = [fs.readFileSync(process.argv[2]), process.argv[3], process.argv[4]];
try {
  const ev = Stripe('sk_test_FakeNode').webhooks.constructEvent(body, header, secret);
  console.log('ok ' + ev.id);
} catch (e) { console.log('rejected ' + e.type); }
"""


@pytest.fixture(scope="module")
def flow(tmp_path_factory):
    """simulate -> session, completion (2 accounts), refresh, then nothing: the events."""
    tmp = tmp_path_factory.mktemp("hooks")
    app = App()
    stack = start(
        ["simulate", "--seed", "2", "--webhook-url", app.url, "--webhook-secret", SECRET],
        tmp,
        "sim",
    )
    try:
        client = stack.client(KEY)
        session = client.v1.financial_connections.sessions.create(params=CREATE)
        linked = stack.complete(session.id, KEY, accounts=2)
        acc = linked["accounts"]["data"][0]["id"]
        refreshed = client.v1.financial_connections.accounts.refresh(
            acc, params={"features": ["balance"]}
        )
        assert refreshed.balance_refresh.status == "pending"
        got = app.wait(3)  # two created, then refreshed_balance with no request after it
        yield {"app": app, "got": got, "acc": acc, "stack": stack, "tmp": tmp}
    finally:
        out = stack.proc.output()
        assert stack.proc.stop() == 0, out
        app.close()
    assert SECRET not in out


def test_signed_events_arrive_in_order_and_the_sdk_accepts_them(flow):
    got = flow["got"]
    events = [
        stripe.Webhook.construct_event(r.body, r.headers["Stripe-Signature"], SECRET)
        for r in got[:3]
    ]
    assert [e.type for e in events] == [ACC + "created", ACC + "created", ACC + "refreshed_balance"]
    assert events[2].data.object.id == flow["acc"]
    assert events[2].data.object.balance_refresh.status == "succeeded"
    assert events[2].request.id is None
    assert all(r.headers["User-Agent"].startswith("Stripe/1.0") for r in got)


def test_a_wrong_secret_or_a_tampered_body_is_rejected(flow):
    r = flow["got"][0]
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(r.body, r.headers["Stripe-Signature"], "whsec_FakeOther")
    tampered = r.body.replace(b'"livemode": false', b'"livemode": true', 1)
    assert tampered != r.body
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(tampered, r.headers["Stripe-Signature"], SECRET)


def test_the_events_api_lists_what_was_delivered(flow):
    client = flow["stack"].client(KEY)
    listed = client.v1.events.list(params={"type": ACC + "*"})
    delivered = [json.loads(r.body)["id"] for r in flow["got"][:3]]
    assert [e.id for e in listed.data] == delivered[::-1]
    assert client.v1.events.retrieve(delivered[0]).type == ACC + "created"


def test_webhook_endpoint_created_through_the_api_gets_its_events(flow):
    client = flow["stack"].client(KEY)
    with App() as other:
        ep = client.v1.webhook_endpoints.create(
            params={"url": other.url, "enabled_events": [ACC + "disconnected"]}
        )
        assert ep.secret.startswith("whsec_")
        client.v1.financial_connections.accounts.disconnect(flow["acc"])
        got = other.wait(1)
        event = stripe.Webhook.construct_event(
            got[0].body, got[0].headers["Stripe-Signature"], ep.secret
        )
        assert event.type == ACC + "disconnected"
        assert client.v1.webhook_endpoints.delete(ep.id).deleted is True


def test_stripe_node_accepts_and_rejects_the_same(flow, tmp_path_factory, tmp_path):
    env = stripe_node(tmp_path_factory)
    where = tmp_path
    script = where / "verify.js"
    script.write_text(NODE_VERIFY)
    r = flow["got"][0]
    body = where / "body.json"

    def verify(payload: bytes, secret: str) -> str:
        body.write_bytes(payload)
        return subprocess.run(
            ["node", str(script), str(body), r.headers["Stripe-Signature"], secret],
            cwd=where,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        ).stdout.strip()

    assert verify(r.body, SECRET) == "ok " + json.loads(r.body)["id"]
    assert verify(r.body, "whsec_FakeOther").startswith("rejected")
    assert verify(r.body + b" ", SECRET).startswith("rejected")


@pytest.mark.parametrize(
    "args, words",
    [
        (["--webhook-url", "http://127.0.0.1:9/h"], "0 secret(s)"),
        (
            ["--webhook-url", "http://127.0.0.1:9/h", "--webhook-secret", "sk_test_FakeNope"],
            "--webhook-secret (hidden): must be a webhook signing secret",
        ),
        (["--webhook-url", "ftp://x", "--webhook-secret", SECRET], "--webhook-url ftp://x"),
    ],
)
def test_bad_webhook_flags_are_one_line(args, words, tmp_path):
    from support import run_fc

    done = run_fc(["simulate", "--port", "0", "--set", f"confdir={tmp_path}", *args])
    assert done.returncode != 0
    lines = [ln for ln in (done.stdout + done.stderr).splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("fc-cassette:") and words in lines[0], lines
    assert "sk_test_FakeNope" not in done.stderr and "Traceback" not in done.stderr

"""Miss explanations as a client sees them through a real replay proxy."""

from __future__ import annotations

import json

import pytest
import requests

from builders import match_request
from fc_cassette.cassette import store as cio
from support import start

SESSIONS = "/v1/financial_connections/sessions"
CREATE = {
    "account_holder": {"type": "customer", "customer": "cus_1"},
    "permissions": ["balances", "payment_method"],
}


req = match_request


@pytest.fixture
def proxy(tmp_path):
    path = tmp_path / "c.yaml"
    w = cio.Writer(path, fsync=False)
    for r in (
        req("GET", f"{SESSIONS}/fcsess_1Abc"),
        req(form=CREATE, headers={"Stripe-Account": "acct_1"}),
    ):
        w.append(
            {
                "request": r,
                "response": {
                    "status": 200,
                    "headers": {"Content-Type": "application/json"},
                    "body": {"json": {"id": "fcsess_1Abc"}},
                },
            }
        )
    w.close()
    rp = start(["replay", str(path)], tmp_path, "replay")
    yield rp, path
    rp.proc.stop()


def test_miss_messages_through_a_real_replay_proxy(proxy):
    rp, path = proxy
    base = f"{rp.base}{SESSIONS}"

    def message(r: requests.Response) -> list[str]:
        assert r.status_code == 400
        return r.json()["error"]["message"].split("\n")

    first, fix = message(requests.get(f"{base}/fcsess_1Abc", params={"foo": "bar"}, timeout=10))
    assert first.endswith("query.foo: recorded nothing, got 'bar'") and "query: " not in first
    # it names fcsess_1Abc, which the cassette returned: new_episodes would get a 404
    # upstream, so the fix is recording the whole test again (issue #26, item 6)
    assert fix.startswith(
        "To fix: if the new request is intended, record the whole test again (this "
        "request names fcsess_1Abc, which the cassette's interaction"
    )
    assert f"fc-cassette record --record-mode all {path}" in fix
    assert requests.get(f"{base}/fcsess_1Abc", timeout=10).status_code == 200
    first, fix = message(requests.get(f"{base}/fcsess_1Abc", timeout=10))
    assert first.endswith("this is call 2: interaction 1 was used by the earlier call")
    assert fix.endswith("replay.on_exhausted: repeat_last")
    form = {
        "account_holder[type]": "customer",
        "account_holder[customer]": "cus_1",
        "permissions[0]": "balances",
        "permissions[1]": "payment_method",
    }
    first, _ = message(requests.post(base, data=form, timeout=10))
    assert first.endswith("header.stripe-account: recorded 'acct_1', got no header")
    first, _ = message(
        requests.post(
            base,
            data=json.dumps(CREATE),
            timeout=10,
            headers={"Content-Type": "application/json", "Stripe-Account": "acct_1"},
        )
    )
    assert first.endswith("body: recorded a form body, got a JSON body")
    rp.proc.stop()
    log = rp.proc.output()
    assert "got no header" in log and "Traceback" not in log

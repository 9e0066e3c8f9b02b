"""show and verify (real CLI processes) say when no model applies."""

from __future__ import annotations

import json

from support import run_fc

CASSETTE = """---
fc_cassette: 1
...
---
seq: 1
request:
  method: POST
  path: /v1/charges
  body:
    form:
      email: jenny@example.com
response:
  status: 200
  headers:
    Content-Type: application/json
  body:
    json:
      id: ch_fakeNoModel1
      object: charge
...
---
seq: 2
request:
  method: GET
  path: /v1/financial_connections/accounts/fca_fakeNoModel1
response:
  status: 404
  headers:
    Content-Type: application/json
  body:
    json:
      error:
        type: invalid_request_error
        code: resource_missing
        param: account
...
"""


def test_show_and_verify_say_no_model(tmp_path):
    path = tmp_path / "mixed.yaml"
    path.write_text(CASSETTE)
    shown = run_fc(["show", str(path)])
    assert shown.returncode == 0, shown.stderr
    rows = shown.stdout.splitlines()
    customers = next(r for r in rows if "/v1/charges" in r)
    assert customers.count("no model") == 2 and "INVALID" not in customers
    account = next(r for r in rows if "fca_fakeNoModel1" in r)
    assert "ok" in account and "no model" not in account
    as_json = json.loads(run_fc(["show", str(path), "--json"]).stdout)
    assert as_json["interactions"][0]["model"] == "none"
    assert as_json["interactions"][0]["request_valid"] is None
    assert as_json["interactions"][1]["ids"] == ["fca_fakeNoModel1"]
    v = run_fc(["verify", str(path)])
    assert v.returncode == 0 and "0 problem(s)" in v.stderr, v.stdout + v.stderr

"""Webhook documents in verify, show and diff (issue #22): in place, validated, compared."""

from __future__ import annotations

import json

from fc_cassette.cassette import store as cio
from fc_cassette.cli import diff, show, verify
from fc_cassette.simulator import Simulator

ACC = "financial_connections.account."
FORM = {
    "Authorization": "Bearer sk_test_FakeOffline1",
    "Content-Type": "application/x-www-form-urlencoded",
}


def _events() -> list[dict]:
    sim = Simulator(accept_unknown_customers=True, seed=8)  # a made-up customer
    r = sim.handle(
        "POST",
        "/v1/financial_connections/sessions",
        "",
        FORM,
        b"account_holder[type]=customer&account_holder[customer]=cus_FakeOff"
        b"&permissions[]=balances",
    )
    sid = json.loads(r.body)["id"]
    sim.handle(
        "POST",
        f"/_simulator/financial_connections/sessions/{sid}/complete",
        "",
        FORM,
        b"accounts=2",
    )
    return sim.events


def _cassette(path, events: list[dict], afters: list[int]) -> str:
    w = cio.Writer(path, fsync=False)
    for _ in range(2):  # a path no model covers: never invalid
        w.append(
            {
                "request": {
                    "method": "GET",
                    "path": "/v1/charges/ch_FakeOff",
                    "query": {},
                    "headers": {},
                    "body": None,
                },
                "response": {
                    "status": 200,
                    "headers": {"Content-Type": "application/json"},
                    "body": {"json": {"id": "ch_FakeOff"}},
                },
            }
        )
    for event, after in zip(events, afters, strict=True):
        w.append(
            {
                "webhook": {
                    "after": after,
                    "id": event["id"],
                    "type": event["type"],
                    "app_status": 200,
                    "body": {"json": event},
                }
            },
            numbered=False,
        )
    w.close()
    return str(path)


def test_show_prints_webhooks_in_place_and_in_json(tmp_path, capsys):
    path = _cassette(tmp_path / "c.yaml", _events(), [1, 2])
    assert show.main(path) == 0
    lines = capsys.readouterr().out.splitlines()
    kinds = [line.split()[1] for line in lines[1:-1]]
    assert kinds == ["GET", "webhook", "GET", "webhook"]
    assert "2 interaction(s), 2 webhook(s)" in lines[-1]
    assert show.main(path, as_json=True) == 0
    data = json.loads(capsys.readouterr().out)
    assert [r["n"] for r in data["interactions"]] == [1, 2]
    assert [(w["path"], w["after"], w["response_valid"]) for w in data["webhooks"]] == [
        (ACC + "created", 1, True),
        (ACC + "created", 2, True),
    ]


def test_verify_reports_a_bad_event_a_dangling_position_and_a_secret(tmp_path, capsys):
    events = _events()
    good = _cassette(tmp_path / "good.yaml", events, [0, 2])
    assert verify.main([good]) == 0
    bad_events = json.loads(json.dumps(events))
    bad_events[0]["data"]["object"]["status"] = 7
    bad = _cassette(tmp_path / "bad.yaml", bad_events, [1, 9])
    assert verify.main([bad]) == 1
    out = capsys.readouterr().out
    assert f"webhook {events[0]['id']}: event invalid at data.object.status" in out
    assert f"webhook {events[1]['id']}: after: 9 names no interaction" in out


def test_diff_compares_the_events_types_and_positions(tmp_path, capsys):
    events = _events()
    a = _cassette(tmp_path / "a.yaml", events, [1, 2])
    same = _cassette(tmp_path / "same.yaml", events, [1, 2])
    moved = _cassette(tmp_path / "moved.yaml", events, [1, 1])
    assert diff.main(a, same) == 0
    capsys.readouterr()
    assert diff.main(a, moved) == 1
    out = capsys.readouterr().out
    assert f"{ACC}created@2" in out and f"{ACC}created@1" in out
    assert diff.main(a, moved, as_json=True) == 1
    result = json.loads(capsys.readouterr().out)
    assert result["webhooks"]["b"][1] == {"type": ACC + "created", "after": 1}

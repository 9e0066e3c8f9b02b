"""The harness's fast paths change nothing a test sees (issue #25):

- ``use`` with ``"previous": true`` answers the status the left cassette had, the same
  as a ``status`` call before the switch would have;
- the ``fc_events`` file grows exactly when a status gets news (a miss; a hit leaves
  it alone), before the answer is given, so a harness that asks for the status only
  when the file grew sees every miss a status call after every test would have seen;
- the report wording is one formatter for the plugin and ``fc_cassette.proxy``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from mitmproxy import http
from mitmproxy.proxy.mode_specs import ProxyMode
from mitmproxy.test import taddons, tflow

from builders import write_cassette
from fc_cassette.harness import report
from fc_cassette.harness.api import ReplayMisses
from fc_cassette.harness.pool import FcProxy, ProxyProcess
from fc_cassette.harness.session import Session
from fc_cassette.mitm.addon import all_addons

SESSIONS = "/v1/financial_connections/sessions"


def _control(method: str, action: str, body: dict | None = None) -> http.HTTPFlow:
    f = tflow.tflow(
        req=http.Request.make(
            method,
            f"http://127.0.0.1:8080/__fc_cassette__/{action}",
            json.dumps(body).encode() if body is not None else b"",
            {"Host": "127.0.0.1:8080"}
            | ({"Content-Type": "application/json"} if body is not None else {}),
        )
    )
    f.client_conn.proxy_mode = ProxyMode.parse("reverse:http://127.0.0.1:1")
    return f


def _get(sid: str) -> http.HTTPFlow:
    return tflow.tflow(req=http.Request.make("GET", f"https://api.stripe.com{SESSIONS}/{sid}"))


def _answer(addon, flow: http.HTTPFlow) -> dict:
    addon.request(flow)
    assert flow.response is not None
    return json.loads(flow.response.content)


def test_use_with_previous_answers_the_left_cassettes_status_and_events_mark_news(tmp_path):
    a = write_cassette(tmp_path / "a.yaml", "fcsess_fakeA", n=2)
    b = write_cassette(tmp_path / "b.yaml", "fcsess_fakeB")
    events = tmp_path / "events"
    events.write_bytes(b"")
    core, replay, *_ = all_addons("replay")
    with taddons.context(core, replay) as tctx:
        tctx.options.update(
            fc_mode="replay", fc_cassette=a, fc_events=str(events), fc_cassette_root=str(tmp_path)
        )
        hit = _get("fcsess_fakeA")
        replay.request(hit)
        assert hit.response.status_code == 200
        assert events.stat().st_size == 0  # a hit is no news
        miss = _get("fcsess_fakeNope")
        replay.request(miss)
        assert miss.response.status_code == 400
        assert events.stat().st_size == 1  # written before the answer was given
        expected = _answer(replay, _control("GET", "status"))
        got = _answer(
            replay, _control("POST", "use", {"cassette": b, "rewind": True, "previous": True})
        )
        assert got.pop("previous") == expected
        assert expected["misses"] and expected["never_used"] == [2]
        assert got == _answer(replay, _control("GET", "status"))
        assert got["cassette"] == b and got["misses"] == []
        # without "previous", the answer is the new cassette's status alone
        plain = _answer(replay, _control("POST", "use", {"cassette": a}))
        assert "previous" not in plain and plain["cassette"] == a
        bad = _control("POST", "use", {"cassette": a, "previous": "yes"})
        replay.request(bad)
        assert bad.response.status_code == 400
        assert json.loads(bad.response.content)["field"] == "previous"


def test_a_record_mode_miss_and_an_out_of_scope_request_are_news(tmp_path):
    a = write_cassette(tmp_path / "a.yaml", "fcsess_fakeA")
    events = tmp_path / "events"
    events.write_bytes(b"")
    core, record, *rest = all_addons("record")
    with taddons.context(core, record, *rest) as tctx:
        tctx.options.update(
            fc_mode="record", fc_cassette=a, fc_record_mode="none", fc_events=str(events)
        )
        hit = _get("fcsess_fakeA")
        record.request(hit)
        assert hit.response.status_code == 200 and events.stat().st_size == 0
        miss = _get("fcsess_fakeNope")
        record.request(miss)
        assert miss.response.status_code == 400 and events.stat().st_size == 1
        passthrough = next(a for a in rest if a.__class__.__name__ == "Passthrough")
        out = tflow.tflow(req=http.Request.make("GET", "https://example.com/other"))
        passthrough.request(out)
        assert events.stat().st_size == 2
        record.done()


class _Process:
    pid, returncode = 0, None

    def poll(self):
        return None


def test_session_news_asks_for_the_status_only_when_the_events_file_grew(tmp_path):
    calls = []

    class Proxy(ProxyProcess):
        def call(self, method, action, body=None):
            calls.append(action)
            return {"cassette": "c.yaml", "misses": ["m"]}

    events = tmp_path / "events"
    events.write_bytes(b"")
    proxy = Proxy("replay", 1, tmp_path, _Process(), tmp_path / "log", events)
    handle = FcProxy(
        Path("c.yaml"), "none", 1, tmp_path, _Process(), tmp_path / "log", False, proxy
    )
    session = Session("https://api.stripe.com", None)
    assert session.news(handle) is None and calls == []
    events.write_bytes(b".")
    assert session.news(handle) == {"cassette": "c.yaml", "misses": ["m"]}
    assert calls == ["status"]
    assert session.news(handle) is None and calls == ["status"]  # seen already
    events.unlink()  # no events file to read: ask (never miss news)
    assert session.news(handle) is not None


def test_one_wording_for_the_plugin_and_the_python_api():
    status = {"cassette": "c.yaml", "misses": ["a\nTo fix: x", "b"], "not_recorded": ["n"]}
    lines = report.problems(status)
    assert lines == [
        "fc-cassette: 2 replay miss(es) against c.yaml:",
        "  - a\n    To fix: x",
        "  - b",
        "fc-cassette: 1 exchange(s) NOT recorded into c.yaml:",
        "  - n",
    ]
    assert str(ReplayMisses(Path("c.yaml"), status["misses"], ["n"])) == "\n".join(lines)
    assert report.problems(status, (2, 1)) == []
    assert report.problems(status, (1, 1), " during teardown") == [
        "fc-cassette: 1 replay miss(es) during teardown against c.yaml:",
        "  - b",
    ]
    assert report.summary({Path("c.yaml"): [3, 4], Path("d.yaml"): []}, 2) == [
        "fc-cassette: c.yaml: interactions no test used: 3, 4",
        "fc-cassette: 2 proxy process(es) started",
    ]


def _config(tmp_path, args, **option):
    from types import SimpleNamespace

    return SimpleNamespace(
        args=args, invocation_params=SimpleNamespace(dir=tmp_path), option=SimpleNamespace(**option)
    )


def test_the_proxy_is_started_ahead_only_for_runs_whose_tests_use_the_marker(tmp_path):
    from fc_cassette.harness.pytest_plugin import _runs_tests
    from fc_cassette.harness.scan import mentions_fc as _mentions_fc

    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "test_plain.py").write_text(
        "# the fc_proxy fixture needs @pytest.mark.fc_cassette (on the test)\n"
        "def test_x():\n    pass\n"
    )
    assert not _mentions_fc(_config(tmp_path, []))
    (tmp_path / ".venv").mkdir()  # skipped folders
    (tmp_path / ".venv" / "test_v.py").write_text("@pytest.mark.fc_cassette\n")
    assert not _mentions_fc(_config(tmp_path, []))
    (tmp_path / "pkg" / "test_fc.py").write_text(
        "import pytest\n\npytestmark = pytest.mark.fc_cassette"
    )
    assert _mentions_fc(_config(tmp_path, []))
    assert _mentions_fc(_config(tmp_path, ["pkg/test_fc.py::test_y"]))
    assert not _mentions_fc(_config(tmp_path, ["pkg/test_plain.py"]))
    assert _runs_tests(_config(tmp_path, [], collectonly=False, help=False, dist="no"))
    assert not _runs_tests(_config(tmp_path, [], collectonly=True, help=False))
    controller = _config(tmp_path, [], collectonly=False, help=False, dist="load")
    assert not _runs_tests(controller)  # xdist's controller: its workers start theirs
    controller.workerinput = {}
    assert _runs_tests(controller)  # a worker


def test_fc_cassette_proxy_stays_the_python_api_when_every_room_is_imported(tmp_path):
    """No room may be named like the package's public API (a room named ``proxy`` bound
    ``fc_cassette.proxy`` to itself once imported: 'module' object is not callable)."""
    import importlib
    import pkgutil

    import pytest

    import fc_cassette

    for mod in pkgutil.walk_packages(fc_cassette.__path__, "fc_cassette."):
        if not mod.name.endswith(("__main__", "mitmdump_script")):
            importlib.import_module(mod.name)
    assert callable(fc_cassette.proxy)
    assert fc_cassette.proxy.__module__ == "fc_cassette.harness.api"

    with pytest.raises(FileNotFoundError, match="does not exist; record it with"):
        fc_cassette.proxy(tmp_path / "missing.yaml")
    with pytest.raises(ValueError, match="record_mode='sometimes'"):
        fc_cassette.proxy(tmp_path / "c.yaml", record_mode="sometimes")


def test_a_call_on_the_parent_pipe_answers_as_the_endpoint_does(tmp_path, monkeypatch):
    """The pytest plugin calls its replay proxies on their parent pipe (issue #25): the
    same actions, answered by the same code as the HTTP endpoint (statuses, bodies,
    refusals naming the field, the cassette root), each answer one line with the
    call's id; a preload hint parses the next cassette ahead and answers nothing."""
    from fc_cassette.mitm import core as mitm_core

    a = write_cassette(tmp_path / "a.yaml", "fcsess_fakeA", n=2)
    b = write_cassette(tmp_path / "b.yaml", "fcsess_fakeB")
    outside = write_cassette(tmp_path.parent / f"{tmp_path.name}-out.yaml", "fcsess_fakeO")
    lines: list[bytes] = []

    def pipe(message: dict) -> dict:
        replay.parent_line(json.dumps(message).encode() + b"\n")
        answer = json.loads(lines.pop())
        assert answer["id"] == message["id"] and not lines
        return answer

    core, replay, *_ = all_addons("replay")
    with taddons.context(core, replay) as tctx:
        tctx.options.update(fc_mode="replay", fc_cassette=a, fc_cassette_root=str(tmp_path))
        replay.request(_get("fcsess_fakeNope"))  # a miss, in both statuses
        monkeypatch.setattr(mitm_core, "reply_to_parent", lines.append)
        status = pipe({"call": "status", "id": 1})
        assert status == {
            "id": 1,
            "status": 200,
            "body": _answer(replay, _control("GET", "status")),
        }
        replay.parent_line(json.dumps({"preload": b}).encode() + b"\n")  # a hint
        assert lines == [] and os.path.realpath(b) in replay.cache.preloaded
        used = pipe(
            {"call": "use", "id": 2, "body": {"cassette": b, "rewind": True, "previous": True}}
        )
        assert used["status"] == 200 and used["body"]["cassette"] == b
        assert used["body"]["previous"]["misses"] == status["body"]["misses"] != []
        assert os.path.realpath(b) not in replay.cache.preloaded  # taken by the use
        for body, field in (
            ({"cassette": b, "previous": "yes"}, "previous"),
            ({"cassette": outside}, "cassette"),
            ({"cassete": b}, "cassete"),
        ):
            refused = pipe({"call": "use", "id": 3, "body": body})
            http_flow = _control("POST", "use", body)
            replay.request(http_flow)
            assert refused["status"] == http_flow.response.status_code == 400
            assert refused["body"] == json.loads(http_flow.response.content)
            assert refused["body"]["field"] == field
        rewound = pipe({"call": "rewind", "id": 4})
        assert rewound["status"] == 200 and rewound["body"]["cassette"] == b
        assert pipe({"call": "nope", "id": 5})["status"] == 404
        # a hint outside the cassette root parses nothing
        replay.parent_line(json.dumps({"preload": outside}).encode() + b"\n")
        replay.parent_line(b"not json\n")
        assert lines == [] and os.path.realpath(outside) not in replay.cache.preloaded

"""The control endpoint's checks, in-process (issue #27; docs/security.md): who it
answers, the cassette root, and no secret echoed in its answers or in file names."""

from __future__ import annotations

import json

import pytest
from mitmproxy import http
from mitmproxy.proxy.mode_specs import ProxyMode
from mitmproxy.test import taddons, tflow

from builders import write_cassette
from fc_cassette.harness.paths import _safe
from fc_cassette.mitm import scope
from fc_cassette.mitm.addon import all_addons

KEY = "sk_test_FakeKeyInAPath4242"
JSON = {"Host": "127.0.0.1:8080", "Content-Type": "application/json"}


def _call(
    method: str,
    action: str,
    body: dict | None = None,
    headers: dict | None = None,
    mode: str = "reverse:http://127.0.0.1:1",
) -> http.HTTPFlow:
    raw = json.dumps(body).encode() if body is not None else b""
    f = tflow.tflow(
        req=http.Request.make(
            method, f"http://127.0.0.1:8080/__fc_cassette__/{action}", raw, headers or JSON
        )
    )
    f.request.headers["Host"] = (headers or JSON)["Host"]  # as sent (make() sets its own)
    f.client_conn.proxy_mode = ProxyMode.parse(mode)
    f.client_conn.sockname = ("127.0.0.1", 8080)
    return f


@pytest.fixture(params=["replay", "record"])
def proxy(request, tmp_path):
    mode = request.param
    core, addon, *_ = all_addons(mode)
    a = write_cassette(tmp_path / "a.yaml", "fcsess_fakeA")
    with taddons.context(core, addon) as tctx:
        tctx.options.update(
            fc_mode=mode,
            fc_cassette=a,
            fc_cassette_root=str(tmp_path),
            **({"fc_record_mode": "once"} if mode == "record" else {}),
        )
        yield tctx, addon, tmp_path
        if mode == "record":
            addon.done()


def _answer(addon, flow: http.HTTPFlow) -> tuple[int, dict]:
    addon.request(flow)
    assert flow.response is not None  # never forwarded
    return flow.response.status_code, json.loads(flow.response.content)


@pytest.mark.parametrize(
    "headers",
    [
        {"Host": "evil.example:8080"},
        {"Host": "127.0.0.1.evil.example"},
        {"Host": "127.0.0.1:8080", "Origin": "http://evil.example"},
        {"Host": "127.0.0.1:8080", "Origin": "null"},
        {"Host": "127.0.0.1:8080", "Sec-Fetch-Site": "cross-site"},
        {"Host": "127.0.0.1:8080", "Authorization": f"Bearer {KEY}"},
        {"Host": "127.0.0.1:8080", "Stripe-Version": "2024-06-20"},
    ],
    ids=[
        "rebound-host",
        "lookalike-host",
        "origin",
        "origin-null",
        "sec-fetch",
        "authorization",
        "stripe-version",
    ],
)
def test_a_status_call_a_page_or_a_redirect_could_make_is_refused(proxy, headers):
    _, addon, _ = proxy
    status, body = _answer(addon, _call("GET", "status", headers=headers))
    assert status == 403 and body["refused"] is True
    assert KEY not in body["error"]


@pytest.mark.parametrize(
    "content_type",
    [
        None,
        "text/plain",
        "text/plain;charset=UTF-8",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
    ],
)
def test_a_post_that_is_not_json_is_refused(proxy, content_type):
    _, addon, tmp = proxy
    headers = {"Host": "127.0.0.1:8080", **({"Content-Type": content_type} if content_type else {})}
    status, _ = _answer(addon, _call("POST", "rewind", {}, headers))
    assert status == 403


def test_the_token_is_checked_in_every_spelling_of_wrong(proxy, monkeypatch):
    tctx, addon, _ = proxy
    tctx.options.update(fc_control_token="fake-token-1")
    assert _answer(addon, _call("GET", "status"))[0] == 403
    assert (
        _answer(
            addon, _call("GET", "status", headers={**JSON, "X-FC-Cassette-Token": "fake-token-2"})
        )[0]
        == 403
    )
    assert (
        _answer(
            addon, _call("GET", "status", headers={**JSON, "X-FC-Cassette-Token": "fake-token-1"})
        )[0]
        == 200
    )
    tctx.options.update(fc_control_token="")
    monkeypatch.setenv("FC_CASSETTE_CONTROL_TOKEN", "fake-env-token")
    assert _answer(addon, _call("GET", "status"))[0] == 403
    assert (
        _answer(
            addon, _call("GET", "status", headers={**JSON, "X-FC-Cassette-Token": "fake-env-token"})
        )[0]
        == 200
    )


def test_paths_outside_the_root_are_refused_and_inside_ones_work(proxy, tmp_path_factory):
    _, addon, root = proxy
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    outside = write_cassette(elsewhere / "b.yaml", "fcsess_fakeB")
    (root / "link.yaml").symlink_to(outside)
    for path in (outside, str(root / ".." / elsewhere.name / "b.yaml"), str(root / "link.yaml")):
        status, body = _answer(addon, _call("POST", "use", {"cassette": path}))
        assert status == 400 and "outside the cassette root" in body["error"], body
    inside = write_cassette(root / "sub" / "c.yaml", "fcsess_fakeC")
    assert _answer(addon, _call("POST", "use", {"cassette": inside}))[0] == 200


def test_a_key_in_a_path_or_a_record_mode_is_never_echoed(proxy):
    _, addon, root = proxy
    keyed = write_cassette(root / f"{KEY}.yaml", "fcsess_fakeK")
    status, body = _answer(addon, _call("POST", "use", {"cassette": keyed}))
    assert status == 200 and KEY not in json.dumps(body) and "REDACTED" in body["cassette"]
    status, body = _answer(addon, _call("GET", "status"))
    assert status == 200 and KEY not in json.dumps(body)
    status, body = _answer(addon, _call("POST", "use", {"cassette": keyed, "record_mode": KEY}))
    assert status == 400 and body["field"] == "record_mode" and KEY not in json.dumps(body)
    status, body = _answer(
        addon, _call("POST", "use", {"cassette": str(root / f"{KEY}.yml"), "record_mode": "none"})
    )
    assert status == 400 and KEY not in json.dumps(body)


def test_a_test_id_holding_a_key_is_redacted_in_the_cassette_name():
    name = _safe(f"test_pay[{KEY}]")
    assert KEY not in name and "REDACTED" in name
    assert _safe("test_x[a/b c]") == "test_x-a-b-c"


@pytest.mark.parametrize(
    "host,port,own",
    [
        ("LOCALHOST", 8080, True),
        ("localhost.", 8080, True),
        ("127.0.0.1", 8080, True),
        ("127.1", 8080, True),
        ("0x7f.1", 8080, True),
        ("[::1]", 8080, True),
        ("::ffff:127.0.0.1", 8080, True),
        ("0.0.0.0", 8080, True),
        ("[::]", 8080, True),
        ("127.0.0.1", 8081, False),
        ("api.stripe.com", 8080, False),
        ("127.0.0.1.evil.example", 8080, False),
        ("10.0.0.5", 8080, False),
    ],
)
def test_the_proxys_own_address_in_every_spelling(host, port, own):
    assert scope.own_address(host, port, ("127.0.0.1", 8080)) is own


def test_use_creates_no_folder_nor_lock_before_the_first_exchange(tmp_path):
    """docs/control-endpoint.md: a record mode that writes creates the cassette and its
    folders on its first exchange; the recording lock comes with them."""
    from builders import json_flow, record_flow
    from fc_cassette.cassette.lock import lock_path

    core, addon, *_ = all_addons("record")
    a = write_cassette(tmp_path / "a.yaml", "fcsess_fakeA")
    new = tmp_path / "deep" / "er" / "new.yaml"
    with taddons.context(core, addon) as tctx:
        tctx.options.update(
            fc_mode="record", fc_cassette=a, fc_cassette_root=str(tmp_path), fc_record_mode="once"
        )
        status, body = _answer(
            addon, _call("POST", "use", {"cassette": str(new), "record_mode": "once"})
        )
        assert status == 200 and body["recording"] is True, body
        assert not (tmp_path / "deep").exists()  # nothing made by the use
        f = record_flow(
            addon,
            json_flow(
                "GET", "/v1/financial_connections/sessions/fcsess_n", 200, b'{"id": "fcsess_n"}'
            ),
        )
        assert f.response.status_code == 200, f.response.text
        assert new.is_file() and lock_path(new).exists()  # made by the first exchange
        assert addon.switch.lock is not None and addon.switch.lock.held
        addon.done()
    assert not lock_path(new).exists()  # released (and removed) at the end

"""Fixes from an adversarial review: bad ``use`` paths are a 400 and never forwarded;
``all`` through a symlinked cassette writes the file the link names."""

from __future__ import annotations

import json
import os

import pytest
from mitmproxy import http
from mitmproxy.proxy.mode_specs import ProxyMode
from mitmproxy.test import taddons, tflow

from builders import write_cassette
from fc_cassette.cassette import store as cio
from fc_cassette.mitm.addon import all_addons

CONTROL_HEADERS = {"Host": "127.0.0.1:8080", "Content-Type": "application/json"}


def _root(cassette) -> str:
    """The cassette root the tests' control calls are confined to: the cassette's folder."""
    import os

    return os.path.dirname(str(cassette))


SESSIONS = "/v1/financial_connections/sessions"
BAD_PATHS = ["a\x00b.yaml", "n" * 300 + ".yaml", "dir/" + "n" * 300 + "/x.yaml"]


def _use(body: dict) -> http.HTTPFlow:
    f = tflow.tflow(
        req=http.Request.make(
            "POST",
            "http://127.0.0.1:8080/__fc_cassette__/use",
            json.dumps(body).encode(),
            CONTROL_HEADERS,
        )
    )
    f.client_conn.proxy_mode = ProxyMode.parse("reverse:http://127.0.0.1:1")
    return f


@pytest.mark.parametrize("mode", ["replay", "record"])
@pytest.mark.parametrize("bad", BAD_PATHS, ids=["nul", "long-name", "long-dir"])
def test_an_unusable_use_path_is_a_400_and_the_proxy_stays_put(mode, bad, tmp_path):
    core, addon, *_ = all_addons(mode)
    a = write_cassette(tmp_path / "a.yaml", "fcsess_fakeA")
    with taddons.context(core, addon) as tctx:
        tctx.options.update(
            fc_mode=mode,
            fc_cassette=a,
            fc_cassette_root=_root(a),
            **({"fc_record_mode": "once"} if mode == "record" else {}),
        )
        f = _use({"cassette": str(tmp_path / bad)})
        addon.request(f)
        assert f.response is not None  # answered: a control call is never forwarded
        assert f.response.status_code == 400, f.response.text
        body = json.loads(f.response.content)
        assert body["field"] == "cassette" and body["error"]
        if "\x00" in bad:
            assert "not a usable cassette path" in body["error"]
        hit = tflow.tflow(
            req=http.Request.make("GET", f"https://api.stripe.com{SESSIONS}/fcsess_fakeA")
        )
        addon.request(hit)  # still on a.yaml
        assert hit.response is not None and hit.response.status_code == 200
        if mode == "record":
            addon.done()


def test_record_all_through_a_symlink_writes_the_linked_file(tmp_path):
    real = write_cassette(tmp_path / "real.yaml", "fcsess_fakeOld")
    link = tmp_path / "link.yaml"
    link.symlink_to("real.yaml")
    w = cio.Writer(link)  # a fresh cassette (record mode all): replaces the file
    w.append(
        {
            "request": {
                "method": "GET",
                "path": f"{SESSIONS}/fcsess_fakeNew",
                "query": {},
                "headers": {},
                "body": None,
            },
            "response": {"status": 200, "headers": {}, "body": {"json": {"id": "new"}}},
        }
    )
    w.close()
    assert link.is_symlink() and os.readlink(link) == "real.yaml"
    got = cio.load(real).interactions
    assert [i["request"]["path"] for i in got] == [f"{SESSIONS}/fcsess_fakeNew"]
    assert not list(tmp_path.glob(".*.recording"))

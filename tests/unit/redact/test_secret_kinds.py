"""The secret-kinds table drives every recogniser; the live-key guard parses
``Authorization`` the way HTTP does (issue #14).

Every secret literal contains "fake" (the repo's key scanner skips those).
"""

from __future__ import annotations

import base64

import pytest
from mitmproxy import http
from mitmproxy.test import taddons, tflow

from fc_cassette.mitm.addon import all_addons
from fc_cassette.redact import Redactor, mask, scan
from fc_cassette.redact.kinds import KINDS, LIVE_PREFIXES, live_key_in, uses_live_key


def b64(s: str) -> str:
    return base64.b64encode(s.encode()).decode()


# ----------------------------------------------------------------------- the table


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.prefix)
@pytest.mark.parametrize("tail", ["1", "fakeX", "fake" + "Z9" * 20])
def test_every_kind_in_the_table_is_redacted_scanned_and_masked(kind, tail):
    """One row in the table is all a new credential kind needs: the redactor, the
    scanner and mask() all derive from it (any tail length after the prefix)."""
    value = kind.prefix + tail
    # (base64 runs shorter than 16 characters are not decoded: docs/security.md)
    text = f"note: {value} and {b64(value)}" if len(value) >= 12 else f"note: {value}"
    assert {f.kind for f in scan(text)} == {kind.name}
    red = Redactor().redact_text(text)
    assert value not in red and b64(value) not in red
    assert f"{kind.prefix}REDACTED_1" in red
    assert scan(red) == []
    assert mask(value) == f"{kind.prefix}…({len(value)} chars)"


def test_live_kinds():
    assert set(LIVE_PREFIXES) == {"sk_live_", "rk_live_", "ek_live_"}


# ----------------------------------------------------------------------- live-key guard

LIVE = "sk_live_" + "fakeLiveKey0123456789"
RK_LIVE = "rk_live_" + "fakeRestricted0123"
EK_LIVE = "ek_live_" + "fakeEphemeral0123"
TEST = "sk_test_" + "fakeTestKey0123456789"


@pytest.mark.parametrize(
    "value",
    [
        f"Bearer {LIVE}",
        f"bearer {LIVE}",
        f"BEARER\t{LIVE}",
        f"Bearer \t  {LIVE}",
        f"Basic {b64(LIVE + ':')}",
        f"Basic\t{b64(LIVE + ':')}",
        f"basic {b64(LIVE + ':')}",
        f"BASIC\t\t {b64(LIVE + ':')}",
        f"Basic {b64(LIVE + ':').rstrip('=')}",
        f"Basic {base64.urlsafe_b64encode((LIVE + ':').encode()).decode()}",
        f"Basic {b64('fakeuser:' + LIVE)}",
        f"Basic\t{b64('fakeuser:' + RK_LIVE)}",
        f"Basic {b64(RK_LIVE)}",
        f"Bearer {EK_LIVE}",
        LIVE,
        f"Token {b64(LIVE)}",
        f"  Basic   {b64(LIVE + ':')}  ",
    ],
    ids=lambda v: repr(v[:14]),
)
def test_every_form_of_a_live_key_is_detected(value):
    assert live_key_in(value)
    flow = tflow.tflow()
    flow.request.headers["Authorization"] = value
    assert uses_live_key(flow)


@pytest.mark.parametrize(
    "value",
    [
        f"Bearer {TEST}",
        f"Basic {b64(TEST + ':')}",
        f"Basic\t{b64('fakeuser:fakepass1')}",
        "Bearer pk_live_fakePublishable123",
        "",
        "Basic",
        "Basic !!!notbase64",
    ],
)
def test_test_keys_and_other_credentials_are_not_live(value):
    assert not live_key_in(value)


def test_a_repeated_authorization_header_is_checked_too():
    flow = tflow.tflow()
    flow.request.headers.add("Authorization", f"Bearer {TEST}")
    flow.request.headers.add("Authorization", f"Basic\t{b64(LIVE + ':')}")
    assert uses_live_key(flow)


@pytest.mark.parametrize(
    "value",
    [
        f"Basic\t{b64(LIVE + ':')}",
        f"bearer\t{RK_LIVE}",
        f"BASIC  {b64('u:' + LIVE)}",
        f"Bearer {EK_LIVE}",
    ],
)
def test_record_refuses_each_live_form_and_forwards_nothing(tmp_path, value):
    """Through the real Record addon: the flow is answered locally with 403 (mitmproxy
    does not forward a flow that has a response), nothing is written."""
    path = tmp_path / "c.yaml"
    addons = all_addons()
    record = next(a for a in addons if type(a).__name__ == "Record")
    with taddons.context(*addons) as tctx:
        tctx.options.update(fc_mode="record", fc_cassette=str(path), fc_record_mode="all")
        req = http.Request.make(
            "POST",
            "https://api.stripe.com/v1/financial_connections/sessions",
            b"",
            {"Authorization": value},
        )
        flow = tflow.tflow(req=req)
        flow.response = None
        record.request(flow)
        assert flow.response is not None and flow.response.status_code == 403
        assert b"fc_cassette_live_key_refused" in flow.response.content
        record.done()
    assert not path.exists() or "fake" not in path.read_text()

"""The pytest plugin, used the way a user would: pytest on a sample suite in a temp dir."""

from __future__ import annotations

import subprocess
import textwrap

import pytest

from fc_cassette.cassette import store as cio
from support import dead_url, run_pytest, start

SUITE = """
import pytest
import stripe

KEY = "sk_test_" + "fakePluginKey0123456789"
CREATE = {"account_holder": {"type": "customer", "customer": "cus_fakePlugin1"},
          "permissions": ["balances", "payment_method"]}


@pytest.mark.fc_cassette("cassettes/sessions.yaml")
def test_create_and_retrieve(fc_proxy):
    sessions = fc_proxy.client(KEY).v1.financial_connections.sessions
    s = sessions.create(params=CREATE)
    assert s.id.startswith("fcsess_")
    assert sessions.retrieve(s.id).id == s.id


@pytest.mark.fc_cassette("cassettes/sessions.yaml")
def test_same_cassette_second_test(fc_proxy):
    # the proxy is shared by both tests and rewound before each
    s = fc_proxy.client(KEY).v1.financial_connections.sessions.create(params=CREATE)
    assert s.client_secret.startswith("fcsess_client_secret_")
"""

FORWARD = """
import pytest
import stripe

KEY = "sk_test_" + "fakePluginKey0123456789"
CREATE = {"account_holder": {"type": "customer", "customer": "cus_fakePlugin1"},
          "permissions": ["balances", "payment_method"]}


@pytest.mark.fc_cassette("cassettes/sessions.yaml")
def test_forward_proxy_to_api_stripe_com(fc_proxy):
    old = stripe.ca_bundle_path
    stripe.ca_bundle_path = str(fc_proxy.ca_bundle)
    try:
        client = stripe.StripeClient(KEY, proxy=fc_proxy.proxy_url, max_network_retries=0)
        assert client.v1.financial_connections.sessions.create(params=CREATE).id.startswith("fcsess_")
    finally:
        stripe.ca_bundle_path = old
"""

CHANGED = """
import pytest
import stripe

KEY = "sk_test_" + "fakePluginKey0123456789"
CHANGED = {"account_holder": {"type": "customer", "customer": "cus_fakePlugin1"},
           "permissions": ["balances", "transactions"]}


@pytest.mark.fc_cassette("cassettes/sessions.yaml")
def test_changed_request(fc_proxy):
    fc_proxy.client(KEY).v1.financial_connections.sessions.create(params=CHANGED)


@pytest.mark.fc_cassette("cassettes/sessions.yaml")
def test_app_swallows_the_error(fc_proxy):
    try:
        fc_proxy.client(KEY).v1.financial_connections.sessions.create(params=CHANGED)
    except stripe.StripeError:
        pass  # an app that hides errors: the miss must still fail the test
"""


NEW_EPISODE = """
import pytest

KEY = "sk_test_" + "fakePluginKey0123456789"


@pytest.mark.fc_cassette("cassettes/sessions.yaml")
def test_a_new_request(fc_proxy):
    sessions = fc_proxy.client(KEY).v1.financial_connections.sessions
    s = sessions.create(params={"account_holder": {"type": "customer",
                                                   "customer": "cus_fakePlugin2"},
                                "permissions": ["ownership"]})
    assert s.id.startswith("fcsess_")
"""


ROBUST = """
import os
import signal
import time

import pytest

KEY = "sk_test_" + "fakePluginKey0123456789"
CREATE = {"account_holder": {"type": "customer", "customer": "cus_fakePlugin1"},
          "permissions": ["balances", "payment_method"]}


@pytest.fixture
def misses_in_teardown(fc_proxy):
    yield
    try:
        fc_proxy.client(KEY).v1.financial_connections.sessions.retrieve("fcsess_fakeLate1")
    except Exception:
        pass


@pytest.mark.fc_cassette("cassettes/sessions.yaml")
def test_a_teardown_miss(fc_proxy, misses_in_teardown):
    assert fc_proxy.client(KEY).v1.financial_connections.sessions.create(params=CREATE).id


@pytest.mark.fc_cassette("cassettes/sessions.yaml")
def test_the_proxy_dies(fc_proxy):
    os.killpg(fc_proxy.process.pid, signal.SIGKILL)
    fc_proxy.process.wait(10)


@pytest.mark.fc_cassette("cassettes/sessions.yaml")
def test_later_tests_get_a_new_proxy(fc_proxy):
    assert fc_proxy.client(KEY).v1.financial_connections.sessions.create(params=CREATE).id
"""


@pytest.fixture
def suite(tmp_path):
    (tmp_path / "test_app.py").write_text(textwrap.dedent(SUITE))
    return tmp_path


def test_record_once_then_replay_offline_then_changed_request_fails(suite, tmp_path):
    cassette = suite / "cassettes" / "sessions.yaml"
    # 1. no cassette, default record mode none: a clear failure, not a network call
    r = run_pytest(suite)
    assert r.returncode == 1
    assert "does not exist; record it with --fc-record-mode=once" in r.stdout

    # 2. record it from fc-cassette simulate
    (tmp_path / "sim").mkdir()
    sim = start(["simulate", "--seed", "21"], tmp_path / "sim", "sim")
    r = run_pytest(suite, "--fc-record-mode=once", f"--fc-upstream={sim.base}")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "2 passed" in r.stdout
    assert [i["request"]["method"] for i in cio.load(cassette).interactions] == [
        "POST",
        "GET",
        "POST",
    ]

    # 2b. new_episodes: a test with a new request records it and passes (not a miss)
    (suite / "test_new.py").write_text(textwrap.dedent(NEW_EPISODE))
    r = run_pytest(
        suite, "test_new.py", "--fc-record-mode=new_episodes", f"--fc-upstream={sim.base}"
    )
    assert r.returncode == 0, r.stdout + r.stderr
    (suite / "test_new.py").unlink()
    recorded = cio.load(cassette)
    assert [i["request"]["method"] for i in recorded.interactions] == [
        "POST",
        "GET",
        "POST",
        "POST",
    ]
    assert sim.proc.stop() == 0  # the upstream is gone from here on

    # 3. offline replay (the default in CI): both tests pass; the unused recording is listed
    (suite / "test_forward.py").write_text(textwrap.dedent(FORWARD))
    r = run_pytest(suite)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "3 passed" in r.stdout
    assert f"fc-cassette: {cassette}: interactions no test used: 3, 4" in r.stdout

    # 4. a changed request fails, and the report shows the field-level difference;
    # 5. a miss in a fixture's teardown fails its test; a proxy that dies fails only its
    # own test (no INTERNALERROR, later tests get a new proxy, none is left running);
    # HTTP(S)_PROXY in the environment diverts neither the plugin nor fc_proxy.client().
    # One pytest run for both files (test_changed.py's two tests run first).
    (suite / "test_changed.py").write_text(textwrap.dedent(CHANGED))
    (suite / "test_robust.py").write_text(textwrap.dedent(ROBUST))
    dead = dead_url()  # nothing listens here (a port bound, then closed)
    r = run_pytest(
        suite, "test_changed.py", "test_robust.py", env={"HTTP_PROXY": dead, "http_proxy": dead}
    )
    out = r.stdout + r.stderr
    assert r.returncode == 1 and "INTERNALERROR" not in out, out
    assert "3 failed, 2 passed, 1 error" in r.stdout, out
    assert sorted(ln.split()[1] for ln in r.stdout.splitlines() if ln.startswith("FAILED")) == [
        "test_changed.py::test_app_swallows_the_error",
        "test_changed.py::test_changed_request",
        "test_robust.py::test_the_proxy_dies",
    ], out
    assert "form.permissions[1]: recorded 'payment_method', got 'transactions'" in r.stdout
    assert "test_app_swallows_the_error" in r.stdout and "replay miss" in r.stdout
    assert cio.load(cassette).interactions == recorded.interactions  # CI never records
    assert "ERROR test_robust.py::test_a_teardown_miss" in r.stdout
    assert "replay miss(es) during teardown" in out and "fcsess_fakeLate1" in out
    assert "test_the_proxy_dies" in out and "did not answer" in out
    left = subprocess.run(
        ["pgrep", "-f", f"fc_cassette replay {cassette}"], capture_output=True, text=True
    )
    assert left.stdout.strip() == ""


EDITED_NEXT = """
import os
import time
import urllib.request

import pytest

SESSIONS = "/v1/financial_connections/sessions"


def get(fc_proxy, sid):
    try:
        with urllib.request.urlopen(f"{fc_proxy.url}{SESSIONS}/{sid}", timeout=30) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def parsed(fc_proxy, name):
    return f"interactions from {os.path.abspath(name)}" in fc_proxy.output()


@pytest.fixture
def rewrites_the_next_cassettes(fc_proxy):
    yield  # after this test's call, when the proxy was told the next cassette
    deadline = time.monotonic() + 60
    while not parsed(fc_proxy, "b.yaml"):  # parsed ahead (it says so in its log)
        assert time.monotonic() < deadline, fc_proxy.output()
        time.sleep(0.05)
    for name, how in (("b.yaml", "replaced"), ("c.yaml", "in_place")):
        text = open(name).read().replace("fcsess_fakeOLD", "fcsess_fakeNEW")
        if how == "replaced":
            with open(name + ".tmp", "w") as fh:
                fh.write(text)
            os.replace(name + ".tmp", name)
        else:
            with open(name, "r+") as fh:
                fh.write(text)
            st = os.stat(name)
            os.utime(name, ns=(st.st_atime_ns, st.st_mtime_ns + 1000))


@pytest.mark.fc_cassette("a.yaml")
def test_a(fc_proxy, rewrites_the_next_cassettes):
    assert get(fc_proxy, "fcsess_fakeA") == 200
    fc_proxy._proxy.token = "not-the-token"  # its HTTP endpoint would now refuse us
    assert fc_proxy.status()["served"] == 1  # the harness calls it on its parent pipe


@pytest.mark.fc_cassette("b.yaml")
def test_b(fc_proxy):
    assert get(fc_proxy, "fcsess_fakeNEW") == 200  # the edited cassette is served


@pytest.mark.fc_cassette("c.yaml")
def test_c(fc_proxy):
    assert get(fc_proxy, "fcsess_fakeNEW") == 200  # (c was not told ahead: parsed once)
    # b was parsed twice: ahead of its test, then, edited, at its use
    log = fc_proxy.output()
    assert log.count(f"interactions from {os.path.abspath('b.yaml')}") == 2, log
"""


def test_a_cassette_edited_after_the_proxy_parsed_it_ahead_is_served_as_edited(tmp_path):
    """The plugin tells its replay proxy the next test's cassette when a test's call
    ends, and the proxy parses it ahead (issue #25): a cassette edited after that (by
    the test's teardown: replaced, or in place with the same size) is served as
    edited, never the copy parsed ahead; the plugin's control calls go on the proxy's
    parent pipe, not through its HTTP endpoint."""
    from builders import write_cassette

    for name, sid in (("a", "fcsess_fakeA"), ("b", "fcsess_fakeOLD"), ("c", "fcsess_fakeOLD")):
        write_cassette(tmp_path / f"{name}.yaml", sid)
    (tmp_path / "test_edits.py").write_text(EDITED_NEXT)
    r = run_pytest(tmp_path, "test_edits.py", "-p", "no:randomly")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "3 passed" in r.stdout

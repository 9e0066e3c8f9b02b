"""Issue #26, items 8, 9 and 11: errors a newcomer can act on, with real processes.

- An upstream that fails answers the SDK with a Stripe-shaped JSON error naming the
  upstream and the likely cause (an https:// upstream that serves plain HTTP, nothing
  listening), not mitmproxy's HTML 502 page.
- ``record`` in front of an app that never reached it says so loudly, and exits 1
  under ``--strict``.
- A missing cassette or a busy port is reported before mitmproxy starts.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest
import requests
import stripe

from support import dead_url, run_fc, start

KEY = "sk_test_" + "FakeNewcomerKey0001"
CREATE = {
    "account_holder": {"type": "customer", "customer": "cus_FakeNewcomer"},
    "permissions": ["balances"],
}


def test_an_https_upstream_serving_plain_http_is_named_with_its_likely_cause(tmp_path):
    sim = start(["simulate"], tmp_path, "sim")
    try:
        https = sim.base.replace("http://", "https://")
        rec = start(["record", str(tmp_path / "c.yaml"), "--upstream", https], tmp_path, "rec")
        with pytest.raises(stripe.APIError) as e:
            rec.client(KEY).v1.financial_connections.sessions.create(params=CREATE)
        message = e.value.user_message or str(e.value)
        assert e.value.http_status == 502
        assert f"upstream {https}" in message and "give an http:// upstream" in message
        r = requests.post(
            f"{rec.base}/v1/financial_connections/sessions",
            timeout=30,
            auth=(KEY, ""),
            data={"permissions[0]": "balances"},
        )
        assert r.status_code == 502 and r.headers["Content-Type"] == "application/json"
        assert r.json()["error"]["code"] == "fc_cassette_upstream_failed"
        assert "<html" not in r.text
        rec.proc.stop()
    finally:
        sim.proc.stop()


def test_an_upstream_where_nothing_listens_is_named(tmp_path):
    dead = dead_url()
    rec = start(["record", str(tmp_path / "c.yaml"), "--upstream", dead], tmp_path, "rec")
    with pytest.raises(stripe.APIError) as e:
        rec.client(KEY).v1.financial_connections.sessions.create(params=CREATE)
    message = e.value.user_message or str(e.value)
    assert f"upstream {dead}" in message and "nothing accepts connections" in message
    assert rec.proc.stop() == 1  # an in-scope exchange without a response: as before
    assert KEY not in rec.proc.output()


@pytest.mark.parametrize("strict", [False, True])
def test_record_that_saw_nothing_says_so(tmp_path, strict):
    rec = start(
        [
            "record",
            str(tmp_path / "c.yaml"),
            "--upstream",
            dead_url(),
            *(["--strict"] if strict else []),
        ],
        tmp_path,
        "rec",
    )
    code = rec.proc.stop()
    out = rec.proc.output()
    assert "NO request reached the proxy" in out, out
    assert code == (1 if strict else 0), out
    assert not (tmp_path / "c.yaml").exists()


CHECK = """
import sys
from fc_cassette.cli import main
code = main(sys.argv[1:])
# neither mitmproxy's start-up nor our addons (importing them is most of the seconds)
started = [m for m in ("mitmproxy.tools.main", "mitmproxy.proxy.server", "fc_cassette.mitm.addon",
                       "fc_cassette.mitm.replay", "fc_cassette.mitm.record") if m in sys.modules]
print("exit", code, "started", started)
"""


def _python(code: str, *args: str) -> subprocess.CompletedProcess:
    """A fresh interpreter running ``code`` (what it imports is what a start imports)."""
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def _run_cli(*args: str) -> subprocess.CompletedProcess:
    return _python(CHECK, *args)


def test_a_missing_cassette_is_reported_before_mitmproxy_starts(tmp_path):
    missing = tmp_path / "nope.yaml"
    for args in (["replay", str(missing)], ["record", str(missing), "--record-mode", "none"]):
        r = _run_cli(*args, "--port", "0")
        assert r.stdout.strip() == "exit 1 started []", r.stdout + r.stderr
        assert r.stderr.startswith(f"fc-cassette: {missing}: no such cassette"), r.stderr
        assert "Traceback" not in r.stderr
    r = run_fc(["replay", str(tmp_path), "--port", "0"])
    assert r.returncode == 1 and "is a directory, not a cassette file" in r.stderr, r.stderr


def test_a_busy_port_is_reported_before_mitmproxy_starts(tmp_path):
    cassette = Path(__file__).resolve().parents[2] / "cassettes" / "fc_sessions.yaml"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        r = _run_cli("replay", str(cassette), "--port", str(port))
    assert r.stdout.strip() == "exit 1 started []", r.stdout + r.stderr
    assert f"cannot listen on 127.0.0.1:{port}" in r.stderr, r.stderr
    assert r.stderr.count("\n") == 1


IMPORTS = """
import sys
from fc_cassette.cli import app
from fc_cassette.mitm.addon import all_addons
all_addons(sys.argv[1])
heavy = ("fc_cassette.simulator", "fc_cassette.stripe_api.models", "fc_cassette.mitm.inspector")
print(sorted(m for m in heavy if m in sys.modules))
"""


@pytest.mark.parametrize(
    "mode, expected",
    [
        ("replay", []),
        ("simulate", ["fc_cassette.simulator", "fc_cassette.stripe_api.models"]),
        ("inspect", ["fc_cassette.mitm.inspector", "fc_cassette.stripe_api.models"]),
    ],
)
def test_a_proxy_imports_only_its_own_modes_modules(mode, expected):
    """A replay proxy (what the pytest plugin starts for each run) imports neither the
    simulator nor the models the inspector and the recorder check traffic with: about a
    third of the package's import time (issue #25); the other modes still get theirs."""
    r = _python(IMPORTS, mode)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == str(sorted(expected)), r.stdout


CASSETTE = str(Path(__file__).resolve().parents[2] / "cassettes" / "fc_sessions.yaml")
OFFLINE = """
import contextlib, io, sys
from fc_cassette.cli import main
with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
    try:
        main(sys.argv[1:])
    except SystemExit:  # --version, --help, a usage error
        pass
heavy = ("mitmproxy", "pydantic", "fc_cassette.redact.redactor")
print(sorted(m for m in heavy if m in sys.modules))
"""


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["--version"], []),
        (["replay", "--help"], []),
        # a usage error is redacted (a secret may be in any argument): the redactor
        (["show", "--jsn"], ["fc_cassette.redact.redactor", "pydantic"]),
        (["show", CASSETTE], ["fc_cassette.redact.redactor", "pydantic"]),
        (["diff", CASSETTE, CASSETTE], ["fc_cassette.redact.redactor", "pydantic"]),
        (["verify", CASSETTE], ["fc_cassette.redact.redactor", "pydantic"]),
        (["audit", CASSETTE], ["fc_cassette.redact.redactor", "pydantic"]),
    ],
)
def test_the_cli_imports_mitmproxy_only_for_what_needs_it(argv, expected):
    """``--version`` and ``--help`` import neither mitmproxy nor the redactor (with its
    models): 0.1 s, not a second; a usage error, ``show``, ``diff``, ``verify`` and
    ``audit`` go without mitmproxy (its ``http`` module was ~0.15 s of verify's 0.8)."""
    r = _python(OFFLINE, *argv)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == str(sorted(expected)), r.stdout


def test_the_pytest_plugin_imports_little():
    """The pytest plugin is imported by every pytest process (and xdist worker) of a
    project that installs fc-cassette, whether its tests use it or not: it imports
    neither mitmproxy nor the redactor nor pydantic, and checking a good upstream URL
    (as every run does) does not either: the redactor only when a URL is shown in an
    error."""
    code = (
        "import sys, fc_cassette.harness.pytest_plugin\n"
        "heavy = ('mitmproxy', 'pydantic', 'yaml', 'fc_cassette.redact.redactor')\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
        "from fc_cassette.settings.upstream import UpstreamError, parse_upstream\n"
        "parse_upstream('https://api.stripe.com')\n"  # what pytest_configure checks
        "print(sorted(m for m in heavy if m in sys.modules))\n"
        "from fc_cassette.harness.paths import _safe\n"  # each collected test's cassette name
        "print(_safe('test_create_session'), sorted(m for m in heavy if m in sys.modules))\n"
        "try:\n"
        "    parse_upstream('ftp://user:sk_test_" + "51SecretKeyInTheUrl00@example.com/x')\n"
        "except UpstreamError as e:\n"
        "    print(e)\n"
    )
    r = _python(code)
    assert r.returncode == 0, r.stderr
    first, checked, named, error = r.stdout.splitlines()[:4]
    assert first == "[]" and checked == "[]", r.stdout
    assert named == "test_create_session []", r.stdout  # (with parameters: redacted)
    assert "SecretKeyInTheUrl" not in error and "***@example.com" in error, error

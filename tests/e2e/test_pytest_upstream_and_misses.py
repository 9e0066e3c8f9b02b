"""The plugin's ``--fc-upstream``/``fc_upstream`` validated as the CLI's ``--upstream``;
a miss's ``To fix:`` line indented under it in pytest's report and in the proxy's
shutdown summary."""

from __future__ import annotations

import textwrap

import pytest

import fc_cassette
from fc_cassette.playback.state import Playback
from fc_cassette.settings.config import Settings
from support import run_pytest

FORM = "use http://HOST[:PORT] or https://HOST[:PORT]"


@pytest.fixture
def module(tmp_path):
    (tmp_path / "test_x.py").write_text("def test_x():\n    pass\n")
    return tmp_path


@pytest.mark.parametrize(
    "value, reason",
    [
        ("127.0.0.1:12111", f"a scheme is required: {FORM}, e.g. http://127.0.0.1:12111"),
        (
            "htps://127.0.0.1:12111",
            f"scheme 'htps' is not supported (did you mean 'https'?): {FORM}",
        ),
        (
            "http://127.0.0.1:12111/v1",
            f"a path, query or fragment is not supported (each request keeps its own path): {FORM}",
        ),
    ],
)
def test_a_bad_fc_upstream_is_one_usage_error(module, value, reason):
    r = run_pytest(module, f"--fc-upstream={value}")
    assert r.returncode == 4, r.stdout + r.stderr
    assert r.stderr.strip() == f"ERROR: fc-cassette: --fc-upstream {value!r}: {reason}"


def test_a_bad_ini_fc_upstream_names_the_ini_key(module):
    (module / "pytest.ini").write_text("[pytest]\nfc_upstream = localhost:12111\n")
    r = run_pytest(module)
    assert r.returncode == 4, r.stdout + r.stderr
    assert r.stderr.strip() == (
        f"ERROR: fc-cassette: fc_upstream (ini) 'localhost:12111': "
        f"a scheme is required: {FORM}, e.g. http://localhost:12111"
    )


def test_a_good_upstream_is_accepted(module):
    r = run_pytest(module, "--fc-upstream=http://127.0.0.1:12111")
    assert r.returncode == 0, r.stdout + r.stderr


CHANGED = """
import pytest

KEY = "sk_test_" + "fakeMissKey0123456789"


@pytest.mark.fc_cassette("c.yaml")
def test_changed(fc_proxy):
    try:
        fc_proxy.client(KEY).v1.financial_connections.sessions.create(params={
            "account_holder": {"type": "customer", "customer": "cus_fakeMiss1"},
            "permissions": ["ownership"]})
    except Exception:
        pass  # swallowed: the plugin still fails the test
    assert len(fc_proxy.misses) == 1 and "To fix:" in fc_proxy.misses[0], "MISSES WRONG"
    assert fc_proxy.not_recorded == [], "NOT RECORDED WRONG"
"""


def recorded_cassette(tmp_path):
    from support import simulator

    sim = simulator(tmp_path)
    try:
        with fc_cassette.proxy(
            tmp_path / "c.yaml", "once", upstream=f"http://127.0.0.1:{sim.port}"
        ) as p:
            p.client("sk_test_" + "fakeMissKey0123456789").v1.financial_connections.sessions.create(
                params={
                    "account_holder": {"type": "customer", "customer": "cus_fakeMiss1"},
                    "permissions": ["balances"],
                }
            )
    finally:
        sim.stop()


def test_the_to_fix_line_is_indented_in_the_pytest_report(tmp_path):
    recorded_cassette(tmp_path)
    (tmp_path / "test_app.py").write_text(textwrap.dedent(CHANGED))
    r = run_pytest(tmp_path)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "WRONG" not in r.stdout and "1 replay miss(es) against" in r.stdout, r.stdout
    lines = r.stdout.splitlines()
    miss = next(i for i, ln in enumerate(lines) if ln.startswith("  - ") and "permissions" in ln)
    fix = next(i for i in range(miss + 1, len(lines)) if "To fix:" in lines[i])
    assert all(ln.startswith("    ") for ln in lines[miss + 1 : fix + 1]), lines[miss : fix + 1]
    assert lines[fix].startswith("    To fix: ")


def test_the_to_fix_line_is_indented_in_the_shutdown_summary(tmp_path):
    from fc_cassette.cassette import store as cio

    path = tmp_path / "c.yaml"
    w = cio.Writer(path, fsync=False)
    w.append(
        {
            "request": {
                "method": "POST",
                "path": "/v1/financial_connections/sessions",
                "query": {},
                "headers": {},
                "body": {"form": {"permissions": ["balances"]}},
            },
            "response": {"status": 200, "headers": {}, "body": {"json": {"id": "fcsess_1"}}},
        }
    )
    w.close()
    pb = Playback(cio.load(path), Settings())
    got = pb.take(
        {
            "method": "POST",
            "path": "/v1/financial_connections/sessions",
            "query": {},
            "headers": {},
            "body": {"form": {"permissions": ["ownership"]}},
        }
    )
    pb.refuse(got)
    assert "\nTo fix: " in pb.misses[0]  # the explanation's own continuation line
    text = "\n".join(pb.summary())
    assert "\n    To fix: " in text and "\nTo fix:" not in text
    assert all(ln.startswith("  ") for ln in text.splitlines()[1:])

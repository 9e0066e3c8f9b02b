"""``--fc-block-network``: a test reaches only the fc-cassette proxies (and the hosts the
user allows). Real pytest runs on a sample suite, a real simulator and real sockets."""

from __future__ import annotations

import re
import shutil
import socket
import textwrap
import threading
from pathlib import Path

import pytest

from support import run_pytest

SUITE = """
import socket
import pytest

KEY = "sk_test_" + "fakeBlockKey0123456789"
CREATE = {"account_holder": {"type": "customer", "customer": "cus_fakeBlock1"},
          "permissions": ["balances"]}
PORT = int(open("port.txt").read())


@pytest.mark.fc_cassette
def test_through_the_proxy(fc_proxy):
    s = fc_proxy.client(KEY).v1.financial_connections.sessions.create(params=CREATE)
    assert s.id.startswith("fcsess_")


def test_connect():
    with socket.socket() as s:
        s.connect(("127.0.0.1", PORT))


def test_create_connection():
    socket.create_connection(("127.0.0.1", PORT), timeout=5).close()


def test_resolve_then_connect():  # as urllib3 does
    family, kind, _, _, address = socket.getaddrinfo("localhost", PORT, socket.AF_INET,
                                                     socket.SOCK_STREAM)[0]
    with socket.socket(family, kind) as s:
        s.connect(address)


def test_connect_ex():
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", PORT)) == 0


def test_swallowed():
    try:
        socket.create_connection(("127.0.0.1", PORT), timeout=5).close()
    except Exception:
        pass  # the application hides the error: the test still fails
"""

REMOTE = """
import socket

import requests


def test_create_connection_by_name():
    socket.create_connection(("api.stripe.com", 443), timeout=5)


def test_requests_resolves_first():  # urllib3: getaddrinfo, then connect()
    requests.get("https://api.stripe.com/v1/customers", timeout=5)
"""


@pytest.fixture(scope="module")
def listener():
    """A real listening socket on 127.0.0.1: without the block, connecting succeeds."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    stop = threading.Event()

    def accept():
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                server.accept()[0].close()
            except OSError:
                pass

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join(5)
    server.close()


@pytest.fixture(scope="module")
def recorded(tmp_path_factory, listener, module_simulate):
    """The suite, its cassette recorded (with the network blocked: the test process
    talks only to the recording proxy, the proxy to the simulator); once a module."""
    folder = tmp_path_factory.mktemp("recorded")
    (folder / "port.txt").write_text(str(listener))
    (folder / "test_app.py").write_text(textwrap.dedent(SUITE))
    rec = run_pytest(
        folder,
        "--fc-record-mode=once",
        f"--fc-upstream={module_simulate[0]}",
        "--fc-block-network",
        "test_app.py::test_through_the_proxy",
    )
    assert rec.returncode == 0, rec.stdout + rec.stderr
    assert (folder / "cassettes" / "test_app" / "test_through_the_proxy.yaml").is_file()
    return folder


@pytest.fixture
def suite(tmp_path, recorded):
    """A test's own copy of the recorded suite (a test may add a pytest.ini)."""
    return Path(shutil.copytree(recorded, tmp_path / "suite"))


def outcomes(result) -> dict[str, str]:
    return {
        name: outcome
        for outcome, name in re.findall(
            r"^(PASSED|FAILED|ERROR) test_app\.py::(\w+)", result.stdout, re.M
        )
    }


def test_blocked_connections_fail_and_name_the_address(suite, listener):
    r = run_pytest(suite, "-rA", "--fc-block-network")
    got = outcomes(r)
    assert got == {
        "test_through_the_proxy": "PASSED",
        "test_connect": "FAILED",
        "test_create_connection": "FAILED",
        "test_resolve_then_connect": "FAILED",
        "test_connect_ex": "FAILED",
        "test_swallowed": "FAILED",
    }, r.stdout + r.stderr
    refused = (
        f"fc-cassette: --fc-block-network refused a connection to "
        f"127.0.0.1:{listener}: a test may reach only the fc-cassette proxy "
        f"(fc_proxy.url); to allow this address: "
        f"--fc-allowed-hosts=127.0.0.1:{listener} (ini: fc_allowed_hosts)"
    )
    assert refused in r.stdout
    assert (
        f"fc-cassette: --fc-block-network refused 1 connection(s): 127.0.0.1:{listener}" in r.stdout
    )  # test_swallowed's report, though its error was swallowed


def test_without_the_option_the_same_connections_pass(suite):
    r = run_pytest(suite, "-rA")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "6 passed" in r.stdout


def test_an_allowed_host_passes(suite, listener):
    r = run_pytest(suite, "-rA", "--fc-block-network", f"--fc-allowed-hosts=127.0.0.1:{listener}")
    assert r.returncode == 0, r.stdout + r.stderr
    r = run_pytest(suite, "-rA", "--fc-block-network", f"--fc-allowed-hosts=localhost:{listener}")
    got = outcomes(r)  # a name: its addresses once resolved; create_connection by address: not
    assert got["test_resolve_then_connect"] == "PASSED", r.stdout
    assert got["test_connect"] == "FAILED"
    r = run_pytest(suite, "-rA", "--fc-block-network", "--fc-allowed-hosts=127.0.0.1:1")
    assert outcomes(r)["test_connect"] == "FAILED"  # another port of the host: refused


def test_the_ini_options(suite, listener):
    (suite / "pytest.ini").write_text(
        "[pytest]\nfc_block_network = true\nfc_allowed_hosts = localhost, 127.0.0.1\n"
    )
    r = run_pytest(suite, "-rA")
    assert r.returncode == 0, r.stdout + r.stderr  # 127.0.0.1, any port
    (suite / "pytest.ini").write_text("[pytest]\nfc_block_network = true\n")
    r = run_pytest(suite, "-rA")
    assert outcomes(r)["test_connect"] == "FAILED"
    assert outcomes(r)["test_through_the_proxy"] == "PASSED"


def test_a_remote_host_is_refused_by_name_before_any_dns_query(tmp_path):
    (tmp_path / "test_remote.py").write_text(textwrap.dedent(REMOTE))
    r = run_pytest(tmp_path, "-rA", "--fc-block-network")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "2 failed" in r.stdout, r.stdout
    for test in ("test_create_connection_by_name", "test_requests_resolves_first"):
        assert (
            f"FAILED test_remote.py::{test} - fc_cassette.harness.block_network.NetworkBlocked: "
            f"fc-cassette: --fc-block-network refused a connection to api.stripe.com:443"
            in r.stdout
        ), r.stdout
    assert "--fc-allowed-hosts=api.stripe.com:443" in r.stdout


def test_a_bad_allowed_hosts_value_is_a_usage_error(tmp_path):
    (tmp_path / "test_x.py").write_text("def test_x():\n    pass\n")
    r = run_pytest(tmp_path, "--fc-block-network", "--fc-allowed-hosts=localhost:99999")
    assert r.returncode == 4
    assert r.stderr.strip() == (
        "ERROR: fc-cassette: --fc-allowed-hosts 'localhost:99999': "
        "use HOST or HOST:PORT (port 1-65535), comma-separated, "
        "e.g. localhost,127.0.0.1:5432"
    )

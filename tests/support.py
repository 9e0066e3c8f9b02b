"""Helpers for end-to-end tests: real fc-cassette/mitmdump processes on 127.0.0.1."""

from __future__ import annotations

import atexit
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from fc_cassette.harness import procs

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
FC = str(BIN / "fc-cassette")
MITMDUMP = str(BIN / "mitmdump")
SCRIPT = str(ROOT / "addons" / "fc_cassette" / "mitmdump_script.py")
DATA = ROOT / "tests" / "data"


def free_port() -> int:
    """A port nothing listens on (bound, then closed): ONLY for "dead upstream" cases.

    A proxy must never be started on it (another process may take it meanwhile): start
    proxies with ``--port 0`` (``fc()``/``start()`` do) and read the port they bound.
    """
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def dead_url() -> str:
    """An http URL on 127.0.0.1 where nothing listens (an unreachable upstream)."""
    return f"http://127.0.0.1:{free_port()}"


def wait_listening(log: Path, proc: subprocess.Popen, timeout: float = 60.0) -> int:
    """Wait for a ``--port 0`` proxy to log where it listens; return that port
    (fc_cassette.harness.procs, the package's own process helper, does the reading)."""
    return procs.wait_listening(proc, log, timeout=timeout)


def wait_port(port: int, proc: subprocess.Popen | None = None, timeout: float = 30.0) -> None:
    """Wait until 127.0.0.1:port accepts connections (the proxy is ready to serve)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            out = proc.stdout.read() if proc.stdout else ""
            raise RuntimeError(f"process exited early ({proc.returncode}):\n{out}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port} after {timeout}s")


_RUNNING: list[Proc] = []


@atexit.register
def _stop_leftovers() -> None:
    """A test that fails before stopping its processes must not leave them running."""
    for proc in _RUNNING:
        if proc.popen.poll() is None:
            try:
                os.killpg(proc.popen.pid, signal.SIGKILL)
            except OSError:
                pass


class Proc:
    """A background process whose combined output is kept in a file.

    An ``fc-cassette`` command is forked from the process that has imported the package
    (as ``run_fc`` runs them; ``FC_TEST_EXEC=1`` starts the installed script instead):
    ``popen`` is then a ``cli_forks.Forked``, with Popen's pid, poll, wait and signals.

    ``port``: None = do not wait; 0 = the process was started with ``--port 0``: wait
    for its "listening at" log line and set ``self.port`` to the port it bound; else wait
    until that port accepts connections.
    """

    def __init__(
        self,
        args: list[str],
        port: int | None,
        log: Path,
        env: dict | None = None,
        cwd: Path | None = None,
    ):
        self.args, self.port, self.log = args, port, log
        self._fh = open(log, "w")
        full_env = {**os.environ, **(env or {})}
        if args[0] in (FC, MITMDUMP) and os.environ.get("FC_TEST_EXEC") != "1":
            # forked from the process that has imported the package (see run_fc)
            self.popen = _zygote(args[0]).spawn(
                args[0], [str(a) for a in args[1:]], cwd or ROOT, full_env, self._fh.fileno(), True
            )
        else:
            self.popen = subprocess.Popen(
                args,
                stdout=self._fh,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=full_env,
                cwd=cwd or ROOT,
                start_new_session=True,
            )
        _RUNNING.append(self)
        if port is not None:
            try:
                if port == 0:
                    self.port = wait_listening(log, self.popen)
                else:
                    wait_port(port, self.popen)
            except Exception:
                self.stop()
                raise RuntimeError(f"{args} did not start:\n{self.output()}") from None

    def output(self) -> str:
        if not self._fh.closed:
            self._fh.flush()
        return self.log.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGINT, timeout: float = 20.0) -> int:
        if self.popen.poll() is None:
            self.popen.send_signal(sig)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(5)
        self._fh.close()
        return self.popen.returncode

    def kill_group(self) -> None:
        os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait(10)


# Tests written before issue #23 create sessions for made-up customers (cus_fake1 ...):
# their simulators accept customer ids they never created. Tests of the customer rule
# itself pass ``known_customers_only=True`` (the default of `fc-cassette simulate`).
ANY_CUSTOMER = ["--set", "fc_accept_unknown_customers=true"]


def fc(
    args: list[str],
    tmp_path: Path,
    name: str = "fc",
    port: int | None = None,
    env: dict | None = None,
    known_customers_only: bool = False,
) -> Proc:
    """Start ``fc-cassette ARGS --port PORT`` and wait until it listens.

    ``port=0`` (the usual choice): the proxy picks a free port; read it as ``.port``.
    """
    full = [FC, *args]
    if args[:1] == ["simulate"] and not known_customers_only:
        full += ANY_CUSTOMER
    if port is not None:
        full += ["--port", str(port), "--set", f"confdir={tmp_path / 'mitmconf'}"]
    return Proc(full, port, tmp_path / f"{name}.log", env=env)


_ZYGOTES: dict = {}  # the fork servers (cli_forks.Zygote) by script, started on first use


def _zygote(script: str = FC):
    import tempfile

    from cli_forks import Zygote

    if script not in _ZYGOTES:
        kind = "mitmdump" if script == MITMDUMP else "fc"
        _ZYGOTES[script] = Zygote(Path(tempfile.mkdtemp(prefix="fc-zygote-")), kind)
        atexit.register(_ZYGOTES[script].stop)
    return _ZYGOTES[script]


def simulator(folder: Path, seed: int = 7) -> Proc:
    """A real ``fc-cassette simulate --seed SEED`` (made-up customers accepted) on a port
    it chose itself, listening; its log and confdir in ``folder``."""
    args = [FC, "simulate", "--seed", str(seed), "--port", "0", *ANY_CUSTOMER]
    return Proc([*args, "--set", f"confdir={folder / 'simconf'}"], 0, folder / "sim.log")


def run_fc(
    args: list[str], timeout: float = 60.0, cwd: Path | None = None
) -> subprocess.CompletedProcess:
    """Run an offline fc-cassette command to completion: its own process, stdout and
    stderr captured as text, stdin /dev/null.

    The process is forked from one that has imported the package already (cli_forks.py:
    the same code, arguments, folder and exit code, without the ~0.8 s of imports);
    ``FC_TEST_EXEC=1``, or an environment changed since that fork server started (but
    for pytest's PYTEST_CURRENT_TEST), runs the installed ``fc-cassette`` script itself.
    """
    if os.environ.get("FC_TEST_EXEC") != "1":
        zygote = _zygote()
        if zygote.same_env(os.environ):
            return zygote.run(FC, [str(a) for a in args], timeout, cwd or ROOT)
    return subprocess.run(
        [FC, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd or ROOT,
        stdin=subprocess.DEVNULL,
    )


def mitmdump_args(tmp_path: Path, *sets: str) -> list[str]:
    """Raw ``mitmdump -s mitmdump_script.py`` on 127.0.0.1, port 0, its own confdir, with
    ``--set`` for each of ``sets`` (``"fc_mode=simulate"``, ...)."""
    args = [MITMDUMP, "-s", SCRIPT, "--listen-host", "127.0.0.1", "-p", "0"]
    for spec in (f"confdir={tmp_path / 'conf'}", *sets):
        args += ["--set", spec]
    return args


def raw_mitmdump(tmp_path: Path, *sets: str, name: str = "raw") -> Proc:
    """Start raw mitmdump with the script (``mitmdump_args``) and wait until it listens."""
    return Proc(mitmdump_args(tmp_path, *sets), 0, tmp_path / f"{name}.log")


def run_mitmdump(tmp_path: Path, *sets: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """Run raw mitmdump with the script to completion (a start-up that must fail); forked
    from a process that has imported mitmdump as ``run_fc`` forks fc-cassette commands."""
    args = mitmdump_args(tmp_path, *sets)
    if os.environ.get("FC_TEST_EXEC") != "1":
        zygote = _zygote(MITMDUMP)
        if zygote.same_env(os.environ):
            return zygote.run(MITMDUMP, args[1:], timeout, ROOT)
    return subprocess.run(
        args,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


# pytest on a sample suite: quiet, no cache folder, the suite's own order, and without the
# plugins of this project's own test tools that no sample suite uses (hypothesis's costs
# about a second of imports per process and per xdist worker; anyio's a tenth)
# The helper module (suitehelp.py) of the generated sample suites of test_pytest_suite.py
# and test_pytest_fc_config_e2e.py: a create and a retrieve through the fc_proxy fixture.
SUITE_HELPERS = """
KEY = "sk_test_" + "fakeSuiteKey0123456789ab"


def create_and_retrieve(fc_proxy, customer, return_url=None):
    sessions = fc_proxy.client(KEY).v1.financial_connections.sessions
    params = {"account_holder": {"type": "customer", "customer": customer},
              "permissions": ["balances"]}
    if return_url:
        params["return_url"] = return_url
    s = sessions.create(params=params)
    assert s.account_holder.customer == customer
    assert sessions.retrieve(s.id).id == s.id
    return s
"""


PYTEST = [
    *(sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly"),
    *("-p", "no:hypothesispytest", "-p", "no:anyio"),
]


def run_pytest(
    cwd: Path, *args: str, env: dict | None = None, timeout: float = 300
) -> subprocess.CompletedProcess:
    """A real ``pytest -q`` process in ``cwd`` (a sample project), without the cache,
    random-order, hypothesis and anyio plugins, its whole summary lines kept
    (``COLUMNS=400``)."""
    return subprocess.run(
        [*PYTEST, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        env={**os.environ, "COLUMNS": "400", **(env or {})},
    )


PROXY_CMD = re.compile(rb"-m\x00fc_cassette\x00(replay|record)\x00")


def children_proxies(ppid: int, others: set[str] | None = None) -> set[int]:
    """The fc-cassette proxies whose parent is ``ppid`` (a command line is read only for
    a child; plain ``os.read``: this runs every 20 ms while a sample suite runs).

    ``others``, kept by the caller from one sample to the next: the processes found not
    to be children of ``ppid``, whose ``stat`` is not read again (a process never becomes
    the child of one that did not start it; a number is reused only after the kernel has
    handed out all the others). A sample then costs a listing of /proc and a read of each
    child's and each new process's stat (about 1.8 ms of CPU before, with ~100 processes
    on the machine)."""
    found = set()
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or (others is not None and pid in others):
            continue
        try:
            if int(_read(f"/proc/{pid}/stat").rsplit(b")", 1)[1].split()[1]) != ppid:
                if others is not None:
                    others.add(pid)
                continue
            cmdline = _read(f"/proc/{pid}/cmdline")
        except (OSError, IndexError, ValueError):
            continue
        if PROXY_CMD.search(cmdline):
            found.add(int(pid))
    return found


def _read(path: str) -> bytes:
    fd = os.open(path, os.O_RDONLY)
    try:
        return os.read(fd, 65536)
    finally:
        os.close(fd)


def run_counted(cwd: Path, *args: str) -> tuple[subprocess.CompletedProcess, int]:
    """pytest in ``cwd`` (the :data:`PYTEST` command line, its output in
    ``cwd/pytest.out``), and how many fc-cassette proxies it started (its children,
    sampled every 20 ms)."""
    with open(cwd / "pytest.out", "w") as out:
        p = subprocess.Popen(
            [*PYTEST, *args],
            cwd=cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        seen: set[int] = set()
        others: set[str] = set()
        deadline = time.monotonic() + 600
        while p.poll() is None and time.monotonic() < deadline:
            seen |= children_proxies(p.pid, others)
            time.sleep(0.02)
        if p.poll() is None:
            p.kill()
        p.wait()
    text = (cwd / "pytest.out").read_text()
    return subprocess.CompletedProcess(p.args, p.returncode, text, ""), len(seen)


class Stack:
    """An ``fc-cassette`` proxy process reachable as a Stripe API base URL."""

    def __init__(self, proc: Proc, port: int, confdir: Path):
        self.proc, self.port, self.confdir = proc, port, confdir
        self.base = f"http://127.0.0.1:{port}"

    @property
    def ca(self) -> Path:
        return self.confdir / "mitmproxy-ca-cert.pem"

    def client(self, key: str, **kw):
        import stripe

        return stripe.StripeClient(
            key, base_addresses={"api": self.base}, max_network_retries=0, **kw
        )

    def complete(self, session_id: str, key: str, accounts: int = 2):
        """The simulator-only flow completion (passes through record proxies unrecorded)."""
        import requests

        r = requests.post(
            f"{self.base}/_simulator/financial_connections/sessions/{session_id}/complete",
            data={"accounts": str(accounts)},
            headers={"Authorization": f"Bearer {key}"},
            timeout=10,
        )
        r.raise_for_status()
        return r.json()


def start(
    args: list[str],
    tmp_path: Path,
    name: str,
    env: dict | None = None,
    known_customers_only: bool = False,
) -> Stack:
    """Start ``fc-cassette ARGS`` on a port the proxy picks itself (``--port 0``)."""
    proc = fc(args, tmp_path, name=name, port=0, env=env, known_customers_only=known_customers_only)
    return Stack(proc, proc.port, tmp_path / "mitmconf")


def encoded_forms(secret: str) -> list[str]:
    """A secret as it could leak: raw, percent-encoded, base64 (also as Basic auth)."""
    import base64
    from urllib.parse import quote

    forms = {
        secret,
        quote(secret, safe=""),
        base64.b64encode(secret.encode()).decode(),
        base64.b64encode(f"{secret}:".encode()).decode().rstrip("="),
        base64.urlsafe_b64encode(secret.encode()).decode().rstrip("="),
    }
    # the tail alone (after the prefix) must not appear either
    forms.add(secret.split("_")[-1])
    return sorted(forms)


# The npm packages the stripe-node tests use: the SDK (its newest release, as a new app
# gets it) and https-proxy-agent (stripe-node ignores HTTPS_PROXY: forward mode needs an
# agent, docs/forward-mode.md).
NODE_PACKAGES = ("stripe", "https-proxy-agent@7")


def stripe_node(tmp_path_factory) -> dict[str, str]:
    """The environment that runs ``node`` with stripe-node: ``NODE_PATH`` set to one
    ``npm install`` of :data:`NODE_PACKAGES` made once per test run and shared by the
    xdist workers (a lock file in the run's temporary folder; it took ~4 s of wall and CPU
    per install, three times a run). Skips the test when node or npm is absent or the
    install failed (no registry): the tests that need stripe-node say so."""
    import fcntl

    import pytest

    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node or npm is not installed")
    base = tmp_path_factory.getbasetemp()
    run = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    where = run / "stripe-node"
    where.mkdir(exist_ok=True)
    with open(run / "stripe-node.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        failed = where / "npm-failed.txt"
        if not (where / "npm-done").exists() and not failed.exists():
            try:
                done = subprocess.run(
                    ["npm", "install", "--no-audit", "--no-fund", "--silent", *NODE_PACKAGES],
                    cwd=where,
                    capture_output=True,
                    text=True,
                    timeout=600,
                    stdin=subprocess.DEVNULL,
                )
                ok = done.returncode == 0 and (where / "node_modules" / "stripe").is_dir()
                why = done.stderr.strip()[-300:]
            except (OSError, subprocess.TimeoutExpired) as e:
                ok, why = False, str(e)
            if ok:
                (where / "npm-done").touch()
            else:
                failed.write_text(why or "npm install failed")
        if failed.exists():
            pytest.skip(f"npm install failed (no registry?): {failed.read_text()}")
    return {**os.environ, "NODE_PATH": str(where / "node_modules")}

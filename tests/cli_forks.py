"""``fc-cassette`` commands (and raw ``mitmdump -s`` runs) as real processes, forked from
one that has already imported the package (a "zygote"), instead of a fresh interpreter
each time.

An offline command (verify, show, an argument error, --help ...) costs about 0.8 s of CPU
in a fresh interpreter, nearly all of it imports (mitmproxy's); the e2e tests run a few
hundred of them. Forked, each one is still its own process, with its own stdin, stdout
and stderr (pipes), working folder, arguments and exit code (a signal gives a negative
code, as subprocess does), running the console script's code (``sys.exit(main())`` with
``sys.argv[0]`` the script's path): what it skips is only the interpreter's start and the
imports. ``support.run_fc`` uses it when the test process's environment is still the one
the zygote started with (else, and with ``FC_TEST_EXEC=1``, it runs the real script).

Raw mitmdump (``support.raw_mitmdump``/``run_mitmdump``) has a zygote of its own, which
has imported mitmdump's whole set of addons and fc-cassette's addon module, as mitmdump
running the script imports them: about 1.8 s of CPU per start in a fresh interpreter,
0.3 s forked. (A separate one: the fc-cassette zygote must not have imported mitmdump's
addons, which ``fc-cassette``'s lean proxies leave out.)

Run as a script: ``python cli_forks.py SOCKET [fc|mitmdump]`` serves forks on that unix
socket until its stdin closes (its parent, the test process, exited).
"""

from __future__ import annotations

import atexit
import json
import locale
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

_HEADER = struct.Struct("!I")


def _send(sock: socket.socket, obj: object, fds: list[int] | None = None) -> None:
    data = json.dumps(obj).encode()
    msg = _HEADER.pack(len(data)) + data
    if fds:
        socket.send_fds(sock, [msg], fds)
    else:
        sock.sendall(msg)


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise EOFError("the fork server closed the connection")
        buf += chunk
    return buf


def _recv(sock: socket.socket) -> object:
    (n,) = _HEADER.unpack(_recv_exact(sock, _HEADER.size))
    return json.loads(_recv_exact(sock, n))


# ------------------------------------------------------------------ the server side
def _run_command(req: dict, fds: list[int]) -> None:
    """In the forked process: become ``script argv`` and exit as the script would."""
    import random
    import traceback

    script, argv, cwd, env = req["script"], req["argv"], req["cwd"], req["env"]
    if req.get("new_session"):
        os.setsid()
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
    for fd in set(fds):
        os.close(fd)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    random.seed()  # a fresh interpreter's random state, not the zygote's
    os.environ.clear()
    os.environ.update(env)
    os.chdir(cwd)
    sys.argv = [script, *argv]
    code: int = 1
    try:
        if os.path.basename(script) == "mitmdump":  # what the console script runs
            from mitmproxy.tools.main import mitmdump as main
        else:
            from fc_cassette.cli import main

        sys.exit(main())
    except SystemExit as e:
        if e.code is None:
            code = 0
        elif isinstance(e.code, int):
            code = e.code
        else:
            print(e.code, file=sys.stderr)
            code = 1
    except BaseException:
        traceback.print_exc()
        code = 1
    try:
        atexit._run_exitfuncs()
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(code & 0xFF)


def _serve_one(conn: socket.socket, listener: socket.socket) -> None:
    """In a forked helper: fork the command, tell its pid, wait for it, tell its code."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    listener.close()
    msg, fds, _flags, _addr = socket.recv_fds(conn, 1 << 20, 3)
    msg += _recv_exact(conn, max(0, _HEADER.size - len(msg)))
    (n,) = _HEADER.unpack(msg[: _HEADER.size])
    msg += _recv_exact(conn, max(0, _HEADER.size + n - len(msg)))
    req = json.loads(msg[_HEADER.size : _HEADER.size + n])
    pid = os.fork()
    if pid == 0:
        conn.close()
        _run_command(req, fds)
    for fd in fds:
        os.close(fd)
    _send(conn, {"pid": pid})
    _, status = os.waitpid(pid, 0)
    _send(conn, {"code": os.waitstatus_to_exitcode(status)})
    conn.close()


def serve(path: str, kind: str = "fc") -> None:
    # the point: imported once, before any fork (what the commands import lazily too)
    if kind == "mitmdump":
        import mitmproxy.tools.dump  # noqa: F401  (and with it every default addon)
        import mitmproxy.tools.main  # noqa: F401

        import fc_cassette.mitm.addon  # noqa: F401  (what the -s script imports)
    else:
        import mitmproxy.master  # noqa: F401
        import mitmproxy.options  # noqa: F401
        import mitmproxy.tools.cmdline  # noqa: F401

        import fc_cassette.cli  # noqa: F401
        import fc_cassette.cli.app  # noqa: F401
        import fc_cassette.mitm.addon  # noqa: F401
        from fc_cassette.cli import diff, show, verify  # noqa: F401

    def reap() -> None:  # waited for, their CPU time counts in the test process's
        try:
            while os.waitpid(-1, os.WNOHANG)[0]:
                pass
        except ChildProcessError:
            pass

    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(16)

    def parent_gone() -> None:  # our stdin is a pipe from the test process
        # os.read, not sys.stdin: a thread blocked in sys.stdin would hold its lock in
        # every fork (a command reading its stdin would hang)
        while os.read(0, 4096):
            pass
        reap()
        os._exit(0)

    threading.Thread(target=parent_gone, daemon=True).start()
    print("ready", flush=True)
    sys.stdout.flush()
    sys.stderr.flush()
    while True:
        conn, _ = listener.accept()
        if os.fork() == 0:
            try:
                _serve_one(conn, listener)
            finally:
                os._exit(0)
        conn.close()
        reap()


# ------------------------------------------------------------------ the client side
class Forked:
    """A forked command as ``subprocess.Popen`` shows one (what tests/support.py's Proc
    and fc_cassette.harness.procs use): ``pid``, ``returncode``, ``poll``, ``wait``,
    ``send_signal``, ``terminate``, ``kill``."""

    stdout = None

    def __init__(self, sock: socket.socket, args: list[str]):
        self.sock, self.args = sock, args
        self.pid: int = _recv(sock)["pid"]  # type: ignore[index]
        self.returncode: int | None = None

    def _collect(self, timeout: float | None) -> bool:
        import select

        if self.returncode is None:
            ready, _, _ = select.select([self.sock], [], [], timeout)
            if not ready:
                return False
            self.returncode = _recv(self.sock)["code"]  # type: ignore[index]
            self.sock.close()
        return True

    def poll(self) -> int | None:
        self._collect(0)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if not self._collect(timeout):
            raise subprocess.TimeoutExpired(self.args, timeout or 0)
        assert self.returncode is not None
        return self.returncode

    def send_signal(self, sig: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, sig)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


class Zygote:
    """One fork server per test process and kind (started on first use): ``fc`` for
    ``fc-cassette`` commands, ``mitmdump`` for raw mitmdump."""

    def __init__(self, tmpdir: Path, kind: str = "fc"):
        self.path = str(tmpdir / f"zygote-{kind}.sock")
        self.env = dict(os.environ)
        self.proc = subprocess.Popen(
            [sys.executable, __file__, self.path, kind],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=self.env,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if line.strip() != b"ready":
            raise RuntimeError(f"the fc-cassette fork server did not start: {line!r}")

    def same_env(self, env) -> bool:
        """Whether ``env`` is the one the server started with, but for pytest's
        PYTEST_CURRENT_TEST (which each fork gets as it is now)."""
        skip = "PYTEST_CURRENT_TEST"
        return {k: v for k, v in env.items() if k != skip} == {
            k: v for k, v in self.env.items() if k != skip
        }

    def stop(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()

    def _request(self, req: dict, fds: list[int]) -> socket.socket:
        """Send a command (stdin, stdout, stderr: ``fds``, closed here) to be forked."""
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(self.path)
            _send(sock, req, fds)
        except BaseException:
            sock.close()
            raise
        finally:
            for fd in set(fds):
                os.close(fd)
        return sock

    def spawn(
        self, script: str, argv: list[str], cwd: Path, env: dict, out: int, new_session: bool
    ) -> Forked:
        """Like ``subprocess.Popen([script, *argv], stdout=out, stderr=STDOUT,
        stdin=DEVNULL, env=env, cwd=cwd, start_new_session=new_session)``."""
        req = {
            "script": script,
            "argv": argv,
            "cwd": str(cwd),
            "env": env,
            "new_session": new_session,
        }
        devnull = os.open(os.devnull, os.O_RDONLY)
        sock = self._request(req, [devnull, os.dup(out), os.dup(out)])
        return Forked(sock, [script, *argv])

    def run(
        self, script: str, argv: list[str], timeout: float, cwd: Path
    ) -> subprocess.CompletedProcess:
        """Like ``subprocess.run([script, *argv], capture_output=True, text=True,
        stdin=DEVNULL, cwd=cwd, timeout=timeout)``."""
        devnull = os.open(os.devnull, os.O_RDONLY)
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        req = {"script": script, "argv": argv, "cwd": str(cwd), "env": dict(os.environ)}
        sock = self._request(req, [devnull, out_w, err_w])
        chunks: dict[int, list[bytes]] = {out_r: [], err_r: []}

        def drain(fd: int) -> None:
            with open(fd, "rb", closefd=True) as f:
                while data := f.read1(65536):
                    chunks[fd].append(data)

        readers = [threading.Thread(target=drain, args=(fd,), daemon=True) for fd in chunks]
        for t in readers:
            t.start()
        deadline = time.monotonic() + timeout
        with sock:
            pid = _recv(sock)["pid"]  # type: ignore[index]
            sock.settimeout(max(0.1, deadline - time.monotonic()))
            try:
                code = _recv(sock)["code"]  # type: ignore[index]
            except TimeoutError:
                os.kill(pid, signal.SIGKILL)
                for t in readers:
                    t.join(10)
                raise subprocess.TimeoutExpired(
                    [script, *argv], timeout, b"".join(chunks[out_r]), b"".join(chunks[err_r])
                ) from None
        for t in readers:
            t.join(max(1.0, deadline - time.monotonic()))

        def text(fd: int) -> str:  # as text=True decodes: locale encoding, universal newlines
            raw = b"".join(chunks[fd]).decode(locale.getpreferredencoding(False))
            return raw.replace("\r\n", "\n").replace("\r", "\n")

        return subprocess.CompletedProcess([script, *argv], code, text(out_r), text(err_r))


if __name__ == "__main__":
    serve(*sys.argv[1:3])

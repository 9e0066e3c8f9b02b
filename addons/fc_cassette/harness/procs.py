"""Start, find and stop ``fc-cassette`` processes: one helper for the pytest plugin, the
bench, the demo and the tests.

- :func:`spawn` starts ``python -m fc_cassette ARGS`` in its own session (so that the
  whole group can be signalled), its output in a log file, stdin closed.
- :func:`wait_listening` reads the port the proxy picked with ``--port 0`` from its log
  (mitmproxy's "... listening at 127.0.0.1:PORT"; it listens only once loaded). A port
  chosen beforehand and bound later could be taken meanwhile by another process, whose
  socket would then pass for this one.
- :func:`stop` is the ladder: SIGINT (fc-cassette's clean shutdown: flush, unlock,
  summary), then SIGTERM, then SIGKILL, each to the process group, each with a wait.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

FC = (sys.executable, "-m", "fc_cassette")
LISTENING = re.compile(r"listening at 127\.0\.0\.1:(\d+)")
START_TIMEOUT = 60.0
# (signal, seconds to wait for the exit after it)
Ladder = tuple[tuple[signal.Signals, float], ...]
LADDER: Ladder = ((signal.SIGINT, 20.0), (signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0))


class StartError(RuntimeError):
    """The process exited before it listened, or did not listen in time; ``output``
    holds its log."""

    def __init__(self, message: str, output: str):
        super().__init__(f"{message}:\n{output}")
        self.output = output


def output(log: Path) -> str:
    return log.read_text(errors="replace") if log.exists() else ""


def spawn(
    args: Sequence[str],
    log: Path,
    *,
    cwd: Path | str | None = None,
    env: Mapping[str, str] | None = None,
    command: Sequence[str] = FC,
    stdin_pipe: bool = False,
) -> subprocess.Popen:
    """Start ``command ARGS`` (``python -m fc_cassette`` by default), output to ``log``.
    ``stdin_pipe``: its stdin is one end of a socket pair whose other end is
    ``proc.stdin`` here (written and read: hints, control calls and their answers), which
    the kernel closes when this process exits or dies (see the ``fc_parent_pipe``
    option)."""
    mine, theirs = socket.socketpair() if stdin_pipe else (None, None)
    try:
        with open(log, "w") as fh:
            proc = subprocess.Popen(
                [*command, *args],
                stdout=fh,
                stderr=subprocess.STDOUT,
                stdin=theirs.fileno() if theirs is not None else subprocess.DEVNULL,
                cwd=cwd,
                env=dict(env) if env is not None else None,
                start_new_session=True,
            )
    except BaseException:
        if mine is not None:
            mine.close()
        raise
    finally:
        if theirs is not None:
            theirs.close()
    if mine is not None:
        proc.stdin = mine.makefile("rwb", buffering=0)  # type: ignore[assignment]
        mine.close()  # (the file keeps the socket open until it is closed)
    return proc


def wait_listening(
    proc: subprocess.Popen, log: Path, timeout: float = START_TIMEOUT, what: str = "fc-cassette"
) -> int:
    """The port ``proc`` says it listens on; :class:`StartError` (the process stopped)
    if it exits first or says nothing within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            found = LISTENING.search(output(log))  # it may have listened, then stopped
            raise StartError(
                f"{what} exited ({proc.returncode})"
                + (f" after listening on {found.group(1)}" if found else ""),
                output(log),
            )
        found = LISTENING.search(output(log))
        if found:
            return int(found.group(1))
        if time.monotonic() > deadline:
            stop(proc)
            raise StartError(f"{what} did not start within {timeout:g}s", output(log))
        time.sleep(0.02)


def start(
    args: Sequence[str],
    log: Path,
    *,
    confdir: Path | None = None,
    cwd: Path | str | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = START_TIMEOUT,
) -> tuple[subprocess.Popen, int]:
    """``fc-cassette ARGS --port 0 [--set confdir=CONFDIR]``, once it listens: the
    process and its port."""
    extra = ["--port", "0"] + (["--set", f"confdir={confdir}"] if confdir else [])
    proc = spawn([*args, *extra], log, cwd=cwd, env=env)
    return proc, wait_listening(proc, log, timeout, what=" ".join(["fc-cassette", *args[:1]]))


def _signal(proc: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)  # the group: started with start_new_session
    except (ProcessLookupError, PermissionError):
        try:
            proc.send_signal(sig)
        except ProcessLookupError:
            pass


def stop(proc: subprocess.Popen, ladder: Ladder = LADDER) -> int | None:
    """Stop ``proc`` (SIGINT, then SIGTERM, then SIGKILL); its exit code. A step with a
    wait of 0 only signals."""
    for sig, wait in ladder:
        if proc.poll() is not None:
            break
        _signal(proc, sig)
        if not wait:
            continue
        try:
            proc.wait(wait)
        except subprocess.TimeoutExpired:
            continue
    return proc.returncode

"""The harness's side of a replay proxy's parent pipe (issue #25; the proxy's side is
:func:`fc_cassette.mitm.control.parent_call` and ``Replay.parent_line``): control
calls answered on the same socket pair, without an HTTP round trip through mitmproxy,
and hints at the next test's cassette, which never wait. See docs/control-endpoint.md
("The harness's own channel")."""

from __future__ import annotations

import json
import os
import select
import time
from pathlib import Path
from typing import Any

CALL_TIMEOUT = 30.0  # seconds a call may take, but a use...
USE_TIMEOUT = 600.0  # ... which parses its cassette first (a 100k one: minutes, loaded);
# a proxy that exits meanwhile is seen at once (its end of the pipe closes)
PIPE_BUF = 4096  # a write up to this size is whole or nothing


class Channel:
    """Lines to and from a proxy's stdin (``fd``: the harness's end of the socket pair,
    non-blocking)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        os.set_blocking(fd, False)
        self._calls = 0
        self._read = b""  # read, not yet a whole line

    def call(self, action: str, body: dict | None) -> tuple[int, dict[str, Any]]:
        """The proxy's answer to a control call: (HTTP status, JSON body); OSError
        (TimeoutError, ConnectionError) if it does not answer."""
        self._calls += 1
        message: dict[str, Any] = {"call": action, "id": self._calls}
        if body is not None:
            message["body"] = body
        timeout = USE_TIMEOUT if action == "use" else CALL_TIMEOUT
        deadline = time.monotonic() + timeout
        out = memoryview(json.dumps(message).encode() + b"\n")
        while out:
            _wait(self.fd, "w", deadline, timeout)
            try:
                out = out[os.write(self.fd, out) :]
            except BlockingIOError:
                continue
        while True:
            answer = json.loads(self._line(deadline, timeout))
            if answer.get("id") == self._calls:  # (an earlier call's late answer: skipped)
                return int(answer.get("status") or 500), answer.get("body") or {}

    def _line(self, deadline: float, timeout: float) -> bytes:
        while True:
            line, nl, rest = self._read.partition(b"\n")
            if nl:
                self._read = rest
                return line
            _wait(self.fd, "r", deadline, timeout)
            try:
                got = os.read(self.fd, 65536)
            except BlockingIOError:
                continue
            if not got:
                raise ConnectionError("the proxy closed its parent pipe (it exited)")
            self._read += got

    def hint(self, cassette: Path) -> None:
        """Tell the proxy the next test's cassette (it parses it while it waits); never
        waits: a hint that does not fit in the pipe at once is dropped (only a guess:
        the ``use`` parses the cassette itself if it must)."""
        line = json.dumps({"preload": str(cassette)}).encode() + b"\n"
        if len(line) > PIPE_BUF:
            return
        try:
            os.write(self.fd, line)
        except OSError:  # full (BlockingIOError), closed, gone
            pass


def _wait(fd: int, how: str, deadline: float, timeout: float) -> None:
    """Wait until ``fd`` is readable (``how`` "r") or writable ("w"); TimeoutError
    past ``deadline``."""
    left = max(0.0, deadline - time.monotonic())
    readable, writable, _ = select.select(
        [fd] if how == "r" else [], [fd] if how == "w" else [], [], left
    )
    if not (readable or writable):
        raise TimeoutError(f"the proxy did not answer within {timeout:g}s")

"""The harness's side of a replay proxy's parent pipe (fc_cassette.harness.channel), over
a real socket pair: the far end here plays the proxy's part (the proxy's own side is
tested in test_harness_fast_paths.py and, end to end, in tests/e2e/test_pytest_plugin.py)."""

from __future__ import annotations

import json
import socket
import threading

import pytest

from fc_cassette.harness import channel as ch


@pytest.fixture
def pair():
    mine, theirs = socket.socketpair()
    yield mine, theirs
    mine.close()
    theirs.close()


def _lines(sock: socket.socket, n: int) -> list[dict]:
    got = b""
    while got.count(b"\n") < n:
        got += sock.recv(65536)
    return [json.loads(line) for line in got.splitlines()]


def test_a_call_gets_its_own_answer_and_skips_a_late_one(pair):
    mine, theirs = pair
    channel = ch.Channel(mine.fileno())

    def proxy() -> None:
        (call,) = _lines(theirs, 1)
        assert call == {"call": "use", "id": 1, "body": {"cassette": "/x.yaml"}}
        # an earlier call's late answer first (a timed-out call), then this one's, in two
        # pieces: the channel reads whole lines
        answer = json.dumps({"id": 1, "status": 200, "body": {"cassette": "/x.yaml"}}).encode()
        theirs.sendall(b'{"id": 0, "status": 500, "body": {}}\n' + answer[:7])
        theirs.sendall(answer[7:] + b"\n")

    t = threading.Thread(target=proxy)
    t.start()
    assert channel.call("use", {"cassette": "/x.yaml"}) == (200, {"cassette": "/x.yaml"})
    t.join()


def test_a_proxy_that_exits_or_does_not_answer_is_an_oserror(pair, monkeypatch):
    mine, theirs = pair
    channel = ch.Channel(mine.fileno())
    monkeypatch.setattr(ch, "CALL_TIMEOUT", 0.2)
    with pytest.raises(TimeoutError, match="did not answer within 0.2s"):
        channel.call("status", None)
    theirs.close()
    with pytest.raises(OSError):  # ConnectionError (EOF) or a broken pipe on the write
        channel.call("status", None)


def test_a_hint_never_waits_and_a_long_one_is_not_sent(pair, tmp_path):
    mine, theirs = pair
    channel = ch.Channel(mine.fileno())
    channel.hint(tmp_path / "next.yaml")
    assert _lines(theirs, 1) == [{"preload": str(tmp_path / "next.yaml")}]
    channel.hint(tmp_path / ("x" * ch.PIPE_BUF))  # over PIPE_BUF: could be split, dropped
    theirs.setblocking(False)
    with pytest.raises(BlockingIOError):
        theirs.recv(1)
    while True:  # a full pipe (a proxy that does not read): the hint is dropped, not waited
        try:
            mine.send(b"x" * 65536)
        except BlockingIOError:
            break
    channel.hint(tmp_path / "dropped.yaml")

"""Bytes HTTP cannot carry never poison a cassette (issue #27): a control character
(``\\x00``, ``\\x01``, ``\\x1b``, ``\\x7f``; NEL, U+2028) in a request header or path, or
in a response header or reason, recorded through a real ``fc-cassette record``: the
client is told (the not-recorded answer, or mitmproxy's own refusal) and the cassette
still loads with every earlier exchange, in ``verify``, ``replay`` and
``record --record-mode new_episodes``."""

from __future__ import annotations

import socket
import threading

import pytest

from fc_cassette.cassette import store as cio
from support import FC, Proc, run_fc

# (id, request line's path suffix, extra request header, extra response header, reason)
VARIANTS = [
    ("req-header-01", b"", b"X-Note: a\x01b\r\n", b"", b"OK"),
    ("req-header-1b", b"", b"X-Note: a\x1b[31mb\r\n", b"", b"OK"),
    ("req-header-7f", b"", b"X-Note: a\x7fb\r\n", b"", b"OK"),
    ("req-path-01", b"a\x01b", b"", b"", b"OK"),
    ("req-path-7f", b"a\x7fb", b"", b"", b"OK"),
    ("resp-header-00", b"", b"", b"X-Up: a\x00b\r\n", b"OK"),
    ("resp-header-1b", b"", b"", b"X-Up: a\x1bb\r\n", b"OK"),
    ("resp-header-7f", b"", b"", b"X-Up: a\x7fb\r\n", b"OK"),
    ("resp-reason-01", b"", b"", b"", b"O\x01K"),
    ("resp-reason-1b", b"", b"", b"", b"O\x1bK"),
    ("resp-reason-nel", b"", b"", b"", "O\u0085K".encode()),
    ("resp-header-2028", b"", b"", "X-Up: a\u2028b\r\n".encode(), b"OK"),
]


class Upstream:
    """A raw HTTP/1.1 server on 127.0.0.1 that answers each request with the response
    header and reason the variant named in its path asks for."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        with conn:
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                data += chunk
            line = data.split(b"\r\n", 1)[0]
            name = line.split(b" ")[1].rsplit(b"/", 1)[-1].split(b"?")[0]
            variant = next((v for v in VARIANTS if name.startswith(v[0].encode())), None)
            header, reason = (variant[3], variant[4]) if variant else (b"", b"OK")
            body = b'{"id": "cus_fake", "object": "customer"}'
            conn.sendall(
                b"HTTP/1.1 200 "
                + reason
                + b"\r\nContent-Type: application/json\r\n"
                + header
                + b"Content-Length: "
                + str(len(body)).encode()
                + b"\r\nConnection: close\r\n\r\n"
                + body
            )

    def close(self) -> None:
        self.sock.close()


def _raw(port: int, path: bytes, extra: bytes = b"") -> bytes:
    """One request with exactly these bytes; the whole answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=60) as s:
        s.sendall(
            b"GET " + path + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Authorization: Bearer sk_test_FakeKeyForBytes1\r\n"
            + extra
            + b"Connection: close\r\n\r\n"
        )
        out = b""
        while chunk := s.recv(65536):
            out += chunk
    return out


@pytest.fixture
def upstream():
    up = Upstream()
    yield up
    up.close()


def test_each_unloadable_byte_is_told_and_the_cassette_keeps_every_earlier_exchange(
    upstream, tmp_path
):
    cassette = tmp_path / "c.yaml"
    proc = Proc(
        [
            FC,
            "record",
            str(cassette),
            "--upstream",
            f"http://127.0.0.1:{upstream.port}",
            "--port",
            "0",
            "--set",
            f"confdir={tmp_path / 'conf'}",
        ],
        0,
        tmp_path / "rec.log",
        cwd=tmp_path,
    )
    good = 0
    try:
        for n, (name, path, req_header, _, _) in enumerate(VARIANTS):
            ok = _raw(proc.port, f"/v1/customers/good-{n}".encode())
            assert ok.startswith(b"HTTP/1.1 200"), ok[:200]
            good += 1
            answer = _raw(proc.port, b"/v1/customers/" + name.encode() + path, req_header)
            status = answer.split(b"\r\n", 1)[0]
            # told: the not-recorded answer, or mitmproxy's own refusal of the bytes
            assert not status.startswith(b"HTTP/1.1 200"), (name, answer[:300])
            if status.startswith(b"HTTP/1.1 500"):
                assert b"fc_cassette_not_recorded" in answer, (name, answer[:300])
            # and the cassette still loads with every earlier exchange
            loaded = cio.load(cassette)
            assert len(loaded.interactions) == good, name
    finally:
        proc.stop()
    verify = run_fc(["verify", str(cassette)])
    assert verify.returncode in (0, 1) and "cannot" not in verify.stderr, verify.stderr
    assert [i["request"]["path"] for i in cio.load(cassette).interactions] == [
        f"/v1/customers/good-{n}" for n in range(len(VARIANTS))
    ]
    # and a recorder appends to it (new_episodes loads it first)
    again = Proc(
        [
            FC,
            "record",
            str(cassette),
            "--record-mode",
            "new_episodes",
            "--upstream",
            f"http://127.0.0.1:{upstream.port}",
            "--port",
            "0",
            "--set",
            f"confdir={tmp_path / 'conf'}",
        ],
        0,
        tmp_path / "rec2.log",
        cwd=tmp_path,
    )
    try:
        assert _raw(again.port, b"/v1/customers/after").startswith(b"HTTP/1.1 200")
    finally:
        again.stop()
    assert len(cio.load(cassette).interactions) == len(VARIANTS) + 1

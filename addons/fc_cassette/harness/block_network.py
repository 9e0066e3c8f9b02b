"""``--fc-block-network``: a test may connect only to the fc-cassette proxies.

While a test runs (its setup, call and teardown), ``socket.socket.connect``,
``socket.socket.connect_ex``, ``socket.create_connection`` and ``socket.getaddrinfo``
(a DNS query is network too) refuse any address but a
live fc-cassette proxy this process started (127.0.0.1 or localhost, its port) and the
hosts the user allows (``--fc-allowed-hosts``: ``HOST`` for any port of it,
``HOST:PORT`` for one). Unix-domain sockets are local IPC, not network: they pass.
``create_connection`` is checked before it resolves the name, so a refused host costs no
DNS query and the message names the host as the test wrote it.

A refusal raises :class:`NetworkBlocked` (a RuntimeError, like pytest-recording's
``--block-network``, so an HTTP client does not retry it as a connection error) and is
remembered: the plugin fails the test even if the application swallowed the error.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

PROXY_HOSTS = ("127.0.0.1", "localhost")
HOW = "--fc-allowed-hosts={where} (ini: fc_allowed_hosts)"


class AllowedHostsError(ValueError):
    """A ``--fc-allowed-hosts`` entry that is not ``HOST`` or ``HOST:PORT``."""


class NetworkBlocked(RuntimeError):
    """A connection --fc-block-network refused; ``address`` is ``host:port``."""

    def __init__(self, address: str):
        super().__init__(
            f"fc-cassette: --fc-block-network refused a connection to {address}: a test may "
            f"reach only the fc-cassette proxy (fc_proxy.url); to allow this address: "
            + HOW.format(where=address)
        )
        self.address = address


def parse_allowed(value: str, what: str = "--fc-allowed-hosts") -> list[tuple[str, int | None]]:
    """``"localhost,127.0.0.1:5432,[::1]:80"`` -> ``[("localhost", None), ...]``;
    :class:`AllowedHostsError` (one line naming ``what``) for an entry that is not
    ``HOST`` or ``HOST:PORT``."""
    allowed = []
    for entry in (e.strip() for e in value.replace("\n", ",").split(",")):
        if not entry:
            continue
        host, port = entry, None
        if entry.startswith("["):
            host, _, rest = entry[1:].partition("]")
            port = rest[1:] if rest.startswith(":") else (rest or None)
        elif entry.count(":") == 1:
            host, port = entry.split(":")
        if not host or (port is not None and not (port.isdigit() and 0 < int(port) < 65536)):
            raise AllowedHostsError(
                f"{what} {entry!r}: use HOST or HOST:PORT (port 1-65535), "
                "comma-separated, e.g. localhost,127.0.0.1:5432"
            )
        allowed.append((host.lower(), int(port) if port is not None else None))
    return allowed


class Guard:
    """Which addresses pass: the live proxies' ports (asked each time: a proxy started
    during the test counts) and the user's allowed hosts (an allowed name's addresses
    too, once resolved: a client that resolves first, then connects, as urllib3 does)."""

    def __init__(self, allowed: list[tuple[str, int | None]], proxy_ports: Callable[[], set]):
        self.allowed, self.proxy_ports = set(allowed), proxy_ports
        self.refused: list[str] = []
        self._inside = threading.local()  # a create_connection already let through

    def permits(self, host: Any, port: Any) -> bool:
        host = str(host).lower().strip("[]")
        if host in PROXY_HOSTS and port in self.proxy_ports():
            return True
        return (host, None) in self.allowed or (host, port) in self.allowed

    def check(self, address: Any, family: int) -> None:
        if family not in (socket.AF_INET, socket.AF_INET6) or getattr(self._inside, "ok", 0) > 0:
            return
        host, port = address[0], address[1]
        if not self.permits(host, port):
            self.refuse(host, port)

    def refuse(self, host: Any, port: Any) -> None:
        where = f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"
        self.refused.append(where)
        raise NetworkBlocked(where)

    def check_name(self, host: Any, port: Any) -> None:
        """Before a name is resolved (a DNS query is network too): a proxy host name, an
        address (its connect() is checked) or an allowed host."""
        name = host.decode() if isinstance(host, bytes) else str(host or "localhost")
        name = name.lower().strip("[]")
        if name in PROXY_HOSTS or _is_address(name) or any(h == name for h, _ in self.allowed):
            return
        self.refuse(name, port)

    def resolved(self, host: Any, infos: list) -> None:
        """The addresses an allowed name resolved to are allowed, on its ports."""
        name = str(host).lower()
        for port in [p for h, p in self.allowed if h == name]:
            self.allowed.update((str(info[4][0]).lower(), port) for info in infos)

    @contextmanager
    def let_through(self) -> Iterator[None]:
        self._inside.ok = getattr(self._inside, "ok", 0) + 1
        try:
            yield
        finally:
            self._inside.ok -= 1


def _is_address(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


@contextmanager
def blocked(guard: Guard) -> Iterator[Guard]:
    """``socket`` patched so that every connection goes through ``guard``."""
    connect, connect_ex = socket.socket.connect, socket.socket.connect_ex
    create_connection, getaddrinfo = socket.create_connection, socket.getaddrinfo

    def guarded_getaddrinfo(host: Any, port: Any, *a: Any, **kw: Any) -> Any:
        guard.check_name(host, port)
        infos = getaddrinfo(host, port, *a, **kw)
        guard.resolved(host, infos)
        return infos

    def guarded_connect(self: Any, address: Any, *a: Any, **kw: Any) -> None:
        guard.check(address, self.family)
        return connect(self, address, *a, **kw)

    def guarded_connect_ex(self: Any, address: Any, *a: Any, **kw: Any) -> int:
        guard.check(address, self.family)
        return connect_ex(self, address, *a, **kw)

    def guarded_create_connection(address: Any, *a: Any, **kw: Any) -> socket.socket:
        guard.check(address, socket.AF_INET)  # by name, before any DNS query
        with guard.let_through():  # its own connect() to the resolved address
            return create_connection(address, *a, **kw)

    # patching the class's methods is the point (mypy forbids assigning to a method)
    socket.socket.connect = guarded_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = guarded_connect_ex  # type: ignore[method-assign]
    socket.create_connection = guarded_create_connection
    socket.getaddrinfo = guarded_getaddrinfo
    try:
        yield guard
    finally:
        socket.socket.connect = connect  # type: ignore[method-assign]
        socket.socket.connect_ex = connect_ex  # type: ignore[method-assign]
        socket.create_connection, socket.getaddrinfo = create_connection, getaddrinfo

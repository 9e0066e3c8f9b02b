"""Benchmark workloads the way users run them (used by scripts/bench.py).

- :func:`first_use`: each of N distinct requests sent once to a freshly started proxy
  (a CI run), contenders alternating over rounds, each round in fresh processes;
- :func:`concurrent`: many keep-alive clients at once (an asyncio client in this
  process, one connection per client), throughput and per-request latency.

Both take a ``start(name, args, port) -> proc`` function (``proc.wait_port()``) and a
``stop_all()`` so that processes are always cleaned up by the caller's ``Procs``.
"""

from __future__ import annotations

import asyncio
import http.client
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Req = tuple[str, str, "bytes | None", dict[str, str], int]  # method, path, body, headers, len


class WorkloadError(RuntimeError):
    pass


def send_all(name: str, port: int, reqs: list[Req]) -> float:
    """Send ``reqs`` in order over one keep-alive connection; seconds taken. Every
    answer must be a 200 with the expected body length (a miss would be a 400)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        t0 = time.perf_counter()
        for req in reqs:
            exchange(conn, name, req)
        return time.perf_counter() - t0
    finally:
        conn.close()


def exchange(conn: http.client.HTTPConnection, name: str, req: Req) -> None:
    """One request on ``conn``; the answer must be a 200 of the expected body length."""
    method, path, body, headers, expect = req
    conn.request(method, path, body, headers)
    r = conn.getresponse()
    data = r.read()
    if r.status != 200 or (expect >= 0 and len(data) != expect):
        raise WorkloadError(
            f"{name}: {method} {path} -> {r.status} ({len(data)} "
            f"bytes, expected {expect}): {data[:300]!r}"
        )


def first_use(
    contenders: dict[str, Callable[[int], list[str]]],
    start,
    stop_all,
    free_port,
    warm: list[Req],
    timed: list[Req],
    rounds: int,
    running: dict[str, Any] | None = None,
) -> dict[str, list[float]]:
    """Seconds per request of each contender, one figure per round (in round order).

    ``contenders``: name -> (port -> command line). Each round starts every contender
    afresh (all at once, then waits for each to listen), sends each the ``warm``
    requests (distinct, not timed: the connection and mitmproxy's own first-request
    costs), then the ``timed`` ones, each once, in blocks of :data:`BLOCK`: one block
    to each contender in turn (the order rotating every round), over one keep-alive
    connection per contender. Interleaved blocks put the contenders side by side in
    time, so a busy moment of the machine falls on all of them. ``running``: contenders
    already listening (name -> proc), used as they are in every round (``--smoke``: the
    floor, whose constant answers have no first use), not started or stopped here."""
    names = list(contenders)
    per_req: dict[str, list[float]] = {n: [] for n in names}
    for r in range(rounds):
        order = names[r % len(names) :] + names[: r % len(names)]
        ports = {n: free_port() for n in order}
        procs = {
            n: (running or {}).get(n)
            or start(f"first_use_{n}_{r}", contenders[n](ports[n]), ports[n])
            for n in order
        }
        conns = {
            n: http.client.HTTPConnection("127.0.0.1", procs[n].port, timeout=60) for n in order
        }
        try:
            for n in order:
                procs[n].wait_port()
            for n in order:
                for req in warm:
                    exchange(conns[n], n, req)
            spent = dict.fromkeys(order, 0.0)
            for i in range(0, len(timed), BLOCK):
                for n in order:
                    t0 = time.perf_counter()
                    for req in timed[i : i + BLOCK]:
                        exchange(conns[n], n, req)
                    spent[n] += time.perf_counter() - t0
            for n in order:
                per_req[n].append(spent[n] / len(timed))
        finally:
            for c in conns.values():
                c.close()
            stop_all()
    return per_req


BLOCK = 25  # timed requests sent to one contender before the next one's turn


def paired_ratio(per_round: dict[str, list[float]], num: str, den: str) -> float:
    """The median over rounds of ``num``'s figure over ``den``'s in the same round (a
    time per request, or a rate): the two were measured side by side, so a slow round
    (the machine busy for a moment) slows both and cancels out, where a ratio of
    medians taken separately would pair different rounds."""
    return statistics.median(a / b for a, b in zip(per_round[num], per_round[den], strict=True))


# ------------------------------------------------------------------- concurrent clients


def _raw(req: Req, port: int) -> bytes:
    method, path, body, headers, _ = req
    lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{port}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    if body is not None:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b"")


async def _exchange(reader, writer, raw: bytes, expect: int, name: str) -> None:
    writer.write(raw)
    head = await reader.readuntil(b"\r\n\r\n")
    status = head[9:12]
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    data = await reader.readexactly(length)
    if status != b"200" or (expect >= 0 and len(data) != expect):
        raise WorkloadError(f"{name}: {head[:60]!r} ({len(data)} bytes, expected {expect})")


async def _client(
    port: int,
    reqs: list[tuple[bytes, int]],
    name: str,
    warm: int,
    go: asyncio.Event,
    ready: list[int],
    lat: list[float],
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for raw, expect in reqs[:warm]:
            await _exchange(reader, writer, raw, expect, name)
        ready.append(1)
        await go.wait()
        for raw, expect in reqs[warm:]:
            t = time.perf_counter()
            await _exchange(reader, writer, raw, expect, name)
            lat.append(time.perf_counter() - t)
    finally:
        writer.close()


async def _burst(
    name: str, port: int, per_client: list[list[Req]], warm: int
) -> tuple[float, list[float]]:
    go, ready, lat = asyncio.Event(), [], []
    tasks = [
        asyncio.create_task(
            _client(port, [(_raw(q, port), q[4]) for q in reqs], name, warm, go, ready, lat)
        )
        for reqs in per_client
    ]
    while len(ready) < len(tasks):
        await asyncio.sleep(0.005)
        for t in tasks:
            if t.done() and t.exception():
                raise t.exception()
    t0 = time.perf_counter()
    go.set()
    await asyncio.gather(*tasks)
    timed = sum(len(r) - warm for r in per_client)
    return timed / (time.perf_counter() - t0), lat


@dataclass
class Concurrent:
    rps: list[float] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)

    def summary(self) -> dict[str, float]:
        lat = sorted(self.latencies)
        return {
            "rps": statistics.median(self.rps),
            "p50_ms": lat[len(lat) // 2] * 1000,
            "p99_ms": lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000,
        }


def concurrent(
    ports: dict[str, int], reqs: list[Req], clients: int, per_client: int, warm: int, rounds: int
) -> dict[str, dict[str, Any]]:
    """``clients`` keep-alive connections at once per contender (already listening on
    ``ports``), each sending ``warm`` untimed then ``per_client`` timed requests (client
    c walks ``reqs`` from its own offset); contenders alternate over ``rounds``, the
    order rotating every round. ``rps`` is the median of the rounds' rates, ``rounds``
    each round's rate (for ratios paired by round)."""
    out = {n: Concurrent() for n in ports}
    n_req = len(reqs)
    names = list(ports)
    for r in range(rounds):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            port = ports[name]
            plan = [
                [reqs[(c * 7 + r * 131 + k) % n_req] for k in range(warm + per_client)]
                for c in range(clients)
            ]
            rps, lat = asyncio.run(_burst(name, port, plan, warm))
            out[name].rps.append(rps)
            out[name].latencies += lat
    return {n: {**c.summary(), "rounds": c.rps} for n, c in out.items()}

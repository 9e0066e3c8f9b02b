#!/usr/bin/env python3
"""fc-cassette benchmark: one command, contenders side by side, medians of repeats.

Usage::

    .venv/bin/python scripts/bench.py           # full run (< 3 minutes on 2 cores)
    .venv/bin/python scripts/bench.py --smoke   # tiny sizes, just proves it works (CI)

Prints a table (metric, value, goal, met?) and, as the very last line of stdout, one
JSON object. Progress goes to stderr. Goals are benchmark goals: the exit code says
only whether the benchmark ran (0) or failed (1), never whether a goal was met.

What is measured (every proxy is a real process on 127.0.0.1, started the way users
start it; all timed requests come from this process over one persistent keep-alive
``http.client.HTTPConnection`` per contender, sequentially, so all contenders face
the very same client):

First-use replay, the headline (``replay_vs_floor``, ``replay_vs_server_replay``,
``replay_first_use_rps``, ...; scripts/bench_workloads.py): the way a CI run uses a
cassette. A cassette of ``first_use_n`` (400) + 20 distinct requests; every round
starts ``fc-cassette replay`` (default config: each recording served once),
``mitmdump -S`` (the same flows, same response bytes) and the floor afresh; each
gets the 20 warm-up requests, then the 400 timed ones, each request sent once, in
blocks of 25 to each contender in turn (the order rotates every round), so the
contenders run side by side in time. A ratio is the median over 9 rounds of each
round's ratio (``replay_vs_floor_rounds`` lists them); rates are medians.

Concurrent clients (``replay_32c_vs_floor``, ``replay_32c_p50_ms``/``p99_ms``,
``floor_32c_p50_ms``/``p99_ms``): 32 keep-alive connections at once (an asyncio
client in this process), each sending 2 untimed and 40 timed requests; replay
(``repeat_last``) of the first-use cassette versus the floor, alternating over 7
rounds (the order rotating); throughput is requests over the round's wall time, the
ratio the median of the rounds' ratios, latencies per request over all rounds.

Memoized repeats (``replay_rps``, ``server_replay_rps``, ``floor_rps``,
``replay_repeat_vs_floor``, ``replay_repeat_vs_server_replay``, ``scale_10k_vs_10``):
five contenders, warmed up, then timed batches alternating round-robin
(A B C D E A B C D E ...), medians reported:

- ``replay``: ``fc-cassette replay`` of a 10-interaction cassette;
- ``server_replay``: ``mitmdump -S`` (mitmproxy's built-in server replay, lazy
  connection strategy, ``server_replay_reuse``, extra requests killed, host and port
  ignored) of the same 10 interactions, served with the same response bytes, written
  with mitmproxy's own ``FlowWriter``; ``server_replay_refresh`` is left at its
  default (on), as a user running ``mitmdump -S`` gets it;
- ``floor``: mitmdump with a trivial addon whose ``request`` hook answers a constant
  response (same headers, a body of the same size per method): no replay can beat it;
- ``replay_large``: ``fc-cassette replay`` of the large cassette (10,000 interactions;
  50 with ``--smoke``) under the very same workload as ``replay``: 10 distinct
  requests (picked across the large cassette), cycled. ``scale_10k_vs_10`` is its
  per-request time over ``replay``'s: only the cassette's size differs, so it shows
  whether lookup stays O(1);
- ``replay_large_first_use``: a second proxy on the large cassette, the client walking
  all of its distinct requests in a strided order, so nearly every timed request is
  the first use of its interaction (nothing memoized yet; the worst case of a CI run
  that sends each request once). Reported as ``replay_10k_first_use_rps`` and
  ``first_use_vs_floor``, for information (no goal).

Cassettes are synthetic but shaped like stripe-python traffic: FC Session creates
(form bodies ``account_holder[type]=customer&account_holder[customer]=cus_...&
permissions[0]=...``, ``Authorization: Bearer``, ``Stripe-Version``, idempotency key,
client telemetry header) and retrieves (``GET /v1/financial_connections/sessions/
fcsess_...`` answered with a ~2.7 KB session holding two linked accounts), alternating.
Interaction *i* has its own customer / session id, so N interactions are N distinct
requests. The entries are built with fc-cassette's own ``request_record``,
``response_record``, ``validate`` and ``Redactor`` (exactly what ``record`` writes)
and written with ``cassette.Writer(fsync=False)``.

Exhaustion policy: with the default policy each recording is served once; the timed
runs send the same requests many times, so the replay proxies run with a config file
``replay: {on_exhausted: repeat_last}``. The first use of an interaction is an
ordinary hit; later ones repeat it (same index lookup). The config file changes
nothing else.

Record throughput (``record_vs_passthrough``, ``record_vs_mitmdump_w``):
``fc-cassette record --record-mode all`` (fsync on: the default config; fsync off: a
``record: {fsync: false}`` config) versus ``mitmdump --mode reverse:UPSTREAM`` with no
addon and versus ``mitmdump --mode reverse:UPSTREAM -w FILE`` (mitmproxy's own
recording of every flow, no fsync), same options (lazy connections,
``flow_detail=0``), all in front of the same upstream, alternating (batches
round-robin; a ratio is the median of the rounds' ratios). The upstream is a
tiny asyncio HTTP/1.1 server run by this script in a subprocess (``--_upstream``)
answering Stripe-shaped create / retrieve responses (with a client secret for the
recorder to redact) from pre-built bytes; it is measured directly too
(``upstream_direct_rps``) to show it is far from being the bottleneck (the faster
alternatives, mitmdump itself or ``http.server``, are 10x+ slower). Cassettes are
written in the system temp dir (a real disk here, so fsync is real).

Load (``load_10k_s``, ``load_vs_yaml_parse``, ``load_10k_peak_mb``,
``load_mem_vs_file``): in a fresh process per measurement (honest peaks), what
``fc-cassette replay`` does at start-up (``cassette.load(path, Compactor(rules))``
then ``Playback``: parse, check, wire form of every response, match index) versus
reading the same file and ``list(yaml.load_all(text, Loader=yaml.CSafeLoader))``,
alternating, medians. The peak is the growth of the process's peak RSS (``VmHWM``)
over its RSS before loading (after imports); ``load_mem_vs_file`` is it over the
file's size (MiB).

Startup (``startup_vs_bare``): time from spawning the process until its first
successful (200) response, polling connect + request every 10 ms:
``fc-cassette replay`` of the 10-interaction cassette versus bare ``mitmdump`` with
the floor addon; alternating, medians. mitmproxy's CA is generated before (shared
confdir), so neither pays for it.

Every process is started in its own session and stopped with SIGINT, then SIGKILL
after a timeout, also on errors.
"""

from __future__ import annotations

import argparse
import asyncio
import compileall
import http.client
import json
import math
import os
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bench_micro
import bench_suite  # scripts/ is on sys.path: this file runs as a script
import bench_workloads

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
FC = str(BIN / "fc-cassette")
MITMDUMP = str(BIN / "mitmdump")

STRIPE_VERSION = "2026-10-28.endive"
API_KEY = "sk_test_" + "51BenchFakeKeyNotReal0123456789abcdef"
MARK = "IDXIDXIDXI"  # 10 characters, replaced by the zero-padded interaction number
UNIX_TIME = 1767225600

GOALS = {  # metric: (operator, bound)
    "replay_vs_server_replay": (">=", 1.0),  # first use (the headline)
    "replay_vs_floor": (">=", 0.95),  # first use (the headline)
    "replay_32c_vs_floor": (">=", 0.9),
    "scale_10k_vs_10": ("<=", 1.15),
    "load_vs_yaml_parse": ("<=", 1.5),
    "load_mem_vs_file": ("<=", 3.0),
    "miss_10k_ms": ("<=", 5.0),
    "record_vs_passthrough": (">=", 0.7),
    "startup_vs_bare": ("<=", 1.5),
    # issue #25: time to the first answer on a big cassette (record_vs_mitmdump_w is
    # reported, no longer a goal: recording runs against Stripe's own latency)
    "first_answer_10k_vs_10": ("<=", 1.5),
    "first_answer_100k_vs_10": ("<=", 3.0),
}
GOALS.update(bench_suite.GOALS)  # the suite section (scripts/bench_suite.py)
GOALS.update(bench_micro.GOALS)  # in-process costs (scripts/bench_micro.py)
REQUIRED_KEYS = (
    "replay_rps",
    "server_replay_rps",
    "floor_rps",
    "replay_vs_server_replay",
    "replay_vs_floor",
    "scale_10k_vs_10",
    "load_10k_s",
    "load_vs_yaml_parse",
    "load_10k_peak_mb",
    "record_vs_passthrough",
    "record_vs_passthrough_fsync_off",
    "startup_vs_bare",
    # added with issue #16 (first-use headline, concurrency, recording, memory)
    "replay_repeat_vs_floor",
    "replay_repeat_vs_server_replay",
    "replay_32c_vs_floor",
    "replay_32c_p50_ms",
    "replay_32c_p99_ms",
    "floor_32c_p50_ms",
    "floor_32c_p99_ms",
    "record_vs_mitmdump_w",
    "load_mem_vs_file",
    "miss_10k_ms",
    # issue #25: the first answer on big cassettes, the suite shapes
    "first_answer_10k_vs_10",
    "first_answer_100k_vs_10",
    "load_100k_peak_mb",
    "suite_1000_vs_vcr",
    "suite_xdist_vs_vcr",
)


@dataclass(frozen=True)
class Sizes:
    small: int  # interactions in the small cassette
    large: int  # interactions in the "10k" cassette
    warmup: int  # requests per contender before timing
    batch: int  # requests per timed replay batch
    repeats: int  # timed batches per contender (median)
    record_warmup: int
    record_batch: int
    record_repeats: int
    load_repeats: int  # fresh-process load measurements per contender
    startup_runs: int  # startups per contender
    first_use_n: int  # distinct requests, each sent once per fresh process
    first_use_warm: int  # distinct untimed requests before them
    first_use_rounds: int
    clients: int  # concurrent keep-alive clients
    per_client: int  # timed requests per client per round
    concurrent_rounds: int
    huge: int = 100_000  # interactions in the "100k" cassette (first answer)
    answer_runs: int = 3  # first-answer starts per small/10k cassette (100k: one)
    # --smoke only: one proxy serves both large-cassette throughput contenders, the 100k
    # first answer is not paired with a start of its own on the small cassette, and the
    # floor process that generates the CA stays up as the floor contender of the
    # throughput, first-use and 32-client sections (a floor answers a constant: nothing
    # in it is memoized or used first; the startup section still spawns its own)
    shared: bool = False


FULL = Sizes(
    small=10,
    large=10_000,
    warmup=150,
    batch=500,
    repeats=9,
    record_warmup=40,
    record_batch=200,
    record_repeats=7,
    load_repeats=3,
    startup_runs=7,
    first_use_n=400,
    first_use_warm=20,
    first_use_rounds=9,
    clients=32,
    per_client=40,
    concurrent_rounds=7,
)
SMOKE = Sizes(
    small=10,
    large=50,
    warmup=5,
    batch=20,
    repeats=1,
    record_warmup=3,
    record_batch=10,
    record_repeats=1,
    load_repeats=1,
    startup_runs=1,
    first_use_n=20,
    first_use_warm=4,
    first_use_rounds=1,
    clients=32,
    per_client=2,
    concurrent_rounds=1,
    huge=200,
    answer_runs=1,
    shared=True,
)


class BenchError(RuntimeError):
    pass


def note(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------ synthetic traffic


def _form(params: list[tuple[str, str]]) -> bytes:
    from urllib.parse import urlencode

    return urlencode(params).encode("ascii")  # brackets percent-encoded, as stripe-python


CLIENT_UA = json.dumps(
    {
        "bindings_version": "16.1.0",
        "lang": "python",
        "publisher": "stripe",
        "httplib": "requests",
        "lang_version": "3.11.2",
        "platform": "Linux-6.1.0-x86_64-with-glibc2.36",
        "uname": "Linux ci-runner 6.1.0 #1 SMP PREEMPT_DYNAMIC x86_64",
    }
)


def client_request(n: str, create: bool) -> tuple[str, str, bytes | None, dict[str, str]]:
    """What stripe-python sends to create a session for ``cus_Bench<n>`` or to retrieve
    ``fcsess_1Bench<n>``."""
    headers = {
        "User-Agent": "Stripe/v1 PythonBindings/16.1.0",
        "Accept-Encoding": "gzip, deflate",
        "Accept": "*/*",
        "Connection": "keep-alive",
        "Authorization": f"Bearer {API_KEY}",
        "Stripe-Version": STRIPE_VERSION,
        "X-Stripe-Client-User-Agent": CLIENT_UA,
    }
    if create:
        body = _form(
            [
                ("account_holder[type]", "customer"),
                ("account_holder[customer]", f"cus_Bench{n}"),
                ("permissions[0]", "balances"),
                ("permissions[1]", "ownership"),
                ("permissions[2]", "payment_method"),
                ("prefetch[0]", "balances"),
                ("filters[countries][0]", "US"),
                ("return_url", "https://example.test/fc/return"),
            ]
        )
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        headers["Idempotency-Key"] = f"stripe-python-retry-8c3f{n}-4b1e-9d2a-0e5c7f1a2b3c"
        return "POST", "/v1/financial_connections/sessions", body, headers
    return "GET", f"/v1/financial_connections/sessions/fcsess_1Bench{n}", None, headers


def _account(n: str, k: int) -> dict[str, Any]:
    cash = k == 0
    return {
        "id": f"fca_1Bench{n}{'Chk' if cash else 'Crd'}",
        "object": "financial_connections.account",
        "account_holder": {"customer": f"cus_Bench{n}", "type": "customer"},
        "balance": (
            {
                "as_of": UNIX_TIME,
                "cash": {"available": {"usd": 600012}},
                "current": {"usd": 600012},
                "type": "cash",
            }
            if cash
            else {
                "as_of": UNIX_TIME,
                "credit": {"used": {"usd": 12345}},
                "current": {"usd": -12345},
                "type": "credit",
            }
        ),
        "balance_refresh": {
            "last_attempted_at": UNIX_TIME,
            "next_refresh_available_at": None,
            "status": "succeeded",
        },
        "category": "cash" if cash else "credit",
        "created": UNIX_TIME,
        "display_name": "Checking" if cash else "Rewards Card",
        "institution_name": "StripeBank",
        "last4": "6789" if cash else "4242",
        "livemode": False,
        "ownership": f"fcaowns_1Bench{n}{k}",
        "ownership_refresh": {
            "last_attempted_at": UNIX_TIME,
            "next_refresh_available_at": UNIX_TIME + 3600,
            "status": "succeeded",
        },
        "permissions": ["balances", "ownership", "payment_method"],
        "status": "active",
        "subcategory": "checking" if cash else "credit_card",
        "subscriptions": [],
        "supported_payment_method_types": ["link", "us_bank_account"] if cash else [],
        "transaction_refresh": None,
    }


def session_body(i: int | str, with_accounts: bool) -> dict[str, Any]:
    n = i if isinstance(i, str) else f"{i:010d}"
    return {
        "id": f"fcsess_1Bench{n}",
        "object": "financial_connections.session",
        "account_holder": {"customer": f"cus_Bench{n}", "type": "customer"},
        "accounts": {
            "object": "list",
            "data": [_account(n, 0), _account(n, 1)] if with_accounts else [],
            "has_more": False,
            "url": "/v1/financial_connections/accounts",
        },
        "client_secret": f"fcsess_client_secret_Bench{n}Q7xK2pLm9RtY",
        "filters": {"countries": ["US"]},
        "livemode": False,
        "permissions": ["balances", "ownership", "payment_method"],
        "prefetch": ["balances"],
        "return_url": "https://example.test/fc/return",
    }


def response_headers(i: int | str, create: bool) -> list[tuple[str, str]]:
    n = i if isinstance(i, str) else f"{i:010d}"
    h = [
        ("Server", "nginx"),
        ("Date", "Thu, 01 Jan 2026 00:00:00 GMT"),
        ("Content-Type", "application/json"),
        ("Access-Control-Allow-Credentials", "true"),
        ("Access-Control-Allow-Methods", "GET, HEAD, PUT, PATCH, POST, DELETE"),
        ("Access-Control-Allow-Origin", "*"),
        (
            "Access-Control-Expose-Headers",
            "Request-Id, Stripe-Manage-Version, "
            "Stripe-Should-Retry, X-Stripe-External-Auth-Required, "
            "X-Stripe-Privileged-Session-Required",
        ),
        ("Access-Control-Max-Age", "300"),
        ("Cache-Control", "no-cache, no-store"),
        (
            "Content-Security-Policy",
            "base-uri 'none'; default-src 'none'; form-action "
            "'none'; frame-ancestors 'none'; img-src 'self'; script-src 'self' "
            "'report-sample'; style-src 'self'",
        ),
        ("Request-Id", f"req_Bench{n}"),
        ("Stripe-Version", STRIPE_VERSION),
        ("Vary", "Origin"),
        ("X-Stripe-Routing-Context-Priority-Tier", "api-testmode"),
        ("Strict-Transport-Security", "max-age=63072000; includeSubDomains; preload"),
    ]
    if create:
        h.append(("Idempotency-Key", f"stripe-python-retry-8c3f{n}-4b1e-9d2a-0e5c7f1a2b3c"))
        h.append(("Original-Request", f"req_Bench{n}"))
    return h


def as_headers(items: list[tuple[str, str]]):
    from mitmproxy import http as mhttp

    return mhttp.Headers([(k.encode(), v.encode()) for k, v in items])


def upstream_response(i: int | str, create: bool) -> tuple[bytes, list[tuple[str, str]]]:
    body = json.dumps(session_body(i, with_accounts=not create), indent=2).encode()
    return body, response_headers(i, create)


def recorded_templates() -> dict[bool, str]:
    """The cassette entry ``record`` would write, as JSON text with ``MARK`` for the id,
    per kind (create: True, retrieve: False): built once with fc-cassette's own code."""
    from mitmproxy import http as mhttp
    from mitmproxy.test import tflow

    from fc_cassette.exchange import interaction
    from fc_cassette.redact import Redactor
    from fc_cassette.stripe_api import validation

    out = {}
    for create in (True, False):
        method, path, body, headers = client_request(MARK, create)
        req = mhttp.Request.make(method, f"https://api.stripe.com{path}", body or b"", headers)
        rbody, rheaders = upstream_response(MARK, create)
        resp = mhttp.Response.make(200, rbody, as_headers(rheaders))
        flow = tflow.tflow(req=req, resp=resp)
        request = interaction.request_record(flow)
        response = interaction.response_record(flow)
        entry: dict[str, Any] = {"request": request, "response": response}
        reports = validation.validate(request, response)
        if reports is not None:
            entry["validation"] = {k: r.as_dict() for k, r in reports.items()}
        entry["duration_ms"] = 312.4
        out[create] = json.dumps(Redactor().redact_entry(entry))
    return out


def request_for(i: int) -> tuple[str, str, bytes | None, dict[str, str]]:
    """Interaction ``i``'s request: even numbers create, odd ones retrieve."""
    return client_request(f"{i:010d}", i % 2 == 0)


def entry_for(templates: dict[bool, str], i: int) -> dict[str, Any]:
    return json.loads(templates[i % 2 == 0].replace(MARK, f"{i:010d}"))


def write_cassette(path: Path, n: int, templates: dict[bool, str]) -> list[dict[str, Any]]:
    from fc_cassette.cassette.store import Writer

    w = Writer(path, fsync=False)
    entries = []
    try:
        for i in range(n):
            e = entry_for(templates, i)
            w.append(e, stripe_version=STRIPE_VERSION)
            if i < 2 or n <= 1000:
                entries.append(e)
    finally:
        w.close()
    return entries


def served_body(entry: dict[str, Any]) -> bytes:
    from fc_cassette.exchange.interaction import encode_body

    return encode_body(entry["response"]["body"])


def served_headers(entry: dict[str, Any]) -> list[tuple[str, str]]:
    from fc_cassette.exchange.interaction import SKIP_HEADERS, header_items

    return [
        (k, v)
        for k, v in header_items(entry["response"]["headers"])
        if k.lower() not in SKIP_HEADERS
    ]


def write_flows(path: Path, entries: list[dict[str, Any]], n: int) -> None:
    """mitmproxy server-replay flows for interactions 0..n-1 (same response bytes)."""
    from mitmproxy import http as mhttp, io as mio
    from mitmproxy.test import tflow

    with open(path, "wb") as fh:
        writer = mio.FlowWriter(fh)
        for i in range(n):
            method, rpath, body, headers = request_for(i)
            req = mhttp.Request.make(method, f"http://127.0.0.1:1{rpath}", body or b"", headers)
            e = entries[i]
            resp = mhttp.Response.make(200, served_body(e), as_headers(served_headers(e)))
            writer.add(tflow.tflow(req=req, resp=resp))


FLOOR_ADDON = ROOT / "scripts" / "bench_floor.py"  # --set bench_floor=floor.json


# ------------------------------------------------------------------------ processes


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Proc:
    """A background process in its own session, output kept in a log file."""

    def __init__(self, name: str, args: list[str], port: int | None, logdir: Path):
        self.name, self.args, self.port = name, args, port
        self.log = logdir / f"{name}.log"
        self._fh = open(self.log, "w")
        self.t_spawn = time.perf_counter()
        self.popen = subprocess.Popen(
            args,
            stdout=self._fh,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=ROOT,
            start_new_session=True,
        )

    def tail(self, n: int = 30) -> str:
        self._fh.flush()
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def wait_port(self, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.popen.poll() is not None:
                raise BenchError(
                    f"{self.name} exited early ({self.popen.returncode}):\n{self.tail()}"
                )
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    break
            except OSError:
                time.sleep(0.02)
        else:
            raise BenchError(f"{self.name}: nothing listening on {self.port} after {timeout}s")
        if self.args[:2] == [FC, "replay"]:
            self.wait_loaded(timeout)

    def wait_loaded(self, timeout: float) -> None:
        """Until a replay proxy has parsed all of its cassette: a big one is parsed in
        the background after it listens (the progressive load), and the throughput
        sections measure the steady state, as before it (the first_answer section does
        not wait). The control endpoint's status waits for the whole load; it answers 403
        until the proxy has finished starting (it keeps the client's Host from then)."""
        deadline = time.monotonic() + timeout
        while True:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
            try:
                conn.request("GET", "/__fc_cassette__/status")
                r = conn.getresponse()
                r.read()
            finally:
                conn.close()
            if r.status == 200:
                return
            if r.status != 403 or time.monotonic() > deadline:
                raise BenchError(f"{self.name}: status answered {r.status}:\n{self.tail()}")
            time.sleep(0.05)

    def stop(self, timeout: float = 15.0) -> None:
        from fc_cassette.harness import procs

        procs.stop(
            self.popen, ((signal.SIGINT, timeout), (signal.SIGTERM, 5.0), (signal.SIGKILL, 10.0))
        )
        if not self._fh.closed:
            self._fh.close()


class Procs:
    def __init__(self, logdir: Path):
        self.logdir = logdir
        self.live: list[Proc] = []
        self.kept: Proc | None = None  # --smoke: the shared floor (stop_all spares it)

    def start(self, name: str, args: list[str], port: int | None) -> Proc:
        p = Proc(name, args, port, self.logdir)
        self.live.append(p)
        return p

    def stop_all(self, everything: bool = False) -> None:
        """Stop every live process (the newest first) but :attr:`kept`, unless
        ``everything``."""
        while True:
            p = next((p for p in reversed(self.live) if everything or p is not self.kept), None)
            if p is None:
                return
            self.live.remove(p)
            p.stop()


# --------------------------------------------------------------------------- client


class Contender:
    """One proxy and one persistent keep-alive connection to it."""

    def __init__(
        self, name: str, port: int, reqs: list[tuple[str, str, bytes | None, dict[str, str], int]]
    ):
        self.name, self.port, self.reqs = name, port, reqs
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.cursor = 0
        self.times: list[float] = []  # seconds per request, one per timed batch

    def run(self, n: int) -> float:
        conn, reqs, size = self.conn, self.reqs, len(self.reqs)
        i = self.cursor
        t0 = time.perf_counter()
        for _ in range(n):
            bench_workloads.exchange(conn, self.name, reqs[i % size])
            i += 1
        dt = time.perf_counter() - t0
        self.cursor = i
        return dt

    def timed(self, n: int) -> None:
        self.times.append(self.run(n) / n)

    def rps(self) -> float:
        return 1.0 / statistics.median(self.times)

    def close(self) -> None:
        self.conn.close()


def alternate(contenders: list[Contender], warmup: int, batch: int, repeats: int) -> None:
    for c in contenders:  # warm-up, also round-robin
        c.run(warmup)
    for _ in range(repeats):
        for c in contenders:
            c.timed(batch)


def strided(n: int) -> list[int]:
    """0..n-1 in an order that jumps around the cassette but keeps create/retrieve
    alternating (odd stride, n even)."""
    stride = 7919
    while math.gcd(stride, n) != 1:
        stride += 2
    return [(k * stride) % n for k in range(n)]


# ---------------------------------------------------------------- upstream (record)


def run_upstream(port: int) -> None:
    """A minimal keep-alive HTTP/1.1 server answering Stripe-shaped responses."""

    def raw(create: bool) -> bytes:
        body, headers = upstream_response(0, create)
        head = "HTTP/1.1 200 OK\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers)
        head += f"Content-Length: {len(body)}\r\nConnection: keep-alive\r\n\r\n"
        return head.encode() + body

    post, get = raw(True), raw(False)
    clen = re.compile(rb"\r\ncontent-length:\s*(\d+)", re.I)

    class Handler(asyncio.Protocol):
        def connection_made(self, transport):
            self.t, self.buf = transport, b""

        def data_received(self, data):
            self.buf += data
            while True:
                end = self.buf.find(b"\r\n\r\n")
                if end < 0:
                    return
                m = clen.search(self.buf, 0, end + 2)
                total = end + 4 + (int(m.group(1)) if m else 0)
                if len(self.buf) < total:
                    return
                post_req = self.buf.startswith(b"POST ")
                self.buf = self.buf[total:]
                self.t.write(post if post_req else get)

    async def main():
        loop = asyncio.get_running_loop()
        server = await loop.create_server(Handler, "127.0.0.1", port)
        stop = asyncio.Event()
        loop.add_signal_handler(signal.SIGINT, stop.set)
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        async with server:
            await stop.wait()

    asyncio.run(main())


# --------------------------------------------------------------------- load (child)


def _status_kb(field: str) -> int:
    """``VmRSS`` / ``VmHWM`` (peak RSS of this process image; unlike ``ru_maxrss`` it
    does not inherit the parent's peak across fork + exec) from /proc, in KiB."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def run_load(kind: str, path: str) -> None:
    import yaml

    from fc_cassette.cassette import store as cassette
    from fc_cassette.playback.state import Compactor, Playback
    from fc_cassette.settings.config import Settings

    settings = Settings()
    base = _status_kb("VmRSS")
    t0 = time.perf_counter()
    if kind == "fc":  # what replay does at start-up (fc_cassette.mitm.player.load_player)
        compactor = Compactor(settings.matching)
        c = cassette.load(path, compactor)
        done = compactor.done
        del compactor  # as load_player does: its sharer is garbage once loaded
        pb = Playback(c, settings, compacted=done)
        n = len(c.interactions)
        keep: Any = (c, pb)
    else:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
        docs = list(yaml.load_all(text, Loader=yaml.CSafeLoader))
        n = len(docs) - 1
        keep = docs
    dt = time.perf_counter() - t0
    peak = _status_kb("VmHWM")
    print(
        json.dumps(
            {
                "kind": kind,
                "seconds": dt,
                "interactions": n,
                "peak_growth_mb": max(0, peak - base) / 1024,
                "peak_mb": peak / 1024,
            }
        )
    )
    del keep


def measure_load(path: Path, repeats: int) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {"fc": [], "yaml": []}
    for _ in range(repeats):
        for kind in ("fc", "yaml"):
            p = subprocess.run(
                [sys.executable, __file__, "--_load", kind, str(path)],
                capture_output=True,
                text=True,
                timeout=300,
                cwd=ROOT,
            )
            if p.returncode != 0:
                raise BenchError(f"load {kind} failed:\n{p.stderr[-2000:]}")
            out[kind].append(json.loads(p.stdout.strip().splitlines()[-1]))
    return out


# ------------------------------------------------------------------------- misses


def measure_misses(path: Path, samples: int = 300) -> float:
    """``miss_10k_ms``: milliseconds per replay miss against the large cassette (median),
    in-process through the real ``Playback`` (match, explain the closest recording,
    redact, build the 400 answer). Three kinds, alternating over a strided sample: a
    create with a changed parameter, a retrieve with an extra query parameter, a
    retrieve of an id that was never recorded."""
    from fc_cassette.cassette import store as cassette
    from fc_cassette.matching.matcher import Miss
    from fc_cassette.playback.state import Playback
    from fc_cassette.settings.config import Settings

    c = cassette.load(path)
    pb = Playback(c, Settings())
    n = len(c.interactions)
    times = []
    for j in range(samples):
        it = c.interactions[(j * 7919) % n]
        req = {**it["request"]}
        if req["method"] == "POST" and j % 3 == 0:
            form = {**req["body"]["form"], "permissions": ["balances", "transactions"]}
            req["body"] = {"form": form}
        elif j % 3 == 1:
            req["query"] = {"expand": ["accounts"], "n": str(j)}
        else:
            req = {
                **req,
                "method": "GET",
                "body": None,
                "path": f"/v1/financial_connections/sessions/fcsess_Never{j:06d}",
            }
        t = time.perf_counter()
        got = pb.take(req)
        if not isinstance(got, Miss):
            raise BenchError(f"miss_10k_ms: expected a miss for {req['path']}")
        pb.refuse(got)
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000


# ------------------------------------------------------------------------ startup


def first_response_time(
    proc: Proc,
    method: str,
    path: str,
    body: bytes | None,
    headers: dict[str, str],
    timeout: float = 60.0,
) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.popen.poll() is not None:
            raise BenchError(f"{proc.name} exited early:\n{proc.tail()}")
        conn = http.client.HTTPConnection("127.0.0.1", proc.port, timeout=5)
        try:
            conn.request(method, path, body, headers)
            r = conn.getresponse()
            r.read()
            if r.status == 200:
                return time.perf_counter() - proc.t_spawn
        except OSError:
            pass
        finally:
            conn.close()
        time.sleep(0.01)
    raise BenchError(f"{proc.name}: no successful response after {timeout}s")


# ---------------------------------------------------------------------------- main


def mitm_common(port: int, confdir: Path) -> list[str]:
    return [
        "--listen-host",
        "127.0.0.1",
        "--listen-port",
        str(port),
        "--set",
        "connection_strategy=lazy",
        "--set",
        "flow_detail=0",
        "--set",
        f"confdir={confdir}",
    ]


def bench(sizes: Sizes, tmp: Path, procs: Procs) -> dict[str, Any]:
    res: dict[str, Any] = {}
    confdir = tmp / "mitmconf"
    repeat_cfg = tmp / "repeat_last.yaml"
    repeat_cfg.write_text("replay:\n  on_exhausted: repeat_last\n")
    nofsync_cfg = tmp / "nofsync.yaml"
    nofsync_cfg.write_text("record:\n  fsync: false\n")

    # -- data
    t = time.perf_counter()
    templates = recorded_templates()
    small_path, large_path = tmp / "small.yaml", tmp / "large.yaml"
    small_entries = write_cassette(small_path, sizes.small, templates)
    write_cassette(large_path, sizes.large, templates)
    flows_path = tmp / "small.flows"
    write_flows(flows_path, small_entries, sizes.small)
    floor_dir = tmp / "floor"
    floor_dir.mkdir()
    (floor_dir / "floor.json").write_text(
        json.dumps(
            {
                "post": served_body(small_entries[0]).decode(),
                "get": served_body(small_entries[1]).decode(),
                "headers": served_headers(small_entries[1]),
            }
        )
    )
    floor_args = ["-s", str(FLOOR_ADDON), "--set", f"bench_floor={floor_dir / 'floor.json'}"]
    res["large_n"] = sizes.large
    res["large_cassette_mb"] = large_path.stat().st_size / 1e6
    note(
        f"data: {sizes.small} + {sizes.large} interactions "
        f"({res['large_cassette_mb']:.1f} MB) in {time.perf_counter() - t:.1f}s"
    )

    def reqs(order: list[int], expect: bool = True):
        out = []
        for i in order:
            m, p, b, h = request_for(i)
            size = len(served_body(small_entries[i % 2])) if expect else -1
            out.append((m, p, b, h, size))
        return out

    small_reqs = reqs(list(range(sizes.small)))
    walk = strided(sizes.large)
    large_same_reqs = reqs(walk[: sizes.small])  # same workload shape as small_reqs
    large_walk_reqs = reqs(walk)

    # mitmproxy generates its CA on first start: do it once, outside any timing
    port = free_port()
    ca = procs.start(
        "ca",
        [
            MITMDUMP,
            "-q",
            *floor_args,
            "--mode",
            "reverse:http://127.0.0.1:1",
            *mitm_common(port, confdir),
        ],
        port,
    )
    ca.wait_port()
    if sizes.shared:  # --smoke: this floor serves the next three sections (Sizes.shared)
        procs.kept = ca
    procs.stop_all()

    # -- replay throughput: replay, server replay, floor, replay of the large cassette
    note("replay throughput ...")
    ports = {
        k: free_port()
        for k in ("replay", "server_replay", "floor", "replay_large", "replay_large_first_use")
    }
    large_names = ["replay_large", "replay_large_first_use"]
    if sizes.shared:
        ports["replay_large_first_use"] = ports["replay_large"]
        large_names.pop()
        ports["floor"] = ca.port
    started = [
        procs.start(
            "replay",
            [
                FC,
                "replay",
                str(small_path),
                "--port",
                str(ports["replay"]),
                "--config",
                str(repeat_cfg),
                "--set",
                f"confdir={confdir}",
            ],
            ports["replay"],
        ),
        procs.start(
            "server_replay",
            [
                MITMDUMP,
                "-q",
                "-S",
                str(flows_path),
                "--set",
                "server_replay_reuse=true",
                "--set",
                "server_replay_extra=kill",
                "--set",
                "server_replay_ignore_host=true",
                "--set",
                "server_replay_ignore_port=true",
                "--mode",
                "reverse:http://127.0.0.1:1",
                *mitm_common(ports["server_replay"], confdir),
            ],
            ports["server_replay"],
        ),
        *(
            [ca]
            if sizes.shared
            else [
                procs.start(
                    "floor",
                    [
                        MITMDUMP,
                        "-q",
                        *floor_args,
                        "--mode",
                        "reverse:http://127.0.0.1:1",
                        *mitm_common(ports["floor"], confdir),
                    ],
                    ports["floor"],
                )
            ]
        ),
        *(
            procs.start(
                name,
                [
                    FC,
                    "replay",
                    str(large_path),
                    "--port",
                    str(ports[name]),
                    "--config",
                    str(repeat_cfg),
                    "--set",
                    f"confdir={confdir}",
                ],
                ports[name],
            )
            for name in large_names
        ),
    ]
    for p in started:
        p.wait_port()
    cs = [
        Contender("replay", ports["replay"], small_reqs),
        Contender("server_replay", ports["server_replay"], small_reqs),
        Contender("floor", ports["floor"], small_reqs),
        Contender("replay_large", ports["replay_large"], large_same_reqs),
        Contender("replay_large_first_use", ports["replay_large_first_use"], large_walk_reqs),
    ]
    try:
        alternate(cs, sizes.warmup, sizes.batch, sizes.repeats)
    finally:
        for c in cs:
            c.close()
    procs.stop_all()
    rps = {c.name: c.rps() for c in cs}
    res["replay_rps"] = rps["replay"]
    res["server_replay_rps"] = rps["server_replay"]
    res["floor_rps"] = rps["floor"]
    res["replay_10k_rps"] = rps["replay_large"]
    # memoized repeats (10 requests cycled); the headline figures are first use, below
    res["replay_repeat_vs_server_replay"] = rps["replay"] / rps["server_replay"]
    res["replay_repeat_vs_floor"] = rps["replay"] / rps["floor"]
    res["scale_10k_vs_10"] = rps["replay"] / rps["replay_large"]
    res["replay_10k_first_use_rps"] = rps["replay_large_first_use"]
    res["first_use_vs_floor"] = rps["replay_large_first_use"] / rps["floor"]
    res["replay_us_per_req"] = 1e6 / rps["replay"]
    res["floor_us_per_req"] = 1e6 / rps["floor"]
    res.update(bench_first_use(sizes, tmp, procs, templates, floor_args, confdir))

    # -- record throughput vs passthrough
    note("record throughput ...")
    ports = {
        k: free_port()
        for k in ("upstream", "record", "record_nofsync", "passthrough", "mitmdump_w")
    }
    up = procs.start(
        "upstream",
        [sys.executable, __file__, "--_upstream", str(ports["upstream"])],
        ports["upstream"],
    )
    upstream = f"http://127.0.0.1:{ports['upstream']}"
    started = [
        procs.start(
            "record",
            [
                FC,
                "record",
                str(tmp / "rec_fsync.yaml"),
                "--upstream",
                upstream,
                "--record-mode",
                "all",
                "--port",
                str(ports["record"]),
                "--set",
                f"confdir={confdir}",
            ],
            ports["record"],
        ),
        procs.start(
            "record_nofsync",
            [
                FC,
                "record",
                str(tmp / "rec_nofsync.yaml"),
                "--upstream",
                upstream,
                "--record-mode",
                "all",
                "--port",
                str(ports["record_nofsync"]),
                "--config",
                str(nofsync_cfg),
                "--set",
                f"confdir={confdir}",
            ],
            ports["record_nofsync"],
        ),
        procs.start(
            "passthrough",
            [
                MITMDUMP,
                "--mode",
                f"reverse:{upstream}",
                *mitm_common(ports["passthrough"], confdir),
            ],
            ports["passthrough"],
        ),
        procs.start(
            "mitmdump_w",
            [
                MITMDUMP,
                "--mode",
                f"reverse:{upstream}",
                "-w",
                str(tmp / "mitmdump_w.flows"),
                *mitm_common(ports["mitmdump_w"], confdir),
            ],
            ports["mitmdump_w"],
        ),
    ]
    up.wait_port()
    for p in started:
        p.wait_port()
    rec_reqs = reqs(list(range(sizes.small)), expect=False)
    cs = [
        Contender("record", ports["record"], rec_reqs),
        Contender("record_nofsync", ports["record_nofsync"], rec_reqs),
        Contender("passthrough", ports["passthrough"], rec_reqs),
        Contender("mitmdump_w", ports["mitmdump_w"], rec_reqs),
        Contender("upstream_direct", ports["upstream"], rec_reqs),
    ]
    try:
        alternate(cs, sizes.record_warmup, sizes.record_batch, sizes.record_repeats)
    finally:
        for c in cs:
            c.close()
    procs.stop_all()
    from fc_cassette.cassette.store import load as load_cassette

    expected = sizes.record_warmup + sizes.record_batch * sizes.record_repeats
    for name in ("rec_fsync.yaml", "rec_nofsync.yaml"):
        recorded = len(load_cassette(tmp / name).interactions)
        if recorded != expected:
            raise BenchError(f"record wrote {recorded} interactions to {name}, expected {expected}")
    rps = {c.name: c.rps() for c in cs}
    times = {c.name: c.times for c in cs}  # per request, one per round of batches

    def vs(name: str, other: str) -> float:  # throughput ratio, paired by round
        return bench_workloads.paired_ratio(times, other, name)

    res["record_rps"] = rps["record"]
    res["record_fsync_off_rps"] = rps["record_nofsync"]
    res["passthrough_rps"] = rps["passthrough"]
    res["upstream_direct_rps"] = rps["upstream_direct"]
    res["record_vs_passthrough"] = vs("record", "passthrough")
    res["record_vs_passthrough_fsync_off"] = vs("record_nofsync", "passthrough")
    res["mitmdump_w_rps"] = rps["mitmdump_w"]
    res["record_vs_mitmdump_w"] = vs("record", "mitmdump_w")

    # -- load
    note("cassette load ...")
    loads = measure_load(large_path, sizes.load_repeats)
    fc_s = statistics.median(x["seconds"] for x in loads["fc"])
    yaml_s = statistics.median(x["seconds"] for x in loads["yaml"])
    res["load_10k_s"] = fc_s
    res["yaml_parse_10k_s"] = yaml_s
    res["load_vs_yaml_parse"] = fc_s / yaml_s
    res["load_10k_peak_mb"] = statistics.median(x["peak_growth_mb"] for x in loads["fc"])
    res["yaml_parse_10k_peak_mb"] = statistics.median(x["peak_growth_mb"] for x in loads["yaml"])
    res["load_mem_vs_file"] = res["load_10k_peak_mb"] / (large_path.stat().st_size / 2**20)
    res["miss_10k_ms"] = measure_misses(large_path)

    # -- startup
    note("startup ...")
    m, pth, b, h = request_for(0)
    times: dict[str, list[float]] = {"fc": [], "bare": []}
    for _ in range(sizes.startup_runs):
        for kind in ("fc", "bare"):
            port = free_port()
            if kind == "fc":
                args = [
                    FC,
                    "replay",
                    str(small_path),
                    "--port",
                    str(port),
                    "--config",
                    str(repeat_cfg),
                    "--set",
                    f"confdir={confdir}",
                ]
            else:
                args = [
                    MITMDUMP,
                    "-q",
                    *floor_args,
                    "--mode",
                    "reverse:http://127.0.0.1:1",
                    *mitm_common(port, confdir),
                ]
            p = procs.start(f"startup_{kind}", args, port)
            try:
                times[kind].append(first_response_time(p, m, pth, b, h))
            finally:
                procs.stop_all()
    res["startup_s"] = statistics.median(times["fc"])
    res["startup_bare_s"] = statistics.median(times["bare"])
    res["startup_vs_bare"] = res["startup_s"] / res["startup_bare_s"]
    res.update(bench_first_answer(sizes, tmp, procs, templates, small_path, large_path, confdir))
    return res


def _peak_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def bench_first_answer(
    sizes: Sizes,
    tmp: Path,
    procs: Procs,
    templates: dict[bool, str],
    small_path: Path,
    large_path: Path,
    confdir: Path,
) -> dict[str, Any]:
    """``first_answer_*``: seconds from spawning ``fc-cassette replay CASSETTE`` to its
    first 200 answer (the request of the cassette's first interaction, as a test's
    first request is), for 10, 10k and 100k interactions; alternating 10 / 10k, the
    100k once (after a 10, paired); ``load_100k_peak_mb``: that proxy's peak RSS."""
    note(f"first answer: writing a {sizes.huge}-interaction cassette ...")
    huge_path = tmp / "huge.yaml"
    write_cassette(huge_path, sizes.huge, templates)
    m, pth, b, h = request_for(0)
    times: dict[str, list[float]] = {"small": [], "large": [], "huge": []}
    peak = 0.0

    def one(kind: str, path: Path) -> None:
        nonlocal peak
        port = free_port()
        p = procs.start(
            f"answer_{kind}",
            [FC, "replay", str(path), "--port", str(port), "--set", f"confdir={confdir}"],
            port,
        )
        try:
            times[kind].append(first_response_time(p, m, pth, b, h, timeout=1800))
            if kind == "huge":
                peak = _peak_mb(p.popen.pid)
        finally:
            procs.stop_all()

    for _ in range(sizes.answer_runs):
        one("small", small_path)
        one("large", large_path)
    if not sizes.shared:
        one("small", small_path)
    one("huge", huge_path)
    small = statistics.median(times["small"])
    huge_mb = huge_path.stat().st_size / 1e6
    huge_path.unlink()
    return {
        "first_answer_10_s": small,
        "first_answer_10k_s": statistics.median(times["large"]),
        "first_answer_100k_s": times["huge"][0],
        "huge_n": sizes.huge,
        "huge_cassette_mb": huge_mb,
        "first_answer_10k_vs_10": statistics.median(times["large"]) / small,
        "first_answer_100k_vs_10": times["huge"][0] / small,
        "load_100k_peak_mb": peak,
    }


def only_first_answer(sizes: Sizes, tmp: Path, procs: Procs) -> dict[str, Any]:
    """``--only first_answer``: :func:`bench_first_answer` alone, on its own cassettes."""
    templates = recorded_templates()
    small_path, large_path = tmp / "small.yaml", tmp / "large.yaml"
    write_cassette(small_path, sizes.small, templates)
    write_cassette(large_path, sizes.large, templates)
    return bench_first_answer(
        sizes, tmp, procs, templates, small_path, large_path, tmp / "mitmconf"
    )


def bench_first_use(
    sizes: Sizes,
    tmp: Path,
    procs: Procs,
    templates: dict[bool, str],
    floor_args: list[str],
    confdir: Path,
) -> dict[str, Any]:
    """The headline replay figures (first use) and the concurrent-clients figures."""
    note("first-use replay (fresh processes, each request once) ...")
    n = sizes.first_use_warm + sizes.first_use_n
    path, flows = tmp / "first_use.yaml", tmp / "first_use.flows"
    entries = write_cassette(path, n, templates)
    write_flows(flows, entries, n)
    order = strided(n)
    reqs = [(*request_for(i), len(served_body(entries[i]))) for i in order]
    warm, timed = reqs[: sizes.first_use_warm], reqs[sizes.first_use_warm :]
    reverse = ["--mode", "reverse:http://127.0.0.1:1"]
    contenders = {
        "replay": lambda port: [
            FC,
            "replay",
            str(path),
            "--port",
            str(port),
            "--set",
            f"confdir={confdir}",
        ],
        "server_replay": lambda port: [
            MITMDUMP,
            "-q",
            "-S",
            str(flows),
            "--set",
            "server_replay_extra=kill",
            "--set",
            "server_replay_ignore_host=true",
            "--set",
            "server_replay_ignore_port=true",
            *reverse,
            *mitm_common(port, confdir),
        ],
        "floor": lambda port: [MITMDUMP, "-q", *floor_args, *reverse, *mitm_common(port, confdir)],
    }
    running = {"floor": procs.kept} if procs.kept else {}  # --smoke: the shared floor
    rounds = bench_workloads.first_use(
        contenders,
        procs.start,
        procs.stop_all,
        free_port,
        warm,
        timed,
        sizes.first_use_rounds,
        running,
    )
    sec = {n: statistics.median(v) for n, v in rounds.items()}
    res: dict[str, Any] = {
        "first_use_n": sizes.first_use_n,
        "first_use_rounds": sizes.first_use_rounds,
        "replay_first_use_rps": 1 / sec["replay"],
        "server_replay_first_use_rps": 1 / sec["server_replay"],
        "floor_first_use_rps": 1 / sec["floor"],
        # throughput ratios, paired by round (see bench_workloads.paired_ratio)
        "replay_vs_floor": bench_workloads.paired_ratio(rounds, "floor", "replay"),
        "replay_vs_server_replay": bench_workloads.paired_ratio(rounds, "server_replay", "replay"),
        "replay_vs_floor_rounds": [
            round(f / r, 3) for f, r in zip(rounds["floor"], rounds["replay"], strict=True)
        ],
    }
    note(f"{sizes.clients} concurrent keep-alive clients ...")
    repeat_cfg = tmp / "repeat_last.yaml"
    ports = {"replay": free_port(), "floor": free_port()}
    started = [
        procs.start(
            "replay_32c",
            [*contenders["replay"](ports["replay"]), "--config", str(repeat_cfg)],
            ports["replay"],
        )
    ]
    if procs.kept:  # --smoke: the shared floor, stopped from here on
        ports["floor"] = procs.kept.port
        procs.kept = None
    else:
        started.append(
            procs.start("floor_32c", contenders["floor"](ports["floor"]), ports["floor"])
        )
    try:
        for p in started:
            p.wait_port()
        got = bench_workloads.concurrent(
            ports, reqs, sizes.clients, sizes.per_client, warm=2, rounds=sizes.concurrent_rounds
        )
    finally:
        procs.stop_all()
    res["replay_32c_rps"], res["floor_32c_rps"] = got["replay"]["rps"], got["floor"]["rps"]
    # paired by round, as the first-use ratios (the rounds' rates, so floor over replay)
    res["replay_32c_vs_floor"] = bench_workloads.paired_ratio(
        {n: got[n]["rounds"] for n in ("replay", "floor")}, "replay", "floor"
    )
    for name in ("replay", "floor"):
        res[f"{name}_32c_p50_ms"] = got[name]["p50_ms"]
        res[f"{name}_32c_p99_ms"] = got[name]["p99_ms"]
    return res


def table(res: dict[str, Any], sizes: Sizes) -> str:
    k = "10k" if sizes.large == 10_000 else str(sizes.large)
    rows = [
        ("replay_rps", "fc-cassette replay, 10 interactions (req/s)", "{:.0f}"),
        ("server_replay_rps", "mitmdump -S server replay (req/s)", "{:.0f}"),
        ("floor_rps", "mitmdump constant-response addon (req/s)", "{:.0f}"),
        ("replay_repeat_vs_server_replay", "replay / server replay, repeats", "{:.3f}"),
        ("replay_repeat_vs_floor", "replay / floor, repeats", "{:.3f}"),
        (
            "replay_first_use_rps",
            f"replay, {res['first_use_n']} requests each once (req/s)",
            "{:.0f}",
        ),
        ("server_replay_first_use_rps", "mitmdump -S, same first-use workload (req/s)", "{:.0f}"),
        ("floor_first_use_rps", "floor, same first-use workload (req/s)", "{:.0f}"),
        ("replay_vs_server_replay", "first use: replay / server replay", "{:.3f}"),
        ("replay_vs_floor", "first use: replay / floor", "{:.3f}"),
        ("replay_32c_rps", "replay, 32 concurrent clients (req/s)", "{:.0f}"),
        ("floor_32c_rps", "floor, 32 concurrent clients (req/s)", "{:.0f}"),
        ("replay_32c_vs_floor", "32 clients: replay / floor", "{:.3f}"),
        ("replay_32c_p50_ms", "32 clients: replay p50 latency (ms)", "{:.2f}"),
        ("replay_32c_p99_ms", "32 clients: replay p99 latency (ms)", "{:.2f}"),
        ("floor_32c_p50_ms", "32 clients: floor p50 latency (ms)", "{:.2f}"),
        ("floor_32c_p99_ms", "32 clients: floor p99 latency (ms)", "{:.2f}"),
        ("replay_10k_rps", f"fc-cassette replay, {k} interactions (req/s)", "{:.0f}"),
        ("scale_10k_vs_10", f"per-request time {k} / 10, same requests", "{:.3f}"),
        ("replay_10k_first_use_rps", f"replay {k}, each request's first use (req/s)", "{:.0f}"),
        ("first_use_vs_floor", "first-use replay / floor (no goal)", "{:.3f}"),
        ("load_10k_s", f"load + index {k} cassette (s)", "{:.2f}"),
        ("yaml_parse_10k_s", "bare CSafeLoader parse, same file (s)", "{:.2f}"),
        ("load_vs_yaml_parse", "load / bare parse", "{:.3f}"),
        ("load_10k_peak_mb", f"load {k}: peak RSS growth (MB)", "{:.1f}"),
        ("load_mem_vs_file", f"load {k}: peak RSS growth / file size", "{:.2f}"),
        ("miss_10k_ms", f"one miss explained, {k} cassette (ms)", "{:.2f}"),
        ("record_rps", "record --record-mode all, fsync on (req/s)", "{:.0f}"),
        ("record_fsync_off_rps", "record, fsync off (req/s)", "{:.0f}"),
        ("passthrough_rps", "mitmdump reverse passthrough (req/s)", "{:.0f}"),
        ("upstream_direct_rps", "upstream alone, no proxy (req/s)", "{:.0f}"),
        ("record_vs_passthrough", "record (fsync on) / passthrough", "{:.3f}"),
        ("record_vs_passthrough_fsync_off", "record (fsync off) / passthrough", "{:.3f}"),
        ("mitmdump_w_rps", "mitmdump -w FILE, recording every flow (req/s)", "{:.0f}"),
        ("record_vs_mitmdump_w", "record (fsync on) / mitmdump -w", "{:.3f}"),
        ("startup_s", "fc-cassette replay: spawn -> first 200 (s)", "{:.2f}"),
        ("startup_bare_s", "bare mitmdump: spawn -> first 200 (s)", "{:.2f}"),
        ("startup_vs_bare", "startup / bare", "{:.3f}"),
        ("first_answer_10_s", "replay 10: spawn -> first answer (s)", "{:.2f}"),
        ("first_answer_10k_s", f"replay {k}: spawn -> first answer (s)", "{:.2f}"),
        ("first_answer_100k_s", f"replay {res['huge_n']}: spawn -> first answer (s)", "{:.2f}"),
        ("first_answer_10k_vs_10", f"first answer {k} / 10", "{:.3f}"),
        ("first_answer_100k_vs_10", f"first answer {res['huge_n']} / 10", "{:.3f}"),
        ("load_100k_peak_mb", f"replay {res['huge_n']}: peak RSS at first answer (MB)", "{:.1f}"),
        *bench_micro.ROWS,
    ]
    lines = [f"{'metric':34} {'value':>10}  {'goal':9} {'met?':5} description", "-" * 100]
    for key, desc, fmt in rows:
        goal = GOALS.get(key)
        g = f"{goal[0]} {goal[1]}" if goal else ""
        met = ""
        if goal:
            v = res[key]
            met = "yes" if (v >= goal[1] if goal[0] == ">=" else v <= goal[1]) else "NO"
        lines.append(f"{key:34} {fmt.format(res[key]):>10}  {g:9} {met:5} {desc}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--smoke", action="store_true", help="tiny sizes: proves it works (CI)")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (logs, cassettes)")
    ap.add_argument(
        "--only",
        choices=["first_answer", "suite"],
        help="run one section only (first_answer: the first_answer_* and load_100k_peak_mb "
        "keys; suite: the suite_* and vcr_* keys); prints that section's JSON keys, no "
        "goal count",
    )
    ap.add_argument("--_upstream", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--_load", nargs=2, metavar=("KIND", "PATH"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args._upstream:
        run_upstream(args._upstream)
        return 0
    if args._load:
        run_load(*args._load)
        return 0

    missing = [b for b in (FC, MITMDUMP) if not os.path.exists(b)]
    if missing:
        print(
            f"bench: {', '.join(missing)} not found: run this script with the project's "
            f"virtualenv python ({ROOT / '.venv' / 'bin' / 'python'})",
            file=sys.stderr,
        )
        return 1
    sizes = SMOKE if args.smoke else FULL
    # the package's bytecode, as a user's install has it (the VCR.py side's packages have
    # theirs from pip): with PYTHONDONTWRITEBYTECODE set, each process started would
    # compile the package from source (scripts/_venv.sh does this too)
    compileall.compile_dir(str(ROOT / "addons" / "fc_cassette"), quiet=1)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    tmp = Path(tempfile.mkdtemp(prefix="fc-bench-"))
    procs = Procs(tmp)
    t0 = time.perf_counter()
    ok = False
    if args.only:
        try:
            if args.only == "suite":
                res = bench_suite.bench_suite(args.smoke, tmp)
            else:
                res = only_first_answer(sizes, tmp, procs)
            ok = True
        except (BenchError, bench_suite.SuiteError) as e:
            print(f"bench failed: {e}", file=sys.stderr)
            return 1
        finally:
            procs.stop_all(everything=True)
            if ok and not args.keep:
                shutil.rmtree(tmp, ignore_errors=True)
            else:
                note(f"kept {tmp}")
        print(
            json.dumps(
                {k: float(f"{v:.6g}") if isinstance(v, float) else v for k, v in res.items()}
            )
        )
        return 0
    try:
        res = bench(sizes, tmp, procs)
        note("in-process costs (bench_micro) ...")
        res.update(bench_micro.bench_micro(args.smoke))
        res.update(bench_suite.bench_suite(args.smoke, tmp))
        ok = True
    except (BenchError, bench_workloads.WorkloadError, bench_suite.SuiteError) as e:
        print(f"bench failed: {e}", file=sys.stderr)
        return 1
    finally:
        procs.stop_all(everything=True)
        if args.keep or not ok:
            note(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    res["mode"] = "smoke" if args.smoke else "full"
    res["elapsed_s"] = time.perf_counter() - t0
    res["goals_met"] = sum(
        1 for k, (op, b) in GOALS.items() if (res[k] >= b if op == ">=" else res[k] <= b)
    )
    res["goals_total"] = len(GOALS)
    print(table(res, sizes))
    print(bench_suite.table(res))
    print(
        f"elapsed {res['elapsed_s']:.0f}s; goals met {res['goals_met']}/{res['goals_total']}"
        " (benchmark goals, not test assertions)"
    )
    print(
        json.dumps({k: (float(f"{v:.6g}") if isinstance(v, float) else v) for k, v in res.items()})
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Signed webhook deliveries over HTTP, off the proxy's event loop (one thread per URL).

:class:`Deliverer` is what simulate and replay hand events to. Each delivery is a POST
of the event's bytes with Stripe's headers (:func:`fc_cassette.stripe_api.signing.headers`,
signed at each attempt with the wall clock's time, as Stripe does); any 2xx
acknowledges it. A non-2xx answer, a timeout or a refused connection is retried after
``backoff`` seconds (bounded: ``max_attempts`` in all), then the delivery is given up
and reported (``delivered: false``). Deliveries to one URL go out one at a time in the
order they were submitted (a retried one holds the next back); URLs do not wait for
each other. Nothing here ever blocks the caller: :meth:`Deliverer.submit` only queues.
"""

from __future__ import annotations

import http.client
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from fc_cassette.stripe_api import signing

log = logging.getLogger("fc_cassette")
BACKOFF_S = (0.5, 1.0, 2.0, 4.0)  # waits between attempts: 5 attempts, ~7.5 s in all
TIMEOUT_S = 10.0
MAX_ANSWER_BYTES = 1 << 16  # read (and dropped) of an app's answer
_STOP = object()


@dataclass
class Delivery:
    """One event on its way to one URL; the public fields are what ``status`` lists."""

    event_id: str
    type: str
    url: str
    payload: bytes = field(repr=False)
    secret: str = field(repr=False)
    attempts: int = 0
    status: int | None = None  # the app's last HTTP status (None: no answer)
    error: str | None = None  # the last failure, without the secret
    delivered: bool = False
    done: bool = False  # delivered or given up

    def as_dict(self) -> dict[str, Any]:
        return {
            "event": self.event_id,
            "type": self.type,
            "url": self.url,
            "status": self.status,
            "attempts": self.attempts,
            "delivered": self.delivered,
            "error": self.error,
            "done": self.done,
        }


def post(url: str, body: bytes, hdrs: dict[str, str], timeout: float) -> int:
    """POST ``body`` to ``url`` (http or https, never through a proxy); the status."""
    parts = urlsplit(url)
    conn_cls = (
        http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    )
    conn = conn_cls(parts.hostname or "", parts.port, timeout=timeout)
    try:
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        conn.request("POST", target, body=body, headers=hdrs)
        resp = conn.getresponse()
        resp.read(MAX_ANSWER_BYTES)
        return resp.status
    finally:
        conn.close()


class Deliverer:
    """Queues deliveries per URL and sends them from worker threads."""

    def __init__(
        self,
        *,
        backoff: tuple[float, ...] = BACKOFF_S,
        timeout: float = TIMEOUT_S,
        clock: Callable[[], float] = time.time,
        on_done: Callable[[Delivery], None] | None = None,
    ) -> None:
        self.backoff = backoff
        self.timeout = timeout
        self.clock = clock
        self.on_done = on_done
        self.deliveries: list[Delivery] = []
        self._queues: dict[str, queue.Queue] = {}
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._closed = threading.Event()

    @property
    def max_attempts(self) -> int:
        return len(self.backoff) + 1

    def submit(
        self, url: str, secret: str, event_id: str, event_type: str, payload: bytes
    ) -> Delivery:
        """Queue one delivery (never blocks); the record its progress is written to."""
        d = Delivery(event_id, event_type, url, payload, secret)
        with self._lock:
            self.deliveries.append(d)
            q = self._queues.get(url)
            if q is None:
                q = self._queues[url] = queue.Queue()
                t = threading.Thread(
                    target=self._work, args=(q,), daemon=True, name="fc-cassette-webhooks"
                )
                self._threads.append(t)
                t.start()
        q.put(d)
        return d

    def results(self) -> list[dict[str, Any]]:
        with self._lock:
            return [d.as_dict() for d in self.deliveries]

    def pending(self) -> int:
        with self._lock:
            return sum(1 for d in self.deliveries if not d.done)

    def wait(self, n: int, timeout: float) -> bool:
        """Wait until at least ``n`` deliveries are done (delivered or given up)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while sum(1 for d in self.deliveries if d.done) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(left)
        return True

    def wait_idle(self, timeout: float) -> bool:
        """Wait until every delivery submitted so far is done."""
        with self._lock:
            n = len(self.deliveries)
        return self.wait(n, timeout)

    def close(self, timeout: float = 0.0) -> None:
        """Stop the workers after ``timeout`` seconds of finishing what is queued."""
        if timeout > 0:
            self.wait_idle(timeout)
        self._closed.set()
        with self._lock:
            for q in self._queues.values():
                q.put(_STOP)

    # ------------------------------------------------------------------- workers
    def _work(self, q: queue.Queue) -> None:
        while True:
            d = q.get()
            if d is _STOP:
                return
            self._deliver(d)

    def _deliver(self, d: Delivery) -> None:
        for attempt in range(self.max_attempts):
            if self._closed.is_set():
                d.error = d.error or "fc-cassette stopped before the delivery"
                break
            ok = self._attempt(d)
            if ok:
                break
            if attempt < len(self.backoff):
                self._closed.wait(self.backoff[attempt])
        with self._changed:
            d.done = True
            self._changed.notify_all()
        if self.on_done is not None:
            self.on_done(d)
        level = logging.INFO if d.delivered else logging.WARNING
        log.log(
            level,
            "fc-cassette webhooks: %s %s -> %s: %s after %d attempt(s)%s",
            d.event_id,
            d.type,
            d.url,
            d.status if d.status is not None else "no answer",
            d.attempts,
            "" if d.delivered else f" (not delivered: {d.error})",
        )

    def _attempt(self, d: Delivery) -> bool:
        hdrs = signing.headers(d.payload, d.secret, int(self.clock()))
        try:
            status = post(d.url, d.payload, hdrs, self.timeout)
        except (OSError, http.client.HTTPException) as e:
            with self._lock:
                d.attempts += 1
                d.status = None
                d.error = f"{type(e).__name__}: {e}"[:300]
            return False
        with self._lock:
            d.attempts += 1
            d.status = status
            d.delivered = 200 <= status < 300
            d.error = None if d.delivered else f"the app answered {status}"
        return d.delivered

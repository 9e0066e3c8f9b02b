"""Answering requests from a loaded cassette: hits, explained misses, and a summary.

Shared by replay mode and by the record modes that replay (``once`` on an existing
cassette, ``new_episodes``, ``none``). A miss is answered with a Stripe-shaped error
(status ``replay.miss_status``, default 400, which stripe-python raises as
``InvalidRequestError`` and never retries; ``Stripe-Should-Retry: false`` says so too)
whose message names the cassette and the closest recording's differing fields.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mitmproxy import http

from fc_cassette.cassette.errors import CassetteError
from fc_cassette.cassette.format import Cassette
from fc_cassette.exchange.wire import WIRE_ERRORS, wire_fields
from fc_cassette.matching.closest import returned_ids
from fc_cassette.matching.matcher import (
    Matcher,
    Miss,
    key_of,
    match_inputs,
    normalize,
    upstream_of,
)
from fc_cassette.matching.misses import MAX_KEPT_MISSES
from fc_cassette.playback.shared import Sharer
from fc_cassette.redact.redactor import Redactor
from fc_cassette.settings.config import MatchRules, Settings
from fc_cassette.stripe_api import errors as stripe_errors

if TYPE_CHECKING:
    from fc_cassette.cassette.lazy import Progressive

MISS_HEADER = "Fc-Cassette-Miss"


Wire = tuple[int, bytes, http.Headers, bytes]


def wire(rec: dict[str, Any]) -> Wire:
    """A recorded response as status, reason, headers (Content-Length included) and body
    (:func:`fc_cassette.exchange.wire.wire_fields`; raises :data:`WIRE_ERRORS`)."""
    status, reason, fields, body = wire_fields(rec)
    return status, reason, http.Headers(fields), body


# what Playback keeps per response: its header fields (a tuple of byte pairs) and no
# Headers object, made per answer around the same tuple (see _response)
Kept = tuple[int, bytes, tuple[tuple[bytes, bytes], ...], bytes]


def kept(w: Wire) -> Kept:
    status, reason, headers, body = w
    return status, reason, headers.fields, body


@dataclass(frozen=True)
class Compacted:
    """What :class:`Compactor` computed while loading, by the interaction's ``id()``
    (the interactions stay alive in the loaded cassette): the response's wire form and
    the request's match key and normalized form."""

    wires: dict[int, Kept] = field(default_factory=dict)
    prepared: dict[int, tuple[str, dict[str, Any]]] = field(default_factory=dict)
    returned: dict[int, Any] = field(default_factory=dict)  # the ids its response returned
    alive: list[dict[str, Any]] = field(default_factory=list)  # no id reused meanwhile


class Compactor:
    """Turns each interaction, as :func:`fc_cassette.cassette.load` parses it (its
    ``compact`` hook), into what replay keeps: the response in its wire form (header
    fields shared between interactions), the request's match key and normalized form,
    and of the request itself only method and path (for the summary). The decoded
    bodies are dropped as soon as they are parsed: replay never needs them again.
    Everything else is kept as it was loaded, equal values shared (:mod:`.shared`: the
    same validation verdicts, header names, form values... held once), since replay
    only reads them. Raises ValueError / TypeError (:data:`WIRE_ERRORS`) for a response
    that cannot be replayed. What it computed is :attr:`done` (for :class:`Playback`)."""

    def __init__(self, rules: MatchRules):
        self.rules = rules
        self.inputs = match_inputs(rules)
        self.done = Compacted()
        self._fields: dict[tuple[bytes, bytes], tuple[bytes, bytes]] = {}
        self._share = Sharer()

    def __call__(self, doc: dict[str, Any]) -> dict[str, Any]:
        status, reason, headers, body = wire(doc["response"])
        fields = self._fields
        shared = tuple([fields.setdefault(f, f) for f in headers.fields])
        req, share = doc["request"], self._share
        norm = share(normalize(req, self.inputs))
        out = {}
        for k, v in doc.items():  # in the loaded order
            if k == "request":
                v = {"method": req["method"], "path": req["path"]}
                if (up := upstream_of(req)) is not None:  # (for a miss's fix)
                    v["upstream"] = up
            elif k == "response":
                v = {"status": status}
            out[share(k)] = v if k == "seq" else share(v)
        self.done.wires[id(out)] = (status, reason, shared, body)
        self.done.prepared[id(out)] = (key_of(norm), norm)
        self.done.returned[id(out)] = share(returned_ids(doc["response"].get("body")))
        self.done.alive.append(out)
        return out


class Playback:
    """``compacted``: what the :class:`Compactor` that loaded ``cassette`` computed
    (required for a compact load: its interactions keep no request to match on).

    ``progress``: the load under way (:mod:`fc_cassette.cassette.lazy`), whose
    ``cassette`` this is; its next interactions are indexed as they are parsed. A
    request is answered as soon as the recording the whole index would give is
    indexed; anything else (a miss, a used-up request, the status, the summary) waits
    until the load has finished, and once it failed every request gets its error."""

    def __init__(
        self,
        cassette: Cassette,
        settings: Settings,
        redactor: Redactor | None = None,
        compacted: Compacted | None = None,
        progress: Progressive | None = None,
    ):
        compacted = compacted or Compacted()
        self.path = str(cassette.path)
        self._interactions = cassette.interactions
        self.miss_status = settings.replay.miss_status
        # a miss explanation quotes recorded values and request values: it goes to the
        # client, the status endpoint and pytest's report, so it is redacted like a log
        self.redactor = redactor if redactor is not None else Redactor(settings.redaction)
        self.used: set[int] = set()  # seqs served since start-up (across rewinds)
        self.missed_total = 0  # misses since start-up (across rewinds): --strict
        self.progress = progress
        self.matcher = Matcher(
            cassette.interactions,
            settings.matching,
            repeat_last=settings.replay.on_exhausted == "repeat_last",
            cassette=self.path,
            prepared=compacted.prepared,
            returned=compacted.returned,
            complete=progress is None or progress.finished,
        )
        # Encoded once, at load: json.dumps with an indent runs in pure Python, too slow
        # to repeat on the first serving of every interaction (the common case in CI).
        self._wire = compacted.wires  # (a compact load's, by id(); shared, grows with it)
        for it in cassette.interactions:
            if id(it) in self._wire:
                continue
            try:
                self._wire[id(it)] = kept(wire(it["response"]))
            except WIRE_ERRORS as e:
                raise CassetteError(
                    cassette.path,
                    f"interaction {it.get('seq')}: the response cannot be replayed: {e}",
                ) from None
        self.rewind()
        if progress is not None and not progress.finished:
            progress.sink, progress.on_finish = self.matcher.add, self.matcher.finish

    @property
    def load_error(self) -> CassetteError | None:
        """Why the progressive load failed (None: it did not, or is not over)."""
        return self.progress.error if self.progress is not None else None

    def start_loading(self) -> None:
        """Parse the rest of the cassette in the background (if a load is under way)."""
        if self.progress is not None:
            self.progress.start()

    def complete(self) -> None:
        """Until the whole cassette is indexed (at once unless a load is under way)."""
        if self.progress is not None:
            self.progress.complete()

    def _locked(self) -> Any:
        """The load's lock (the index grows under it), if one is under way."""
        return self.progress.cond if self.progress is not None else contextlib.nullcontext()

    def rewind(self) -> None:
        """Start over: every recording available again, counts reset (e.g. per test)."""
        with self._locked():
            self.matcher.reset()
        self.served = 0
        self.misses: list[str] = []  # explanations, redacted (the first MAX_KEPT_MISSES)
        self.missed = 0
        self.last_miss = ""

    def take(self, req: dict[str, Any]) -> dict[str, Any] | Miss:
        return self.take_prepared(*self.matcher.prepare(req))

    def take_prepared(self, key: str, norm: dict[str, Any]) -> dict[str, Any] | Miss:
        """The next recording, or a Miss; a miss counts only once answered (:meth:`refuse`),
        since record's new_episodes forwards it instead."""
        prog = self.progress
        if prog is not None:
            if not prog.finished:
                prog.wait_until(lambda: self.matcher.ready(key))
            if prog.error is not None:
                return Miss("cassette_error", f"the cassette cannot be loaded: {prog.error}")
        got = self.matcher.take_prepared(key, norm)
        if not isinstance(got, Miss):
            self.served += 1
            self.used.add(got.get("seq", 0))
        return got

    def wire_for(self, it: dict[str, Any]) -> Kept:
        """The recorded response as it is served, byte-for-byte the same on every
        replay: status, reason, header fields, body (encoded once, at load). The Player
        builds the answer from it (``mitm_compat.response``: no re-encoding, no
        per-field check, a third cheaper per hit than ``Response.make``)."""
        return self._wire[id(it)]

    def response_for(self, it: dict[str, Any]) -> http.Response:
        """:meth:`wire_for` as a response, through mitmproxy's public (checked)
        constructor."""
        status, reason, fields, body = self._wire[id(it)]
        now = time.time()
        return http.Response(
            b"HTTP/1.1", status, reason, http.Headers(fields), body, None, now, now
        )

    def _miss_response(self, reason: str, explanation: str) -> http.Response:
        message = f"fc-cassette replay miss (cassette {self.path}): {explanation}"
        body = stripe_errors.own(stripe_errors.REPLAY_MISS, message)
        return http.Response.make(
            self.miss_status,
            stripe_errors.encode(body),
            {
                **stripe_errors.NO_RETRY,
                MISS_HEADER: reason,
                "Request-Id": f"req_fccassette_miss_{self.missed}",
            },
        )

    def refuse(self, miss: Miss) -> http.Response:
        """Count a miss and answer it (the explanation redacted once, for every use)."""
        self.last_miss = self.redactor.redact_text(miss.message)
        self.missed += 1
        self.missed_total += 1
        if len(self.misses) < MAX_KEPT_MISSES:  # counted beyond, not kept
            self.misses.append(self.last_miss)
        return self._miss_response(miss.reason, self.last_miss)

    def error_response(self, what: str) -> http.Response:
        """An answer for a request fc-cassette failed to handle: never fall through upstream."""
        return self.refuse(
            Miss("internal_error", f"fc-cassette could not answer this request: {what}")
        )

    def status(self) -> dict[str, Any]:
        self.complete()
        return {
            "cassette": self.path,
            "served": self.served,
            "misses": list(self.misses),
            "unused": [it.get("seq") for it in self.matcher.unused()],
            "never_used": sorted({it.get("seq", 0) for it in self._interactions} - self.used),
        }

    def summary(self) -> list[str]:
        with self._locked():
            unused = self.matcher.unused()
        lines = [
            f"replay summary for {self.path}: served {self.served}, "
            f"missed {self.missed}, unused {len(unused)}"
            + (
                f" (since the last rewind; missed since start-up {self.missed_total})"
                if self.missed_total != self.missed
                else ""
            )
        ]
        if self.progress is not None and not self.progress.finished:  # (shutdown does not wait)
            lines.append(
                f"  the cassette was still loading: unused counts the "
                f"{len(self._interactions)} interactions loaded"
            )
        elif self.load_error is not None:
            lines.append(f"  the cassette cannot be loaded: {self.load_error}")
        lines += ["  miss: " + m.replace("\n", "\n    ") for m in self.misses]
        if self.missed > len(self.misses):
            lines.append(f"  ... and {self.missed - len(self.misses)} more miss(es)")
        for it in unused:
            r = it["request"]
            lines.append(
                self.redactor.redact_text(
                    f"  unused: interaction {it.get('seq')}: {r.get('method')} {r.get('path')}"
                )
            )
        return lines

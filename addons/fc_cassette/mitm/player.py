"""The Player: answering a flow from one cassette, shared by replay and record.

One object owns everything "answer this flow from the cassette" means: the scope
check, undecodable bodies, the memoized request key, take-or-miss with the miss
logged, the error fallback and the offline ``server_connect`` guard with its counter.
:class:`~fc_cassette.replay.Replay` is a thin mitmproxy adapter over it; the record
modes that only replay call the very same :meth:`Player.answer`, so their behaviour
is replay's by construction. A recorder that writes asks :meth:`Player.answer` with
``forward_misses=True``: hits are served, everything else goes upstream.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Protocol

from mitmproxy import ctx, http
from mitmproxy.proxy.server_hooks import ServerConnectionHookData

from fc_cassette.cassette import store as cassette_io
from fc_cassette.exchange.interaction import UndecodableBody, header_map, request_record
from fc_cassette.matching.matcher import Miss, match_inputs
from fc_cassette.mitm import core, mitm_compat
from fc_cassette.mitm.scope import in_scope
from fc_cassette.playback.state import Compactor, Playback
from fc_cassette.redact.redactor import Redactor
from fc_cassette.settings.config import Settings

log = logging.getLogger("fc_cassette")
KEY_CACHE_SIZE = 1024  # per cassette (one process may hold many players)
KEY_CACHE_MAX_BODY = 16 * 1024
OFFLINE = "fc-cassette is only replaying (offline): upstream connections are refused"


class Player:
    """Answers flows from one cassette's :class:`Playback` (``label`` names the mode in
    log lines: "replay", "record")."""

    def __init__(self, playback: Playback, settings: Settings, label: str = "replay"):
        self.playback = playback
        self.settings = settings
        self.label = label
        # Two numberings: the one requests are matched with must not depend on what was
        # logged before (the playback's redactor numbers messages and log lines).
        self.redactor = Redactor(settings.redaction)
        self.upstream_refused = 0  # server_connect attempts refused (offline guard)
        self.inputs = match_inputs(settings.matching)  # what the memo key must cover
        self.webhooks: list[dict[str, Any]] = []  # the cassette's webhook documents
        self._keys: dict[tuple, tuple[str, dict[str, Any]]] = {}

    @property
    def path(self) -> str:
        return self.playback.path

    def answer(self, flow: http.HTTPFlow, forward_misses: bool = False) -> bool:
        """Set ``flow.response`` from the cassette; True when answered (a hit, or a miss
        when not ``forward_misses``). With ``forward_misses``, out-of-scope requests,
        undecodable bodies and misses are left alone (False): they go upstream."""
        pb = self.playback
        if not in_scope(flow, self.settings.scope):
            if forward_misses:
                return False
            r = flow.request
            return self._refuse(
                flow,
                Miss(
                    "out_of_scope",
                    f"{r.method} {r.pretty_host}{r.path} is outside "
                    "fc-cassette's scope; replay never forwards requests",
                ),
            )  # refuse redacts
        try:
            key, req = self.prepared(flow)
        except UndecodableBody as e:
            if forward_misses:
                return False  # recording: forwarded, and refused in the response hook
            return self._refuse(
                flow,
                Miss(
                    "unmatched",
                    f"{flow.request.method} "
                    f"{flow.request.path.split('?', 1)[0]}: {e}, "
                    "so it cannot be matched",
                ),
            )
        got = pb.take_prepared(key, req)
        if isinstance(got, Miss):
            return False if forward_misses else self._refuse(flow, got)
        flow.response = mitm_compat.response(*pb.wire_for(got), time.time())
        flow.metadata[core.SERVED_SEQ] = got.get("seq")  # replay's webhooks follow it
        # Only when asked for (--set termlog_verbosity=debug): mitmproxy sends every log
        # record, even a DEBUG one, through the whole addon chain, which cost more than
        # the rest of a hit. The shutdown summary counts hits anyway.
        if getattr(ctx.options, "termlog_verbosity", "info") == "debug":
            log.debug(
                "fc-cassette %s: %s %s -> %s (interaction %s)",
                self.label,
                req["method"],
                req["path"],
                flow.response.status_code,
                got.get("seq"),
            )
        return True

    def _refuse(self, flow: http.HTTPFlow, miss: Miss) -> bool:
        flow.response = self.playback.refuse(miss)
        log.warning("fc-cassette %s miss: %s", self.label, self.playback.last_miss)
        return True

    def fail(self, flow: http.HTTPFlow, exc: BaseException) -> None:
        """The fallback when answering raised: log it (redacted) and answer with an
        explained miss; never let a bug of ours send the request upstream."""
        messages = self.playback.redactor
        core.log_failure(
            f"{self.label} failed to answer {flow.request.method} "
            f"{messages.redact_text(flow.request.path)}",
            messages,
        )
        flow.response = self.playback.error_response(type(exc).__name__)

    def prepared(self, flow: http.HTTPFlow) -> tuple[str, dict[str, Any]]:
        """The request's match key and normalized form, memoized on everything they are
        computed from (method, path with query, body bytes, the headers that decode the
        body or are matched on): tests send the same requests again and again (the
        pytest plugin rewinds the cassette for every test), and decoding, redacting and
        normalizing them was a fifth of replay's cost per request. Bounded in entries
        and in body size."""
        r = flow.request
        inputs = self.inputs
        headers = header_map(r.headers)  # one pass; Headers.get scans every field per call
        body = r.raw_content or b""
        raw = None
        if len(body) <= KEY_CACHE_MAX_BODY:  # the key holds the body: bound the memory
            raw = inputs.memo_key(r.method, r.pretty_host, r.path, body, headers)
            hit = self._keys.get(raw)
            if hit is not None:
                return hit
        req = self.redactor.redact_entry(
            {
                "request": request_record(
                    flow, inputs.headers, headers=headers, with_host=inputs.host
                )
            }
        )
        hit = self.playback.matcher.prepare(req["request"])
        if raw is not None:
            if len(self._keys) >= KEY_CACHE_SIZE:
                self._keys.clear()
            self._keys[raw] = hit
        return hit

    def refuse_connect(self, data: ServerConnectionHookData, reason: str = OFFLINE) -> None:
        """The offline guard: an upstream connection still tried (raw bytes through
        CONNECT, connection_strategy=eager) is refused and counted."""
        self.upstream_refused += 1
        data.server.error = reason


class LoadPlayer(Protocol):
    """:func:`load_player`'s signature: what :mod:`.addon` hands the modes that load
    players (replay, the recorder's switch), so none of them imports this module."""

    def __call__(
        self, path: str, settings: Settings, label: str, start: bool = True, whole: bool = False
    ) -> Player: ...


def load_player(
    path: str, settings: Settings, label: str, start: bool = True, whole: bool = False
) -> Player:
    """Load ``path`` into a Player (CassetteError if it cannot be replayed): the
    whole-file checks, the header and the first :data:`.lazy.SYNC_BYTES` (most
    cassettes whole) now, the rest in a background thread (:mod:`.cassette.lazy`),
    started now or (``start=False``) by :meth:`Playback.start_loading`: replay starts it
    once the proxy listens, so mitmproxy's start-up does not share the GIL with it.
    ``whole``: the rest parsed here too, before it returns (the control endpoint's
    ``use``, in a worker thread: a test's cassette is refused as the whole load refuses
    it, before the test's first request)."""
    # what replay keeps of each interaction, made as it is parsed (see Compactor)
    compactor = Compactor(settings.matching)
    progress = cassette_io.open_progressive(path, compactor)
    loaded = progress.cassette
    for w in loaded.warnings:
        log.warning("fc-cassette: %s", w)
    # messages and log lines (ours and mitmproxy's) share the playback's numbering
    playback = Playback(loaded, settings, Redactor(settings.redaction), compactor.done, progress)
    player = Player(playback, settings, label)
    player.webhooks = loaded.webhooks  # webhook documents, in recorded order
    if whole:
        playback.complete()  # parsed here: no thread was started
        if playback.load_error is not None:
            raise playback.load_error
    log.info(
        "fc-cassette %s: %s from %s (offline: nothing is forwarded)",
        label,
        f"{len(loaded.interactions)} interactions"
        if progress.finished
        else f"{len(loaded.interactions)} interactions so far, the rest loading",
        loaded.path,
    )
    if start and not whole:
        progress.start()
    return player

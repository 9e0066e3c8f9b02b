"""Request matching: an O(1) index from request key to recordings, and miss explanations.

A request's key is its method, path, decoded query, decoded body and the headers the
config names (by default only ``Stripe-Account``), compared as data: form bodies go
through the codec, so ``permissions[]=`` and ``permissions[0]=`` and parameter order
do not matter; JSON is parsed. The host is left out by default, so a cassette recorded
in reverse mode replays in forward mode and back.

Identical requests get their recordings in recorded order. When nothing matches,
:meth:`Matcher.explain` names the closest recording (a bounded search, see
:mod:`.closest`), the fields that differ and what fixes it (:mod:`.misses`), or says
which recordings of the request were already used.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fc_cassette.exchange import fieldpath, formcodec
from fc_cassette.matching import misses
from fc_cassette.matching.closest import Nearest, named_ids, returned_ids, shape
from fc_cassette.matching.misses import clip

if TYPE_CHECKING:
    from fc_cassette.settings.config import MatchRules


def _drop(data: Any, dotted: str) -> Any:
    """``data`` without the parameter at ``dotted`` (a field path, ``a.b``; ``a[b]``
    is read the same way: :mod:`fc_cassette.exchange.fieldpath`)."""
    parts = fieldpath.split(dotted)
    if not parts or not isinstance(data, dict):
        return data
    head, rest = parts[0], ".".join(parts[1:])
    if head not in data:
        return data
    out = dict(data)
    if rest:
        out[head] = _drop(out[head], rest)
    else:
        del out[head]
    return out


@dataclass(frozen=True)
class MatchInputs:
    """What matching reads of a request under one config's rules, derived once
    (:func:`match_inputs`): :func:`normalize` reads a request through it, and
    :meth:`memo_key` lists everything a normalized form is computed from, so a memo of
    normalized forms (the Player's) cannot leave out what matching starts to read."""

    headers: tuple[str, ...]  # the request headers matched on, as configured
    host: bool  # the host is part of the key
    ignore_params: tuple[str, ...]  # parameters left out (see :func:`_drop`)

    def memo_key(
        self, method: str, host: str, path: str, body: bytes, headers: Mapping[str, str]
    ) -> tuple[Any, ...]:
        """A live request's identity for matching: method, the host (only when matched
        on), path with query, body bytes, the headers that decode the body, and the
        headers matched on (``headers``: lower-case names, see ``header_map``)."""
        return (
            method,
            host if self.host else None,
            path,
            body,
            headers.get("content-type"),
            headers.get("content-encoding"),
            *(headers.get(h.lower()) for h in self.headers),
        )


def match_inputs(rules: MatchRules | MatchInputs) -> MatchInputs:
    """What matching reads under ``rules``."""
    if isinstance(rules, MatchInputs):
        return rules
    return MatchInputs(tuple(rules.headers), rules.match_host, tuple(rules.ignore_params))


def normalize(req: dict[str, Any], rules: MatchRules | MatchInputs) -> dict[str, Any]:
    """The parts of a recorded-shape request that matching compares, in canonical form."""
    rules = match_inputs(rules)
    query = req.get("query") or {}
    body = req.get("body") or {}
    kind, value = next(iter(body.items())) if body else ("none", None)
    if kind == "form":
        value = formcodec.canonical(value)
    query = formcodec.canonical(query) if isinstance(query, dict) else query
    for param in rules.ignore_params:
        if isinstance(query, dict):
            query = _drop(query, param)
        if kind in ("form", "json"):
            value = _drop(value, param)
    headers = {str(k).lower(): v for k, v in (req.get("headers") or {}).items()}
    out: dict[str, Any] = {
        "method": str(req.get("method", "")).upper(),
        "path": req.get("path", ""),
        "query": query,
        kind: value,
        "header": {h: headers.get(h.lower()) for h in rules.headers},
    }
    if rules.host:
        out["host"] = req.get("host")
    return out


def key_of(norm: dict[str, Any]) -> str:
    return json.dumps(norm, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


DEFAULT_PORTS = {"https": 443, "http": 80}


def upstream_of(req: dict[str, Any]) -> str | None:
    """``https://api.stripe.com``: where a recorded request went (None if unknown)."""
    scheme, host, port = req.get("scheme"), req.get("host"), req.get("port")
    if scheme not in DEFAULT_PORTS or not isinstance(host, str) or not host:
        return None
    host = f"[{host}]" if ":" in host else host
    return f"{scheme}://{host}" + ("" if port in (None, DEFAULT_PORTS[scheme]) else f":{port}")


def prepare(req: dict[str, Any], rules: MatchRules | MatchInputs) -> tuple[str, dict[str, Any]]:
    """``req``'s match key and normalized form."""
    norm = normalize(req, rules)
    return key_of(norm), norm


def _seqs(seqs: list[Any], limit: int = 10) -> str:
    shown = ", ".join(str(s) for s in seqs[:limit])
    return shown + (f", ... ({len(seqs)} in all)" if len(seqs) > limit else "")


@dataclass
class Miss:
    reason: str  # "unmatched", "exhausted", "out_of_scope", "internal_error", "cassette_error"
    message: str


class Matcher:
    """Index of recorded interactions by request key, handing them out in order.

    ``cassette`` is the name the fixes in miss explanations use; ``prepared``: the
    interactions' keys and normalized forms by ``id()``, when computed while loading
    (:class:`fc_cassette.playback.state.Compactor`, with the same rules).

    ``complete=False``: ``interactions`` is the first part of the cassette (a
    progressive load); :meth:`add` indexes the next parts as they are parsed and
    :meth:`finish` is called after the last one. Until then only a request with an
    unused recording indexed (:meth:`ready`) may be taken: its answer is the one the
    whole index gives, since recordings of one key are handed out in recorded order."""

    def __init__(
        self,
        interactions: list[dict[str, Any]],
        rules: MatchRules,
        repeat_last: bool = False,
        cassette: str = "CASSETTE",
        prepared: Mapping[int, tuple[str, dict[str, Any]]] | None = None,
        returned: Mapping[int, Sequence[str]] | None = None,
        complete: bool = True,
    ):
        self.rules = rules
        self.inputs = match_inputs(rules)
        self.repeat_last = repeat_last
        self.cassette = cassette
        self._norms: list[tuple[dict[str, Any], dict[str, Any]]] = []
        self._keys: list[str] = []
        self._recorded: dict[str, list[Any]] = {}  # key -> the seqs recorded for it
        self.returned: dict[str, Any] = {}  # id -> the seq of the first response with it
        self.upstream: str | None = None  # where the first recording went (for the fixes)
        self._prepared = prepared if prepared is not None else {}  # (may grow: shared)
        self._returned = returned if returned is not None else {}
        self._nearest: Nearest | None = None
        self.reset()
        self.add(interactions)
        if complete:
            self.finish()

    def add(self, interactions: list[dict[str, Any]]) -> None:
        """Index the next recordings (in recorded order), available from now on."""
        for it in interactions:
            self._index_ids(it, self._returned.get(id(it)))
            key, norm = self._prepared.get(id(it)) or prepare(it["request"], self.inputs)
            self._norms.append((norm, it))
            self._keys.append(key)
            self._recorded.setdefault(key, []).append(it.get("seq"))
            self._queues.setdefault(key, deque()).append(it)

    def finish(self) -> None:
        """Every recording is indexed: build the search for misses' closest recording."""
        self._nearest = Nearest([norm for norm, _ in self._norms])

    def ready(self, key: str) -> bool:
        """An unused recording of ``key`` is indexed (what :meth:`take_prepared` hands out)."""
        return bool(self._queues.get(key))

    def _index_ids(self, it: dict[str, Any], ids: Sequence[str] | None) -> None:
        """``ids``: the ids its response returned, if computed while loading."""
        if ids is None:
            ids = returned_ids((it.get("response") or {}).get("body"))
        for rid in ids:
            self.returned.setdefault(rid, it.get("seq"))
        if self.upstream is None:
            req = it.get("request") or {}
            self.upstream = req.get("upstream") or upstream_of(req)  # (compact, or full)

    def where(self, norm: dict[str, Any], fields: dict[str, Any] | None = None) -> misses.Where:
        """What the fix of a miss on ``norm`` needs: the cassette, its upstream, and the
        first id the request names that one of the cassette's responses returned."""
        named = named_ids(norm, fields if fields is not None else misses.flat(norm))
        rid = next((i for i in named if i in self.returned), None)
        return misses.Where(
            self.cassette, self.upstream, None if rid is None else (rid, self.returned[rid])
        )

    def reset(self) -> None:
        """Every recording available again (the keys are computed once, in __init__)."""
        self._queues: dict[str, deque[dict[str, Any]]] = {}
        self._calls: dict[str, int] = {}
        self._last: dict[str, dict[str, Any]] = {}
        for key, (_, it) in zip(self._keys, self._norms, strict=True):
            self._queues.setdefault(key, deque()).append(it)

    def prepare(self, req: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """``req``'s key and normalized form (what :meth:`take_prepared` needs)."""
        return prepare(req, self.inputs)

    def take(self, req: dict[str, Any]) -> dict[str, Any] | Miss:
        """The next recording for ``req``, or a :class:`Miss` saying why there is none."""
        return self.take_prepared(*self.prepare(req))

    def take_prepared(self, key: str, norm: dict[str, Any]) -> dict[str, Any] | Miss:
        self._calls[key] = self._calls.get(key, 0) + 1
        queue = self._queues.get(key)
        if queue:
            it = queue.popleft()
            self._last[key] = it
            return it
        if key in self._recorded:
            if self.repeat_last:
                return self._last[key]
            return Miss("exhausted", self._used_up(key, norm))
        return Miss("unmatched", self.explain(norm))

    def _used_up(self, key: str, norm: dict[str, Any]) -> str:
        seqs, call = self._recorded[key], self._calls[key]
        n = len(seqs)
        used = (
            f"interaction {_seqs(seqs)} was used by the earlier call"
            if n == 1
            else f"interactions {_seqs(seqs)} were used by the earlier calls"
        )
        return (
            f"{norm['method']} {clip(norm['path'])} was recorded {n} "
            f"time{'s' if n != 1 else ''}, this is call {call}: {used}\n"
            f"{misses.fix_exhausted(self.where(norm))}"
        )

    def explain(self, norm: dict[str, Any]) -> str:
        """Name the closest recording, the fields that differ, and what fixes it.

        Compares a bounded set of candidates (:mod:`.closest`), never the whole cassette."""
        path = clip(norm["path"])
        if not self._norms:
            return (
                f"no recorded request matches {norm['method']} {path} (the cassette is "
                f"empty)\n{misses.fix_empty(self.where(norm))}"
            )
        got_flat, got_shape = misses.flat(norm), shape(norm["path"])
        best: tuple[int, int, list] | None = None
        assert self._nearest is not None, "explain() before finish()"
        for i in self._nearest.candidates(norm):
            rec_norm = self._norms[i][0]
            found = misses.diff(rec_norm, norm, got_flat)
            score = (
                len(found)
                + (0 if rec_norm["method"] == norm["method"] else 1000)
                + (0 if shape(rec_norm["path"]) == got_shape else 100)
            )
            if best is None or score < best[0]:
                best = (score, i, found)
        assert best is not None  # candidates() is never empty for a non-empty cassette
        _, i, found = best
        rec_norm, it = self._norms[i]
        return (
            f"no recorded request matches {norm['method']} {path}; closest is "
            f"interaction {it.get('seq')} ({rec_norm['method']} {clip(rec_norm['path'])})"
            f": {'; '.join(misses.clauses(found))}\n"
            f"{misses.fix_unmatched(found, self.where(norm, got_flat))}"
        )

    def unused(self) -> list[dict[str, Any]]:
        left = [it for q in self._queues.values() for it in q]
        return sorted(left, key=lambda it: it.get("seq", 0))

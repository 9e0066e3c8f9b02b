"""Request matching: an O(1) index from request key to recordings, and miss explanations.

A request's key is its method, path, decoded query, decoded body and the headers the
config names (by default only ``Stripe-Account``), compared as data: form bodies go
through the codec, so ``permissions[]=`` and ``permissions[0]=`` and parameter order
do not matter; JSON is parsed. The host is left out by default, so a cassette recorded
in reverse mode replays in forward mode and back.

Identical requests get their recordings in recorded order. When nothing matches,
:meth:`Matcher.explain` names the closest recording and the fields that differ, or says
that the matching recordings were already used.
"""

from __future__ import annotations

import json
import re
from collections import deque
from dataclasses import dataclass
from typing import Any

from . import formcodec
from .config import MatchRules

_ID_SEGMENT = re.compile(r"/[a-z]+_[A-Za-z0-9_]+(?=/|$)")


def _drop(data: Any, dotted: str) -> Any:
    """``data`` without the parameter at ``dotted`` (``a.b`` or ``a[b]`` style)."""
    parts = [p for p in re.split(r"[.\[\]]+", dotted) if p]
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


def normalize(req: dict[str, Any], rules: MatchRules) -> dict[str, Any]:
    """The parts of a recorded-shape request that matching compares, in canonical form."""
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
    if rules.match_host:
        out["host"] = req.get("host")
    return out


def key_of(norm: dict[str, Any]) -> str:
    return json.dumps(norm, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _flat(norm: dict[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for section, value in norm.items():
        if isinstance(value, (dict, list)):
            for k, v in formcodec.flatten(value):
                out[f"{section}.{k}"] = v
            if not value:
                out[section] = "{}" if isinstance(value, dict) else "[]"
        elif value is not None:
            out[section] = str(value)
    return out


MAX_QUOTED = 200  # characters of a value quoted in a miss explanation


def _clip(text: str) -> str:
    return text if len(text) <= MAX_QUOTED else f"{text[:MAX_QUOTED]}... ({len(text)} chars)"


def _quote(value: Any) -> str:
    return _clip(repr(value))


def differences(recorded: dict[str, Any], got: dict[str, Any], limit: int = 5) -> list[str]:
    a, b = _flat(recorded), _flat(got)
    diffs = []
    for k in sorted(set(a) | set(b)):
        if a.get(k) != b.get(k):
            ra = _quote(a[k]) if k in a else "nothing"
            rb = _quote(b[k]) if k in b else "nothing"
            diffs.append(f"{_clip(k)}: recorded {ra}, got {rb}")
    if len(diffs) > limit:
        diffs = diffs[:limit] + [f"... and {len(diffs) - limit} more"]
    return diffs


@dataclass
class Miss:
    reason: str  # "unmatched", "exhausted", "out_of_scope" or "internal_error"
    message: str


class Matcher:
    """Index of recorded interactions by request key, handing them out in order."""

    def __init__(self, interactions: list[dict[str, Any]], rules: MatchRules,
                 repeat_last: bool = False):
        self.rules = rules
        self.repeat_last = repeat_last
        self._norms: list[tuple[dict[str, Any], dict[str, Any]]] = []
        self._keys: list[str] = []
        self._recorded: dict[str, int] = {}
        for it in interactions:
            norm = normalize(it["request"], rules)
            key = key_of(norm)
            self._norms.append((norm, it))
            self._keys.append(key)
            self._recorded[key] = self._recorded.get(key, 0) + 1
        self.reset()

    def reset(self) -> None:
        """Every recording available again (the keys are computed once, in __init__)."""
        self._queues: dict[str, deque[dict[str, Any]]] = {}
        self._calls: dict[str, int] = {}
        self._last: dict[str, dict[str, Any]] = {}
        for key, (_, it) in zip(self._keys, self._norms):
            self._queues.setdefault(key, deque()).append(it)

    def prepare(self, req: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """``req``'s key and normalized form (what :meth:`take_prepared` needs)."""
        norm = normalize(req, self.rules)
        return key_of(norm), norm

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
            n, call = self._recorded[key], self._calls[key]
            return Miss("exhausted", f"{norm['method']} {norm['path']} was recorded {n} "
                                     f"time{'s' if n != 1 else ''}, this is call {call}")
        return Miss("unmatched", self.explain(norm))

    def explain(self, norm: dict[str, Any]) -> str:
        """Name the closest recording and the field-level differences (scan: misses only)."""
        shape = _ID_SEGMENT.sub("/{id}", norm["path"])
        best: tuple[int, dict[str, Any], dict[str, Any]] | None = None
        for rec_norm, it in self._norms:
            score = len(differences(rec_norm, norm, limit=10_000))
            score += 0 if rec_norm["method"] == norm["method"] else 1000
            score += 0 if _ID_SEGMENT.sub("/{id}", rec_norm["path"]) == shape else 100
            if best is None or score < best[0]:
                best = (score, rec_norm, it)
        if best is None:
            return f"no recorded request matches {norm['method']} {norm['path']} (the cassette is empty)"
        _, rec_norm, it = best
        diffs = "; ".join(differences(rec_norm, norm))
        path = _clip(norm["path"])
        return (f"no recorded request matches {norm['method']} {path}; closest is "
                f"interaction {it.get('seq')} ({rec_norm['method']} {rec_norm['path']}): {diffs}")

    def unused(self) -> list[dict[str, Any]]:
        left = [it for q in self._queues.values() for it in q]
        return sorted(left, key=lambda it: it.get("seq", 0))

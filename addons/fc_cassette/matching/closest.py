"""The recording closest to a missed request, found without scanning the cassette.

Built once per cassette (in :class:`.matching.Matcher`), the index holds the
recordings by exact method and path, by method and path shape (ids replaced:
``/v1/financial_connections/sessions/{id}``), by method, and by rare field values
(a value at most :data:`RARE` recordings share, e.g. a customer id in a form body).
A miss compares at most :data:`MAX_CANDIDATES` recordings: those sharing the most rare
values with it, then the same method and path, the same method and shape, the same
method, then the first recordings of the cassette. So a miss costs about the same at
10 or 100,000 interactions, and when the request differs from a recording by a
parameter or two, that recording is among the candidates.
"""

from __future__ import annotations

import heapq
import re
from typing import Any

from fc_cassette.matching.misses import flat

MAX_CANDIDATES = 32
RARE_CANDIDATES = 16  # of which at most this many come from shared rare values
RARE = 64  # a value more recordings share than this singles none out
MAX_FIELDS = 200  # fields of a request looked up (a form may have thousands)

# THE id rule (miss explanations and ``fc-cassette diff`` share it): a Stripe id is a
# lowercase prefix, "_", then a part with a digit or an upper-case letter (``fcsess_1Abc``,
# ``cus_fake1``; not ``financial_connections``: Stripe ids are random base62)
ID_WORD = r"[a-z]+_[A-Za-z0-9_]*[A-Z0-9][A-Za-z0-9_]*"
_ID_SEGMENT = re.compile(rf"/{ID_WORD}(?=/|$)")


def shape(path: str) -> str:
    """``path`` with its id segments replaced by ``{id}``."""
    return _ID_SEGMENT.sub("/{id}", path)


def _add(index: dict, key: Any, i: int, cap: int) -> None:
    bucket = index.get(key)
    if bucket is None:
        index[key] = [i]
    elif len(bucket) < cap:
        bucket.append(i)


class Nearest:
    """Candidate recordings for a missed request, from normalized recordings in order."""

    def __init__(self, norms: list[dict[str, Any]]):
        self._by_path: dict[tuple[str, str], list[int]] = {}
        self._by_shape: dict[tuple[str, str], list[int]] = {}
        self._by_method: dict[str, list[int]] = {}
        self._values: dict[tuple[str, Any], list[int]] = {}  # capped at RARE + 1
        self._first = list(range(min(len(norms), MAX_CANDIDATES)))
        for i, norm in enumerate(norms):
            method, path = norm["method"], norm["path"]
            _add(self._by_path, (method, path), i, MAX_CANDIDATES)
            _add(self._by_shape, (method, shape(path)), i, MAX_CANDIDATES)
            _add(self._by_method, method, i, MAX_CANDIDATES)
            for field in flat(norm).items():
                if field[0] not in ("method", "path"):
                    _add(self._values, field, i, RARE + 1)

    def _sharing_rare_values(self, norm: dict[str, Any]) -> list[int]:
        shared: dict[int, int] = {}
        for n, field in enumerate(flat(norm).items()):
            if n >= MAX_FIELDS:
                break
            bucket = self._values.get(field)
            if bucket is not None and len(bucket) <= RARE:
                for i in bucket:
                    shared[i] = shared.get(i, 0) + 1
        return heapq.nsmallest(RARE_CANDIDATES, shared, key=lambda i: (-shared[i], i))

    def candidates(self, norm: dict[str, Any]) -> list[int]:
        """At most :data:`MAX_CANDIDATES` recording indexes, the likeliest first."""
        method, path = norm["method"], norm["path"]
        out = dict.fromkeys(self._sharing_rare_values(norm))
        for bucket in (
            self._by_path.get((method, path)),
            self._by_shape.get((method, shape(path))),
            self._by_method.get(method),
            self._first,
        ):
            for i in bucket or ():
                if len(out) >= MAX_CANDIDATES:
                    return list(out)
                out[i] = None
        return list(out)


# --------------------------------------------------------------------------- ids
_ID = re.compile(ID_WORD)
MAX_RETURNED = 64  # ids kept per recorded response (a long list names many)


def is_id(value: Any) -> bool:
    """Is ``value`` shaped like a Stripe id (``fcsess_1Abc``, ``cus_123``)?"""
    return isinstance(value, str) and len(value) <= 255 and _ID.fullmatch(value) is not None


def returned_ids(body: Any) -> tuple[str, ...]:
    """The ids a recorded response body returned: each ``"id"`` of its JSON, at any
    depth (a list's items too), at most :data:`MAX_RETURNED`."""
    value = body.get("json") if isinstance(body, dict) and len(body) == 1 else None
    out: list[str] = []
    stack = [value]
    while stack and len(out) < MAX_RETURNED:
        v = stack.pop()
        if isinstance(v, dict):
            if is_id(v.get("id")):
                out.append(v["id"])
            stack.extend(x for x in v.values() if isinstance(x, (dict, list)))
        elif isinstance(v, list):
            stack.extend(x for x in v if isinstance(x, (dict, list)))
    return tuple(dict.fromkeys(out))


def named_ids(norm: dict[str, Any], fields: dict[str, Any]) -> list[str]:
    """The id-shaped values a normalized request names: its path segments, then the
    values of its query and body (``fields``: its :func:`~.misses.flat` form)."""
    out = [seg for seg in norm["path"].split("/") if is_id(seg)]
    out += [v for k, v in fields.items() if k not in ("method", "path") and is_id(v)]
    return out

"""One object for equal values that are only ever read (hash-consing), so what replay
keeps of 10,000 interactions holds each repeated string, list or mapping once.

A :class:`Sharer` returns, for a JSON-shaped value, an equal value built from shared
parts: a string is the first equal string it saw; a list or mapping is the first one
it saw whose items are the very same (shared) objects, in the same order. Other
values (numbers, booleans, None) are shared only when they are already the same object,
so ``0.0`` and ``-0.0``, or ``1`` and ``True``, never stand in for each other.

The values returned must never be changed: a change would show in every interaction
sharing them. Replay only reads what it keeps (see :class:`.playback.Compactor`).
"""

from __future__ import annotations

import struct
from typing import Any


class Sharer:
    """Shares equal values across the calls made on one instance (drop it after use:
    it holds every value it saw)."""

    def __init__(self) -> None:
        self._strings: dict[str, str] = {}
        self._containers: dict[bytes, Any] = {}

    def __call__(self, value: Any) -> Any:
        kind = type(value)
        if kind is str:
            return self._strings.setdefault(value, value)
        if kind is dict:
            out: Any = {self(k): self(v) for k, v in value.items()}
            ids = [id(x) for item in out.items() for x in item]
        elif kind is list:
            out = [self(v) for v in value]
            ids = [id(x) for x in out]
        else:
            return value
        # the items' ids, packed (a tuple of ints would cost more than it saves): the
        # ids of objects the kept container holds, so alive as long as it is
        key = _TAG[kind] + struct.pack(f"{len(ids)}Q", *ids)
        return self._containers.setdefault(key, out)


_TAG = {dict: b"d", list: b"l"}

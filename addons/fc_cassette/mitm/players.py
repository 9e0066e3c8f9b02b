"""Players by cassette, loaded on first use and kept in a cache bounded by bytes.

One proxy serves many cassettes (the control endpoint's ``use``): switching back to a
cassette already loaded costs no parsing. A cassette changed on disk since it was
loaded (its size, modification time or inode: replaced) is loaded again. The cost of an entry is
estimated from its file size (the parsed interactions and their encoded responses
take a few times the YAML's bytes); the least recently used players are dropped past
the bound, their per-cassette summary kept for the shutdown report.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fc_cassette.mitm.player import Player
    from fc_cassette.playback.state import Playback

COST_FACTOR = 4  # bytes in memory per byte of YAML, roughly: an upper bound (measured
# since issue #16: about 1.5 for the bench's 10k cassette, 2.5 to 4 for small ones)
DEFAULT_MAX_BYTES = 64 * 1024 * 1024
# A cassette up to this size is parsed at once by :meth:`PlayerCache.preload` (on the
# event loop): a test's few interactions parse in about a millisecond, less than the
# hop to a worker thread and back (issue #25); a bigger one is parsed in a worker.
INLINE_BYTES = 64 * 1024
HINTS_KEPT = 4  # hinted players waiting for their use (see PlayerCache.hint)


@dataclass
class Entry:
    stamp: tuple[int, int, int, int]  # (st_dev, st_ino, st_mtime_ns, st_size) when loaded
    player: Player
    cost: int


def stamp_of(real: str) -> tuple[int, int, int, int]:
    st = os.stat(real)
    return st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size


class PlayerCache:
    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES):
        self.max_bytes = max_bytes
        self.entries: OrderedDict[str, Entry] = OrderedDict()  # least recent first
        self.retired: dict[str, list[str]] = {}  # summaries of players that left
        self.retired_missed = 0  # their misses since start-up (--strict)
        self.retired_refused = 0  # their refused upstream connections
        self.loads = 0  # cassettes parsed (a cache hit parses nothing)
        self.retired_used: dict[str, set[int]] = {}  # their served seqs (usage files)
        # retired players whose progressive load had not finished (checked at the end)
        self.retired_loads: list[Playback] = []
        self.load_errors: list[Exception] = []  # of retired players loaded progressively
        # players (or the error) loaded ahead for a coming get (preload, hint), with the
        # file's stamp from before the load: a get takes one only if the file is unchanged
        self.preloaded: dict[str, tuple[tuple[int, int, int, int], Player | Exception]] = {}
        self._size = 0  # the summed cost of the entries
        self._hinted: list[str] = []  # preloaded by hints, oldest first

    @property
    def size(self) -> int:
        return self._size

    def _put(self, real: str, entry: Entry) -> None:
        self.entries[real] = entry
        self._size += entry.cost

    def _pop(self, real: str) -> Entry:
        entry = self.entries.pop(real)
        self._size -= entry.cost
        return entry

    def get(self, real: str, load: Callable[[], Player]) -> Player:
        """The player for the cassette at real path ``real``: cached, or ``load()``-ed
        (which may raise; nothing is cached then)."""
        stamp = stamp_of(real)
        entry = self.entries.get(real)
        if entry is not None and entry.stamp == stamp:
            error = entry.player.playback.load_error
            if error is None:
                self.entries.move_to_end(real)
                return entry.player
            self._retire(real, self._pop(real))  # its load failed late: refused
            raise error
        if entry is not None:  # changed on disk: its counts so far go to the report
            self._retire(real, self._pop(real))
        ahead = self.preloaded.pop(real, None)
        pre = ahead[1] if ahead is not None and ahead[0] == stamp else None  # else: stale
        if isinstance(pre, Exception):
            raise pre
        player = pre if pre is not None else load()
        self.loads += 1
        self._put(real, Entry(stamp, player, max(1, stamp[3]) * COST_FACTOR))
        self._evict(keep=real)
        return player

    def preload(self, real: str, load: Callable[[], Player]) -> Callable[[], None] | None:
        """A job that runs ``load()`` (in a worker thread: a large cassette takes
        seconds) and keeps its player, or its error, for the next :meth:`get` of
        ``real``; None when ``real`` is cached and unchanged, or is not a file, or when
        it is small enough (:data:`INLINE_BYTES`) that it was just parsed, here."""
        try:
            if not os.path.isfile(real):
                return None
            entry = self.entries.get(real)
            stamp = stamp_of(real)
            if entry is not None and entry.stamp == stamp:
                return None
            ahead = self.preloaded.get(real)
            if ahead is not None and ahead[0] == stamp:  # parsed ahead, still current
                return None
        except (OSError, ValueError):
            return None

        def job() -> None:
            try:
                self.preloaded[real] = (stamp, load())
            except Exception as e:  # raised by the get that takes it
                self.preloaded[real] = (stamp, e)

        if stamp[3] <= INLINE_BYTES:
            job()
            return None
        return job

    def hint(self, real: str, load: Callable[[], Player]) -> bool:
        """Parse ``real`` now, ahead of its ``use`` (a harness's hint: the cassette its
        next test will use), if it is small (:data:`INLINE_BYTES`), not cached and not
        parsed ahead already; True if it was. Only the last :data:`HINTS_KEPT` hinted
        players wait for their ``use`` (a hint is a guess: the next test may not run)."""
        try:
            if os.stat(real).st_size > INLINE_BYTES:
                return False
        except (OSError, ValueError):
            return False
        before = self.preloaded.get(real)
        if self.preload(real, load) is not None:  # (not reached: small ones parse inline)
            return False
        if real not in self.preloaded or self.preloaded[real] is before:
            return False  # cached, or parsed ahead already
        self._hinted = [h for h in self._hinted if h != real and h in self.preloaded] + [real]
        while len(self._hinted) > HINTS_KEPT:
            self.preloaded.pop(self._hinted.pop(0), None)
        return True

    def _evict(self, keep: str) -> None:
        if self._size <= self.max_bytes:
            return
        for real in list(self.entries):
            if self._size <= self.max_bytes:
                return
            if real != keep:
                self._retire(real, self._pop(real))

    def _retire(self, real: str, entry: Entry) -> None:
        pb = entry.player.playback
        if pb.load_error is not None:
            self.load_errors.append(pb.load_error)
        elif pb.progress is not None and not pb.progress.finished:
            self.retired_loads.append(pb)  # its error, if any, is still ahead of it
        self.retired[real] = self.retired.get(real, []) + pb.summary()
        self.retired_missed += pb.missed_total
        self.retired_refused += entry.player.upstream_refused
        self.retired_used.setdefault(real, set()).update(pb.used)

    def usage(self) -> dict[str, set[int]]:
        """{real path: seqs served since start-up} of every cassette served (a usage file)."""
        out = {real: set(used) for real, used in self.retired_used.items()}
        for real, entry in self.entries.items():
            out.setdefault(real, set()).update(entry.player.playback.used)
        return out

    def clear(self) -> None:
        for real, entry in self.entries.items():
            self._retire(real, entry)
        self.entries.clear()
        self.preloaded.clear()  # (built on the settings being replaced)
        self._size = 0

    def summary(self) -> list[str]:
        """Every cassette's summary lines: those that left the cache, then the others."""
        lines = [ln for summary in self.retired.values() for ln in summary]
        return lines + [ln for e in self.entries.values() for ln in e.player.playback.summary()]

    def missed_total(self) -> int:
        return self.retired_missed + sum(
            e.player.playback.missed_total for e in self.entries.values()
        )

    def finish_loads(self) -> None:
        """Wait until every progressive load under way (cached or retired) has finished:
        at the end of a run, so that an error still ahead of a loader when the app stopped
        is found, as the whole load would have found it at start."""
        for pb in [*self.retired_loads, *(e.player.playback for e in self.entries.values())]:
            pb.complete()

    def failed_loads(self) -> list[str]:
        """The errors of progressive loads that failed (after their first answers), once
        every load has finished (:meth:`finish_loads`); each error once."""
        self.finish_loads()
        live = [e.player.playback.load_error for e in self.entries.values()]
        late = [pb.load_error for pb in self.retired_loads]
        found = self.load_errors + [e for e in live + late if e is not None]
        return list(dict.fromkeys(str(e) for e in found))

    def upstream_refused(self) -> int:
        return self.retired_refused + sum(e.player.upstream_refused for e in self.entries.values())

"""The recorder's switch: the cassette a recorder is on, and moving it (at start-up and on
an options change, or through the control endpoint's ``use``; see :mod:`.control`).

What a record mode does with a cassette is :func:`~fc_cassette.settings.modes.plan`'s
answer; what the switch opened for it (lock, writer, player, redactor) is one
:class:`~fc_cassette.mitm.record_plan.Active`, swapped as one. The recorder
(:class:`~fc_cassette.mitm.record.Record`) owns one :class:`Switch`: it passes what the
switch needs with each call (the settings, its own counters) and reads what the switch
returns. The switch never calls back into the recorder and raises one error of its own,
:class:`~fc_cassette.mitm.record_plan.Refused`, which the recorder turns into
mitmproxy's ``OptionsError`` (options) or the control endpoint's refusal (``use``).
"""

from __future__ import annotations

import errno
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fc_cassette.cassette import store as cassette_io
from fc_cassette.cassette.lock import RecordingLock, lock_path
from fc_cassette.cassette.stream import looks_like_cassette
from fc_cassette.mitm.players import PlayerCache
from fc_cassette.mitm.record_plan import Active, MissingCassette, Refused, plan
from fc_cassette.playback.state import Playback
from fc_cassette.redact.redactor import Redactor
from fc_cassette.settings import modes
from fc_cassette.settings.config import Settings
from fc_cassette.settings.modes import RecordMode

if TYPE_CHECKING:
    from fc_cassette.mitm.player import LoadPlayer, Player

log = logging.getLogger("fc_cassette")


class Switch:
    """The cassette a recorder is on (one :class:`Active`) and the players of the
    cassettes it only replays; moved by :meth:`switch`, left by :meth:`close`."""

    def __init__(self, load: LoadPlayer, new: type[Player]) -> None:
        """``load``, ``new``: how players are loaded and made (handed by :mod:`.addon`)."""
        self.load_player, self.new_player = load, new
        self.active: Active | None = None  # the cassette in effect and what it holds
        self.written: set[str] = set()  # real paths of the cassettes this run appended to
        self.cache = PlayerCache()  # players of the cassettes a mode only replays
        self.redactor = Redactor()  # the active cassette's: it numbers its secrets
        self.generation = 0  # one per switch: a flow knows which cassette it arrived on
        self._settings: object = None  # the settings the cached players were built on

    # the active cassette's resources
    @property
    def writer(self) -> cassette_io.Writer | None:
        return self.active.writer if self.active is not None else None

    @property
    def lock(self) -> RecordingLock | None:
        return self.active.lock if self.active is not None else None

    @property
    def playback(self) -> Playback | None:
        player = self.active.player if self.active is not None else None
        return player.playback if player is not None else None

    def switch(
        self, path: Path, mode: RecordMode, settings: Settings, counts: dict[str, int]
    ) -> bool:
        """Move to the cassette at ``path`` for ``mode`` (``counts``: the recorder's
        counters now, for the summary of the cassette left and the start of the new
        one). False when it is already the active one (kept as it is), else True; or
        :class:`Refused`, the active cassette unchanged."""
        try:  # a NUL byte (ValueError) or an over-long name (OSError) is a bad path
            if path.name in ("", ".", "..") or path.is_dir():
                raise Refused(f"{path}: is a directory, not a cassette")
            real = os.path.realpath(path)
        except (OSError, ValueError) as e:
            raise Refused(
                f"{str(path)!r}: not a usable cassette path: {getattr(e, 'strerror', None) or e}"
            ) from None
        if self.active is not None and self.active.same(real, mode, settings):
            # e.g. mitmproxy re-applying the old options after refusing a change: keep
            # the writer ('all' would otherwise start its cassette over) and the lock
            return False
        if settings is not self._settings:  # players are built on the settings
            self.cache.clear()
            self._settings = settings
        # Locked before anything is read or decided: another recorder could be writing
        # it, or create it between a check and the lock ('once' would then replace it).
        lock = None if modes.row(mode).offline else self._lock(path, mode)
        try:
            active = self._open(path, real, mode, settings, lock, counts)
        except (MissingCassette, cassette_io.CassetteError) as e:
            self._drop(lock)
            raise Refused(f"{path}: {e}" if isinstance(e, MissingCassette) else str(e)) from None
        self._drop(lock, keep=active.lock)  # a recorder that only replays needs no lock
        if self.active is not None:  # left: its summary, rewrite's rule, closed
            self.summarize(counts)
            self.active.discard_unrecorded()
            self.active.close(keep=active.lock)  # (the same file: its lock goes on)
        self.generation += 1
        self.active, self.redactor = active, active.redactor
        what = "recording" if active.plan.record else "replaying only"
        log.info("fc-cassette record (%s): %s %s", mode, what, path)
        return True

    def close(self, finished: bool = False) -> None:
        """Leave the active cassette (idempotent): closed by :meth:`Active.close`, after
        ``rewrite``'s rule when the run ``finished`` (a run that never started keeps the
        old cassette)."""
        if self.active is None:
            return
        if finished:
            self.active.discard_unrecorded()
        self.active.close()
        self.active = None

    def wrote(self) -> None:
        """The active cassette holds an entry this run appended (see :func:`plan`)."""
        if self.active is not None:
            self.written.add(self.active.real)

    def moved_since(self, generation: int | None) -> bool:
        """A flow that arrived on switch ``generation`` would land in another cassette."""
        return (
            generation is not None
            and self.active is not None
            and generation != self.active.generation
        )

    def lock_now(self) -> None:
        """The active cassette's folder did not exist at the switch: its folders and its
        recording lock are made on its first exchange (CassetteBusy or OSError)."""
        active = self.active
        if active is not None and active.lock_later and active.lock is None:
            active.lock = RecordingLock.acquire(active.path)
            active.lock_later = False

    def _drop(self, lock: RecordingLock | None, keep: RecordingLock | None = None) -> None:
        """Release a lock just taken, unless it is kept or is the active cassette's."""
        if lock is not None and lock is not keep and lock is not self.lock:
            lock.release()

    def _open(
        self,
        path: Path,
        real: str,
        mode: RecordMode,
        settings: Settings,
        lock: RecordingLock | None,
        counts: dict[str, int],
    ) -> Active:
        """What ``mode`` needs for the cassette at ``path`` (see :func:`plan`), opened."""
        p = plan(mode, path.exists(), real in self.written)
        active = Active(
            path, real, mode, settings, p, counts=dict(counts), generation=self.generation + 1
        )
        if not p.record:  # replaying only: from the cache (a switch back parses nothing)
            active.player = self.cache.get(
                real, lambda: self.load_player(str(path), settings, "record")
            )
            active.redactor = active.player.playback.redactor
            return active
        existing, active.redactor = None, Redactor(settings.redaction)
        if not p.load and os.path.lexists(real) and not looks_like_cassette(real):
            raise cassette_io.CassetteError(
                path,
                f"not an fc-cassette cassette: record mode {mode!r} replaces only "
                "cassettes (move the file away or choose another path)",
            )
        if p.load:
            existing = cassette_io.load(path)
            for w in existing.warnings:
                log.warning("fc-cassette: %s", w)
            # new_episodes numbers this run's secrets from 1, as replay numbers a
            # request's (the key a test records with again is sk_test_REDACTED_1, like
            # the rest of the cassette; nothing of a key is stored, so the numbers cannot
            # tell keys apart across runs); otherwise numbers continue after the file's.
            # One numbering for the entries and the miss explanations.
            active.redactor = Redactor(
                settings.redaction, existing=existing.text if not p.replay else ""
            )
            if p.continues and self.redactor.rules == settings.redaction:
                active.redactor = self.redactor  # it knows which secret got which number
            if p.replay:
                active.player = self.new_player(
                    Playback(existing, settings, active.redactor), settings, "record"
                )
        active.lock = lock
        active.lock_later = lock is None and not os.path.isdir(os.path.dirname(real))
        active.writer = cassette_io.Writer(
            path, existing=existing if p.append else None, fsync=settings.record.fsync
        )
        return active

    def summarize(self, counts: dict[str, int]) -> None:
        """Log the active cassette's summary (``counts``: the recorder's counters now)."""
        active = self.active
        if active is None:
            return
        delta = {k: counts[k] - active.counts.get(k, 0) for k in counts}
        pb = active.player.playback if active.player is not None else None
        log.info(
            "fc-cassette record (%s) %s: recorded %d, replayed %d, missed %d, refused "
            "(fail closed) %d, failed %d, no response %d",
            active.mode,
            active.path,
            delta["recorded"],
            pb.served if pb else 0,
            pb.missed if pb else 0,
            delta["refused"],
            delta["failed"],
            delta["no_response"],
        )

    def preload(
        self, cassette: str, record_mode: RecordMode | None, settings: Settings
    ) -> Callable[[], None] | None:
        """A job parsing ``cassette`` off the event loop before a ``use`` that only
        replays it (None: it records, or the cassette is cached)."""
        real = os.path.realpath(cassette)
        try:
            if plan(
                record_mode or settings.record.mode, os.path.isfile(real), real in self.written
            ).record:
                return None
        except ValueError:
            return None
        return self.cache.preload(
            real, lambda: self.load_player(cassette, settings, "record", whole=True)
        )

    def rewind(self) -> bool:
        if self.playback is None:
            return False
        self.playback.rewind()
        return True

    def status(self) -> dict[str, Any] | None:
        """The active cassette's part of the control endpoint's status (None: none)."""
        active = self.active
        if active is None:
            return None
        status = (
            self.playback.status()
            if self.playback is not None
            else {
                "cassette": str(active.path),
                "served": 0,
                "misses": [],
                "unused": [],
                "never_used": [],
            }
        )
        return {**status, "record_mode": active.mode, "recording": active.plan.record}

    def _lock(self, path: Path, mode: RecordMode) -> RecordingLock | None:
        """The recording lock on ``path``: the one held already, or a new one; None
        where none can be made (e.g. a read-only folder) for 'once' on an existing
        cassette, which only replays."""
        if self.lock is not None and self.lock.held and self.lock.path == lock_path(path):
            return self.lock
        real = os.path.realpath(path)
        if not os.path.isdir(os.path.dirname(real)):
            if any(len(os.fsencode(part)) > 255 for part in Path(real).parts):
                raise Refused(  # what making its folders would say
                    f"{path}: not a usable cassette path: {os.strerror(errno.ENAMETOOLONG)}"
                )
            return None  # nothing there to read or to race for: see lock_now
        try:
            return RecordingLock.acquire(path)
        except cassette_io.CassetteError as e:
            raise Refused(str(e)) from None
        except OSError as e:
            if path.is_file() and not plan(mode, True, False).record:  # it only replays
                log.info(
                    "fc-cassette record: cannot create the recording lock %s (%s); "
                    "'%s' on an existing cassette only replays, unlocked",
                    lock_path(path),
                    e.strerror or e,
                    mode,
                )
                return None
            raise Refused(
                f"{path}: cannot create the recording lock {lock_path(path)}: {e.strerror or e}"
            ) from None

"""Record modes as a pure plan, and the typed resources a recorder holds for one cassette.

:func:`plan` maps (record mode, the cassette exists, this run wrote it earlier) to what
the recorder does; :class:`Active` holds what it opened for that plan (lock, writer,
player), swapped as one when the proxy moves to another cassette.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from fc_cassette.cassette.lock import RecordingLock
from fc_cassette.cassette.store import Writer
from fc_cassette.proxy.player import Player
from fc_cassette.redact import Redactor
from fc_cassette.settings.config import Settings
from fc_cassette.settings.modes import RECORD_MODES


class MissingCassette(ValueError):
    """Record mode ``none`` on a cassette that does not exist: nothing to replay."""


@dataclass(frozen=True)
class Plan:
    replay: bool  # answer from the existing cassette (misses refused unless recording)
    record: bool  # a writer: what the cassette does not answer is forwarded and recorded
    append: bool  # the writer continues the existing cassette (else a new file replaces it)
    continue_numbering: bool  # placeholders continue after the existing cassette's numbers
    # (not in new_episodes: its numbers start at 1, as replay's do)
    continues: bool  # this run's own cassette, come back to: keep writing it, replay nothing
    lock: bool  # the recording lock is taken before anything is read or decided

    @property
    def load(self) -> bool:
        """The existing cassette is read (to replay it or to append to it)."""
        return self.replay or self.append


def plan(mode: str, exists: bool, written: bool) -> Plan:
    """What record mode ``mode`` does with a cassette that ``exists`` (or not) and that
    this run ``written`` to before (e.g. a test came back to it, or mitmproxy rolled back a
    refused switch): ``once`` records a new cassette and replays an existing one,
    ``new_episodes`` replays what matches and appends the rest, ``all`` records anew (the
    old file is replaced once the new one holds an interaction), ``none`` only replays.
    A cassette this run wrote is continued in ``once`` and ``all``, not replayed nor
    started over."""
    if mode not in RECORD_MODES:
        raise ValueError(f"record mode must be one of {', '.join(RECORD_MODES)}, not {mode!r}")
    if mode == "none":
        if not exists:
            raise MissingCassette("no such cassette (record mode 'none' only replays)")
        return Plan(True, False, False, False, False, lock=False)
    continues = exists and written and mode in ("once", "all")
    if mode == "once" and exists and not continues:
        return Plan(True, False, False, False, False, lock=True)
    append = exists and (mode == "new_episodes" or continues)
    replay = exists and mode == "new_episodes"
    # new_episodes numbers placeholders from 1, as replay does (record_switch.open)
    return Plan(replay, True, append, append and not replay, continues, lock=True)


@dataclass
class Active:
    """The cassette a recorder is on, and what it opened for it (swapped as one)."""

    path: Path
    real: str  # its real path: the identity of a cassette (symlinks, ./ and ../)
    mode: str
    settings: Settings
    plan: Plan
    lock: RecordingLock | None = None
    writer: Writer | None = None
    player: Player | None = None
    redactor: Redactor = field(default_factory=Redactor)  # numbers this cassette's secrets
    generation: int = 0  # the recorder's switch count when this became active
    counts: dict[str, int] = field(default_factory=dict)  # the recorder's, at the switch

    def same(self, real: str, mode: str, settings: Settings) -> bool:
        return (self.real, self.mode, self.settings) == (real, mode, settings)

    def release(self, keep: RecordingLock | None = None) -> None:
        """Close the writer (every append was fsynced already), then release the lock
        (unless it is ``keep``, the next cassette's)."""
        if self.writer is not None:
            self.writer.close()
            self.writer = None
        if self.lock is not None and self.lock is not keep:
            self.lock.release()
        self.lock = None

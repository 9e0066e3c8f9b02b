"""The typed resources a recorder holds for one cassette.

:func:`plan` (the record mode table's, :mod:`fc_cassette.settings.modes`) maps (record
mode, the cassette exists, this run wrote it earlier) to what the recorder does;
:class:`Active` holds what it opened for that plan (lock, writer, player), swapped as
one when the proxy moves to another cassette.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from fc_cassette.matching.matcher import normalize
from fc_cassette.matching.misses import Where, record_command
from fc_cassette.redact.redactor import Redactor
from fc_cassette.settings.modes import MissingCassette, Plan, RecordMode, plan

if TYPE_CHECKING:
    from fc_cassette.cassette.lock import RecordingLock
    from fc_cassette.cassette.writer import Writer
    from fc_cassette.mitm.player import Player
    from fc_cassette.settings.config import Settings

log = logging.getLogger("fc_cassette")
__all__ = ["Active", "MissingCassette", "Plan", "Refused", "plan"]


class Refused(Exception):
    """The recorder's switch cannot move to a cassette; ``str()`` is one line naming it
    and why (the recorder turns it into an ``OptionsError`` or a control refusal)."""


@dataclass
class Active:
    """The cassette a recorder is on, and what it opened for it (swapped as one)."""

    path: Path
    real: str  # its real path: the identity of a cassette (symlinks, ./ and ../)
    mode: RecordMode
    settings: Settings
    plan: Plan
    lock: RecordingLock | None = None
    writer: Writer | None = None
    player: Player | None = None
    redactor: Redactor = field(default_factory=Redactor)  # numbers this cassette's secrets
    generation: int = 0  # the recorder's switch count when this became active
    counts: dict[str, int] = field(default_factory=dict)  # the recorder's, at the switch
    lock_later: bool = False  # its folder did not exist: locked on the first exchange
    # (by Switch.lock_now: the switch takes every recording lock)

    def same(self, real: str, mode: RecordMode, settings: Settings) -> bool:
        return (self.real, self.mode, self.settings) == (real, mode, settings)

    def discard_unrecorded(self) -> None:
        """``rewrite``: remove the old cassette when this activation recorded nothing
        (its writer never created the new file), under the recording lock."""
        w = self.writer
        if not self.plan.remove_unrecorded or w is None or w.existing is not None or w.count:
            return
        try:
            Path(self.real).unlink()
        except FileNotFoundError:
            return
        except OSError as e:
            log.error(
                "fc-cassette record (rewrite) %s: nothing recorded, and the old "
                "cassette cannot be removed: %s",
                self.path,
                e.strerror or e,
            )
            return
        log.info(
            "fc-cassette record (rewrite) %s: nothing recorded, so the old cassette "
            "is removed (rewrite: the cassette is what this run records)",
            self.path,
        )

    def close(self, keep: RecordingLock | None = None) -> None:
        """The one close of a recorder's cassette: the writer closed (every append was
        fsynced already), then the lock released (unless it is ``keep``, the next
        cassette's: the same file). Idempotent."""
        if self.writer is not None:
            self.writer.close()
            self.writer = None
        if self.lock is not None and self.lock is not keep:
            self.lock.release()
        self.lock = None


def named_unknown(entry: dict, active: Active | None) -> str | None:
    """Why an upstream 404 is not appended: the request names an id that the cassette's
    own responses returned (created when the flow was first recorded, e.g. a session),
    which this upstream does not know because new_episodes replayed its creation. Kept,
    the 404 would answer every later replay. None when the 404 is an ordinary one."""
    if active is None or active.player is None or entry["response"]["status"] != 404:
        return None
    matcher = active.player.playback.matcher
    found = matcher.where(normalize(entry["request"], active.settings.matching)).recorded_id
    if found is None:
        return None
    rid, seq = found
    return (
        f"the upstream answered 404 for {rid}, an id the cassette's interaction {seq} "
        f"returned: it exists only in the cassette, because new_episodes replayed the "
        f"request that created it; record the whole test again: "
        f"{record_command(Where(matcher.cassette, matcher.upstream), 'all')}"
    )

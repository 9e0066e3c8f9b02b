"""The cassette a recorder is on, and switching it: at start-up and on an options
change (``configure``), or through the control endpoint (``use``, ``rewind``,
``status``; see :mod:`.control`).

What a record mode does with a cassette is :func:`~fc_cassette.settings.modes.plan`'s
answer; what the recorder opened for it (lock, writer, player, redactor) is one
:class:`~fc_cassette.record_plan.Active`, swapped as one. :class:`Switching` is the
part of :class:`~fc_cassette.record.Record` that does this; the recording itself (the
response side) stays in :mod:`.record`.
"""

from __future__ import annotations

import errno
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mitmproxy import ctx, exceptions, http

from fc_cassette.cassette import store as cassette_io
from fc_cassette.cassette.lock import RecordingLock, lock_path
from fc_cassette.cassette.stream import looks_like_cassette
from fc_cassette.mitm import control, core
from fc_cassette.mitm.player import Player, load_player
from fc_cassette.mitm.players import PlayerCache
from fc_cassette.mitm.record_plan import Active, MissingCassette, plan
from fc_cassette.playback.state import Playback
from fc_cassette.redact import Redactor
from fc_cassette.settings import modes
from fc_cassette.settings.config import Settings
from fc_cassette.settings.modes import RecordMode

if TYPE_CHECKING:
    from fc_cassette.mitm.webhooks_ingress import WebhookIngress

log = logging.getLogger("fc_cassette")
ANSWERED = "fc_cassette_answered_locally"  # replayed, missed or refused: not recorded
GENERATION = "fc_cassette_generation"  # which switch of the cassette a flow arrived on


class Switching:
    """Mixed into Record: its cassette state (``active``) and the switching of it."""

    record_modes = modes.RECORD_MODES  # what the control endpoint's ``use`` accepts
    active: Active | None
    written: set[str]
    cache: PlayerCache
    redactor: Redactor
    settings: Settings  # the core's, as of the last options update (configure)
    _settings: object
    _generation: int
    recorded: int
    refused: int
    failed: int
    no_response: int
    not_recorded: list[str]  # (Record's: the exchanges missing from the cassettes)
    addons: list[WebhookIngress]  # Record's sub-addons (its webhook ingress)

    if TYPE_CHECKING:  # Record's, called back

        def close(self) -> None: ...
        def _not_recorded(self, flow: http.HTTPFlow, path: str, why: str) -> None: ...

    # the active cassette's resources, under the names the response side uses
    @property
    def writer(self) -> cassette_io.Writer | None:
        return self.active.writer if self.active is not None else None

    @writer.setter
    def writer(self, value: cassette_io.Writer | None) -> None:
        if self.active is not None:
            self.active.writer = value

    @property
    def lock(self) -> RecordingLock | None:
        return self.active.lock if self.active is not None else None

    @lock.setter
    def lock(self, value: RecordingLock | None) -> None:
        if self.active is not None:
            self.active.lock = value

    @property
    def playback(self) -> Playback | None:
        player = self.active.player if self.active is not None else None
        return player.playback if player is not None else None

    @property
    def state(self) -> Active | None:
        return self.active

    @state.setter
    def state(self, value: Active | None) -> None:
        self.active = value

    def configure(self, updated: set[str]) -> None:
        # the core's (its configure ran first): what every flow reads, read here once
        self.settings = settings = core.settings()
        if not updated & {"fc_mode", "fc_cassette", "fc_config", "fc_record_mode"}:
            return
        if not core.active("record"):
            if "fc_mode" in updated:  # switched to another mode: stop recording
                self.close()
            return
        mode = settings.record.mode  # fc_record_mode applied and checked (config.with_options)
        path = ctx.options.fc_cassette
        if self.active is not None and "fc_cassette" not in updated:
            # a cassette chosen through the control endpoint stays (the options are not
            # written back by ``use``: an options update costs as much as a switch)
            path = str(self.active.path)
            if "fc_record_mode" not in updated:
                mode = self.active.mode
        if not path:
            raise exceptions.OptionsError("record needs a cassette: --set fc_cassette=FILE")
        self._switch(Path(path), mode, settings)

    def _switch(self, path: Path, mode: RecordMode, settings: Settings) -> None:
        try:  # a NUL byte (ValueError) or an over-long name (OSError) is a bad path
            if path.name in ("", ".", "..") or path.is_dir():
                raise exceptions.OptionsError(f"{path}: is a directory, not a cassette")
            real = os.path.realpath(path)
        except (OSError, ValueError) as e:
            raise exceptions.OptionsError(
                f"{str(path)!r}: not a usable cassette path: {getattr(e, 'strerror', None) or e}"
            ) from None
        if self.active is not None and self.active.same(real, mode, settings):
            # e.g. mitmproxy re-applying the old options after refusing a change: keep
            # the writer ('all' would otherwise start its cassette over) and the lock
            return
        if settings is not self._settings:  # players are built on the settings
            self.cache.clear()
            self._settings = settings
        # Locked before anything is read or decided: another recorder could be writing
        # it, or create it between a check and the lock ('once' would then replace it).
        lock = None if modes.row(mode).offline else self._lock(path, mode)
        try:
            active = self._open(path, real, mode, settings, lock)
        except (MissingCassette, cassette_io.CassetteError) as e:
            self._drop(lock)
            raise exceptions.OptionsError(
                f"{path}: {e}" if isinstance(e, MissingCassette) else str(e)
            ) from None
        self._drop(lock, keep=active.lock)  # a recorder that only replays needs no lock
        self._retire(keep=active.lock)
        self._generation += 1
        self.active, self.redactor = active, active.redactor
        core.share_redactor(self.redactor)  # mitmproxy's own log lines too
        what = "recording" if active.plan.record else "replaying only"
        log.info("fc-cassette record (%s): %s %s", mode, what, path)

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
    ) -> Active:
        """What ``mode`` needs for the cassette at ``path`` (see :func:`plan`), opened."""
        p = plan(mode, path.exists(), real in self.written)
        active = Active(
            path, real, mode, settings, p, counts=self._counts(), generation=self._generation + 1
        )
        if not p.record:  # replaying only: from the cache (a switch back parses nothing)
            active.player = self.cache.get(real, lambda: load_player(str(path), settings, "record"))
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
                active.player = Player(
                    Playback(existing, settings, active.redactor), settings, "record"
                )
        active.lock = lock
        active.lock_later = lock is None and not os.path.isdir(os.path.dirname(real))
        active.writer = cassette_io.Writer(
            path, existing=existing if p.append else None, fsync=settings.record.fsync
        )
        return active

    def _counts(self) -> dict[str, int]:
        return {
            "recorded": self.recorded,
            "refused": self.refused,
            "failed": self.failed,
            "no_response": self.no_response,
            "not_recorded": len(self.not_recorded),
        }

    def _retire(self, keep: RecordingLock | None = None) -> None:
        """Leave the active cassette: its summary logged, its writer closed and its lock
        released (unless ``keep``: the next cassette is the same file)."""
        if self.active is None:
            return
        self._summarize(self.active)
        self.active.release(keep)

    def _summarize(self, active: Active) -> None:
        now = self._counts()
        delta = {k: now[k] - active.counts.get(k, 0) for k in now}
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

    # the control endpoint's target (see control.Target)
    def preload(self, cassette: str, record_mode: RecordMode | None) -> Callable[[], None] | None:
        """A job parsing ``cassette`` off the event loop before a ``use`` that only
        replays it (None: it records, or the cassette is cached)."""
        settings = self.settings
        real = os.path.realpath(cassette)
        try:
            if plan(
                record_mode or settings.record.mode, os.path.isfile(real), real in self.written
            ).record:
                return None
        except ValueError:
            return None
        return self.cache.preload(real, lambda: load_player(cassette, settings, "record"))

    def use(self, cassette: str, record_mode: RecordMode | None) -> None:
        settings = self.settings
        mode = record_mode or settings.record.mode
        try:
            self._switch(Path(cassette), mode, settings)
        except exceptions.OptionsError as e:
            raise control.Refused("cassette", str(e)) from None

    def rewind(self) -> bool:
        if self.playback is None:
            return False
        self.playback.rewind()
        return True

    def control_status(self) -> dict[str, Any] | None:
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
        return {
            **status,
            "record_mode": active.mode,
            "recording": active.plan.record,
            "not_recorded": self.not_recorded[active.counts.get("not_recorded", 0) :],
            "passthrough": control.passthrough(),
            **({"webhooks": self.addons[0].status()} if getattr(self, "addons", None) else {}),
        }

    def _switched_away(self, flow: http.HTTPFlow) -> bool:
        """A forwarded flow whose cassette is no longer the active one (a ``use`` came
        in between): it is not recorded into the new one; the client gets the explained
        error of a response that could not be recorded, and ``not_recorded`` lists it."""
        arrived = flow.metadata.get(GENERATION)
        if (
            arrived is None
            or flow.metadata.get(ANSWERED)
            or self.active is None
            or arrived == self.active.generation
        ):
            return False
        flow.metadata[ANSWERED] = True
        path = self.redactor.redact_text(flow.request.path.split("?", 1)[0])
        self._not_recorded(flow, path, "the active cassette changed while it was in flight")
        return True

    def _lock_now(self) -> None:
        """A cassette whose folder did not exist at the switch: its folders and its
        recording lock are made on its first exchange (CassetteBusy or OSError)."""
        active = self.active
        if active is not None and active.lock_later and active.lock is None:
            active.lock = RecordingLock.acquire(active.path)
            active.lock_later = False

    def _lock(self, path: Path, mode: RecordMode) -> RecordingLock | None:
        """The recording lock on ``path``: the one held already, or a new one; None
        where none can be made (e.g. a read-only folder) for 'once' on an existing
        cassette, which only replays."""
        if self.lock is not None and self.lock.held and self.lock.path == lock_path(path):
            return self.lock
        real = os.path.realpath(path)
        if not os.path.isdir(os.path.dirname(real)):
            if any(len(os.fsencode(part)) > 255 for part in Path(real).parts):
                raise exceptions.OptionsError(  # what making its folders would say
                    f"{path}: not a usable cassette path: {os.strerror(errno.ENAMETOOLONG)}"
                )
            return None  # nothing there to read or to race for: see _lock_now
        try:
            return RecordingLock.acquire(path)
        except cassette_io.CassetteError as e:
            raise exceptions.OptionsError(str(e)) from None
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
            raise exceptions.OptionsError(
                f"{path}: cannot create the recording lock {lock_path(path)}: {e.strerror or e}"
            ) from None

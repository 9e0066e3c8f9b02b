"""Record mode: FC Session traffic -> validated, redacted, durable cassette entries.

VCR record modes: ``once`` records into a new cassette and replays an existing one;
``new_episodes`` replays what matches and records the rest; ``all`` records everything
anew (the old cassette is replaced only once the new one holds an interaction);
``none`` only replays. Matching is replay's (see :mod:`.matching`).

Each in-scope exchange is validated, redacted, scanned for any secret left (a hit
means the entry is not written and the flow is flagged: fail closed) and fsynced in
the ``response`` hook, i.e. before mitmproxy releases the response to the client.
Requests made with live-mode keys are refused unless ``fc_allow_live`` is set.
A recorder that writes holds the cassette's recording lock (see :mod:`.lock`).
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from mitmproxy import ctx, exceptions, http

from . import cassette as cassette_io
from . import control, core, interaction
from .cassette_cache import PlayerCache
from .live_keys import refuse_live, uses_live_key
from .lock import RecordingLock, lock_path
from .player import Player, load_player
from .playback import Playback
from .record_plan import RECORD_MODES, Active, MissingCassette, plan
from .redact import Redactor, learned_pattern, scan
from .scope import in_scope

log = logging.getLogger("fc_cassette")
ANSWERED = "fc_cassette_answered_locally"  # replayed, missed or refused: not recorded
GENERATION = "fc_cassette_generation"  # which switch of the cassette a flow arrived on
OFFLINE = ("fc-cassette record is only replaying (offline): upstream connections are "
           "refused")


class SecretLeft(Exception):
    """The scanner found a secret in a serialized entry; it must not be written."""


class Record:
    record_modes = RECORD_MODES  # what the control endpoint's ``use`` accepts

    def __init__(self) -> None:
        self.active: Active | None = None  # the cassette in effect and what it holds
        self.written: set[str] = set()  # real paths of the cassettes this run appended to
        self.cache = PlayerCache()  # players of the cassettes a mode only replays
        self.redactor = Redactor()
        self._settings: object = None  # the settings the cached players were built on
        self._generation = 0  # one per switch: a flow knows which cassette it arrived on
        self.recorded = 0
        self.refused = 0
        self.failed = 0
        self.no_response = 0
        self.upstream_refused = 0

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

    def load(self, loader) -> None:
        loader.add_option("fc_record_mode", str, "",
                          "Record mode: once, new_episodes, all or none "
                          "(empty: the config's record.mode).")
        loader.add_option("fc_allow_live", bool, False,
                          "Record: forward and record requests made with live-mode keys.")

    def configure(self, updated: set[str]) -> None:
        if not updated & {"fc_mode", "fc_cassette", "fc_config", "fc_record_mode"}:
            return
        if not core.active("record"):
            if "fc_mode" in updated:  # switched to another mode: stop recording
                self.close()
            return
        settings = core.settings()
        mode = ctx.options.fc_record_mode or settings.record.mode
        path = ctx.options.fc_cassette
        if self.active is not None and "fc_cassette" not in updated:
            # a cassette chosen through the control endpoint stays (the options are not
            # written back by ``use``: an options update costs as much as a switch)
            path = str(self.active.path)
            if "fc_record_mode" not in updated:
                mode = self.active.mode
        if mode not in RECORD_MODES:
            raise exceptions.OptionsError(
                f"fc_record_mode must be one of {', '.join(RECORD_MODES)}, not {mode!r}")
        if not path:
            raise exceptions.OptionsError("record needs a cassette: --set fc_cassette=FILE")
        self._switch(Path(path), mode, settings)

    def _switch(self, path: Path, mode: str, settings) -> None:
        if path.name in ("", ".", "..") or path.is_dir():
            raise exceptions.OptionsError(f"{path}: is a directory, not a cassette")
        real = os.path.realpath(path)
        if self.active is not None and self.active.same(real, mode, settings):
            # e.g. mitmproxy re-applying the old options after refusing a change: keep
            # the writer ('all' would otherwise start its cassette over) and the lock
            return
        if settings is not self._settings:  # players are built on the settings
            self.cache.clear()
            self._settings = settings
        # Locked before anything is read or decided: another recorder could be writing
        # it, or create it between a check and the lock ('once' would then replace it).
        lock = None if mode == "none" else self._lock(path)
        try:
            active = self._open(path, real, mode, settings, lock)
        except (MissingCassette, cassette_io.CassetteError) as e:
            if lock is not None and lock is not self.lock:
                lock.release()
            raise exceptions.OptionsError(
                f"{path}: {e}" if isinstance(e, MissingCassette) else str(e)) from None
        if lock is not None and lock is not active.lock and lock is not self.lock:
            lock.release()  # a recorder that only replays needs no lock
        self._retire(keep=active.lock)
        self._generation += 1
        self.active, self.redactor = active, active.redactor
        core.share_redactor(self.redactor)  # mitmproxy's own log lines too
        what = "recording" if active.plan.record else "replaying only"
        log.info("fc-cassette record (%s): %s %s", mode, what, path)

    def _open(self, path: Path, real: str, mode: str, settings,
              lock: RecordingLock | None) -> Active:
        """What ``mode`` needs for the cassette at ``path`` (see :func:`plan`), opened."""
        p = plan(mode, path.exists(), real in self.written)
        active = Active(path, real, mode, settings, p, counts=self._counts(),
                        generation=self._generation + 1)
        if not p.record:  # replaying only: from the cache (a switch back parses nothing)
            active.player = self.cache.get(
                real, lambda: load_player(str(path), settings, "record"))
            active.redactor = active.player.playback.redactor
            return active
        existing, active.redactor = None, Redactor(settings.redaction)
        if p.load:
            existing = cassette_io.load(path)
            for w in existing.warnings:
                log.warning("fc-cassette: %s", w)
            # appending: placeholder numbers continue after the cassette's; one
            # numbering for the entries and the miss explanations
            active.redactor = Redactor(settings.redaction, existing=existing.text)
            if p.continues and self.redactor.rules == settings.redaction:
                active.redactor = self.redactor  # it knows which secret got which number
            if p.replay:
                active.player = Player(Playback(existing, settings, active.redactor),
                                       settings, "record")
        active.lock = lock
        active.writer = cassette_io.Writer(path, existing=existing if p.append else None,
                                           fsync=settings.record.fsync)
        return active

    def _counts(self) -> dict[str, int]:
        return {"recorded": self.recorded, "refused": self.refused, "failed": self.failed,
                "no_response": self.no_response,
                "not_recorded": len(getattr(self, "not_recorded", []))}

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
        log.info("fc-cassette record (%s) %s: recorded %d, replayed %d, missed %d, refused "
                 "(fail closed) %d, failed %d, no response %d", active.mode, active.path,
                 delta["recorded"], pb.served if pb else 0, pb.missed if pb else 0,
                 delta["refused"], delta["failed"], delta["no_response"])

    # the control endpoint's target (see control.Target)
    def use(self, cassette: str, record_mode: str | None) -> None:
        settings = core.settings()
        mode = record_mode or ctx.options.fc_record_mode or settings.record.mode
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
        status = self.playback.status() if self.playback is not None else {
            "cassette": str(active.path), "served": 0, "misses": [], "unused": [],
            "never_used": []}
        return {**status, "record_mode": active.mode, "recording": active.plan.record,
                "not_recorded": list(getattr(self, "not_recorded", []))[
                    active.counts.get("not_recorded", 0):],
                "passthrough": control.passthrough()}

    def request(self, flow: http.HTTPFlow) -> None:
        if not core.active("record") or flow.response:
            return
        if control.handle(flow, self):
            flow.metadata[ANSWERED] = True
            return
        active = self.active  # answered from, or recorded into, this cassette only
        flow.metadata[GENERATION] = active.generation if active is not None else 0
        replay_only = active is not None and active.writer is None and active.player
        try:
            self._request(flow, active)
        except Exception as e:
            if replay_only:  # offline: an explained miss, never upstream
                active.player.fail(flow, e)
                flow.metadata[ANSWERED] = True
                return
            core.log_failure(f"record failed on {flow.request.method} "
                             f"{self.redactor.redact_text(flow.request.path)}", self.redactor)

    def _request(self, flow: http.HTTPFlow, active: Active | None) -> None:
        if active is None:
            return
        writing = active.writer is not None
        # (a mode that only replays forwards nothing: it serves live keys like replay)
        if writing and uses_live_key(flow) and not (
                ctx.options.fc_allow_live or active.settings.record.allow_live_keys):
            refuse_live(flow)
            flow.metadata[ANSWERED] = True
            log.warning("fc-cassette record: refused a request made with a live-mode key "
                        "(%s %s); nothing was forwarded", flow.request.method,
                        self.redactor.redact_text(flow.request.path))
            return
        # the same Player as replay: a mode that only replays behaves as replay does;
        # one that writes serves hits and forwards the rest (recorded on the way back)
        if active.player is not None and active.player.answer(flow, forward_misses=writing):
            flow.metadata[ANSWERED] = True

    def _switched_away(self, flow: http.HTTPFlow) -> bool:
        """A forwarded flow whose cassette is no longer the active one (a ``use`` came
        in between): it is not recorded into the new one; the client gets an explained
        miss instead of an answer that no cassette holds."""
        arrived = flow.metadata.get(GENERATION)
        if (arrived is None or flow.metadata.get(ANSWERED) or self.active is None
                or arrived == self.active.generation):
            return False
        flow.metadata[ANSWERED] = True
        flow.response = http.Response.make(409, json.dumps({"error": {
            "type": "invalid_request_error", "code": "fc_cassette_replay_miss",
            "message": "fc-cassette record: the active cassette changed while this request "
                       "was in flight; it was not recorded"}}).encode(),
            {"Content-Type": "application/json", "Stripe-Should-Retry": "false"})
        log.warning("fc-cassette record: NOT recorded %s %s: the active cassette changed "
                    "while it was in flight", flow.request.method,
                    self.redactor.redact_text(flow.request.path.split("?", 1)[0]))
        return True

    def response(self, flow: http.HTTPFlow) -> None:
        if core.active("record") and self._switched_away(flow):
            return
        if (not core.active("record") or self.writer is None or flow.metadata.get(ANSWERED)
                or not in_scope(flow, core.settings().scope)):
            return
        try:
            self._record(flow)
        except Exception as e:  # e.g. a full disk: say so, and keep serving
            self.failed += 1
            flow.marked = ":no_entry:"
            flow.comment = f"fc-cassette: NOT recorded: {type(e).__name__} (see the log)"
            core.log_failure(f"NOT recorded {flow.request.method} "
                             f"{self.redactor.redact_text(flow.request.path)}", self.redactor)

    def _record(self, flow: http.HTTPFlow) -> None:
        try:
            request = interaction.request_record(flow)
            response = interaction.response_record(flow)
        except interaction.UndecodableBody as e:  # fail closed: bytes we cannot redact
            self.refused += 1
            path = self.redactor.redact_text(flow.request.path.split("?", 1)[0])
            self._not_recorded(flow, path, self.redactor.redact_text(str(e)))
            return
        entry = {"request": request, "response": response}
        reports = interaction.validate(request, response)
        if reports is not None:
            entry["validation"] = {k: r.as_dict() for k, r in reports.items()}
        if flow.response.timestamp_end and flow.request.timestamp_start:
            entry["duration_ms"] = round(
                (flow.response.timestamp_end - flow.request.timestamp_start) * 1000, 1)
        entry = self.redactor.redact_entry(entry)
        try:
            seq = self.writer.append(  # the redacted entry's version: it goes in the header
                entry, stripe_version=_header(entry["request"], "stripe-version"),
                check=lambda text: _fail_closed(text, self.redactor.learned))
        except (cassette_io.CassetteFull, SecretLeft) as e:
            if isinstance(e, SecretLeft):
                self.refused += 1
            else:
                self.failed += 1
            self._not_recorded(flow, entry["request"]["path"], str(e))
            return
        self.recorded += 1
        self.written.add(self.state.real)  # its real path
        # drift paths are the traffic's own keys, which can carry a secret: redact the line
        log.info("fc-cassette record: %s",
                 self.redactor.redact_text(_summary_line(seq, entry, reports)))

    def _not_recorded(self, flow: http.HTTPFlow, path: str, why: str) -> None:
        """Flag a flow whose interaction was not written, and say why in the log
        (``path`` and ``why`` already redacted)."""
        flow.marked = ":no_entry:"
        flow.comment = f"fc-cassette: NOT recorded: {why}"
        log.error("fc-cassette record: NOT recorded %s %s: %s", flow.request.method, path, why)

    def server_connect(self, data) -> None:
        """A mode that only replays (none, or once on a cassette) is offline like
        replay: an upstream connection still tried (e.g. raw bytes through CONNECT,
        or connection_strategy=eager) is refused."""
        active = self.active
        if (core.active("record") and active is not None and active.writer is None
                and active.player is not None):
            self.upstream_refused += 1
            active.player.refuse_connect(data, OFFLINE)

    def error(self, flow: http.HTTPFlow) -> None:
        """A forwarded flow that ended without a response (upstream unreachable, reset):
        nothing to record, and the log says so."""
        if (not core.active("record") or self.writer is None or flow.response is not None
                or flow.metadata.get(ANSWERED) or not in_scope(flow, core.settings().scope)):
            return
        self.no_response += 1
        reason = flow.error.msg if flow.error else "no response"
        log.warning("fc-cassette record: NOT recorded %s %s: no response from upstream: %s",
                    flow.request.method,
                    self.redactor.redact_text(interaction.split_path(flow.request.path)[0]),
                    self.redactor.redact_text(reason))

    def done(self) -> None:
        if core.active("record"):
            if self.active is not None:  # the last cassette's own summary
                self._summarize(self.active)
            replayed = self.playback.served if self.playback else 0
            log.info("fc-cassette record: recorded %d, replayed %d, refused (fail closed) "
                     "%d, failed %d, no response %d, upstream connections refused %d",
                     self.recorded, replayed, self.refused, self.failed, self.no_response,
                     self.upstream_refused)
        self.close()

    def close(self) -> None:
        """Close the cassette and release its lock (idempotent)."""
        if self.writer is not None:
            self.writer.close()
            self.writer = None
        if self.lock is not None:
            self.lock.release()
            self.lock = None
        self.state = None

    def _lock(self, path: Path) -> RecordingLock:
        """The recording lock on ``path``: the one held already, or a new one."""
        if self.lock is not None and self.lock.held and self.lock.path == lock_path(path):
            return self.lock
        try:
            return RecordingLock.acquire(path)
        except cassette_io.CassetteError as e:
            raise exceptions.OptionsError(str(e)) from None
        except OSError as e:
            raise exceptions.OptionsError(
                f"{path}: cannot create the recording lock {lock_path(path)}: "
                f"{e.strerror or e}") from None


def _header(record: dict, name: str) -> str | None:
    for k, v in record["headers"].items():
        if k.lower() == name:
            return v if isinstance(v, str) else v[0]
    return None


def _fail_closed(text: str, learned: dict[str, str] | None = None) -> None:
    findings = scan(text)
    if learned and learned_pattern(learned).search(text):
        raise SecretLeft("a credential learned from an Authorization header is left "
                         "after redaction")
    if findings:
        kinds = ", ".join(sorted({f.kind for f in findings}))
        raise SecretLeft(f"the secret scanner found {len(findings)} secret(s) left after "
                         f"redaction ({kinds})")


def _summary_line(seq: int, entry: dict, reports) -> str:
    req, resp = entry["request"], entry["response"]
    body = interaction.body_value(resp.get("body"))
    sid = body.get("id") if isinstance(body, dict) else None
    parts = [f"#{seq} {req['method']} {req['path']} -> {resp['status']}"]
    if sid:
        parts.append(str(sid))
    if reports:
        parts.append(" ".join(f"{k} {'ok' if r.valid else 'INVALID'}" for k, r in reports.items()))
        drift = sorted({d for r in reports.values() for d in r.drift})
        if drift:
            parts.append("drift: " + ", ".join(drift))
    return " ".join(parts)

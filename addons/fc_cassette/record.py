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

Acknowledged means durable: an in-scope response whose interaction cannot be written
(a full disk, any I/O error, a cassette deleted or replaced meanwhile, the scanner's
refusal, a body that cannot be decoded) is not released to the client; the client
gets :func:`not_recorded_response` instead, the run lists it in ``not_recorded``
and ``record`` exits 1 at shutdown. See docs/recording.md.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import re
from pathlib import Path

from mitmproxy import ctx, exceptions, http

from . import cassette as cassette_io
from . import control, core, interaction
from .lock import RecordingLock, lock_path
from .matching import Miss
from .playback import MAX_KEPT_MISSES, Playback
from .redact import Redactor, learned_pattern, scan
from .scope import in_scope
from .validation import verdicts

log = logging.getLogger("fc_cassette")
RECORD_MODES = ("once", "new_episodes", "all", "none")
_LIVE_KEY = re.compile(r"\b[sr]k_live_[A-Za-z0-9]")
_URLSAFE = str.maketrans("-_", "+/")
ANSWERED = "fc_cassette_answered_locally"  # replayed, missed or refused: not recorded
OFFLINE = ("fc-cassette record is only replaying (offline): upstream connections are "
           "refused")
# What a client gets instead of a response that could not be recorded. 500 is what it
# is: the proxy failed, not the request (stripe-python raises APIError). Every Stripe
# SDK retries a 5xx (and 409) unless the response says `Stripe-Should-Retry: false`
# (stripe-python 16: _http_client._should_retry reads that header first): a retry
# would repeat an effect that already happened upstream (a second session), so the
# header says false. It is not a 4xx either: the request itself was fine.
NOT_RECORDED_STATUS = 500
NOT_RECORDED_CODE = "fc_cassette_not_recorded"


class SecretLeft(Exception):
    """The scanner found a secret in a serialized entry; it must not be written."""


def uses_live_key(flow: http.HTTPFlow) -> bool:
    import base64

    auth = flow.request.headers.get("authorization", "")
    if _LIVE_KEY.search(auth):
        return True
    if auth[:6].lower() == "basic ":
        cred = auth[6:].strip().rstrip("=").translate(_URLSAFE)
        try:  # padding optional, either alphabet: servers are lenient, so are we
            decoded = base64.b64decode(cred + "=" * (-len(cred) % 4))
        except ValueError:
            return False
        return bool(_LIVE_KEY.search(decoded.decode("latin-1")))
    return False


def not_recorded_response(upstream_status: int, why: str) -> http.Response:
    """The Stripe-shaped error that replaces a response fc-cassette could not record
    (``why`` already redacted); see NOT_RECORDED_STATUS for the status and header."""
    body = {"error": {
        "type": "api_error", "code": NOT_RECORDED_CODE,
        "message": f"fc-cassette could not record this request, so its response is "
                   f"withheld: {why}. The upstream already answered {upstream_status}: "
                   "its effect (e.g. a created session) already happened and is not in the "
                   "cassette. Fix the cause, then record again."}}
    return http.Response.make(NOT_RECORDED_STATUS, json.dumps(body, indent=2).encode(),
                              {"Content-Type": "application/json",
                               "Stripe-Should-Retry": "false",
                               "Fc-Cassette-Not-Recorded": "true"})


def _refuse_live(flow: http.HTTPFlow) -> None:
    body = {"error": {
        "type": "invalid_request_error", "code": "fc_cassette_live_key_refused",
        "message": "fc-cassette record refuses requests made with live-mode keys "
                   "(sk_live_/rk_live_): nothing was forwarded. To record live traffic, set "
                   "record.allow_live_keys: true in the config or --set fc_allow_live=true."}}
    flow.response = http.Response.make(403, json.dumps(body, indent=2).encode(),
                                       {"Content-Type": "application/json",
                                        "Stripe-Should-Retry": "false"})


class Record:
    def __init__(self) -> None:
        self.writer: cassette_io.Writer | None = None
        self.lock: RecordingLock | None = None
        self.state: tuple | None = None  # (real path, mode, settings) in effect
        self.written: set[str] = set()  # real paths of the cassettes this run appended to
        self.playback: Playback | None = None
        self.redactor = Redactor()
        self.recorded = 0
        self.refused = 0
        self.failed = 0
        self.no_response = 0
        self.upstream_refused = 0
        # one redacted line per in-scope exchange missing from the cassette (a response
        # withheld because it could not be written, or no response from upstream); the
        # first MAX_KEPT_MISSES, all counted: the control endpoint and the pytest plugin
        self.not_recorded: list[str] = []
        self.not_recorded_total = 0
        self.exit_code = 0
        self._gone_said: cassette_io.Writer | None = None
        self.stopping = False  # done() closed a cassette it was recording into

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
        if mode not in RECORD_MODES:
            raise exceptions.OptionsError(
                f"fc_record_mode must be one of {', '.join(RECORD_MODES)}, not {mode!r}")
        if not ctx.options.fc_cassette:
            raise exceptions.OptionsError("record needs a cassette: --set fc_cassette=FILE")
        path = Path(ctx.options.fc_cassette)
        if path.name in ("", ".", "..") or path.is_dir():
            raise exceptions.OptionsError(f"{path}: is a directory, not a cassette")
        state = (os.path.realpath(path), mode, settings)
        if state == self.state:
            # e.g. mitmproxy re-applying the old options after refusing a change: keep
            # the writer ('all' would otherwise start its cassette over) and the lock
            return
        if mode == "none" and not path.exists():
            raise exceptions.OptionsError(f"{path}: no such cassette (record mode 'none' "
                                          "only replays)")
        # Locked before anything is read or decided: another recorder could be writing
        # it, or create it between a check and the lock ('once' would then replace it).
        lock = None if mode == "none" else self._lock(path)
        # A cassette this recorder wrote (this run) is continued, not started over nor
        # replayed, when it comes back to it in 'once' or 'all' (e.g. after mitmproxy
        # rolled back a refused switch to another mode or cassette).
        continuing = state[0] in self.written and mode in ("once", "all") and path.exists()
        replay_only = mode == "none" or (mode == "once" and path.exists() and not continuing)
        existing, playback = None, None
        redactor = Redactor(settings.redaction)
        if path.exists() and (mode != "all" or continuing):
            try:
                existing = cassette_io.load(path)
                # appending: placeholder numbers continue after the cassette's; one
                # numbering for the entries and the miss explanations
                redactor = Redactor(settings.redaction,
                                    existing="" if replay_only else existing.text)
                if continuing and self.redactor.rules == settings.redaction:
                    redactor = self.redactor  # it knows which secret got which number
                playback = None if continuing else Playback(existing, settings, redactor)
            except cassette_io.CassetteError as e:
                if lock is not None and lock is not self.lock:
                    lock.release()
                raise exceptions.OptionsError(str(e)) from None
            for w in existing.warnings:
                log.warning("fc-cassette: %s", w)
        keep = None if replay_only else lock  # a recorder that only replays needs no lock
        if lock is not None and lock is not keep and lock is not self.lock:
            lock.release()
        if self.writer is not None:
            self.writer.close()
        if self.lock is not None and self.lock is not keep:
            self.lock.release()
        self.lock, self.playback, self.state = keep, playback, state
        self.writer = None if replay_only else cassette_io.Writer(
            path, existing=existing if mode == "new_episodes" or continuing else None,
            fsync=settings.record.fsync)
        self.redactor = redactor
        core.share_redactor(self.redactor)  # mitmproxy's own log lines too
        what = "replaying only" if replay_only else "recording"
        log.info("fc-cassette record (%s): %s %s", mode, what, path)

    def request(self, flow: http.HTTPFlow) -> None:
        if not core.active("record") or flow.response:
            return
        if control.handle(flow, self.playback):
            flow.metadata[ANSWERED] = True
            return
        try:
            self._request(flow)
        except Exception as e:
            core.log_failure(f"record failed on {flow.request.method} "
                             f"{self.redactor.redact_text(flow.request.path)}", self.redactor)
            if self.writer is None and self.playback is not None:  # replaying only: offline
                flow.response = self.playback.error_response(type(e).__name__)
                flow.metadata[ANSWERED] = True

    def _request(self, flow: http.HTTPFlow) -> None:
        # (a mode that only replays forwards nothing: it serves live keys like replay)
        if self.writer is not None and uses_live_key(flow) and not (
                ctx.options.fc_allow_live or core.settings().record.allow_live_keys):
            _refuse_live(flow)
            flow.metadata[ANSWERED] = True
            log.warning("fc-cassette record: refused a request made with a live-mode key "
                        "(%s %s); nothing was forwarded", flow.request.method,
                        self.redactor.redact_text(flow.request.path))
            return
        if self.playback is None:
            return
        if not in_scope(flow, core.settings().scope):
            if self.writer is None:  # only replaying (none, or once on a cassette): offline
                flow.response = self.playback.refuse(Miss(
                    "out_of_scope", f"{flow.request.method} {flow.request.pretty_host}"
                    f"{self.redactor.redact_text(flow.request.path)} is outside "
                    "fc-cassette's scope, and this record mode only replays"))
                flow.metadata[ANSWERED] = True
            return
        try:
            req = interaction.match_record(flow, core.settings().matching.headers)
        except interaction.UndecodableBody as e:
            if self.writer is None:  # only replaying: a miss, explained
                flow.response = self.playback.refuse(Miss(
                    "unmatched", f"{flow.request.method} {flow.request.path.split('?', 1)[0]}: "
                    f"{e}, so it cannot be matched"))
                flow.metadata[ANSWERED] = True
            return  # recording: forwarded, and refused in the response hook
        got = self.playback.take(self.redactor.redact_entry({"request": req})["request"])
        if not isinstance(got, Miss):
            flow.response = self.playback.response_for(got)
            flow.metadata[ANSWERED] = True
        elif self.writer is None:
            flow.response = self.playback.refuse(got)
            flow.metadata[ANSWERED] = True
            log.warning("fc-cassette record: replay miss: %s", self.playback.last_miss)

    def response(self, flow: http.HTTPFlow) -> None:
        if (not core.active("record") or flow.metadata.get(ANSWERED)
                or (self.writer is None and not self.stopping)
                or not in_scope(flow, core.settings().scope)):
            return
        if self.writer is None:  # a response still under way when shutdown closed it
            path = self.redactor.redact_text(interaction.split_path(flow.request.path)[0])
            self._not_recorded(flow, path, "fc-cassette was shutting down")
            return
        try:
            self._record(flow)
        except Exception as e:  # a bug: say so with the traceback, and withhold it
            self.failed += 1
            path = self.redactor.redact_text(interaction.split_path(flow.request.path)[0])
            core.log_failure(f"NOT recorded {flow.request.method} {path}", self.redactor)
            self._not_recorded(flow, path, f"an internal error ({type(e).__name__}, "
                                           "see the log)")

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
        if (core.settings().record.timing and flow.response.timestamp_end
                and flow.request.timestamp_start):
            entry["duration_ms"] = round(
                (flow.response.timestamp_end - flow.request.timestamp_start) * 1000, 1)
        entry = self.redactor.redact_entry(entry)
        self.writer.timing = core.settings().record.timing  # the header's creation time
        try:
            seq = self.writer.append(  # the redacted entry's version: it goes in the header
                entry, stripe_version=_header(entry["request"], "stripe-version"),
                check=lambda text: _fail_closed(text, self.redactor.learned))
        except (cassette_io.CassetteFull, cassette_io.CassetteGone, SecretLeft,
                OSError) as e:
            if isinstance(e, SecretLeft):
                self.refused += 1
            else:
                self.failed += 1
            self._not_recorded(flow, entry["request"]["path"], self._why(e))
            return
        self.recorded += 1
        self.written.add(self.state[0])  # its real path
        if self.lock is not None and seq == 1 and self.writer.existing is None:
            self.lock.cover(self.writer.path)  # the file it created: hard links share it
        # drift paths are the traffic's own keys, which can carry a secret: redact the line
        log.info("fc-cassette record: %s",
                 self.redactor.redact_text(_summary_line(seq, entry, reports)))

    def _why(self, e: Exception) -> str:
        """One redacted line for an append that failed."""
        if isinstance(e, cassette_io.CassetteGone):
            if self._gone_said is not self.writer:  # once; each flow still gets its line
                self._gone_said = self.writer
                log.error("fc-cassette record: %s; nothing more is recorded into it "
                          "(stop and record again)", self.redactor.redact_text(str(e)))
            return self.redactor.redact_text(str(e))
        if isinstance(e, OSError):
            name = errno.errorcode.get(e.errno or 0, "")
            return self.redactor.redact_text(
                f"cannot write the cassette {self.writer.path if self.writer else ''}: "
                f"{e.strerror or e}" + (f" ({name})" if name else ""))
        return self.redactor.redact_text(str(e))

    def _not_recorded(self, flow: http.HTTPFlow, path: str, why: str) -> None:
        """Withhold the response of a flow whose interaction was not written: the client
        gets :func:`not_recorded_response`, the flow is flagged, the log and
        ``not_recorded`` say why (``path`` and ``why`` already redacted)."""
        status = flow.response.status_code if flow.response else 0
        flow.marked = ":no_entry:"
        flow.comment = f"fc-cassette: NOT recorded: {why}"
        line = f"{flow.request.method} {path}: {why} (upstream answered {status})"
        log.error("fc-cassette record: NOT recorded %s; the client got a %d error instead",
                  line, NOT_RECORDED_STATUS)
        self._list_not_recorded(line)
        flow.response = not_recorded_response(status, why)

    def _list_not_recorded(self, line: str) -> None:
        """Count an in-scope exchange missing from the cassette and keep its (redacted)
        line for the status and the pytest plugin; the run then exits 1."""
        self.not_recorded_total += 1
        self.exit_code = 1  # like replay --strict: the run lost something
        if len(self.not_recorded) < MAX_KEPT_MISSES:
            self.not_recorded.append(line)

    def server_connect(self, data) -> None:
        """A mode that only replays (none, or once on a cassette) is offline like
        replay: an upstream connection still tried (e.g. raw bytes through CONNECT,
        or connection_strategy=eager) is refused."""
        if core.active("record") and self.writer is None and self.playback is not None:
            self.upstream_refused += 1
            data.server.error = OFFLINE

    def error(self, flow: http.HTTPFlow) -> None:
        """A forwarded flow that ended without a response (upstream unreachable, reset):
        nothing to record, and the log says so."""
        if (not core.active("record") or self.writer is None or flow.response is not None
                or flow.metadata.get(ANSWERED) or not in_scope(flow, core.settings().scope)):
            return
        self.no_response += 1
        reason = flow.error.msg if flow.error else "no response"
        line = (f"{flow.request.method} "
                f"{self.redactor.redact_text(interaction.split_path(flow.request.path)[0])}: "
                f"no response from upstream: {self.redactor.redact_text(reason)}")
        log.warning("fc-cassette record: NOT recorded %s", line)
        self._list_not_recorded(line)  # the cassette lacks it: the test should know

    def done(self) -> None:
        if core.active("record"):
            replayed = self.playback.served if self.playback else 0
            log.info("fc-cassette record: recorded %d, replayed %d, refused (fail closed) "
                     "%d, failed %d, no response %d, upstream connections refused %d",
                     self.recorded, replayed, self.refused, self.failed, self.no_response,
                     self.upstream_refused)
            if self.not_recorded_total:
                log.error("fc-cassette record: %d in-scope exchange(s) not recorded (%d "
                          "response(s) withheld because they could not be recorded, %d "
                          "without a response): exit 1", self.not_recorded_total,
                          self.not_recorded_total - self.no_response, self.no_response)
            self.stopping = self.writer is not None
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

    def _lock(self, path: Path) -> RecordingLock | None:
        """The recording lock on ``path``: the one held already, or a new one; None
        where none can be made (e.g. a read-only folder) for 'once' on an existing
        cassette, which only replays."""
        if self.lock is not None and self.lock.held and self.lock.path == lock_path(path):
            return self.lock
        try:
            return RecordingLock.acquire(path)
        except cassette_io.CassetteError as e:
            raise exceptions.OptionsError(str(e)) from None
        except OSError as e:
            mode = ctx.options.fc_record_mode or core.settings().record.mode
            if mode == "once" and path.is_file():  # it will only replay: no lock needed
                log.info("fc-cassette record: cannot create the recording lock %s (%s); "
                         "'once' on an existing cassette only replays, unlocked",
                         lock_path(path), e.strerror or e)
                return None
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
        parts.append(verdicts(reports))
        drift = sorted({d for r in reports.values() for d in r.drift})
        if drift:
            parts.append("drift: " + ", ".join(drift))
    return " ".join(parts)

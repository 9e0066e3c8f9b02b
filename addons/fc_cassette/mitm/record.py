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

The addon owns two objects and passes them what they need: its :class:`Switch`
(:mod:`.record_switch`: the active cassette and moving it; handed to it by its owner,
:func:`.addon.mode_addons`, so this module does not import the player's chain) and its
:class:`Tally` (:mod:`.record_tally`: the run's counters, the exchanges not recorded,
the exit code).
"""

from __future__ import annotations

import errno
import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mitmproxy import ctx, exceptions, http
from mitmproxy.addonmanager import Loader
from mitmproxy.proxy.server_hooks import ServerConnectionHookData

from fc_cassette.cassette import store as cassette_io
from fc_cassette.exchange import interaction
from fc_cassette.mitm import control, core
from fc_cassette.mitm.record_plan import Active, Refused, named_unknown
from fc_cassette.mitm.record_steps import (
    NOT_RECORDED_CODE as NOT_RECORDED_CODE,
    NOT_RECORDED_STATUS as NOT_RECORDED_STATUS,
    OFFLINE as OFFLINE,
    PRE_DECODED as PRE_DECODED,
    SecretLeft as SecretLeft,
    _decode_while_forwarded as _decode_while_forwarded,
    _fail_closed,
    _header,
    _refuse_live as _refuse_live,
    _request_record as _request_record,
    _summary_line,
    entry_of,
    not_recorded_response as not_recorded_response,
    webhook_doc,
)
from fc_cassette.mitm.record_tally import Tally
from fc_cassette.mitm.scope import in_scope
from fc_cassette.mitm.webhooks_ingress import WebhookIngress, is_ingress
from fc_cassette.redact.kinds import uses_live_key
from fc_cassette.redact.redactor import Redactor
from fc_cassette.settings import modes as vocab
from fc_cassette.settings.config import Settings
from fc_cassette.settings.modes import RecordMode
from fc_cassette.stripe_api.validation import verdict

if TYPE_CHECKING:
    from fc_cassette.mitm.record_switch import Switch

log = logging.getLogger("fc_cassette")
ANSWERED = "fc_cassette_answered_locally"  # replayed, missed or refused: not recorded
GENERATION = "fc_cassette_generation"  # which switch of the cassette a flow arrived on


class Record:
    """The record addon. Its :class:`~.record_switch.Switch` holds the cassette it is on
    (and moves it); this class carries out the recording itself (the response side)."""

    record_modes = vocab.RECORD_MODES  # what the control endpoint's ``use`` accepts

    def __init__(self, switch: Switch) -> None:
        self.switch = switch  # the active cassette, and moving it (a new Switch)
        self.settings = Settings()  # the core's, read in configure
        self.tally = Tally(control.note_news)  # what the run counted, and its exit code
        self._gone_said: cassette_io.Writer | None = None
        self.stopping = False  # done() closed a cassette it was recording into
        self._webhook_ids: tuple[object, set[str]] = (None, set())  # (writer, event ids)
        # a sub-addon: its request hook runs after this one's
        self.addons = [WebhookIngress(self.switch, self.record_webhook)]

    # the switch's, read-only: what the response side reads of the active cassette
    @property
    def active(self) -> Active | None:
        return self.switch.active

    @property
    def writer(self) -> cassette_io.Writer | None:
        return self.switch.writer

    @property
    def redactor(self) -> Redactor:
        return self.switch.redactor

    @property
    def exit_code(self) -> int:  # what the CLI exits with (read from every addon)
        return self.tally.exit_code

    def load(self, loader: Loader) -> None:
        loader.add_option("fc_record_mode", str, "", vocab.option_help())
        loader.add_option(
            "fc_allow_live",
            bool,
            False,
            "Record: forward and record requests made with live-mode keys.",
        )

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
        try:
            self._switch(Path(path), mode, settings)
        except Refused as e:
            raise exceptions.OptionsError(str(e)) from None

    def _switch(self, path: Path, mode: RecordMode, settings: Settings) -> None:
        if self.switch.switch(path, mode, settings, self.tally.counts()):
            core.share_redactor(self.redactor)  # mitmproxy's own log lines too

    # the control endpoint's target (see control.Target)
    def preload(self, cassette: str, record_mode: RecordMode | None) -> Callable[[], None] | None:
        return self.switch.preload(cassette, record_mode, self.settings)

    def use(self, cassette: str, record_mode: RecordMode | None) -> None:
        try:
            self._switch(Path(cassette), record_mode or self.settings.record.mode, self.settings)
        except Refused as e:
            raise control.Refused("cassette", str(e)) from None

    def rewind(self) -> bool:
        return self.switch.rewind()

    def control_status(self) -> dict[str, Any] | None:
        status = self.switch.status()
        if status is None or self.active is None:
            return None
        return {
            **status,
            "not_recorded": self.tally.not_recorded[self.active.counts.get("not_recorded", 0) :],
            "passthrough": control.passthrough(),
            "webhooks": self.addons[0].status(),
        }

    def request(self, flow: http.HTTPFlow) -> None:
        if not core.active("record") or flow.response or is_ingress(flow):
            return  # (the webhook ingress, a sub-addon, takes its flows)
        if control.handle(flow, self):
            flow.metadata[ANSWERED] = True
            return
        self.tally.requests += 1
        active = self.active  # answered from, or recorded into, this cassette only
        flow.metadata[GENERATION] = active.generation if active is not None else 0
        replay_only = active.player if active is not None and active.writer is None else None
        playback = active.player.playback if active is not None and active.player else None
        missed = playback.missed if playback is not None else 0
        try:
            self._request(flow, active)
        except Exception as e:
            if replay_only is not None:  # offline: an explained miss, never upstream
                replay_only.fail(flow, e)
                flow.metadata[ANSWERED] = True
            else:
                core.log_failure(
                    f"record failed on {flow.request.method} "
                    f"{self.redactor.redact_text(flow.request.path)}",
                    self.redactor,
                )
        if playback is not None and playback.missed != missed:
            control.note_news()  # a harness asks for the status only on news

    def _request(self, flow: http.HTTPFlow, active: Active | None) -> None:
        if active is None:
            return
        writing = active.writer is not None
        # (a mode that only replays forwards nothing: it serves live keys like replay)
        if writing and uses_live_key(flow) and not self.settings.record.allow_live_keys:
            _refuse_live(flow)
            flow.metadata[ANSWERED] = True
            log.warning(
                "fc-cassette record: refused a request made with a live-mode key "
                "(%s %s); nothing was forwarded",
                flow.request.method,
                self.redactor.redact_text(flow.request.path),
            )
            return
        # the same Player as replay: a mode that only replays behaves as replay does;
        # one that writes serves hits and forwards the rest (recorded on the way back)
        if active.player is not None and active.player.answer(flow, forward_misses=writing):
            flow.metadata[ANSWERED] = True
        elif writing:
            _decode_while_forwarded(flow, active)

    def response(self, flow: http.HTTPFlow) -> None:
        if core.active("record") and self._switched_away(flow):
            return
        if (
            not core.active("record")
            or flow.metadata.get(ANSWERED)
            or (self.writer is None and not self.stopping)
            or not in_scope(flow, self.settings.scope)
        ):
            return
        if self.writer is None:  # a response still under way when shutdown closed it
            path = self.redactor.redact_text(interaction.split_path(flow.request.path)[0])
            self._not_recorded(flow, path, "fc-cassette was shutting down")
            return
        try:
            self._record(flow)
        except Exception as e:  # a bug: say so with the traceback, and withhold it
            self.tally.failed += 1
            path = self.redactor.redact_text(interaction.split_path(flow.request.path)[0])
            core.log_failure(f"NOT recorded {flow.request.method} {path}", self.redactor)
            self._not_recorded(flow, path, f"an internal error ({type(e).__name__}, see the log)")

    def _record(self, flow: http.HTTPFlow) -> None:
        # (response() called it with a writer, on a flow with a response)
        active = self.active
        assert active is not None and active.writer is not None and flow.response
        writer = active.writer
        try:
            request = _request_record(flow)
            response = interaction.response_record(flow)
        except interaction.UndecodableBody as e:  # fail closed: bytes we cannot redact
            self.tally.refused += 1
            path = self.redactor.redact_text(flow.request.path.split("?", 1)[0])
            self._not_recorded(flow, path, self.redactor.redact_text(str(e)))
            return
        checked = verdict(request, response)  # the models' word, in the entry and the line
        entry = entry_of(flow, request, response, self.settings.record.timing, checked)
        entry = self.redactor.redact_entry(entry)
        unknown = named_unknown(entry, active)
        if unknown is not None:  # new_episodes would keep a 404 that replays forever
            self.tally.refused += 1
            self._not_recorded(flow, entry["request"]["path"], unknown)
            return
        writer.timing = self.settings.record.timing  # the header's creation time
        try:
            self.switch.lock_now()  # a cassette in a folder that did not exist: locked now
            seq = writer.append(  # the redacted entry's version: it goes in the header
                entry,
                stripe_version=_header(entry["request"], "stripe-version"),
                check=lambda text: _fail_closed(text, self.redactor.learned),
            )
        except (
            cassette_io.CassetteFull,
            cassette_io.CassetteGone,
            SecretLeft,
            cassette_io.Unloadable,
            cassette_io.CassetteError,
            OSError,
        ) as e:
            if isinstance(e, (SecretLeft, cassette_io.Unloadable)):
                self.tally.refused += 1
            else:
                self.tally.failed += 1
            self._not_recorded(flow, entry["request"]["path"], self._why(e))
            return
        self.tally.recorded += 1
        self.switch.wrote()
        if active.lock is not None and seq == 1 and writer.existing is None:
            active.lock.cover(writer.path)  # the file it created: hard links share it
        # every piece of the line is redacted (see _summary_line): the log filter need
        # not redact it again
        log.info(
            "fc-cassette record: %s",
            _summary_line(seq, entry, checked, self.redactor),
            extra={core.PRE_REDACTED: True},
        )

    def record_webhook(self, event: dict, app_status: int | None) -> str | None:
        """Append a webhook document after the last interaction (see
        :mod:`.proxy.webhooks_ingress`); None when written or not to be written (no
        writer: a mode that only replays; an event id already written), else why not."""
        writer = self.writer
        if writer is None:
            return None
        if self._webhook_ids[0] is not writer:
            self._webhook_ids = (writer, set())
        if event["id"] in self._webhook_ids[1]:
            return None
        doc = self.redactor.redact_entry(webhook_doc(event, app_status, writer.count))
        created = writer.existing is None and getattr(writer, "_fd", None) is None
        try:
            writer.append(
                doc,
                stripe_version=event.get("api_version"),
                numbered=False,
                check=lambda text: _fail_closed(text, self.redactor.learned),
            )
        except (cassette_io.CassetteFull, cassette_io.CassetteGone, SecretLeft, OSError) as e:
            self.tally.refused += isinstance(e, SecretLeft)
            why = self._why(e)
            self.tally.missing(f"webhook {doc['webhook']['id']} {doc['webhook']['type']}: {why}")
            return why
        self._webhook_ids[1].add(event["id"])
        self.tally.webhooks_recorded += 1
        self.switch.wrote()
        lock = self.switch.lock
        if created and lock is not None:
            lock.cover(writer.path)
        log.info(
            "fc-cassette record: webhook %s %s after #%d -> app %s",
            doc["webhook"]["id"],
            doc["webhook"]["type"],
            writer.count,
            app_status if app_status is not None else "unreachable",
        )
        return None

    def _why(self, e: Exception) -> str:
        """One redacted line for an append that failed."""
        if isinstance(e, cassette_io.CassetteGone):
            if self._gone_said is not self.writer:  # once; each flow still gets its line
                self._gone_said = self.writer
                log.error(
                    "fc-cassette record: %s; nothing more is recorded into it "
                    "(stop and record again)",
                    self.redactor.redact_text(str(e)),
                )
            return self.redactor.redact_text(str(e))
        if isinstance(e, OSError):
            name = errno.errorcode.get(e.errno or 0, "")
            return self.redactor.redact_text(
                f"cannot write the cassette {self.writer.path if self.writer else ''}: "
                f"{e.strerror or e}" + (f" ({name})" if name else "")
            )
        return self.redactor.redact_text(str(e))

    def _not_recorded(self, flow: http.HTTPFlow, path: str, why: str) -> None:
        """Withhold the response of a flow whose interaction was not written: the client
        gets :func:`not_recorded_response`, the flow is flagged, the log and
        ``not_recorded`` say why (``path`` and ``why`` already redacted)."""
        status = flow.response.status_code if flow.response else 0
        flow.marked = ":no_entry:"
        flow.comment = f"fc-cassette: NOT recorded: {why}"
        line = f"{flow.request.method} {path}: {why} (upstream answered {status})"
        log.error(
            "fc-cassette record: NOT recorded %s; the client got a %d error instead",
            line,
            NOT_RECORDED_STATUS,
        )
        self.tally.missing(line)
        flow.response = not_recorded_response(status, why)

    def server_connect(self, data: ServerConnectionHookData) -> None:
        """A mode that only replays (none, or once on a cassette) is offline like
        replay: an upstream connection still tried (e.g. raw bytes through CONNECT,
        or connection_strategy=eager) is refused."""
        active = self.active
        if (
            core.active("record")
            and active is not None
            and active.writer is None
            and active.player is not None
        ):
            self.tally.upstream_refused += 1
            active.player.refuse_connect(data, OFFLINE)

    def error(self, flow: http.HTTPFlow) -> None:
        """A forwarded flow that ended without a response (upstream unreachable, reset):
        nothing to record, and the log says so."""
        if (
            not core.active("record")
            or self.writer is None
            or flow.response is not None
            or flow.metadata.get(ANSWERED)
            or not in_scope(flow, self.settings.scope)
        ):
            return
        self.tally.no_response += 1
        reason = flow.error.msg if flow.error else "no response"
        line = (
            f"{flow.request.method} "
            f"{self.redactor.redact_text(interaction.split_path(flow.request.path)[0])}: "
            f"no response from upstream: {self.redactor.redact_text(reason)}"
        )
        log.warning("fc-cassette record: NOT recorded %s", line)
        self.tally.missing(line)  # the cassette lacks it: the test should know

    def _switched_away(self, flow: http.HTTPFlow) -> bool:
        """A forwarded flow whose cassette is no longer the active one (a ``use`` came
        in between): it is not recorded into the new one; the client gets the explained
        error of a response that could not be recorded, and ``not_recorded`` lists it."""
        if flow.metadata.get(ANSWERED) or not self.switch.moved_since(
            flow.metadata.get(GENERATION)
        ):
            return False
        flow.metadata[ANSWERED] = True
        path = self.redactor.redact_text(flow.request.path.split("?", 1)[0])
        self._not_recorded(flow, path, "the active cassette changed while it was in flight")
        return True

    def done(self) -> None:
        finished = core.active("record")
        if finished:
            self.switch.summarize(self.tally.counts())  # the last cassette's own summary
            playback = self.switch.playback
            strict = bool(getattr(ctx.options, "fc_strict", False))
            self.tally.report(playback.served if playback else 0, strict)
            for error in self.switch.cache.failed_loads():  # as replay: found late
                log.error("fc-cassette: %s", error)
                self.tally.exit_code = 1
            self.stopping = self.writer is not None
        # rewrite, nothing recorded: the old one goes (a run that never started keeps it)
        self.switch.close(finished=finished)

    def close(self) -> None:
        """Leave the cassette: its writer closed and its lock released (idempotent; the
        CLI calls it when a start-up fails before ``done``)."""
        self.switch.close()

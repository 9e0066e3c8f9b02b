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
import logging

from mitmproxy import ctx, http
from mitmproxy.addonmanager import Loader
from mitmproxy.proxy.server_hooks import ServerConnectionHookData

from fc_cassette.cassette import store as cassette_io
from fc_cassette.exchange import interaction
from fc_cassette.mitm import control, core
from fc_cassette.mitm.players import PlayerCache
from fc_cassette.mitm.record_plan import Active, named_unknown
from fc_cassette.mitm.record_steps import (
    PRE_DECODED as PRE_DECODED,
    SecretLeft as SecretLeft,
    _decode_while_forwarded as _decode_while_forwarded,
    _fail_closed,
    _header,
    _request_record as _request_record,
    _summary_line,
    entry_of,
)
from fc_cassette.mitm.record_switch import ANSWERED, GENERATION, Switching
from fc_cassette.mitm.scope import in_scope
from fc_cassette.mitm.webhooks_ingress import WebhookIngress, is_ingress
from fc_cassette.playback.state import MAX_KEPT_MISSES
from fc_cassette.redact import Redactor
from fc_cassette.redact.kinds import uses_live_key
from fc_cassette.settings import modes as vocab
from fc_cassette.settings.config import Settings
from fc_cassette.stripe_api import errors as stripe_errors

log = logging.getLogger("fc_cassette")
OFFLINE = "fc-cassette record is only replaying (offline): upstream connections are refused"
# What a client gets instead of a response that could not be recorded. 500 is what it
# is: the proxy failed, not the request (stripe-python raises APIError). Every Stripe
# SDK retries a 5xx (and 409) unless the response says `Stripe-Should-Retry: false`
# (stripe-python 16: _http_client._should_retry reads that header first): a retry
# would repeat an effect that already happened upstream (a second session), so the
# header says false. It is not a 4xx either: the request itself was fine.
NOT_RECORDED_STATUS = 500
NOT_RECORDED_CODE = stripe_errors.NOT_RECORDED.code


def not_recorded_response(upstream_status: int, why: str) -> http.Response:
    """The Stripe-shaped error that replaces a response fc-cassette could not record
    (``why`` already redacted); see NOT_RECORDED_STATUS for the status and header."""
    body = stripe_errors.own(
        stripe_errors.NOT_RECORDED,
        f"fc-cassette could not record this request, so its response is "
        f"withheld: {why}. The upstream already answered {upstream_status}: "
        "its effect (e.g. a created session) already happened and is not "
        "in the cassette. Fix the cause, then record again.",
    )
    return http.Response.make(
        NOT_RECORDED_STATUS,
        stripe_errors.encode(body),
        {**stripe_errors.NO_RETRY, "Fc-Cassette-Not-Recorded": "true"},
    )


def _refuse_live(flow: http.HTTPFlow) -> None:
    body = stripe_errors.own(
        stripe_errors.LIVE_KEY_REFUSED,
        "fc-cassette record refuses requests made with live-mode keys (sk_live_/rk_live_): "
        "nothing was forwarded. To record live traffic, set record.allow_live_keys: true in "
        "the config or --set fc_allow_live=true (pytest: the fc_cassette_config fixture "
        "{'record': {'allow_live_keys': True}} or an --fc-config file; --set does not apply).",
    )
    flow.response = http.Response.make(
        403, stripe_errors.encode(body), dict(stripe_errors.NO_RETRY)
    )


class Record(Switching):
    record_modes = vocab.RECORD_MODES  # what the control endpoint's ``use`` accepts

    def __init__(self) -> None:
        self.active: Active | None = None  # the cassette in effect and what it holds
        self.written: set[str] = set()  # real paths of the cassettes this run appended to
        self.cache = PlayerCache()  # players of the cassettes a mode only replays
        self.redactor = Redactor()
        self.settings = Settings()  # the core's, read in configure (see Switching)
        self._settings: object = None  # the settings the cached players were built on
        self._generation = 0  # one per switch: a flow knows which cassette it arrived on
        self.requests = 0  # every request but the control endpoint's: 0 = the app never came
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
        self.webhooks_recorded = 0
        self._webhook_ids: tuple[object, set[str]] = (None, set())  # (writer, event ids)
        self.addons = [WebhookIngress(self)]  # its request hook runs after this one's

    def load(self, loader: Loader) -> None:
        loader.add_option("fc_record_mode", str, "", vocab.option_help())
        loader.add_option(
            "fc_allow_live",
            bool,
            False,
            "Record: forward and record requests made with live-mode keys.",
        )

    def request(self, flow: http.HTTPFlow) -> None:
        if not core.active("record") or flow.response or is_ingress(flow):
            return  # (the webhook ingress, a sub-addon, takes its flows)
        if control.handle(flow, self):
            flow.metadata[ANSWERED] = True
            return
        self.requests += 1
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
            self.failed += 1
            path = self.redactor.redact_text(interaction.split_path(flow.request.path)[0])
            core.log_failure(f"NOT recorded {flow.request.method} {path}", self.redactor)
            self._not_recorded(flow, path, f"an internal error ({type(e).__name__}, see the log)")

    def _record(self, flow: http.HTTPFlow) -> None:
        # (response() called it with a writer, on a flow with a response)
        assert self.active is not None and self.writer is not None and flow.response
        try:
            request = _request_record(flow)
            response = interaction.response_record(flow)
        except interaction.UndecodableBody as e:  # fail closed: bytes we cannot redact
            self.refused += 1
            path = self.redactor.redact_text(flow.request.path.split("?", 1)[0])
            self._not_recorded(flow, path, self.redactor.redact_text(str(e)))
            return
        entry, reports = entry_of(flow, request, response, self.settings.record.timing)
        entry = self.redactor.redact_entry(entry)
        unknown = named_unknown(entry, self.active)
        if unknown is not None:  # new_episodes would keep a 404 that replays forever
            self.refused += 1
            self._not_recorded(flow, entry["request"]["path"], unknown)
            return
        self.writer.timing = self.settings.record.timing  # the header's creation time
        try:
            self._lock_now()  # a cassette in a folder that did not exist: locked now
            seq = self.writer.append(  # the redacted entry's version: it goes in the header
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
                self.refused += 1
            else:
                self.failed += 1
            self._not_recorded(flow, entry["request"]["path"], self._why(e))
            return
        self.recorded += 1
        self.written.add(self.active.real)  # its real path
        if self.lock is not None and seq == 1 and self.writer.existing is None:
            self.lock.cover(self.writer.path)  # the file it created: hard links share it
        # every piece of the line is redacted (see _summary_line): the log filter need
        # not redact it again
        log.info(
            "fc-cassette record: %s",
            _summary_line(seq, entry, reports, self.redactor),
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
        doc = self.redactor.redact_entry(
            {
                "webhook": {
                    "after": writer.count,
                    "id": event["id"],
                    "type": event["type"],
                    "app_status": app_status,
                    "body": {"json": event},
                }
            }
        )
        created = writer.existing is None and getattr(writer, "_fd", None) is None
        try:
            writer.append(
                doc,
                stripe_version=event.get("api_version"),
                numbered=False,
                check=lambda text: _fail_closed(text, self.redactor.learned),
            )
        except (cassette_io.CassetteFull, cassette_io.CassetteGone, SecretLeft, OSError) as e:
            self.refused += isinstance(e, SecretLeft)
            why = self._why(e)
            self._list_not_recorded(
                f"webhook {doc['webhook']['id']} {doc['webhook']['type']}: {why}"
            )
            return why
        self._webhook_ids[1].add(event["id"])
        self.webhooks_recorded += 1
        if self.state is not None:
            self.written.add(self.state.real)
        if created and self.lock is not None:
            self.lock.cover(writer.path)
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
        self._list_not_recorded(line)
        flow.response = not_recorded_response(status, why)

    def _list_not_recorded(self, line: str) -> None:
        """Count an in-scope exchange missing from the cassette and keep its (redacted)
        line for the status and the pytest plugin; the run then exits 1."""
        self.not_recorded_total += 1
        self.exit_code = 1  # like replay --strict: the run lost something
        if len(self.not_recorded) < MAX_KEPT_MISSES:
            self.not_recorded.append(line)
        control.note_news()  # before the client gets its answer

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
            self.upstream_refused += 1
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
        self.no_response += 1
        reason = flow.error.msg if flow.error else "no response"
        line = (
            f"{flow.request.method} "
            f"{self.redactor.redact_text(interaction.split_path(flow.request.path)[0])}: "
            f"no response from upstream: {self.redactor.redact_text(reason)}"
        )
        log.warning("fc-cassette record: NOT recorded %s", line)
        self._list_not_recorded(line)  # the cassette lacks it: the test should know

    def done(self) -> None:
        if core.active("record"):
            if self.active is not None:  # the last cassette's own summary
                self._summarize(self.active)
            replayed = self.playback.served if self.playback else 0
            log.info(
                "fc-cassette record: recorded %d, replayed %d, refused (fail closed) "
                "%d, failed %d, no response %d, upstream connections refused %d",
                self.recorded,
                replayed,
                self.refused,
                self.failed,
                self.no_response,
                self.upstream_refused,
            )
            if self.not_recorded_total:
                log.error(
                    "fc-cassette record: %d in-scope exchange(s) not recorded (%d "
                    "response(s) withheld because they could not be recorded, %d "
                    "without a response): exit 1",
                    self.not_recorded_total,
                    self.not_recorded_total - self.no_response,
                    self.no_response,
                )
            if not self.requests:
                self._nothing_seen()
            self.stopping = self.writer is not None
            if self.active is not None:  # rewrite, nothing recorded: the old one goes
                self.active.discard_unrecorded()  # (a run that never started keeps it)
        self.close()

    def _nothing_seen(self) -> None:
        """No request reached the proxy: the app is not pointed at it. Said loudly (a
        'recorded 0' line reads like success), and exit 1 under --strict."""
        strict = bool(getattr(ctx.options, "fc_strict", False))
        log.error(
            "fc-cassette record: NO request reached the proxy, so nothing was recorded "
            "and no cassette was written. Point the app's Stripe API base at this "
            "proxy (stripe-python: StripeClient(..., base_addresses={'api': "
            "'http://127.0.0.1:PORT'}); stripe-node: host, port and protocol 'http'), "
            "or run with --forward and set HTTPS_PROXY and the CA (docs/forward-mode.md)"
            "%s",
            ": exit 1 (--strict)" if strict else "",
        )
        if strict:
            self.exit_code = 1

    def close(self) -> None:
        """Close the cassette and release its lock (idempotent)."""
        if self.writer is not None:
            self.writer.close()
            self.writer = None
        if self.lock is not None:
            self.lock.release()
            self.lock = None
        self.state = None

"""Inspect mode: traffic passes through unchanged; each in-scope flow is judged.

For every in-scope flow: one log line (method, path, status, session id, request and
response verdicts, drift), a comment and a marker on the flow (shown by mitmweb), and
with ``fc_report`` one JSON object per line in the report file. Everything written or
logged goes through the redactor first. At shutdown: a summary with drift counts.
Stripe error bodies (non-2xx) are judged as the error envelope, not as a Session.
A path no model covers is reported with ``"model": "none"`` ("no model"), never invalid.
A request whose JSON body is a Stripe event (a webhook delivery passing through, e.g.
``stripe listen --forward-to`` the inspect proxy in front of the app) also gets the
event's verdict under ``"event"`` (docs/webhooks.md).
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from typing import IO, Any

from mitmproxy import ctx, exceptions, http
from mitmproxy.addonmanager import Loader

from fc_cassette.exchange import interaction
from fc_cassette.mitm import core
from fc_cassette.mitm.scope import in_scope
from fc_cassette.redact.redactor import Redactor
from fc_cassette.settings.config import Settings
from fc_cassette.stripe_api import endpoints
from fc_cassette.stripe_api.models import validate_event
from fc_cassette.stripe_api.validation import NO_MODEL, verdict

log = logging.getLogger("fc_cassette")
MARK_OK, MARK_DRIFT, MARK_INVALID = ":white_check_mark:", ":warning:", ":x:"


def judge(request: dict[str, Any], response: dict[str, Any]) -> dict[str, Any]:
    """The report object for one exchange (before redaction)."""
    v = verdict(request, response)
    body = interaction.body_value(response.get("body"))
    session_id = (
        body.get("id")
        if isinstance(body, dict) and str(body.get("id", "")).startswith("fcsess_")
        else endpoints.id_in_path(request["path"], "session")
    )
    out: dict[str, Any] = {
        "method": request["method"],
        "path": request["path"],
        "status": response["status"],
        "endpoint": endpoints.name_of(request["method"], request["path"]),
        "request_valid": v.request_valid,
        "response_valid": v.response_valid,
        "errors": v.errors(),
        "drift": v.drift,
    }
    if session_id:
        out["session_id"] = session_id
    if v.no_model:
        out["model"] = NO_MODEL  # neither valid nor invalid: no model covers the path
    sent = interaction.body_value(request.get("body"))
    if isinstance(sent, dict) and sent.get("object") == "event":  # a webhook delivery
        report = validate_event(sent)
        out["event"] = {
            "id": sent.get("id"),
            "type": sent.get("type"),
            "valid": report.valid,
            "errors": report.errors,
            "drift": report.drift,
        }
    return out


def _tick(v: bool | None) -> str:
    return "-" if v is None else ("✓" if v else "✗")


def describe(rep: dict[str, Any]) -> str:
    sid = f" {rep['session_id']}" if rep.get("session_id") else ""
    line = f"{rep['method']} {rep['path']} {rep['status']}{sid} "
    event = rep.get("event")
    if event is not None:
        line += f"event {event['type']} {_tick(event['valid'])} "
        line += "".join(f"drift: {d} " for d in event["drift"][:5])
    if rep.get("model") == NO_MODEL:
        return line + "no model"
    line += f"request {_tick(rep['request_valid'])} response {_tick(rep['response_valid'])}"
    if rep["drift"]:
        line += " drift: " + ", ".join(rep["drift"])
    if rep["errors"]:
        line += " errors: " + "; ".join(
            f"{e['in']} {e['path'] or '(root)'}: {e['message']}" for e in rep["errors"][:5]
        )
    return line


class Inspect:
    def __init__(self) -> None:
        self.redactor = Redactor()
        self.scope = Settings().scope  # the core's, read once per options update
        self.report: IO[str] | None = None
        self.seen = 0
        self.invalid_requests = 0
        self.invalid_responses = 0
        self.no_response = 0
        self.no_model = 0
        self.drift: Counter[str] = Counter()

    def load(self, loader: Loader) -> None:
        loader.add_option(
            "fc_report", str, "", "Inspect: write one JSON object per FC Session flow to this file."
        )

    def configure(self, updated: set[str]) -> None:
        settings = core.settings()  # (the core's configure ran first)
        self.scope = settings.scope
        if not core.active("inspect"):
            return
        if updated & {"fc_mode", "fc_config"}:
            self.redactor = Redactor(settings.redaction)
            core.share_redactor(self.redactor)  # mitmproxy's own log lines too
        if updated & {"fc_mode", "fc_report"}:
            self._close()
            if ctx.options.fc_report:
                try:
                    self.report = open(ctx.options.fc_report, "w", encoding="utf-8")
                except OSError as e:
                    raise exceptions.OptionsError(
                        f"{ctx.options.fc_report}: cannot write the report: {e.strerror}"
                    ) from None

    def response(self, flow: http.HTTPFlow) -> None:
        if not core.active("inspect") or not in_scope(flow, self.scope):
            return
        try:
            self._inspect(flow)
        except Exception as e:  # a bug of ours must not touch the traffic
            log.error(
                "fc-cassette inspect: could not judge %s %s: %s",
                flow.request.method,
                self.redactor.redact_text(flow.request.path.split("?", 1)[0]),
                type(e).__name__,
            )

    def _inspect(self, flow: http.HTTPFlow) -> None:
        rep = self.redactor.redact_value(
            judge(interaction.request_record(flow), interaction.response_record(flow))
        )
        self.seen += 1
        self.invalid_requests += rep["request_valid"] is False
        self.invalid_responses += rep["response_valid"] is False
        self.drift.update(rep["drift"])
        valid = rep["request_valid"] is not False and rep["response_valid"] is not False
        flow.marked = MARK_INVALID if not valid else (MARK_DRIFT if rep["drift"] else MARK_OK)
        if rep.get("model") == NO_MODEL:  # nothing judged: no marker, never invalid
            self.no_model += 1
            flow.marked = ""
        flow.comment = "fc-cassette: " + describe(rep)
        (log.info if valid else log.warning)("fc-cassette inspect: %s", describe(rep))
        if self.report is not None:
            self.report.write(json.dumps(rep, ensure_ascii=False, sort_keys=True) + "\n")
            self.report.flush()

    def error(self, flow: http.HTTPFlow) -> None:
        """A flow that ended without a response (upstream unreachable, reset, ...)."""
        if (
            not core.active("inspect")
            or flow.response is not None
            or not in_scope(flow, self.scope)
        ):
            return
        self.seen += 1
        self.no_response += 1
        path = self.redactor.redact_text(interaction.split_path(flow.request.path)[0])
        reason = self.redactor.redact_text(flow.error.msg if flow.error else "no response")
        line = f"{flow.request.method} {path} no response: {reason}"
        flow.marked = MARK_INVALID
        flow.comment = "fc-cassette: " + line
        log.warning("fc-cassette inspect: %s", line)
        if self.report is not None:
            rep = {
                "method": flow.request.method,
                "path": path,
                "status": None,
                "endpoint": endpoints.name_of(flow.request.method, path),
                "request_valid": None,
                "response_valid": None,
                "drift": [],
                "errors": [{"in": "response", "path": "", "message": reason}],
            }
            self.report.write(json.dumps(rep, ensure_ascii=False, sort_keys=True) + "\n")
            self.report.flush()

    def done(self) -> None:
        if core.active("inspect"):
            for line in self.summary():
                log.info("fc-cassette inspect %s", line)
        self._close()

    def summary(self) -> list[str]:
        lines = [
            f"summary: flows seen {self.seen}, invalid requests {self.invalid_requests}, "
            f"invalid responses {self.invalid_responses}, drift fields {len(self.drift)}"
            + (f", no response {self.no_response}" if self.no_response else "")
            + (f", no model {self.no_model}" if self.no_model else "")
        ]
        lines += [f"  drift: {path} ({n}x)" for path, n in sorted(self.drift.items())]
        return lines

    def _close(self) -> None:
        if self.report is not None:
            self.report.close()
            self.report = None

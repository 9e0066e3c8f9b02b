"""The recorder's steps on one exchange that need none of its state: the request decoded
while the upstream answers, the fail-closed scan of the exact text written, the
per-interaction log line, the webhook document, and the Stripe-shaped answers a client
gets instead of a response (not recorded, a live key refused)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from mitmproxy import http

from fc_cassette.exchange import interaction
from fc_cassette.mitm.scope import in_scope
from fc_cassette.redact.learned import learned_pattern
from fc_cassette.redact.redactor import Redactor
from fc_cassette.redact.scanner import scan
from fc_cassette.stripe_api import errors as stripe_errors

if TYPE_CHECKING:
    from fc_cassette.mitm.record_plan import Active
    from fc_cassette.stripe_api.validation import Verdict


class SecretLeft(Exception):
    """The scanner found a secret in a serialized entry; it must not be written."""


PRE_DECODED = "fc-cassette/request-record"  # flow.metadata: (fingerprint, record)
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


def webhook_doc(event: dict[str, Any], app_status: int | None, after: int) -> dict[str, Any]:
    """The webhook document appended after interaction ``after`` (not yet redacted)."""
    return {
        "webhook": {
            "after": after,
            "id": event["id"],
            "type": event["type"],
            "app_status": app_status,
            "body": {"json": event},
        }
    }


def _fingerprint(flow: http.HTTPFlow) -> tuple:
    """Everything :func:`interaction.request_record` reads from a request."""
    r = flow.request
    return (r.method, r.scheme, r.pretty_host, r.port, r.path, r.headers.fields, r.raw_content)


def _decode_while_forwarded(flow: http.HTTPFlow, active: Active) -> None:
    """Decode the request of a flow about to be forwarded (and recorded) while the
    upstream answers: scheduled on the event loop, it runs once mitmproxy awaits the
    upstream, off the response's critical path. The response hook uses it only if the
    request is still exactly what was decoded (:func:`_request_record`). Redaction
    stays in the response hook: placeholder numbers follow the cassette's order, and
    credentials learned from the response come first (:meth:`Redactor.redact_entry`)."""

    def decode() -> None:
        if flow.response is not None or not in_scope(flow, active.settings.scope):
            return
        try:
            flow.metadata[PRE_DECODED] = (_fingerprint(flow), interaction.request_record(flow))
        except Exception:  # noqa: BLE001 - decided again (and refused) in the response hook
            flow.metadata.pop(PRE_DECODED, None)

    try:
        asyncio.get_running_loop().call_soon(decode)
    except RuntimeError:  # no event loop (a unit test calling the hook): nothing to overlap
        pass


def _request_record(flow: http.HTTPFlow) -> dict:
    """The request's record: decoded while it was forwarded if it has not changed since."""
    pre = flow.metadata.pop(PRE_DECODED, None)
    if pre is not None and pre[0] == _fingerprint(flow):
        return pre[1]  # (popped: used once; redaction makes a copy, never edits it)
    return interaction.request_record(flow)


def _header(record: dict, name: str) -> str | None:
    for k, v in record["headers"].items():
        if k.lower() == name:
            return v if isinstance(v, str) else v[0]
    return None


def _fail_closed(text: str, learned: dict[str, str] | None = None) -> None:
    findings = scan(text)
    if learned and learned_pattern(learned).search(text):
        raise SecretLeft(
            "a credential learned from an Authorization header is left after redaction"
        )
    if findings:
        kinds = ", ".join(sorted({f.kind for f in findings}))
        raise SecretLeft(
            f"the secret scanner found {len(findings)} secret(s) left after redaction ({kinds})"
        )


def _summary_line(seq: int, entry: dict[str, Any], checked: Verdict, redactor: Redactor) -> str:
    """``#3 POST /v1/financial_connections/sessions -> 200 fcsess_… valid``, redacted:
    method, path and id come from the redacted entry; the verdict's drift paths are the
    traffic's own keys, which can carry a secret, so it is redacted here. Each piece
    is redacted alone: our own text stands between any two pieces of the traffic (the
    status, the verdict's first words), so no secret of the traffic spans two."""
    req, resp = entry["request"], entry["response"]
    body = interaction.body_value(resp.get("body"))
    sid = body.get("id") if isinstance(body, dict) else None
    parts = [f"#{seq} {req['method']} {req['path']} -> {resp['status']}"]
    if sid:
        parts.append(str(sid))
    if checked.reports:
        parts.append(redactor.redact_text(checked.summary()))
    return " ".join(parts)


def entry_of(
    flow: http.HTTPFlow,
    request: dict[str, Any],
    response: dict[str, Any],
    timing: bool,
    checked: Verdict,
) -> dict[str, Any]:
    """The interaction to record (not yet redacted), with ``checked``, the models' verdict
    of it (the recorder's: :func:`fc_cassette.stripe_api.validation.verdict`)."""
    entry: dict[str, Any] = {"request": request, "response": response}
    entry["validation"] = {k: r.as_dict() for k, r in checked.reports.items()}
    resp = flow.response
    if timing and resp is not None and resp.timestamp_end and flow.request.timestamp_start:
        entry["duration_ms"] = round((resp.timestamp_end - flow.request.timestamp_start) * 1000, 1)
    return entry

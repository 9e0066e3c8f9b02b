"""Model checks of a recorded exchange, routed by endpoint (``validation.validate``).

An FC endpoint's request parameters (form body for POST, query for GET) and its
response (2xx: the endpoint's object; otherwise Stripe's error envelope) give a
:class:`~fc_cassette.models.Report` each: ``{"request": ..., "response": ...}``. A path
no model covers gives :data:`NO_MODEL_RESULT`, ``{"model": NoModel}``: neither valid nor
invalid (recorded as ``validation: {model: none}``, shown as "no model").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fc_cassette.stripe_api import endpoints
from fc_cassette.stripe_api.models.common import ROOT
from fc_cassette.stripe_api.models.report import Report, validate_params
from fc_cassette.stripe_api.models.validators import validate_reply

NO_MODEL = "none"


class NoModel:
    """No model applies to the exchange: nothing to check, nothing wrong."""

    valid = None
    errors: tuple = ()
    drift: tuple = ()

    def as_dict(self) -> str:
        return NO_MODEL

    def __repr__(self) -> str:
        return "NoModel()"


NO_MODEL_RESULT: dict[str, Any] = {"model": NoModel()}


def no_model(reports: dict[str, Any] | None) -> bool:
    """Whether a ``validate`` result says that no model applies."""
    return reports is not None and "model" in reports and isinstance(reports["model"], NoModel)


def _word(report: Any) -> str:
    """``ok``, ``INVALID`` or ``no model`` for one report."""
    if report is None or report.valid is None:
        return "no model"
    return "ok" if report.valid else "INVALID"


def verdicts(reports: dict[str, Any]) -> str:
    """``request ok response INVALID``, or ``no model`` when none applies."""
    if no_model(reports):
        return "no model"
    return " ".join(f"{side} {_word(r)}" for side, r in reports.items())


@dataclass(frozen=True)
class Verdict:
    """What the models say of one exchange, read the same way by inspect, show, verify
    and record's summary line: per side valid (True/False) or not judged (None), the
    errors (each with the side it is ``in``), the drift, or no model at all."""

    reports: dict[str, Any]

    @property
    def no_model(self) -> bool:
        return no_model(self.reports)

    def valid(self, side: str) -> bool | None:
        report = self.reports.get(side)
        return None if report is None else report.valid

    @property
    def request_valid(self) -> bool | None:
        return self.valid("request")

    @property
    def response_valid(self) -> bool | None:
        return self.valid("response")

    @property
    def drift(self) -> list[str]:
        return sorted({d for r in self.reports.values() for d in r.drift})

    def errors(self, side: str | None = None) -> list[dict[str, Any]]:
        """Errors of one side, or of both with the side they are ``in``."""
        if side is not None:
            report = self.reports.get(side)
            return [] if report is None or report.valid else list(report.errors)
        return [{"in": s, **e} for s, r in self.reports.items() for e in r.errors]

    def fields(self) -> dict[str, Any]:
        """The verdict's keys in inspect's report and show's table (``model: none``
        only when no model applies)."""
        out: dict[str, Any] = {
            "request_valid": self.request_valid,
            "response_valid": self.response_valid,
            "drift": self.drift,
        }
        if self.no_model:
            out["model"] = NO_MODEL
        return out

    def summary(self) -> str:
        """``request ok response INVALID drift: a, b`` (record's and replay's lines)."""
        line = verdicts(self.reports)
        return line + (" drift: " + ", ".join(self.drift) if self.drift else "")

    def as_record(self) -> dict[str, Any]:
        """The ``validation`` mapping stored with a recorded entry."""
        return {k: r.as_dict() for k, r in self.reports.items()}


def verdict(request: dict[str, Any], response: dict[str, Any] | None) -> Verdict:
    """The one verdict of an exchange (see :class:`Verdict`)."""
    return Verdict(validate(request, response) or {})


def _bad(message: str) -> Report:
    return Report(False, [{"path": ROOT, "message": message}], [])


def _request_report(ep: endpoints.Endpoint, request: dict[str, Any]) -> Report:
    if ep.params_in_body:
        body = request.get("body") or {}
        if body and "form" not in body:
            return _bad(f"{ep.name} body is not form-encoded")
        return validate_params(ep.params, body.get("form", {}))
    query = request.get("query")
    if not isinstance(query, dict):
        return _bad("query is not decodable")
    return validate_params(ep.params, query)


def validate(request: dict[str, Any], response: dict[str, Any] | None) -> dict[str, Any]:
    """Model checks of an exchange; ``{"model": NoModel}`` when no model applies."""
    found = endpoints.match(request["method"], request["path"])
    if found is None:
        return NO_MODEL_RESULT
    ep = found[0]
    out: dict[str, Any] = {"request": _request_report(ep, request)}
    if response is not None:
        rbody = response.get("body") or {}
        if "json" in rbody:
            out["response"] = validate_reply(ep.response, response["status"], rbody["json"])
        else:
            out["response"] = _bad("response body is not JSON")
    return out

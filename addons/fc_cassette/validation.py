"""Model checks of a recorded exchange, routed by endpoint (``interaction.validate``).

An FC endpoint's request parameters (form body for POST, query for GET) and its
response (2xx: the endpoint's object; otherwise Stripe's error envelope) give a
:class:`~fc_cassette.models.Report` each: ``{"request": ..., "response": ...}``. A path
no model covers gives :data:`NO_MODEL_RESULT`, ``{"model": NoModel}``: neither valid nor
invalid (recorded as ``validation: {model: none}``, shown as "no model").
"""

from __future__ import annotations

from typing import Any

from . import endpoints
from .models import ROOT, Report, validate_params, validate_reply

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
    return bool(reports) and "model" in reports and isinstance(reports["model"], NoModel)


def verdict(report: Any) -> str:
    """``ok``, ``INVALID`` or ``no model`` for one report."""
    if report is None or report.valid is None:
        return "no model"
    return "ok" if report.valid else "INVALID"


def verdicts(reports: dict[str, Any]) -> str:
    """``request ok response INVALID``, or ``no model`` when none applies."""
    if no_model(reports):
        return "no model"
    return " ".join(f"{side} {verdict(r)}" for side, r in reports.items())


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


def validate(request: dict[str, Any], response: dict[str, Any] | None
             ) -> dict[str, Any]:
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

"""Parameter checks derived from the request models, in Stripe's wording.

:func:`check_params` runs a request model (``fc_cassette.models``) over decoded
parameters and turns its first problem into the error Stripe gives: unknown
parameters (top level or nested) first, then missing ones, then the first shape error
in the model's field order. Only ID patterns are left to the handlers (an id of the
wrong shape is a ``resource_missing`` lookup in Stripe's wording, not a shape error).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from fc_cassette.simulator.errors import (
    MAX_STRING,
    PATTERN_MISMATCH,
    StripeError,
    bracket_param,
    clip,
    invalid,
    loc_param,
    missing,
    one_of,
    unknown,
)
from fc_cassette.stripe_api.models.common import FORM_INT_ERRORS
from fc_cassette.stripe_api.models.report import ParamError, param_errors


def _value_at(params: Any, loc: tuple) -> Any:
    for el in loc:
        try:
            params = params[el]
        except (KeyError, IndexError, TypeError):
            return None
    return params


def _shape_error(err: ParamError, params: dict[str, Any]) -> StripeError:
    p = loc_param(err.loc)
    if err.kind in FORM_INT_ERRORS:
        value = _value_at(params, err.loc)
        if not isinstance(value, str):
            return invalid(p, "Invalid integer")
        return invalid(p, f"Invalid integer: {clip(value)}", "parameter_invalid_integer")
    if err.kind == "literal_error" and err.allowed:
        return invalid(p, f"Invalid {p}: must be one of {one_of(err.allowed)}")
    if err.kind == "list_type":
        return invalid(p, "Invalid array")
    if err.kind in ("model_type", "model_attributes_type", "dict_type"):
        return invalid(p, "Invalid hash")
    if err.kind == "string_too_long":
        return invalid(p, f"Invalid {p}: must be at most {MAX_STRING} characters")
    if err.kind == "string_type":
        return invalid(p, f"Invalid {p}: must be a string")
    return invalid(p or None, f"Invalid {p or 'request'}")


def check_params(model: type[BaseModel], params: dict[str, Any]) -> list[ParamError]:
    """Raise Stripe's error for the first problem of ``params`` under ``model``; return
    the ID pattern mismatches left for the handler's own (``resource_missing``) wording."""
    errors, drift = param_errors(model, params)
    for err in errors:
        if err.kind == "extra_forbidden":
            raise unknown(loc_param(err.loc))
    if drift:
        raise unknown(bracket_param(drift[0]))
    for err in errors:
        if err.kind == "missing":
            raise missing(loc_param(err.loc))
    for err in errors:
        if err.kind != PATTERN_MISMATCH:
            raise _shape_error(err, params)
    return errors

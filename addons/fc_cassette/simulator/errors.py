"""Stripe-shaped errors for the simulator, and parameter checks derived from the models.

:func:`check_params` runs a request model (``fc_cassette.models``) over decoded
parameters and turns its first problem into the error Stripe gives: unknown
parameters (top level or nested) first, then missing ones, then the first shape error
in the model's field order. Only ID patterns are left to the handlers (an id of the
wrong shape is a ``resource_missing`` lookup in Stripe's wording, not a shape error).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from fc_cassette.stripe_api import errors as stripe_errors
from fc_cassette.stripe_api.models.common import FORM_INT_ERRORS
from fc_cassette.stripe_api.models.report import ParamError, param_errors

ECHO_LIMIT = 100  # longest user-supplied text echoed inside an error message
MAX_STRING = 5000
_KEY_PREFIXES = ("sk_test_", "sk_live_", "rk_test_", "rk_live_", "pk_test_", "pk_live_")
PATTERN_MISMATCH = "string_pattern_mismatch"


class StripeError(Exception):
    """A Stripe error response, raised inside handlers and turned into a SimResponse."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type_: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.type = status, message, type_
        self.code, self.param = code, param
        self.headers = dict(headers or {})

    def body(self) -> dict[str, Any]:
        return stripe_errors.body(
            self.message, type_=self.type, code=self.code, param=self.param, doc_url=True
        )


def clip(text: str, limit: int = ECHO_LIMIT) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


def invalid(param: str | None, message: str, code: str | None = None) -> StripeError:
    return StripeError(400, message, code=code, param=param)


def missing(param: str) -> StripeError:
    return invalid(param, f"Missing required param: {param}.", "parameter_missing")


def unknown(param: str) -> StripeError:
    return invalid(param, f"Received unknown parameter: {clip(param)}", "parameter_unknown")


def no_such(kind: str, value: str, param: str, status: int = 404) -> StripeError:
    """Stripe's ``resource_missing``: ``No such financialconnections.account: 'fca_x'``."""
    return StripeError(
        status, f"No such {kind}: '{clip(value)}'", code="resource_missing", param=param
    )


def only_one_of(*params: str) -> StripeError:
    return invalid(
        params[-1], f"You may only specify one of these parameters: {', '.join(params)}."
    )


def one_of(values: tuple[str, ...]) -> str:
    if len(values) == 1:
        return values[0]
    if len(values) == 2:
        return f"{values[0]} or {values[1]}"
    return ", ".join(values[:-1]) + f", or {values[-1]}"


def bracket_param(path: str) -> str:
    """A models dotted error path -> Stripe's bracket form.

    ``account_holder.type`` -> ``account_holder[type]``; ``permissions[1]`` stays;
    ``filters.countries[0]`` -> ``filters[countries][0]``.
    """
    if not path:
        return ""
    parts = path.split(".")
    out = parts[0]
    for part in parts[1:]:
        name, sep, rest = part.partition("[")
        out += f"[{name}]" + (sep + rest if sep else "")
    return out


def loc_param(loc: tuple) -> str:
    """A pydantic location -> Stripe's bracket form (``("permissions", 1)`` ->
    ``permissions[1]``)."""
    return str(loc[0]) + "".join(f"[{x}]" for x in loc[1:]) if loc else ""


def mask_key(key: str) -> str:
    """Never the whole key: a known prefix, ``****`` and at most the last four characters."""
    prefix = next((p for p in _KEY_PREFIXES if key.startswith(p)), "")
    rest = key[len(prefix) :]
    tail = rest[-4:] if len(rest) >= 8 else ""
    tail = "".join(c if c.isprintable() and c.isascii() else "?" for c in tail)
    return f"{prefix}****{tail}"


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

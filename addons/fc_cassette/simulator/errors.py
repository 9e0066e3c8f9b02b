"""Stripe-shaped errors for the simulator: :class:`StripeError` and the wording of the
usual ones (invalid, missing, unknown parameters, no such object). The parameter checks
derived from the request models that raise them: :mod:`.params`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fc_cassette.stripe_api import errors as stripe_errors

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

"""Validation and reporting over the declarative models: never raises, always a Report.

A :class:`Report`'s errors carry real list indices (``accounts.data[0].balance.type``)
and its drift paths (unknown fields: reported, never rejected) collapse indices
(``accounts.data[].new_field``), de-duplicated and sorted. :func:`param_errors` gives
the simulator the raw facts (location, kind, allowed values) it words Stripe's way.
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Union

from pydantic import BaseModel, ValidationError

from fc_cassette.stripe_api.models.common import ROOT, TAGS, IdShape

_MAX_MESSAGE = 300
_ID_OR_OBJECT_MESSAGE = "Input should be an ID string or an object"
_QUOTED = re.compile(r"'((?:[^'\\]|\\.)*)'")


@dataclass(frozen=True)
class Report:
    """Outcome of one validation: errors fail it, drift (unknown fields) does not."""

    valid: bool
    errors: list[dict] = field(default_factory=list)
    drift: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "valid": self.valid,
            "errors": [{"path": e["path"], "message": e["message"]} for e in self.errors],
            "drift": list(self.drift),
        }


# ------------------------------------------------------------------------------ drift walk
# Shapes mirror the models: a _ModelShape knows its field names, a _ListShape its items,
# a _UnionShape picks by JSON type. ``None`` is a leaf or an opaque object (free keys).
class _ModelShape:
    __slots__ = ("fields",)

    def __init__(self) -> None:
        self.fields: dict[str, Any] = {}


class _ListShape:
    __slots__ = ("item",)

    def __init__(self, item: Any) -> None:
        self.item = item


class _UnionShape:
    __slots__ = ("for_dict", "for_list", "for_str")

    def __init__(self, for_dict: Any, for_list: Any, for_str: Any = None) -> None:
        self.for_dict = for_dict
        self.for_list = for_list
        self.for_str = for_str  # an IdShape: an expandable field's id


_MODEL_SHAPES: dict[type, _ModelShape] = {}


def _union_shape(annotation: Any) -> Any:
    members: list[Any] = []
    for a in typing.get_args(annotation):
        m = _shape(a)  # a nested union (an optional expandable field) is flattened
        members += [m.for_dict, m.for_list, m.for_str] if isinstance(m, _UnionShape) else [m]
    for_dict = next((m for m in members if isinstance(m, _ModelShape)), None)
    for_list = next((m for m in members if isinstance(m, _ListShape)), None)
    for_str = next((m for m in members if isinstance(m, IdShape)), None)
    if for_dict is None and for_list is None:
        return for_str
    if for_list is None and for_str is None:
        return for_dict
    return _UnionShape(for_dict, for_list, for_str)


def _shape(annotation: Any) -> Any:
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        args = typing.get_args(annotation)
        return next((m for m in args[1:] if isinstance(m, IdShape)), None) or _shape(args[0])
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        cached = _MODEL_SHAPES.get(annotation)
        if cached is None:
            cached = _MODEL_SHAPES[annotation] = _ModelShape()
            for name, info in annotation.model_fields.items():
                # (pydantic moves a field's own Annotated metadata to info.metadata)
                id_shape = next((m for m in info.metadata if isinstance(m, IdShape)), None)
                cached.fields[info.alias or name] = id_shape or _shape(info.annotation)
        return cached
    if origin is list:
        return _ListShape(_shape(typing.get_args(annotation)[0]))
    if origin is Union or origin is types.UnionType:
        return _union_shape(annotation)
    return None  # scalars, Literal, dict[...] maps and external objects


def _join(path: str, key: Any) -> str:
    key = key if isinstance(key, str) else str(key)
    return f"{path}.{key}" if path else key


def _walk(value: Any, shape: Any, path: str, out: set[str]) -> None:
    if isinstance(shape, _UnionShape):
        shape = (
            shape.for_list
            if isinstance(value, list)
            else shape.for_str
            if isinstance(value, str)
            else shape.for_dict
        )
    if isinstance(shape, IdShape):
        if isinstance(value, str) and not shape.regex.fullmatch(value):
            out.add(f"{path} (not an {shape.prefix} id)")
    elif isinstance(shape, _ModelShape) and isinstance(value, dict):
        for key, sub in value.items():
            if key not in shape.fields:
                out.add(_join(path, key))
            elif shape.fields[key] is not None:
                _walk(sub, shape.fields[key], _join(path, key), out)
    elif isinstance(shape, _ListShape) and isinstance(value, list) and shape.item is not None:
        for item in value:
            _walk(item, shape.item, path + "[]", out)


def _drift(value: Any, model: type[BaseModel], *, top_level_unknown_is_error: bool) -> list[str]:
    shape = _shape(model)
    out: set[str] = set()
    if not top_level_unknown_is_error:
        _walk(value, shape, "", out)
    elif isinstance(value, dict):
        for key, sub in value.items():
            sub_shape = shape.fields.get(key) if isinstance(key, str) else None
            if sub_shape is not None:
                _walk(sub, sub_shape, key, out)
    return sorted(out)


# ---------------------------------------------------------------------------- error paths
def _clean_loc(loc: tuple) -> tuple:
    return tuple(el for el in loc if el not in TAGS)


def _path(loc: tuple) -> str:
    out = ""
    for el in _clean_loc(loc):
        if isinstance(el, int) and not isinstance(el, bool):
            out += f"[{el}]"
        else:
            el = str(el)
            out = f"{out}.{el}" if out else el
    return out or ROOT


def _message(err: Mapping[str, Any]) -> str:
    etype = err.get("type")
    loc = err.get("loc") or ()
    if etype == "extra_forbidden" and loc:
        return f"Received unknown parameter: {loc[-1]}"
    if etype in ("string_type", "model_type", "dict_type") and loc and loc[-1] in TAGS:
        return _ID_OR_OBJECT_MESSAGE
    if etype in ("model_type", "model_attributes_type", "dict_type"):
        return "Input should be an object"
    msg = str(err.get("msg", "invalid"))
    return msg if len(msg) <= _MAX_MESSAGE else msg[: _MAX_MESSAGE - 3] + "..."


def _errors(exc: ValidationError) -> list[dict]:
    seen: set[tuple[str, str]] = set()
    out: list[dict] = []
    for err in exc.errors(include_url=False, include_context=False, include_input=False):
        item = (_path(tuple(err.get("loc") or ())), _message(err))
        if item not in seen:
            seen.add(item)
            out.append({"path": item[0], "message": item[1]})
    return out


def _internal_error(exc: BaseException) -> dict:
    return {"path": ROOT, "message": f"internal validation error: {type(exc).__name__}"}


def run(model: type[BaseModel], value: Any, *, top_level_unknown_is_error: bool) -> Report:
    """Validate ``value`` against ``model``; never raises."""
    errors: list[dict] = []
    drift: list[str] = []
    try:
        if not isinstance(value, dict):
            kind = "null" if value is None else type(value).__name__
            errors.append({"path": ROOT, "message": f"Input should be an object, not {kind}"})
        else:
            try:
                model.model_validate(value)
            except ValidationError as exc:
                errors = _errors(exc)
            drift = _drift(value, model, top_level_unknown_is_error=top_level_unknown_is_error)
    except Exception as exc:  # runs inside a proxy: never raise
        errors.append(_internal_error(exc))
    return Report(valid=not errors, errors=errors, drift=drift)


def validate_params(model: type[BaseModel], params: Any) -> Report:
    """Decoded request parameters (unknown top-level keys are errors)."""
    return run(model, params, top_level_unknown_is_error=True)


def validate_object(model: type[BaseModel], obj: Any) -> Report:
    """A parsed JSON response object (unknown fields anywhere are drift)."""
    return run(model, obj, top_level_unknown_is_error=False)


def status_error(status: Any) -> Report | None:
    """A Report for a status that is not an integer, else None."""
    if isinstance(status, bool) or not isinstance(status, int):
        return Report(
            valid=False,
            errors=[{"path": ROOT, "message": f"status should be an integer, not {status!r:.40}"}],
        )
    return None


# -------------------------------------------------------------- raw facts for the simulator
@dataclass(frozen=True)
class ParamError:
    """One pydantic error of request parameters, as data: where, what kind, and for an
    enum the allowed values (in the model's order)."""

    loc: tuple
    kind: str
    allowed: tuple[str, ...] = ()


def param_errors(
    model: type[BaseModel], params: dict[str, Any]
) -> tuple[list[ParamError], list[str]]:
    """The errors (in pydantic's order) and the drift paths (unknown nested keys) of
    ``params``. Raises nothing pydantic would not: callers pass a dict."""
    errors: list[ParamError] = []
    try:
        model.model_validate(params)
    except ValidationError as exc:
        for err in exc.errors(include_url=False, include_input=False):
            ctx = err.get("ctx") or {}
            allowed = tuple(m.group(1) for m in _QUOTED.finditer(str(ctx.get("expected", ""))))
            errors.append(
                ParamError(_clean_loc(tuple(err.get("loc") or ())), str(err.get("type")), allowed)
            )
    drift = []
    for d in _drift(params, model, top_level_unknown_is_error=True):
        m = _ID_DRIFT.fullmatch(d)
        if m is None:
            drift.append(d)
        else:  # an id of another shape: the caller words it (the simulator: no such id)
            errors.append(ParamError(tuple(m.group(1).split(".")), ID_SHAPE_MISMATCH, ()))
    return errors, drift


ID_SHAPE_MISMATCH = "string_pattern_mismatch"  # pydantic's own name, as before
_ID_DRIFT = re.compile(r"([^ ]+) \(not an [^ ]+ id\)")

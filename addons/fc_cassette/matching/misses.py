"""What a replay miss says: the fields that differ from the closest recording, and what
fixes it.

A normalized request (see :mod:`.matching`) is flattened to ``{field: value}`` with
keys such as ``form.permissions[1]``, ``query.expand[0]``, ``json.metadata[key]`` and
``header.stripe-account``. A clause is written per differing field, with these rules
so that no clause is false or redundant:

- an empty container is not "something" next to a filled one: recorded ``query: {}``
  against ``?foo=bar`` is the one clause ``query.foo: recorded nothing, got 'bar'``;
- a header the request does not carry is ``no header`` (not ``''``);
- a body of another kind (JSON against a form recording, or no body) is one clause,
  ``body: recorded a form body, got a JSON body``, not one per field;
- JSON values keep their type: ``1`` and ``'1'`` differ and are shown so.

:func:`fix_unmatched` / :func:`fix_exhausted` give the line that follows: the command
that records the request, or the config key that would ignore the differing field.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass
from typing import Any

BODY_KINDS = ("form", "json", "text", "base64", "none")
KIND_NAMES = {"form": "a form body", "json": "a JSON body", "text": "a text body",
              "base64": "a binary body", "none": "no body"}
MAX_QUOTED = 200  # characters of a value quoted in a miss explanation
MAX_NAMED = 3     # parameters or headers named in a fix


@dataclass(frozen=True)
class Shown:
    """A flattened value that is not a string: shown as its text, equal only to itself."""

    text: str

    def __repr__(self) -> str:
        return self.text


EMPTY_MAP, EMPTY_LIST = Shown("an empty mapping"), Shown("an empty list")
NO_HEADER, NOTHING = Shown("no header"), Shown("nothing")


def _walk(value: Any, key: str, out: dict[str, Any], typed: bool) -> None:
    if isinstance(value, dict):
        if not value:
            out[key] = EMPTY_MAP
        for k, v in value.items():
            _walk(v, f"{key}.{k}" if "." not in key and "[" not in key else f"{key}[{k}]",
                  out, typed)
    elif isinstance(value, list):
        if not value:
            out[key] = EMPTY_LIST
        for i, v in enumerate(value):
            _walk(v, f"{key}[{i}]", out, typed)
    elif isinstance(value, str) or not typed:
        out[key] = value if isinstance(value, str) else str(value)
    else:
        out[key] = Shown(json.dumps(value))


def flat(norm: dict[str, Any]) -> dict[str, Any]:
    """``{field: value}`` of a normalized request (values: str or :class:`Shown`)."""
    out: dict[str, Any] = {}
    for section, value in norm.items():
        if section == "header":
            for name, v in value.items():
                out[f"header.{name}"] = NO_HEADER if v is None else str(v)
        elif value is not None and section != "none":
            _walk(value, section, out, typed=section == "json")
    return out


def body_kind(norm: dict[str, Any]) -> str:
    return next((k for k in BODY_KINDS if k in norm), "none")


def _in_body(key: str, kind: str) -> bool:
    return key == kind or key.startswith((kind + ".", kind + "["))


def _has_under(fields: dict[str, Any], key: str) -> bool:
    return any(k.startswith((key + ".", key + "[")) for k in fields)


def diff(recorded: dict[str, Any], got: dict[str, Any],
         got_flat: dict[str, Any] | None = None) -> list[tuple[str, Any, Any]]:
    """``(field, recorded value, got value)`` per difference; ``field`` ``body`` with
    the two kinds' names when the bodies are of different kinds. ``got_flat``:
    ``flat(got)`` when already known."""
    a, b = flat(recorded), got_flat if got_flat is not None else flat(got)
    out: list[tuple[str, Any, Any]] = []
    ka, kb = body_kind(recorded), body_kind(got)
    if ka != kb:
        out.append(("body", Shown(KIND_NAMES[ka]), Shown(KIND_NAMES[kb])))
        a = {k: v for k, v in a.items() if not _in_body(k, ka)}
        b = {k: v for k, v in b.items() if not _in_body(k, kb)}
    for k in sorted(a.keys() | b.keys()):
        va, vb = a.get(k, NOTHING), b.get(k, NOTHING)
        if va == vb:
            continue
        # an empty container against a filled one: the filled one's fields say it all
        if (va in (EMPTY_MAP, EMPTY_LIST) and vb is NOTHING and _has_under(b, k)) or (
                vb in (EMPTY_MAP, EMPTY_LIST) and va is NOTHING and _has_under(a, k)):
            continue
        out.append((k, va, vb))
    return out


def clip(text: str) -> str:
    return text if len(text) <= MAX_QUOTED else f"{text[:MAX_QUOTED]}... ({len(text)} chars)"


def clauses(found: list[tuple[str, Any, Any]], limit: int = 5) -> list[str]:
    """One clause per difference, at most ``limit`` (then ``... and N more``)."""
    out = [f"{clip(k)}: recorded {clip(repr(va))}, got {clip(repr(vb))}"
           for k, va, vb in found[:limit]]
    if len(found) > limit:
        out.append(f"... and {len(found) - limit} more")
    return out


def differences(recorded: dict[str, Any], got: dict[str, Any], limit: int = 5) -> list[str]:
    return clauses(diff(recorded, got), limit)


# --------------------------------------------------------------------------- fixes
def _record_cmd(cassette: str) -> str:
    return (f"fc-cassette record --record-mode new_episodes {shlex.quote(cassette)} "
            "(pytest: --fc-record-mode=new_episodes)")


def _param(key: str) -> str | None:
    """``form.account_holder[customer]`` -> ``account_holder.customer`` (the dotted name
    ``matching.ignore_params`` takes; a list is ignored whole: ``permissions``)."""
    section, _, rest = key.partition(".")
    if section not in ("query", "form", "json") or not rest:
        return None
    parts = [p for p in re.split(r"[\[\]]+", rest) if p]
    names: list[str] = []
    for p in parts:
        if p.isdigit() and names:
            break
        names.append(p)
    return ".".join(names) or None


def _named(items: list[str]) -> str:
    unique = list(dict.fromkeys(items))
    return ", ".join(unique[:MAX_NAMED]) + (", ..." if len(unique) > MAX_NAMED else "")


def fix_unmatched(found: list[tuple[str, Any, Any]], cassette: str) -> str:
    """The line after an unmatched miss's differences."""
    keys = [k for k, _, _ in found]
    record = f"To fix: record this request: {_record_cmd(cassette)}"
    if not keys or any(k in ("method", "path", "body", "text", "base64") for k in keys):
        return record
    ways = []
    params = [p for k in keys if (p := _param(k))]
    if params:
        ways.append(f"matching.ignore_params: [{_named(params)}]")
    headers = [k.split(".", 1)[1] for k in keys if k.startswith("header.")]
    if headers:
        ways.append(f"remove {_named(headers)} from matching.headers")
    if "host" in keys:
        ways.append("matching.match_host: false")
    if not ways:
        return record
    return (f"To fix: if the new request is intended, re-record: {_record_cmd(cassette)}; "
            f"if the difference does not matter, ignore it in the config: "
            f"{'; '.join(ways)}")


def fix_exhausted(cassette: str) -> str:
    return (f"To fix: record the extra call: {_record_cmd(cassette)}; or answer it with "
            "the last recording: replay.on_exhausted: repeat_last")


def fix_empty(cassette: str) -> str:
    return f"To fix: record it: {_record_cmd(cassette)}"

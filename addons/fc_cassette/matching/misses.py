"""What a replay miss says: the fields that differ from the closest recording, and what
fixes it.

A normalized request (see :mod:`.matching`) is flattened to ``{field: value}`` with
keys such as ``form.permissions[1]``, ``query.expand[0]``, ``json.metadata.key`` and
``header.stripe-account`` (the one field-path notation:
:mod:`fc_cassette.exchange.fieldpath`). A clause is written per differing field, with
these rules so that no clause is false or redundant:

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
import shlex
from dataclasses import dataclass
from typing import Any

from fc_cassette.exchange import fieldpath

BODY_KINDS = ("form", "json", "text", "base64", "none")
KIND_NAMES = {
    "form": "a form body",
    "json": "a JSON body",
    "text": "a text body",
    "base64": "a binary body",
    "none": "no body",
}
MAX_QUOTED = 200  # characters of a value quoted in a miss explanation
MAX_NAMED = 3  # parameters or headers named in a fix
# explanations a run keeps (per rewind in replay, per run in record) for the control
# endpoint's status and the summary; the rest are counted, not kept
MAX_KEPT_MISSES = 1000


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
            _walk(v, fieldpath.key(key, k), out, typed)
    elif isinstance(value, list):
        if not value:
            out[key] = EMPTY_LIST
        for i, v in enumerate(value):
            _walk(v, fieldpath.index(key, i), out, typed)
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


def diff(
    recorded: dict[str, Any], got: dict[str, Any], got_flat: dict[str, Any] | None = None
) -> list[tuple[str, Any, Any]]:
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
            vb in (EMPTY_MAP, EMPTY_LIST) and va is NOTHING and _has_under(a, k)
        ):
            continue
        out.append((k, va, vb))
    return out


def clip(text: str) -> str:
    return text if len(text) <= MAX_QUOTED else f"{text[:MAX_QUOTED]}... ({len(text)} chars)"


def clauses(found: list[tuple[str, Any, Any]], limit: int = 5) -> list[str]:
    """One clause per difference, at most ``limit`` (then ``... and N more``)."""
    out = [
        f"{clip(k)}: recorded {clip(repr(va))}, got {clip(repr(vb))}" for k, va, vb in found[:limit]
    ]
    if len(found) > limit:
        out.append(f"... and {len(found) - limit} more")
    return out


def differences(recorded: dict[str, Any], got: dict[str, Any], limit: int = 5) -> list[str]:
    return clauses(diff(recorded, got), limit)


# --------------------------------------------------------------------------- fixes
@dataclass(frozen=True)
class Where:
    """What a fix's command needs to know of a cassette: its path, the upstream its
    recordings were made against (``None`` when it holds none) and, for a request that
    names ids the cassette's own responses returned, the first such id and the
    interaction that returned it."""

    cassette: str
    upstream: str | None = None
    recorded_id: tuple[str, Any] | None = None


def record_command(where: Where | str, mode: str = "new_episodes") -> str:
    """The command (and its pytest options) that records in ``mode``, pointed at the
    upstream the cassette was recorded from, so a copy of it does not go to
    api.stripe.com by default."""
    if isinstance(where, str):
        where = Where(where)
    up = where.upstream
    cli = f"fc-cassette record --record-mode {mode} {shlex.quote(where.cassette)}"
    if not up:  # an empty cassette: no recording says where it came from
        return (
            f"{cli} --upstream URL (pytest: --fc-record-mode={mode} --fc-upstream URL), "
            "URL being the API to record from (https://api.stripe.com, or a simulator's "
            "http://127.0.0.1:PORT)"
        )
    up = shlex.quote(up)
    return f"{cli} --upstream {up} (pytest: --fc-record-mode={mode} --fc-upstream {up})"


def _rerecord(where: Where) -> str | None:
    """The fix when the request names an id only the cassette knows: ``new_episodes``
    would forward it to an upstream that never created that id (a 404 at best), so the
    whole flow is recorded again."""
    if where.recorded_id is None:
        return None
    rid, seq = where.recorded_id
    return (
        f"record the whole test again (this request names {clip(rid)}, which the "
        f"cassette's interaction {seq} returned; new_episodes would forward this request "
        f"alone, to an upstream that does not know that id): {record_command(where, 'all')}"
    )


def _param(key: str) -> str | None:
    """``form.account_holder.customer`` -> ``account_holder.customer`` (the name
    ``matching.ignore_params`` takes; a list is ignored whole: ``permissions``)."""
    section, _, rest = key.partition(".")
    if section not in ("query", "form", "json") or not rest:
        return None
    return fieldpath.param(rest) or None


def _named(items: list[str]) -> str:
    unique = list(dict.fromkeys(items))
    return ", ".join(unique[:MAX_NAMED]) + (", ..." if len(unique) > MAX_NAMED else "")


def fix_unmatched(found: list[tuple[str, Any, Any]], where: Where | str) -> str:
    """The line after an unmatched miss's differences."""
    where = Where(where) if isinstance(where, str) else where
    keys = [k for k, _, _ in found]
    rerecord = _rerecord(where)
    record = f"To fix: {rerecord or f'record this request: {record_command(where)}'}"
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
    intended = rerecord or f"re-record: {record_command(where)}"
    return (
        f"To fix: if the new request is intended, {intended}; "
        f"if the difference does not matter, ignore it in the config: "
        f"{'; '.join(ways)}"
    )


def fix_exhausted(where: Where | str) -> str:
    where = Where(where) if isinstance(where, str) else where
    rerecord = _rerecord(where)
    record = rerecord or f"record the extra call: {record_command(where)}"
    return (
        f"To fix: {record}; or answer it with the last recording: replay.on_exhausted: repeat_last"
    )


def fix_empty(where: Where | str) -> str:
    where = Where(where) if isinstance(where, str) else where
    return f"To fix: record it: {record_command(where)}"

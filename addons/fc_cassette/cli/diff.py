"""``fc-cassette diff A B [--json]``: what changed between two recordings of a flow.

The review step of a re-record. Interactions are paired in recorded order by their
shape: method and path with object ids replaced (``GET /v1/.../sessions/{id}``), so a
session re-created with a new id still pairs with its old recording; the longest
common run of shapes pairs up (:class:`difflib.SequenceMatcher`), the rest are removed
(only in A) or added (only in B). A pair is compared field by field, by dotted path,
over the request (method, path, scheme, host, port, query, headers, decoded body) and
the response (status, reason, headers, decoded body); schema drift (the entries'
``validation`` drift lists, or the models' verdict where an entry has none) is
reported as added or gone, and a change of validity as such.

Left out, as the cassette format calls them volatile: an entry's ``duration_ms``
(timing), its ``seq`` (the position, which pairing already accounts for), and the
header's ``created``, ``generator`` and ``mitmproxy`` (when and with what it was
written). The header's ``stripe_version`` is compared.

Exit 0 when both hold the same exchanges, 1 when they differ, 2 when either cannot be
read (one ``fc-cassette:`` line on stderr). Every printed value is redacted and one
line (see :func:`fc_cassette.cli.lines.clean`).
"""

from __future__ import annotations

import difflib
import fnmatch
import json
import re
import sys
from typing import Any

from fc_cassette.cassette import store as cassette_io
from fc_cassette.cli import webhook_entries
from fc_cassette.cli.lines import clean, emit
from fc_cassette.exchange import fieldpath
from fc_cassette.matching.closest import ID_WORD, shape as path_shape
from fc_cassette.redact.redactor import Redactor
from fc_cassette.stripe_api import validation

VOLATILE_HEADER = ("created", "generator", "mitmproxy")
# HTTP headers that differ on every recording (ignored unless --keep-volatile)
VOLATILE_HTTP_HEADERS = frozenset(
    {
        "date",
        "request-id",
        "idempotency-key",
        "original-request",
        "stripe-request-id",
        "x-request-id",
        "cf-ray",
        "user-agent",
        "x-stripe-client-user-agent",
        "content-length",
        "stripe-should-retry",
        "x-stripe-priority-routing-enabled",
        "x-stripe-routing-context-priority-tier",
        "x-wc",
        "server-timing",
    }
)
_ID_TOKEN = re.compile(rf"(?<![A-Za-z0-9_])({ID_WORD})(?![A-Za-z0-9_])")
REQUEST_FIELDS = ("method", "path", "scheme", "host", "port", "query", "headers", "body")
RESPONSE_FIELDS = ("status", "reason", "headers", "body")
MAX_TEXT_CHANGES = 40  # per interaction in the text output; --json lists every one
VALUE = 120  # widest value quoted in the text output

_MISSING = object()


def shape(it: dict[str, Any]) -> str:
    req = it["request"]
    return f"{str(req['method']).upper()} {path_shape(str(req['path']))}"


def flatten(value: Any, prefix: str, out: dict[str, Any]) -> dict[str, Any]:
    """``{"a": {"b": [1]}}`` -> ``{"a.b[0]": 1}``; an empty container is a leaf."""
    if isinstance(value, dict) and value:
        for k, v in value.items():
            flatten(v, fieldpath.key(prefix, k), out)
    elif isinstance(value, list) and value:
        for i, v in enumerate(value):
            flatten(v, fieldpath.index(prefix, i), out)
    else:
        out[prefix] = value
    return out


def _fields(it: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for side, names in (("request", REQUEST_FIELDS), ("response", RESPONSE_FIELDS)):
        part = it.get(side) or {}
        for name in names:
            if name in part:
                flatten(part[name], f"{side}.{name}", out)
    return out


class IdPairs:
    """Ids of A paired with ids of B as the two recordings use them: the first time an
    id of A stands where an id of B does (same prefix), they are paired; later, the
    same pair is no change, and an id of A against another id of B is one. So a flow
    re-recorded with new ids shows only what really changed."""

    def __init__(self) -> None:
        self.a2b: dict[str, str] = {}
        self.b2a: dict[str, str] = {}

    def _pair(self, x: str, y: str) -> bool:
        if x.split("_", 1)[0] != y.split("_", 1)[0]:
            return False
        if self.a2b.get(x, y) != y or self.b2a.get(y, x) != x:
            return False
        self.a2b[x], self.b2a[y] = y, x
        return True

    def same(self, va: Any, vb: Any) -> bool:
        if not (isinstance(va, str) and isinstance(vb, str)) or va == vb:
            return va == vb and type(va) is type(vb)
        pa, pb = _ID_TOKEN.split(va), _ID_TOKEN.split(vb)  # text, id, text, id, ...
        if len(pa) != len(pb) or len(pa) == 1 or pa[::2] != pb[::2]:
            return False
        return all(self._pair(x, y) for x, y in zip(pa[1::2], pb[1::2], strict=True))


def _ignored(path: str, ignore: tuple[str, ...], keep_volatile: bool) -> bool:
    if (
        not keep_volatile
        and ".headers." in path
        and (path.split(".headers.", 1)[1].split("[", 1)[0].lower() in VOLATILE_HTTP_HEADERS)
    ):
        return True
    return any(fnmatch.fnmatchcase(path, pattern) for pattern in ignore)


def changes(
    a: dict[str, Any],
    b: dict[str, Any],
    ids: IdPairs | None = None,
    ignore: tuple[str, ...] = (),
    keep_volatile: bool = True,
) -> list[dict[str, Any]]:
    """Changed fields of a pair, by path: ``{"path", "a", "b"}`` (a side that lacks
    the field has no key). With ``ids``, values that differ only by consistently paired
    ids are the same; paths matching an ``ignore`` glob (and volatile headers, unless
    ``keep_volatile``) are left out."""
    fa, fb = _fields(a), _fields(b)
    out = []
    for path in sorted(set(fa) | set(fb)):
        if _ignored(path, ignore, keep_volatile):
            continue
        va, vb = fa.get(path, _MISSING), fb.get(path, _MISSING)
        if ids is not None and va is not _MISSING and vb is not _MISSING and ids.same(va, vb):
            continue
        if va != vb or type(va) is not type(vb):
            change: dict[str, Any] = {"path": path}
            if va is not _MISSING:
                change["a"] = va
            if vb is not _MISSING:
                change["b"] = vb
            out.append(change)
    return out


def _validation(it: dict[str, Any]) -> dict[str, dict[str, Any]]:
    stored = it.get("validation")
    if isinstance(stored, dict):
        return {k: v for k, v in stored.items() if isinstance(v, dict)}
    reports = validation.validate(it["request"], it["response"]) or {}
    return {k: r.as_dict() for k, r in reports.items()}


def _validity(side: str, ra: dict[str, Any], rb: dict[str, Any]) -> list[dict[str, Any]]:
    if ra.get("valid") is None or rb.get("valid") is None or bool(ra["valid"]) == bool(rb["valid"]):
        return []
    errors = rb.get("errors") or ra.get("errors") or []
    return [
        {
            "kind": "now valid" if rb["valid"] else "now invalid",
            "side": side,
            "field": "; ".join(f"{e.get('path') or '(root)'}: {e.get('message')}" for e in errors),
        }
    ]


def drift_changes(a: dict[str, Any], b: dict[str, Any]) -> list[dict[str, Any]]:
    va, vb = _validation(a), _validation(b)
    out = []
    for side in ("request", "response"):
        ra, rb = va.get(side) or {}, vb.get(side) or {}
        da, db = set(ra.get("drift") or []), set(rb.get("drift") or [])
        for kind, fields in (("drift added", db - da), ("drift gone", da - db)):
            out += [{"kind": kind, "side": side, "field": f} for f in sorted(fields)]
        out += _validity(side, ra, rb)
    return out


def _entry(it: dict[str, Any], n: int) -> dict[str, Any]:
    return {
        "n": n,
        "seq": it.get("seq"),
        "method": it["request"]["method"],
        "path": it["request"]["path"],
        "status": it["response"]["status"],
    }


def compare(
    a: cassette_io.Cassette,
    b: cassette_io.Cassette,
    ignore: tuple[str, ...] = (),
    keep_volatile: bool = False,
) -> dict[str, Any]:
    """The differences of two cassettes, as data (what ``--json`` prints)."""
    ids = IdPairs()
    ia, ib = a.interactions, b.interactions
    matcher = difflib.SequenceMatcher(
        None, [shape(x) for x in ia], [shape(x) for x in ib], autojunk=False
    )
    result: dict[str, Any] = {
        "a": str(a.path),
        "b": str(b.path),
        "same": 0,
        "changed": [],
        "removed": [],
        "added": [],
        "header": [],
    }
    for op, a0, a1, b0, b1 in matcher.get_opcodes():
        if op != "equal":
            result["removed"] += [_entry(ia[i], i + 1) for i in range(a0, a1)]
            result["added"] += [_entry(ib[j], j + 1) for j in range(b0, b1)]
            continue
        for i, j in zip(range(a0, a1), range(b0, b1), strict=False):
            fields = changes(ia[i], ib[j], ids, ignore, keep_volatile)
            drift = drift_changes(ia[i], ib[j])
            if not fields and not drift:
                result["same"] += 1
                continue
            result["changed"].append(
                {
                    "a": _entry(ia[i], i + 1),
                    "b": _entry(ib[j], j + 1),
                    "fields": fields,
                    "drift": drift,
                }
            )
    for key in sorted((set(a.header) | set(b.header)) - set(VOLATILE_HEADER)):
        if a.header.get(key) != b.header.get(key):
            result["header"].append({"path": key, "a": a.header.get(key), "b": b.header.get(key)})
    result["webhooks"] = webhook_entries.compare(a, b)
    result["differ"] = bool(
        result["changed"]
        or result["removed"]
        or result["added"]
        or result["header"]
        or result["webhooks"]["a"]
        or result["webhooks"]["b"]
    )
    return result


def _value(change: dict[str, Any], side: str, redactor: Redactor) -> str:
    if side not in change:
        return "(absent)"
    return clean(json.dumps(change[side], ensure_ascii=False, default=str), redactor, VALUE)


def _label(e: dict[str, Any]) -> str:
    return f"{e['method']} {e['path']} -> {e['status']}"


def text_lines(result: dict[str, Any], redactor: Redactor) -> list[str]:
    lines = [
        f"header: {h['path']}: {_value(h, 'a', redactor)} -> {_value(h, 'b', redactor)}"
        for h in result["header"]
    ]
    for c in result["changed"]:
        lines.append(f"~ A#{c['a']['n']} / B#{c['b']['n']} {_label(c['b'])}")
        shown = c["fields"][:MAX_TEXT_CHANGES]
        lines += [
            f"    {f['path']}: {_value(f, 'a', redactor)} -> {_value(f, 'b', redactor)}"
            for f in shown
        ]
        if len(c["fields"]) > len(shown):
            lines.append(f"    ... and {len(c['fields']) - len(shown)} more (--json lists all)")
        lines += [f"    {d['kind']} ({d['side']}): {d['field']}" for d in c["drift"]]
    lines += [f"- A#{e['n']} {_label(e)}: only in A (removed)" for e in result["removed"]]
    lines += [f"+ B#{e['n']} {_label(e)}: only in B (added)" for e in result["added"]]
    lines += webhook_entries.diff_lines(result)
    return [clean(line, redactor) for line in lines]


def main(
    path_a: str,
    path_b: str,
    as_json: bool = False,
    ignore: tuple[str, ...] = (),
    keep_volatile: bool = False,
) -> int:
    redactor = Redactor()
    loaded = []
    for path in (path_a, path_b):
        try:
            loaded.append(cassette_io.load(path))
        except cassette_io.CassetteError as e:
            emit(clean(f"fc-cassette: {e}", redactor), sys.stderr)
            return 2
    for c in loaded:
        for w in c.warnings:
            emit(clean(f"fc-cassette: warning: {w}", redactor), sys.stderr)
    result = compare(loaded[0], loaded[1], ignore=ignore, keep_volatile=keep_volatile)
    if as_json:
        emit(
            json.dumps(
                redactor.redact_value(result),
                indent=2,
                ensure_ascii=False,
                default=lambda o: redactor.redact_text(str(o)),
            )
        )
    else:
        for line in text_lines(result, redactor):
            emit(line)
        a, b = loaded
        emit(
            clean(
                f"diff: {len(a.interactions)} vs {len(b.interactions)} interaction(s): "
                f"{result['same']} same, {len(result['changed'])} changed, "
                f"{len(result['removed'])} removed, {len(result['added'])} added"
                + (f", header differs ({len(result['header'])})" if result["header"] else ""),
                redactor,
            )
        )
    emit(None)
    return 1 if result["differ"] else 0

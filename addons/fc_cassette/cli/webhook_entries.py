"""Webhook documents in the offline commands: ``show``'s rows (in place, after the
interaction each one followed) and ``diff``'s comparison. What ``verify`` says of them
is in :mod:`.problems` (their verdict is
:func:`fc_cassette.stripe_api.models.validate_event`: the envelope, and ``data.object``
of an FC account event as an Account; unknown fields are drift, never a problem).
"""

from __future__ import annotations

from typing import Any

from fc_cassette.cassette import store as cassette_io
from fc_cassette.stripe_api.models import validate_event

MARK = "webhook"  # show's "method" column for a webhook row


def _hooks(c: cassette_io.Cassette) -> list[dict[str, Any]]:
    return [d["webhook"] for d in c.webhooks]


def row(w: dict[str, Any]) -> dict[str, Any]:
    report = validate_event(w["body"]["json"])
    return {
        "n": "-",
        "method": MARK,
        "path": w["type"],
        "status": w.get("app_status"),
        "ids": [w["id"]],
        "request_valid": None,
        "response_valid": report.valid,
        "drift": list(report.drift),
        "after": w["after"],
    }


def in_place(c: cassette_io.Cassette, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``rows`` (one per interaction, in order) with a row per webhook after the row of
    the interaction it followed (``after: 0``: first)."""
    by_after: dict[Any, list[dict[str, Any]]] = {}
    for w in _hooks(c):
        by_after.setdefault(w["after"], []).append(row(w))
    out = list(by_after.pop(0, []))
    for r in rows:
        out.append(r)
        out += by_after.pop(r.get("n"), [])
    for rest in by_after.values():  # after an interaction that is not there
        out += rest
    return out


def compare(a: cassette_io.Cassette, b: cassette_io.Cassette) -> dict[str, Any]:
    """diff: the two sequences of events (type and position; ids are random per
    recording, so they are not compared)."""
    sa = [(w["type"], w["after"]) for w in _hooks(a)]
    sb = [(w["type"], w["after"]) for w in _hooks(b)]
    if sa == sb:
        return {"same": len(sa), "a": [], "b": []}
    return {
        "same": 0,
        "a": [{"type": t, "after": n} for t, n in sa],
        "b": [{"type": t, "after": n} for t, n in sb],
    }


def diff_lines(result: dict[str, Any]) -> list[str]:
    hooks = result.get("webhooks") or {}
    if not hooks.get("a") and not hooks.get("b"):
        return []
    show = lambda side: ", ".join(f"{w['type']}@{w['after']}" for w in hooks[side]) or "-"  # noqa: E731
    return [f"~ webhooks: A: {show('a')}", f"           B: {show('b')}"]

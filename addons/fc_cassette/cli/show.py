"""``fc-cassette show CASSETTE [--json]``: the interactions of a cassette, one per row.

Exit 0 with the listing (invalid interactions are marked, not refused), 2 when the file
cannot be read as a cassette (one line on stderr). What is printed is redacted (a
hand-edited cassette may hold a secret in a path; ``verify`` is the command that
reports it), and each table row stays one line.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from fc_cassette.cassette import store as cassette_io
from fc_cassette.cli import webhook_entries
from fc_cassette.cli.lines import clean, emit
from fc_cassette.exchange import interaction
from fc_cassette.redact.redactor import Redactor
from fc_cassette.stripe_api import endpoints
from fc_cassette.stripe_api.validation import NO_MODEL, verdict

CELL = 120  # widest table cell; --json keeps whole values


def rows(c: cassette_io.Cassette) -> list[dict[str, Any]]:
    out = []
    for it in c.interactions:
        req, resp = it["request"], it["response"]
        body = interaction.body_value(resp.get("body"))
        # the session first (from the path, else the body), then its linked accounts
        ids = [
            i
            for i in dict.fromkeys([endpoints.object_id_in_path(req["path"]), *_ids(body)])
            if i is not None
        ]
        row = {
            "n": it.get("seq"),
            "method": req["method"],
            "path": req["path"],
            "status": resp["status"],
            "ids": ids,
            **verdict(req, resp).fields(),
        }
        out.append(row)
    return webhook_entries.in_place(c, out) if c.webhooks else out


def _ids(body: Any) -> list[str]:
    """Top-level id of a response, and the ids of its listed objects (a session's
    linked accounts, a list's data)."""
    if not isinstance(body, dict):
        return []
    found = [body["id"]] if isinstance(body.get("id"), str) else []
    accounts = body.get("accounts")
    listed = accounts.get("data") if isinstance(accounts, dict) else body.get("data")
    if isinstance(listed, list):
        found += [a["id"] for a in listed if isinstance(a, dict) and isinstance(a.get("id"), str)]
    return found


def _mark(v: bool | None, row: dict[str, Any] | None = None) -> str:
    if row is not None and row.get("model") == NO_MODEL:
        return "no model"
    return "-" if v is None else ("ok" if v else "INVALID")


def main(path: str, as_json: bool = False) -> int:
    redactor = Redactor()
    try:
        c = cassette_io.load(path)
    except cassette_io.CassetteError as e:
        emit(clean(str(e), redactor), sys.stderr)
        return 2
    for w in c.warnings:
        emit(clean(f"warning: {w}", redactor), sys.stderr)
    table = redactor.redact_value(rows(c))
    header = redactor.redact_value(c.header)
    if as_json:
        emit(
            json.dumps(
                {
                    "cassette": str(c.path),
                    "header": header,
                    "interactions": [r for r in table if r["method"] != webhook_entries.MARK],
                    "webhooks": [r for r in table if r["method"] == webhook_entries.MARK],
                },
                indent=2,
                default=lambda o: redactor.redact_text(str(o)),
            )
        )
        emit(None)
        return 0
    head = ["n", "method", "path", "status", "ids", "request", "response"]
    lines = [
        [
            clean(x, redactor, CELL)
            for x in (
                str(r["n"]),
                str(r["method"]),
                str(r["path"]),
                str(r["status"]),
                ",".join(r["ids"]) or "-",
                _mark(r["request_valid"], r),
                _mark(r["response_valid"], r)
                + (f" drift: {','.join(r['drift'])}" if r["drift"] else ""),
            )
        ]
        for r in table
    ]
    widths = [max(len(x) for x in col) for col in zip(head, *lines, strict=True)]
    for line in [head, *lines]:
        emit("  ".join(x.ljust(w) for x, w in zip(line, widths, strict=True)).rstrip())
    emit(
        clean(
            f"{len(c.interactions)} interaction(s)"
            + (f", {len(c.webhooks)} webhook(s)" if c.webhooks else "")
            + f" in {c.path} (format v{header['fc_cassette']}, "
            f"{header.get('generator') or '-'}, "
            f"Stripe-Version {header.get('stripe_version') or '-'})",
            redactor,
        )
    )
    emit(None)
    return 0

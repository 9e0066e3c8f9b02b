"""``fc-cassette show CASSETTE [--json]``: the interactions of a cassette, one per row."""

from __future__ import annotations

import json
import sys
from typing import Any

from . import cassette as cassette_io
from . import interaction


def rows(c: cassette_io.Cassette) -> list[dict[str, Any]]:
    out = []
    for it in c.interactions:
        req, resp = it["request"], it["response"]
        body = interaction.body_value(resp.get("body"))
        ids = sorted({v for v in _ids(body)} | ({interaction.session_id_in_path(req["path"])}
                                                 - {None}))
        reports = interaction.validate(req, resp) or {}
        out.append({
            "n": it.get("seq"),
            "method": req["method"],
            "path": req["path"],
            "status": resp["status"],
            "ids": ids,
            "request_valid": reports["request"].valid if "request" in reports else None,
            "response_valid": reports["response"].valid if "response" in reports else None,
            "drift": sorted({d for r in reports.values() for d in r.drift}),
        })
    return out


def _ids(body: Any) -> list[str]:
    """Top-level and linked-account ids of a session response."""
    if not isinstance(body, dict):
        return []
    found = [body["id"]] if isinstance(body.get("id"), str) else []
    accounts = body.get("accounts")
    if isinstance(accounts, dict) and isinstance(accounts.get("data"), list):
        found += [a["id"] for a in accounts["data"] if isinstance(a, dict)
                  and isinstance(a.get("id"), str)]
    return found


def _mark(v: bool | None) -> str:
    return "-" if v is None else ("ok" if v else "INVALID")


def main(path: str, as_json: bool = False) -> int:
    try:
        c = cassette_io.load(path)
    except cassette_io.CassetteError as e:
        print(str(e), file=sys.stderr)
        return 2
    for w in c.warnings:
        print(f"warning: {w}", file=sys.stderr)
    table = rows(c)
    if as_json:
        print(json.dumps({"cassette": str(c.path), "header": c.header, "interactions": table},
                         indent=2, default=str))
        return 0
    head = ["n", "method", "path", "status", "ids", "request", "response"]
    lines = [[str(r["n"]), r["method"], r["path"], str(r["status"]), ",".join(r["ids"]),
              _mark(r["request_valid"]), _mark(r["response_valid"])
              + (f" drift: {','.join(r['drift'])}" if r["drift"] else "")] for r in table]
    widths = [max(len(x) for x in col) for col in zip(head, *lines)]
    for line in [head, *lines]:
        print("  ".join(x.ljust(w) for x, w in zip(line, widths)).rstrip())
    print(f"{len(table)} interaction(s) in {c.path} (format v{c.header['fc_cassette']}, "
          f"{c.header.get('generator')}, Stripe-Version {c.header.get('stripe_version')})")
    return 0

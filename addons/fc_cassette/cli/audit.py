"""``fc-cassette audit PATH...``: hold old cassettes against today's rules.

For each cassette (files, or folders searched recursively, see
:mod:`fc_cassette.cassette.files`), one finding per problem, each ``file:line: category
(kind): message``:

- ``secret``: anything the current secret scanner finds, in the file as written
  (comments and a torn tail included) and in the loaded values (YAML escapes, folded
  lines); the kind and encoding are printed, the value never;
- ``invalid`` / ``drift``: what the current models say of each exchange (a response they
  reject, a request they reject that Stripe answered 2xx, fields they do not know);
- ``structure``: ``verify``'s checks (cut short, ``seq`` out of order, a response replay
  cannot send);
- ``api_version``: a Stripe API version (the header's, or a request's ``Stripe-Version``)
  other than ``--api-version`` (or the config's ``audit.api_version``);
- ``age``: older than ``--max-age-days`` (or ``audit.max_age_days``), by the header's
  ``created``, else the file's last git commit, else its modification time.

Exit 0 when clean, 1 with findings, 2 on bad input (a path that does not exist, a file
that is not a readable cassette, a bad config): one ``fc-cassette:`` line each.
"""

from __future__ import annotations

import bisect
import datetime as dt
import json
import os
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from fc_cassette.cassette import store as cassette_io
from fc_cassette.cassette.files import MissingPath, cassette_files
from fc_cassette.cassette.stream import line_at as _line_at
from fc_cassette.cli.lines import clean, emit
from fc_cassette.exchange.wire import WIRE_ERRORS, wire_fields
from fc_cassette.redact.scanner import scan
from fc_cassette.settings.config import ConfigError, Settings, load_settings
from fc_cassette.stripe_api.validation import verdict


@dataclass
class Finding:
    line: int | None
    category: str  # secret, invalid, drift, structure, api_version, age
    kind: str  # the secret's kind, the side of an invalid exchange, ...
    message: str


@dataclass
class Context:
    api_version: str | None
    max_age_days: int | None
    now: dt.datetime
    want_age: bool = True  # find out when each cassette was recorded (git, mtime)


def _secrets(c: cassette_io.Cassette, starts: list[int]) -> list[Finding]:
    out: list[Finding] = []
    flagged: set[int] = set()
    for f in scan(c.text):  # the file as written: comments and a torn tail included
        flagged.add(bisect.bisect_right(starts, f.offset) - 1)
        out.append(
            Finding(
                _line_at(c.text, f.offset),
                "secret",
                f.kind,
                f"possible secret ({f.kind}, {f.encoding})",
            )
        )
    # ... and as loaded: YAML escapes and folded lines hide a key from a text scan
    for i, doc in enumerate([c.header, *c.interactions]):
        if i in flagged:
            continue
        for f in scan(json.dumps(doc, ensure_ascii=False, default=str))[:1]:
            line = _line_at(c.text, starts[i]) if i < len(starts) else None
            out.append(
                Finding(
                    line,
                    "secret",
                    f.kind,
                    f"possible secret ({f.kind}), written with YAML escapes or line folding",
                )
            )
    return out


def _exchanges(c: cassette_io.Cassette, starts: list[int]) -> list[Finding]:
    out: list[Finding] = [
        Finding(None, "structure", "cut_short", w.split(": ", 1)[-1]) for w in c.warnings
    ]
    previous = 0
    for i, it in enumerate(c.interactions, start=1):
        line = _line_at(c.text, starts[i]) if i < len(starts) else None
        req, resp, seq = it["request"], it["response"], it.get("seq")
        where = f"interaction {seq}"
        if not isinstance(seq, int) or seq <= previous:
            out.append(
                Finding(
                    line, "structure", "seq", f"{where}: seq {seq!r} does not follow seq {previous}"
                )
            )
        previous = max(previous, seq) if isinstance(seq, int) else previous
        try:
            wire_fields(resp)
        except WIRE_ERRORS as e:
            out.append(
                Finding(line, "structure", "wire", f"{where}: the response cannot be replayed: {e}")
            )
            continue
        v = verdict(req, resp)
        out += [
            Finding(
                line,
                "invalid",
                "response",
                f"{where}: response invalid at {e['path'] or '(root)'}: {e['message']}",
            )
            for e in v.errors("response")
        ]
        if 200 <= int(resp["status"]) < 300:
            out += [
                Finding(
                    line,
                    "invalid",
                    "request",
                    f"{where}: request invalid at "
                    f"{e['path'] or '(root)'}: {e['message']} (yet Stripe answered "
                    f"{resp['status']})",
                )
                for e in v.errors("request")
            ]
        if v.drift:
            out.append(
                Finding(
                    line,
                    "drift",
                    "response",
                    f"{where}: fields the current models do not know: {', '.join(v.drift)}",
                )
            )
    return out


def api_versions(c: cassette_io.Cassette) -> list[str]:
    """Every Stripe API version a cassette holds: its header's, and the ``Stripe-Version``
    header of each request (the version the client asked for) and response (the one
    Stripe answered with)."""
    found: dict[str, None] = {}
    if isinstance(c.header.get("stripe_version"), str):
        found[c.header["stripe_version"]] = None
    for it in c.interactions:
        for part in ("request", "response"):
            for name, value in (it[part].get("headers") or {}).items():
                if str(name).lower() == "stripe-version":
                    for v in value if isinstance(value, list) else [value]:
                        found[str(v)] = None
    return list(found)


def _versions(c: cassette_io.Cassette, ctx: Context) -> list[Finding]:
    if not ctx.api_version:
        return []
    held = api_versions(c)
    if not held:
        return [
            Finding(
                1,
                "api_version",
                "unknown",
                "holds no Stripe API version (no "
                f"Stripe-Version header), so it cannot be checked against "
                f"{ctx.api_version}",
            )
        ]
    other = [v for v in held if v != ctx.api_version]
    return (
        [
            Finding(
                1,
                "api_version",
                "stripe_version",
                f"recorded with Stripe API version {', '.join(other)}, not {ctx.api_version}",
            )
        ]
        if other
        else []
    )


def recorded_at(path: Path, header: dict[str, Any]) -> tuple[dt.datetime | None, str]:
    """When a cassette was recorded, and how that is known."""
    created = header.get("created")
    if isinstance(created, str):
        try:
            when = dt.datetime.fromisoformat(created)
            return (when if when.tzinfo else when.replace(tzinfo=dt.UTC)), "created"
        except ValueError:
            pass
    try:
        r = subprocess.run(
            ["git", "log", "-1", "--format=%cI", "--", path.name],
            cwd=path.parent or ".",
            capture_output=True,
            text=True,
            timeout=30,
            stdin=subprocess.DEVNULL,
        )
        if r.returncode == 0 and r.stdout.strip():
            return dt.datetime.fromisoformat(r.stdout.strip()), "git"
    except (OSError, subprocess.SubprocessError, ValueError):
        pass
    try:
        return dt.datetime.fromtimestamp(os.stat(path).st_mtime, dt.UTC), "mtime"
    except OSError:
        return None, "unknown"


def _age(c: cassette_io.Cassette, ctx: Context, report: dict[str, Any]) -> list[Finding]:
    if not ctx.want_age and ctx.max_age_days is None:
        return []  # nothing asks for it: no git process per cassette
    when, source = recorded_at(c.path, c.header)
    report["recorded"] = when.isoformat() if when else None
    report["recorded_from"] = source
    if when is None:
        return []
    days = (ctx.now - when).total_seconds() / 86400
    report["age_days"] = round(days, 1)
    if ctx.max_age_days is None or days <= ctx.max_age_days:
        return []
    return [
        Finding(
            1,
            "age",
            source,
            f"recorded {int(days)} day(s) ago ({source}: "
            f"{when.date().isoformat()}), older than {ctx.max_age_days}",
        )
    ]


def audit(c: cassette_io.Cassette, ctx: Context) -> dict[str, Any]:
    """The report of one loaded cassette: ``findings`` and what they were judged on."""
    starts = cassette_io.doc_starts(c.text)
    report: dict[str, Any] = {
        "path": clean(str(c.path)),
        "interactions": len(c.interactions),
        "api_versions": [clean(v, limit=100) for v in api_versions(c)],
    }
    found = _secrets(c, starts) + _exchanges(c, starts) + _versions(c, ctx) + _age(c, ctx, report)
    found.sort(key=lambda f: f.line or 0)
    report["findings"] = [
        {k: clean(v) if isinstance(v, str) else v for k, v in asdict(f).items()} for f in found
    ]
    return report


def _settings(config: str | None) -> Settings:
    return load_settings(config)


def main(
    paths: list[str],
    *,
    api_version: str | None = None,
    max_age_days: int | None = None,
    config: str | None = None,
    as_json: bool = False,
) -> int:
    try:
        if max_age_days is not None and max_age_days < 0:
            raise ValueError(f"--max-age-days {max_age_days}: use 0 or more days")
        settings = _settings(config)
        files = cassette_files(paths)
    except (ConfigError, MissingPath, ValueError) as e:
        emit(clean(f"fc-cassette: audit: {e}"), sys.stderr)
        return 2
    ctx = Context(
        api_version or settings.audit.api_version,
        max_age_days if max_age_days is not None else settings.audit.max_age_days,
        dt.datetime.now(dt.UTC),
        want_age=as_json,
    )
    reports, unreadable = [], 0
    for p in files:
        try:
            c = cassette_io.load(p)
        except cassette_io.CassetteError as e:
            emit(clean(f"fc-cassette: {e}"), sys.stderr)
            unreadable += 1
            continue
        reports.append(audit(c, ctx))
    found = sum(len(r["findings"]) for r in reports)
    if as_json:
        emit(
            json.dumps(
                {
                    "cassettes": reports,
                    "findings": found,
                    "unreadable": unreadable,
                    "api_version": ctx.api_version,
                    "max_age_days": ctx.max_age_days,
                },
                indent=2,
            )
        )
    else:
        for r in reports:
            for f in r["findings"]:
                where = f"{r['path']}:{f['line']}" if f["line"] else r["path"]
                emit(clean(f"{where}: {f['category']} ({f['kind']}): {f['message']}"))
    emit(None)
    emit(
        f"audit: {len(files)} cassette(s), {found} finding(s)"
        + (f", {unreadable} unreadable" if unreadable else ""),
        sys.stderr,
    )
    return 2 if unreadable else (1 if found else 0)

"""``fc-cassette verify CASSETTE...``: readable, valid and secret-free, or say why.

Exit 0 when every cassette is clean, 1 when problems are found (each printed as
``cassette:entry N: problem``), 2 when a file cannot be read as a cassette at all.

What counts as a problem: a cassette cut short; a response the current models reject;
a request the models reject although Stripe answered it with 2xx (a request that
Stripe itself refused with a 4xx is an intentional error case, not a problem); any
secret the record mode's scanner finds anywhere in the file.
"""

from __future__ import annotations

import bisect
import sys

from . import cassette as cassette_io
from . import interaction
from .redact import scan


def problems(c: cassette_io.Cassette) -> list[str]:
    out = [f"{c.path}: {w.split(': ', 1)[-1]}" for w in c.warnings]
    for i, it in enumerate(c.interactions, start=1):
        req, resp = it["request"], it["response"]
        reports = interaction.validate(req, resp) or {}
        where = f"{c.path}:entry {it.get('seq', i)}"
        r = reports.get("response")
        if r is not None and not r.valid:
            out += [f"{where}: response invalid at {e['path'] or '(root)'}: {e['message']}"
                    for e in r.errors]
        q = reports.get("request")
        if q is not None and not q.valid and 200 <= int(resp["status"]) < 300:
            out += [f"{where}: request invalid at {e['path'] or '(root)'}: {e['message']} "
                    f"(yet Stripe answered {resp['status']})" for e in q.errors]
    starts = _entry_starts(c.text)
    for f in scan(c.text[:c.complete_bytes] if c.warnings else c.text):
        entry = bisect.bisect_right(starts, f.offset) - 1
        label = "header" if entry <= 0 else f"entry {entry}"
        out.append(f"{c.path}:{label}: possible secret ({f.kind}): {f.excerpt}")
    return out


def _entry_starts(text: str) -> list[int]:
    starts, pos = [], 0
    while (i := text.find(cassette_io.DOC_START, pos)) >= 0:
        if i == 0 or text[i - 1] == "\n":
            starts.append(i)
        pos = i + 1
    return starts


def main(paths: list[str]) -> int:
    unreadable = found = interactions = 0
    for p in paths:
        try:
            c = cassette_io.load(p)
        except cassette_io.CassetteError as e:
            print(f"{e}", file=sys.stderr)
            unreadable += 1
            continue
        interactions += len(c.interactions)
        for line in problems(c):
            print(line)
            found += 1
    print(f"verify: {len(paths)} cassette(s), {interactions} interaction(s), {found} problem(s)"
          + (f", {unreadable} unreadable" if unreadable else ""), file=sys.stderr)
    return 2 if unreadable else (1 if found else 0)

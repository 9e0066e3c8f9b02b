"""``fc-cassette verify CASSETTE...``: readable, valid and secret-free, or say why.

Exit 0 when every cassette is clean, 1 when problems are found (each printed as
``cassette:entry N: problem``), 2 when a file cannot be read as a cassette at all.

What counts as a problem: a cassette cut short; entries whose ``seq`` does not
increase (two recorders wrote it at once, or it was edited); a response the current
models reject;
a request the models reject although Stripe answered it with 2xx (a request that
Stripe itself refused with a 4xx is an intentional error case, not a problem); any
secret the record mode's scanner finds anywhere in the file (a torn tail included: it
is still in the file, and would be committed with it).

Never a traceback and never a hang: the loader refuses a pipe or a device before
reading it, and a closed stdout (``verify ... | head``) only ends the output.
Every line printed is one line: secrets redacted (a message may quote the file, e.g.
its format version or a key name), control characters escaped, length bounded.
"""

from __future__ import annotations

import bisect
import json
import sys
from pathlib import Path

from fc_cassette.cassette import store as cassette_io
from fc_cassette.cli import webhook_entries
from fc_cassette.cli.lines import MAX_LINE as MAX_LINE, clean as clean, emit as emit
from fc_cassette.playback.state import WIRE_ERRORS, wire
from fc_cassette.redact.scanner import scan
from fc_cassette.stripe_api.validation import verdict


def problems(c: cassette_io.Cassette) -> list[str]:
    out = [f"{c.path}: {w.split(': ', 1)[-1]}" for w in c.warnings]
    previous = 0
    for i, it in enumerate(c.interactions, start=1):
        req, resp = it["request"], it["response"]
        where = f"{c.path}:entry {it.get('seq', i)}"
        seq = it.get("seq")
        if not isinstance(seq, int) or seq <= previous:
            out.append(
                f"{where}: seq {seq!r} does not follow seq {previous} (entries "
                "written by two recorders at once, or edited by hand)"
            )
        if isinstance(seq, int):
            previous = max(previous, seq)
        try:
            wire(resp)  # exactly what replay does with it at start-up
        except WIRE_ERRORS as e:
            out.append(f"{where}: the response cannot be replayed: {e}")
            continue
        v = verdict(req, resp)
        out += [
            f"{where}: response invalid at {e['path'] or '(root)'}: {e['message']}"
            for e in v.errors("response")
        ]
        if 200 <= int(resp["status"]) < 300:
            out += [
                f"{where}: request invalid at {e['path'] or '(root)'}: {e['message']} "
                f"(yet Stripe answered {resp['status']})"
                for e in v.errors("request")
            ]
    starts = cassette_io.doc_starts(c.text)
    flagged: set[str] = set()
    for f in scan(c.text):  # the file as written: comments and a torn tail included
        entry = bisect.bisect_right(starts, f.offset) - 1
        label = "header" if entry <= 0 else f"entry {entry}"
        flagged.add(label)
        out.append(f"{c.path}:{label}: possible secret ({f.kind}): {f.excerpt}")
    # ... and as loaded: YAML escapes ("\x73k_live_...") and folded lines hide a key
    # from a scan of the text, not from the loaded value
    docs = [("header", c.header)] + [
        (f"entry {i}", it) for i, it in enumerate(c.interactions, start=1)
    ]
    for label, doc in docs:
        if label in flagged:
            continue
        text = json.dumps(doc, ensure_ascii=False, default=str)
        for f in scan(text):
            out.append(
                f"{c.path}:{label}: possible secret ({f.kind}), written with YAML "
                f"escapes or line folding: {f.excerpt}"
            )
            break
    return out + webhook_entries.problems(c)


CASSETTE_SUFFIXES = (".yaml", ".yml")


def expand(paths: list[str]) -> list[str]:
    """Each folder replaced by the cassettes under it (``*.yaml``/``*.yml``, at any
    depth, sorted); files are kept as given."""
    out: list[str] = []
    for p in paths:
        folder = Path(p)
        if folder.is_dir():
            out += sorted(
                str(f) for f in folder.rglob("*") if f.suffix in CASSETTE_SUFFIXES and f.is_file()
            )
        else:
            out.append(p)
    return out


def main(paths: list[str]) -> int:
    unreadable = found = interactions = 0
    given, paths = paths, expand(paths)
    if not paths:
        emit(
            clean(f"fc-cassette: verify: no cassette (*.yaml, *.yml) under {', '.join(given)}"),
            sys.stderr,
        )
        return 2
    for p in paths:
        try:
            c = cassette_io.load(p)
        except cassette_io.CassetteError as e:
            emit(clean(str(e)), sys.stderr)
            unreadable += 1
            continue
        interactions += len(c.interactions)
        for line in problems(c):
            emit(clean(line))
            found += 1
    emit(None)
    emit(
        f"verify: {len(paths)} cassette(s), {interactions} interaction(s), {found} problem(s)"
        + (f", {unreadable} unreadable" if unreadable else ""),
        sys.stderr,
    )
    return 2 if unreadable else (1 if found else 0)

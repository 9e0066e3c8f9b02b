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

import sys
from pathlib import Path

from fc_cassette.cassette import store as cassette_io
from fc_cassette.cli.lines import MAX_LINE as MAX_LINE, clean as clean, emit as emit
from fc_cassette.cli.problems import problems

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

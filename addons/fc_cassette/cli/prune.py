"""``fc-cassette prune C --usage FILE [--usage FILE...]``: drop what no run served.

The usage files (``replay --usage-out``, the pytest plugin's ``--fc-usage-out``) name
the interactions each run served. Every interaction of ``C`` that none of them names
is removed; the others keep their text byte for byte and their ``seq`` (a gap in the
numbering is allowed: ``verify`` only asks that it increases). The cassette is
replaced atomically under its recording lock (:mod:`fc_cassette.cassette.rewrite`) and
the result is checked to load, with ``verify``'s checks, before it replaces the old one.

A usage file that does not mention ``C`` at all is refused: pruning by it would
empty the cassette. Exit 0 when done, 2 on bad input (one ``fc-cassette:`` line).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from fc_cassette.cassette import store as cassette_io, usage as cassette_usage
from fc_cassette.cassette.rewrite import documents, editing, replace
from fc_cassette.cli.lines import clean, emit
from fc_cassette.cli.problems import problems


def used_seqs(cassette: str, usage_files: list[str]) -> set[int]:
    """The seqs of ``cassette`` that the usage files name, by its real path, else (a
    usage file written in another checkout, e.g. by CI) by its path relative to here;
    raises UsageError when none of them mentions it."""
    for relative, key in (
        (False, os.path.realpath(cassette)),
        (True, os.path.relpath(os.path.realpath(cassette))),
    ):
        found = [cassette_usage.read(f, relative) for f in usage_files]
        if any(key in usage for usage in found):
            return set().union(*(usage.get(key, set()) for usage in found))
    raise cassette_usage.UsageError(
        f"no usage file names {cassette} (by its real path, or its path relative to "
        "the folder the run ran in); nothing was changed"
    )


def pruned(c: cassette_io.Cassette, used: set[int]) -> tuple[str, list[int | None]]:
    """The text of ``c`` without the interactions whose seq is not in ``used``, and the
    seqs removed."""
    texts = documents(c)
    keep = [it.get("seq") in used for it in c.interactions]
    removed = [it.get("seq") for it, k in zip(c.interactions, keep, strict=True) if not k]
    if texts is None:
        texts = [cassette_io.serialize(d) for d in [c.header, *c.interactions]]
    text = texts[0] + "".join(t for t, k in zip(texts[1:], keep, strict=True) if k)
    return text, removed


def _check(path: Path, text: str, count: int, before: set[str]) -> None:
    """The pruned text loads as ``count`` interactions and has no problem ``verify``
    would report that the cassette did not have before (fail closed)."""
    again = cassette_io.parse(text, path)
    new = set(problems(again)) - before
    if len(again.interactions) != count or new:
        raise cassette_io.CassetteError(
            path, "the pruned cassette would not be as verify-clean as before; nothing was changed"
        )


def main(cassette: str, usage_files: list[str]) -> int:
    path = Path(cassette)
    try:
        used = used_seqs(cassette, usage_files)
        with editing(path) as c:
            text, removed = pruned(c, used)
            if removed:
                _check(path, text, len(c.interactions) - len(removed), set(problems(c)))
                replace(path, text)
            kept = len(c.interactions) - len(removed)
    except (cassette_usage.UsageError, cassette_io.CassetteError) as e:
        emit(clean(f"fc-cassette: prune: {e}"), sys.stderr)
        return 2
    shown = ", ".join(str(s) for s in removed[:20]) + (", ..." if len(removed) > 20 else "")
    emit(
        clean(
            f"{path}: kept {kept}, removed {len(removed)}" + (f" (seq {shown})" if removed else "")
        )
    )
    emit(None)
    return 0

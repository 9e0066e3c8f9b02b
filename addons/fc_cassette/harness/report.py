"""One wording for what a harness reports: a cassette's misses and unrecorded exchanges
(the pytest plugin's failure, :class:`fc_cassette.harness.api.ReplayMisses`), and the session's
summary (never-used interactions, proxies started)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any


def indented(explanation: str) -> str:
    """A miss's continuation lines (its ``To fix:``) indented under its ``  - `` line."""
    return explanation.replace("\n", "\n    ")


def problems(
    status: Mapping[str, Any], seen: tuple[int, int] = (0, 0), when: str = ""
) -> list[str]:
    """The lines for a status's misses and exchanges NOT recorded beyond the first
    ``seen`` of each (``when``: e.g. ``" during teardown"``); empty when none is new."""
    misses, unrecorded = status.get("misses", []), status.get("not_recorded", [])
    cassette = status.get("cassette", "")
    lines: list[str] = []
    if len(misses) > seen[0]:
        new = misses[seen[0] :]
        lines += [f"fc-cassette: {len(new)} replay miss(es){when} against {cassette}:"]
        lines += [f"  - {indented(m)}" for m in new]
    if len(unrecorded) > seen[1]:
        new = unrecorded[seen[1] :]
        lines += [f"fc-cassette: {len(new)} exchange(s) NOT recorded{when} into {cassette}:"]
        lines += [f"  - {indented(m)}" for m in new]
    return lines


def outside_scope(status: Mapping[str, Any], seen: int) -> str | None:
    """The warning for requests outside the scope beyond the first ``seen``."""
    passed = status.get("passthrough", [])
    if len(passed) <= seen:
        return None
    return (
        f"fc-cassette: {len(passed) - seen} request(s) outside the scope, not in "
        f"{status.get('cassette', '')}: " + "; ".join(passed[seen:][:5])
    )


def summary(never_used: Mapping[Path | str, Sequence[int]], started: int) -> list[str]:
    """The session's closing lines: per cassette the interactions no test used, and how
    many proxy processes were started."""
    lines = [
        f"fc-cassette: {cassette}: interactions no test used: {', '.join(map(str, seqs))}"
        for cassette, seqs in never_used.items()
        if seqs
    ]
    if started:
        lines.append(f"fc-cassette: {started} proxy process(es) started")
    return lines

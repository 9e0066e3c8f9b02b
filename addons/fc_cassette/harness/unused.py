"""The pytest plugin's ``--fc-report-unused`` and ``--fc-usage-out``: orphans and usage.

Orphan cassettes: every cassette under a ``cassettes/`` folder beside a collected
test file (pytest-recording's layout, where the marker's default path points) and in
the folders of the cassettes markers name, that no collected test's marker names
(deselected tests count as collected: ``-k`` does not make their cassettes orphans).
Interactions no test used come from each replayed cassette's ``never_used`` (the
control endpoint's status, across rewinds), which the plugin keeps per cassette.

A usage file (:mod:`fc_cassette.cassette.usage`) says, per replayed cassette, the
interactions some test used, for ``fc-cassette prune``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from fc_cassette.cassette import store as cassette_io, usage as cassette_usage
from fc_cassette.cassette.files import cassette_files


def orphans(named: Iterable[Path], test_files: Iterable[Path]) -> list[Path]:
    """Cassettes near the tests that no marker names."""
    named = {p.resolve() for p in named}
    folders = {f.parent / "cassettes" for f in test_files} | {p.parent for p in named}
    found: list[Path] = []
    for folder in sorted(folder for folder in folders if folder.is_dir()):
        found += [p.resolve() for p in cassette_files([str(folder)])]
    return sorted(set(found) - named)


def report(
    named: Iterable[Path], test_files: Iterable[Path], never_used: Mapping[Path, list[int]]
) -> list[str]:
    """The lines ``--fc-report-unused`` prints at the end of the run."""
    lost = orphans(named, test_files)
    lines = [f"fc-cassette: {p}: no collected test uses this cassette" for p in lost]
    unused = {p: seqs for p, seqs in never_used.items() if seqs}
    lines.append(
        f"fc-cassette: unused: {len(lost)} cassette(s) no test uses, "
        f"{sum(len(s) for s in unused.values())} interaction(s) no test used in "
        f"{len(unused)} cassette(s) (prune them with 'fc-cassette prune', see "
        "docs/maintaining-cassettes.md)"
    )
    return lines


def usage(never_used: Mapping[Path, list[int]]) -> dict[str, set[int]]:
    """{real path: seqs used} of each replayed cassette."""
    out: dict[str, set[int]] = {}
    for path, unused in never_used.items():
        try:
            seqs = {it.get("seq") for it in cassette_io.load(path).interactions}
        except cassette_io.CassetteError:
            continue
        out[str(Path(path).resolve())] = {s for s in seqs if isinstance(s, int)} - set(unused)
    return out


def write_usage(target: str, never_used: Mapping[Path, list[int]]) -> str:
    """Write the usage file; the line to print."""
    try:
        cassette_usage.write(target, usage(never_used))
    except (OSError, cassette_usage.UsageError) as e:
        return (
            f"fc-cassette: cannot write the usage file {target}: "
            f"{getattr(e, 'strerror', None) or e}"
        )
    return f"fc-cassette: usage of {len(never_used)} cassette(s) written to {target}"

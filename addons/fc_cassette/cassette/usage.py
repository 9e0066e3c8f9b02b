"""Usage files: which interactions of which cassettes a run served (for ``prune``).

Written by ``fc-cassette replay --usage-out FILE`` at shutdown, and by the pytest
plugin's ``--fc-usage-out FILE``; read by ``fc-cassette prune C --usage FILE...``.
A usage file is JSON::

    {"fc_cassette_usage": 1,
     "cassettes": [{"cassette": "/abs/real/path.yaml", "relative": "cassettes/path.yaml",
                    "used": [1, 2, 5]}]}

``cassette`` is the cassette's real path (symlinks resolved) when the run served it,
``relative`` that path relative to the folder the run ran in (so a usage file written
in CI, in another checkout, still names the cassette: :func:`read` with ``relative``);
``used`` the ``seq`` of every interaction served at least once (rewinds included).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

VERSION = 1


class UsageError(ValueError):
    """A usage file that cannot be read; ``str()`` is one line naming the file."""


def dump(usage: Mapping[str, Iterable[int]]) -> str:
    rows = [
        {"cassette": real, "relative": os.path.relpath(real), "used": sorted(set(used))}
        for real, used in sorted(usage.items())
    ]
    return json.dumps({"fc_cassette_usage": VERSION, "cassettes": rows}, indent=2) + "\n"


def write(path: str | os.PathLike[str], usage: Mapping[str, Iterable[int]]) -> None:
    """Write a usage file (temp file + rename: a reader never sees half of one).
    Merges with a usage file already there, so several runs (or pytest workers)
    writing one file add up; a file there that is not a usage file is left alone
    (:class:`UsageError`)."""
    target = Path(path)
    merged: dict[str, set[int]] = {}
    if target.exists():
        merged = read(target)
    for real, used in usage.items():
        merged.setdefault(real, set()).update(used)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    tmp.write_text(dump(merged), encoding="utf-8")
    os.replace(tmp, target)


def read(path: str | os.PathLike[str], relative: bool = False) -> dict[str, set[int]]:
    """{real path of a cassette: the seqs served} (``relative``: keyed by the path
    relative to where the run ran instead); raises :class:`UsageError`."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as e:
        raise UsageError(f"{path}: cannot read the usage file: {e.strerror or e}") from None
    except (ValueError, UnicodeDecodeError) as e:
        raise UsageError(f"{path}: not a usage file (not JSON: {e})") from None
    if not isinstance(data, dict) or data.get("fc_cassette_usage") != VERSION:
        raise UsageError(
            f'{path}: not a usage file (no "fc_cassette_usage": {VERSION}); '
            "write one with 'fc-cassette replay --usage-out FILE'"
        )
    out: dict[str, set[int]] = {}
    for i, row in enumerate(data.get("cassettes") or []):
        ok = (
            isinstance(row, dict)
            and isinstance(row.get("cassette"), str)
            and isinstance(row.get("relative", ""), str)
            and isinstance(row.get("used"), list)
            and all(type(s) is int for s in row["used"])
        )
        if not ok:
            raise UsageError(
                f'{path}: cassettes[{i}]: expected {{"cassette": PATH, "used": [SEQ, ...]}}'
            )
        key = row.get("relative") if relative else row["cassette"]
        if key:
            out.setdefault(key, set()).update(row["used"])
    return out

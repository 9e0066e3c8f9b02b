"""The cassettes named by command-line paths: files as given, folders searched recursively.

A folder contributes every ``*.yaml`` / ``*.yml`` file under it whose first line that
is not blank or a comment says it is a cassette (``---`` followed by ``fc_cassette:``,
or ``fc_cassette:``), so config files and CI workflows beside the cassettes are left
alone. Hidden folders and files (``.git``, ``.venv``, a stray ``.c.yaml.123.rewrite``)
are skipped. A file named directly is always taken: the loader says if it is not one.
"""

from __future__ import annotations

import os
from pathlib import Path

SUFFIXES = (".yaml", ".yml")
_HEAD = 4096


class MissingPath(ValueError):
    """A path on the command line that does not exist."""


def looks_like_cassette(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            head = fh.read(_HEAD).decode("utf-8", "replace")
    except OSError:
        return False
    lines = [ln.strip() for ln in head.splitlines()]
    lines = [ln for ln in lines if ln and not ln.startswith("#")]
    if lines and lines[0] == "---":
        lines = lines[1:]
    return bool(lines) and lines[0].startswith("fc_cassette:")


def _walk(folder: Path) -> list[Path]:
    found = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if name.startswith(".") or not name.endswith(SUFFIXES):
                continue
            p = Path(root) / name
            if p.is_file() and looks_like_cassette(p):
                found.append(p)
    return found


def cassette_files(paths: list[str]) -> list[Path]:
    """Every cassette ``paths`` name, each once, in order; raises :class:`MissingPath`
    naming the first path that does not exist."""
    out: list[Path] = []
    seen: set[str] = set()
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            found = _walk(p)
        elif os.path.lexists(p):
            found = [p]
        else:
            raise MissingPath(f"{raw}: no such file or folder")
        for f in found:
            key = os.path.realpath(f)
            if key not in seen:
                seen.add(key)
                out.append(f)
    return out

"""A test's cassette: the path its ``fc_cassette`` marker names, or pytest-recording's
default ``cassettes/<file stem>/<[Class.]test>.yaml`` beside the test file."""

from __future__ import annotations

import re
from pathlib import Path

import pytest


def _safe(name: str) -> str:
    """A test name (parametrized ids included) as a file name: ``test_x[a/b c]`` ->
    ``test_x-a-b-c``; a secret in it (a key as a parameter id: values the run was given)
    is redacted first. A name without parameters is the test function's, source code
    already on disk: it goes without the redactor (whose import, pydantic's with it, cost
    each pytest run about 0.25 s of CPU while it collected)."""
    if "[" in name:
        from fc_cassette.redact.redactor import Redactor

        name = Redactor().redact_text(name)
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-.") or "test"


def default_cassette(item: pytest.Item) -> Path:
    """pytest-recording's default: ``cassettes/<file stem>/<[Class.]test>.yaml``."""
    name = _safe(item.name)
    cls = getattr(item, "cls", None)
    if cls is not None:
        name = f"{cls.__name__}.{name}"
    path = Path(item.path)
    return path.parent / "cassettes" / path.stem / f"{name}.yaml"


_CASSETTE = pytest.StashKey[tuple]()  # (marker, its cassette): computed once per test


def cassette_of(item: pytest.Item, marker: pytest.Mark) -> Path:
    """The cassette ``marker`` names for ``item`` (resolved), or its default."""
    known = item.stash.get(_CASSETTE, None)
    if known is not None and known[0] is marker:  # (asked at collection, setup, hint)
        return known[1]
    path = marker.args[0] if marker.args else marker.kwargs.get("path")
    cassette = (
        default_cassette(item).resolve() if not path else (Path(item.path).parent / path).resolve()
    )
    item.stash[_CASSETTE] = (marker, cassette)
    return cassette

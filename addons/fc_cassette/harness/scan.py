"""Whether a pytest run will use fc-cassette, read from its test files before pytest
collects them (so the replay proxy can start while pytest collects)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

SCAN_BUDGET = 2000  # test files read at most; beyond, assume the proxy is needed
# the marker as code uses it (decorator, pytestmark, a list of marks), not in a sentence
_MARKER = re.compile(rb"mark\.fc_cassette(?:\(|[ \t]*(?:[\r\n,\])]|$))")
_SKIP_DIRS = {"node_modules", "__pycache__", "site-packages", "venv", ".venv", ".git"}


def mentions_fc(config: pytest.Config, args: list[str] | None = None) -> bool:
    """Whether a test file (or conftest.py) of this run uses the fc_cassette marker: a
    quick scan of the paths pytest was given (``args``, else ``config.args``), to start
    the proxy ahead only when a test is likely to use it."""
    budget = SCAN_BUDGET
    for arg in (config.args if args is None else args) or [str(config.invocation_params.dir)]:
        root = Path(config.invocation_params.dir, arg.split("::", 1)[0])
        files = [root] if root.is_file() else candidate_files(root)
        for path in files:
            budget -= 1
            if budget < 0:
                return True
            try:
                if _MARKER.search(path.read_bytes()):
                    return True
            except OSError:
                continue
    return False


def candidate_files(root: Path) -> Iterator[Path]:
    for folder, dirs, names in os.walk(root):
        dirs[:] = [d for d in dirs if not d.startswith(".") and d not in _SKIP_DIRS]
        for name in names:
            if name.endswith(".py") and (
                name.startswith("test_") or name == "conftest.py" or name.endswith("_test.py")
            ):
                yield Path(folder, name)

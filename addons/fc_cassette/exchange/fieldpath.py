"""The one notation of a field inside a request or response: ``a.b[0].c``.

A mapping's key follows a dot, a list's index is in brackets:
``form.account_holder.customer``, ``query.expand[0]``, ``json.metadata.key``,
``request.body.form.permissions[1]``. Miss explanations (:mod:`fc_cassette.matching.misses`),
``fc-cassette diff`` (:mod:`fc_cassette.cli.diff`) and ``matching.ignore_params``
(:func:`fc_cassette.matching.matcher.normalize`) all write or read it, so a field a miss
names can be copied into the config as :func:`param` gives it.
"""

from __future__ import annotations

import re

_SPLIT = re.compile(r"[.\[\]]+")


def key(prefix: str, name: object) -> str:
    """The path of mapping key ``name`` under ``prefix`` (``""``: the top)."""
    return f"{prefix}.{name}" if prefix else str(name)


def index(prefix: str, i: int) -> str:
    """The path of list item ``i`` under ``prefix``."""
    return f"{prefix}[{i}]"


def split(path: str) -> list[str]:
    """``a.b[0]`` -> ``["a", "b", "0"]`` (``a[b]``, the form-encoding style, is read
    the same way)."""
    return [p for p in _SPLIT.split(path) if p]


def param(path: str) -> str:
    """A field's parameter name, as ``matching.ignore_params`` takes it: the path up to
    the first list index (a list is ignored whole): ``permissions[1]`` ->
    ``permissions``, ``account_holder.customer`` -> itself."""
    names: list[str] = []
    for p in split(path):
        if p.isdigit() and names:
            break
        names.append(p)
    return ".".join(names)

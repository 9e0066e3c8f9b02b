"""A typo in the ``fc_cassette_config`` fixture, said before a proxy starts and where
the fixture is defined (the test's conftest.py), not in a generated file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest


def check_fixture_config(request: pytest.FixtureRequest, base: str | None, overrides: Any) -> None:
    """A typo in ``fc_cassette_config`` fails the test before a proxy starts, naming the
    fixture where it is defined (the test's conftest.py), not a generated file."""
    if not overrides:
        return
    from fc_cassette.settings.config import ConfigError, check_overrides

    try:
        problem = check_overrides(base, overrides)
    except ConfigError as e:  # the --fc-config file itself (checked at start-up too)
        problem = str(e)
    if problem:
        pytest.fail(
            f"fc-cassette: the fc_cassette_config fixture ({fixture_where(request)}): {problem}",
            pytrace=False,
        )


def fixture_where(request: pytest.FixtureRequest) -> str:
    """``path/conftest.py:12``: where the ``fc_cassette_config`` in effect is defined."""
    import inspect

    try:  # pytest's fixture definitions (no public API names a fixture's function)
        defs = request._pyfuncitem._fixtureinfo.name2fixturedefs["fc_cassette_config"]
        func = defs[-1].func
        source = inspect.getsourcefile(func) or "?"
        try:
            source = str(Path(source).relative_to(request.config.rootpath))
        except ValueError:
            pass
        return f"{source}:{func.__code__.co_firstlineno}"
    except Exception:  # noqa: BLE001 - only the location is lost
        return "see the conftest.py that overrides it"

"""The proxy room: every mitmproxy addon and its plumbing.

Its name is also the package's public function ``fc_cassette.proxy("c.yaml")`` (the
Python API, :mod:`fc_cassette.harness.api`). Once this room is imported (by mitmdump's
script, or a test importing an addon), Python binds ``fc_cassette.proxy`` to this
module, which would hide that function; so this module is callable and forwards the
call. (The API is looked up by name when called, not imported: this room is below the
harness and never depends on it.)
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any


class _Room(types.ModuleType):
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return importlib.import_module("fc_cassette.harness.api").proxy(*args, **kwargs)


sys.modules[__name__].__class__ = _Room

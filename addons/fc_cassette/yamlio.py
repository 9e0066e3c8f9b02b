"""YAML in and out: libyaml's C classes when present, safe loading only, no aliases.

Everything fc-cassette reads (config, cassettes) goes through :func:`load` /
:func:`load_all`, which

- use ``CSafeLoader`` (``SafeLoader`` without libyaml): no ``!!python/...`` tags, no
  code execution;
- refuse anchors/aliases: our own files never contain them, and refusing them
  makes "billion laughs" alias bombs impossible rather than merely expensive;
- report failures as :class:`YamlError` carrying the 1-based line and column.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import yaml

try:
    from yaml import CSafeDumper as _BaseDumper
    from yaml import CSafeLoader as _BaseLoader

    LIBYAML = True
except ImportError:  # pragma: no cover - libyaml ships in PyYAML's wheels
    from yaml import SafeDumper as _BaseDumper  # type: ignore[assignment]
    from yaml import SafeLoader as _BaseLoader  # type: ignore[assignment]

    LIBYAML = False


class YamlError(ValueError):
    """Unreadable YAML, with a 1-based position when known."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None):
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column

    def where(self) -> str:
        if self.line is None:
            return ""
        return f"{self.line}:{self.column}" if self.column else f"{self.line}"


class Loader(_BaseLoader):
    """Safe loader that rejects aliases (each node may be constructed only once)."""

    def construct_object(self, node, deep=False):  # noqa: D102 - PyYAML hook
        if node in self.constructed_objects:
            raise yaml.constructor.ConstructorError(
                None, None, "YAML aliases/anchors are not allowed", node.start_mark)
        return super().construct_object(node, deep)


class Dumper(_BaseDumper):
    """Block-style safe dumper that never writes anchors/aliases."""

    def ignore_aliases(self, data):  # noqa: D102 - PyYAML hook
        return True


def _error(e: Exception) -> YamlError:
    if isinstance(e, yaml.MarkedYAMLError):
        mark = e.problem_mark or e.context_mark
        problem = e.problem or e.context or str(e)
        if mark is not None:
            return YamlError(str(problem), mark.line + 1, mark.column + 1)
        return YamlError(str(problem))
    if isinstance(e, yaml.reader.ReaderError):
        return YamlError(f"invalid character ({e.reason}) at byte {e.position}")
    if isinstance(e, UnicodeDecodeError):
        return YamlError(f"not valid UTF-8 (byte {e.start})")
    if isinstance(e, RecursionError):
        return YamlError("nested too deeply")
    return YamlError(str(e) or type(e).__name__)


def load(text: str | bytes) -> Any:
    """Load one YAML document safely; raises :class:`YamlError`."""
    try:
        return yaml.load(text, Loader=Loader)  # noqa: S506 - Loader is a safe loader
    except (yaml.YAMLError, UnicodeDecodeError, RecursionError, ValueError) as e:
        raise _error(e) from None


def load_all(text: str | bytes) -> Iterator[Any]:
    """Load every document of a YAML stream safely; raises :class:`YamlError`."""
    try:
        yield from yaml.load_all(text, Loader=Loader)  # noqa: S506
    except (yaml.YAMLError, UnicodeDecodeError, RecursionError, ValueError) as e:
        raise _error(e) from None


def dump(data: Any) -> str:
    """Dump one document: block style, insertion order kept, unicode kept."""
    return yaml.dump(data, Dumper=Dumper, default_flow_style=False, sort_keys=False,
                     allow_unicode=True, width=100)


def line_of(text: str, keypath: list[str | int]) -> int | None:
    """1-based line where ``keypath`` (e.g. ``["replay", "on_exhausted"]``) is written."""
    try:
        node = yaml.compose(text, Loader=_BaseLoader)
    except yaml.YAMLError:
        return None
    line = None
    for key in keypath:
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                if k.value == str(key):
                    line, node = k.start_mark.line + 1, v
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) \
                and 0 <= key < len(node.value):
            node = node.value[key]
            line = node.start_mark.line + 1
        else:
            return line
    return line

"""YAML in and out: libyaml's C loader when present, safe loading only, no aliases.

Everything fc-cassette reads (config, cassettes) goes through :func:`load` /
:func:`load_all`, which

- use ``CSafeLoader`` (``SafeLoader`` without libyaml): no ``!!python/...`` tags, no
  code execution;
- refuse anchors/aliases: our own files never contain them, and refusing them
  makes "billion laughs" alias bombs impossible rather than merely expensive;
- report failures as :class:`YamlError` carrying the 1-based line and column.

Cassettes are read with ``strict=True`` (:class:`StrictLoader`): only plain values of
the JSON data model load (mappings with string keys, sequences, strings, integers,
finite floats, booleans, null). Any explicit tag (``!!binary``, ``!!str``, ``!!set``,
``!local``...), any duplicate key, any key that is not a string and NaN or infinities
are errors. Numbers and booleans are read only as JSON writes them: YAML 1.1's other
forms (``0x1f``, ``017``, ``190:20:30``, ``yes``/``no``/``on``/``off``), timestamps,
merge keys (``<<``) and ``=`` are strings.
"""

from __future__ import annotations

import math
import re
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import yaml
from yaml.nodes import Node

from fc_cassette.exchange import formcodec

if TYPE_CHECKING:  # the C and the pure-Python loader have the same interface
    from yaml import SafeLoader as _BaseLoader

    LIBYAML: bool
else:
    try:
        from yaml import CSafeLoader as _BaseLoader

        LIBYAML = True
    except ImportError:  # pragma: no cover - libyaml ships in PyYAML's wheels
        from yaml import SafeLoader as _BaseLoader

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


def open_file(path: Path, what: str) -> BinaryIO:
    """A regular file, opened for reading in binary; raises ``ValueError`` with a message.

    A FIFO would block the reader forever and a device may never end, so anything
    that is not a regular file is refused before it is opened.
    """
    try:
        st = path.stat()
    except FileNotFoundError:
        raise ValueError(f"no such {what}") from None
    except OSError as e:
        raise ValueError(f"cannot read: {e.strerror}") from None
    if stat.S_ISDIR(st.st_mode):
        raise ValueError(f"is a directory, not a {what}")
    if not stat.S_ISREG(st.st_mode):
        raise ValueError(f"not a regular file (a pipe, socket or device), not a {what}")
    try:
        return open(path, "rb")
    except OSError as e:
        raise ValueError(f"cannot read: {e.strerror}") from None


def too_large(limit: int) -> str:
    """The message for a file of more than ``limit`` bytes."""
    return f"larger than {limit >> 20} MiB" if limit >= 1 << 20 else f"larger than {limit} bytes"


MAX_LINE = 128 << 20  # bytes in one line of a cassette or config (a body, YAML-quoted)
_WINDOW = 256 << 10


def long_line(data: bytes, start: int = 0, max_line: int | None = None) -> int | None:
    """Offset of the first line of ``data`` longer than ``max_line`` bytes (``start``:
    where the current line began), None if none is; linear, a window at a time."""
    max_line = max_line or MAX_LINE
    window = min(_WINDOW, max_line)  # so the lines inside one window are short enough
    for pos in range(0, len(data), window):
        first = data.find(b"\n", pos, pos + window)
        if first == -1:
            if min(pos + window, len(data)) - start > max_line:
                return start
            continue
        if first - start > max_line:
            return start
        start = data.rfind(b"\n", pos, pos + window) + 1  # the lines between are short
    return start if len(data) - start > max_line else None


def line_too_long(offset: int, max_line: int | None = None) -> str:
    max_line = max_line or MAX_LINE
    size = too_large(max_line).removeprefix("larger than ")
    return f"a line longer than {size} (from byte {offset}): not a cassette nor a config file"


def read_file(path: Path, what: str, limit: int) -> bytes:
    """A regular file's bytes, at most ``limit``, no line longer than :data:`MAX_LINE`;
    raises ``ValueError`` with a message (see :func:`open_file`)."""
    with open_file(path, what) as fh:
        try:
            raw = fh.read(limit + 1)
        except OSError as e:
            raise ValueError(f"cannot read: {e.strerror}") from None
    if len(raw) > limit:
        raise ValueError(too_large(limit))
    if (at := long_line(raw)) is not None:
        raise ValueError(line_too_long(at))
    return raw


class Loader(_BaseLoader):
    """Safe loader that rejects aliases (each node may be constructed only once)."""

    def construct_object(self, node: Node, deep: bool = False) -> Any:  # PyYAML hook
        if node in self.constructed_objects:
            raise yaml.constructor.ConstructorError(
                None, None, "YAML aliases/anchors are not allowed", node.start_mark
            )
        return super().construct_object(node, deep)


# StrictLoader: implicitly typed values get tags of a private namespace, and only
# those have constructors, so an explicit tag (even ``!!str``) can never be constructed.
_PRIVATE = "tag:fc-cassette.invalid,2026:"
_STR, _SEQ, _MAP = _PRIVATE + "str", _PRIVATE + "seq", _PRIVATE + "map"
_INT, _FLOAT, _BOOL, _NULL = (_PRIVATE + t for t in ("int", "float", "bool", "null"))
_KEEP = {
    "tag:yaml.org,2002:int": _INT,
    "tag:yaml.org,2002:float": _FLOAT,
    "tag:yaml.org,2002:bool": _BOOL,
    "tag:yaml.org,2002:null": _NULL,
}


# Numbers, booleans and null only as JSON writes them (YAML 1.2's core schema for the
# booleans): YAML 1.1's other forms (0x1f, 017, 1_000, 190:20:30, yes/no/on/off) are
# strings, so "country: no" stays "no".
_JSON_INT = re.compile(r"-?(?:0|[1-9][0-9]*)")
_JSON_FLOAT = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?")
_BOOLS = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}


def _strict_resolvers() -> dict[Any, list[tuple[str, Any]]]:
    out: dict[Any, list[tuple[str, Any]]] = {}
    for first, resolvers in yaml.resolver.Resolver.yaml_implicit_resolvers.items():
        kept = [(_KEEP[tag], rx) for tag, rx in resolvers if tag in _KEEP]
        if kept:  # timestamp, merge, value, yaml: left to the default, a string
            out[first] = kept
    return out


def _short_tag(tag: str) -> str:
    return "!!" + tag[len("tag:yaml.org,2002:") :] if tag.startswith("tag:yaml.org,2002:") else tag


def _refuse(problem: str, node: Node) -> yaml.constructor.ConstructorError:
    return yaml.constructor.ConstructorError(None, None, problem, node.start_mark)


class StrictLoader(_BaseLoader):
    """Plain JSON-model values only: no tags, no aliases, no duplicate keys, no NaN."""

    DEFAULT_SCALAR_TAG = _STR  # type: ignore[misc]  # Final in the stubs only
    DEFAULT_SEQUENCE_TAG = _SEQ  # type: ignore[misc]  # Final in the stubs only
    DEFAULT_MAPPING_TAG = _MAP  # type: ignore[misc]  # Final in the stubs only
    yaml_implicit_resolvers = _strict_resolvers()

    def construct_document(self, node: Node) -> Any:  # PyYAML hook
        self._seen: set[int] = set()
        try:
            return self._build(node)
        finally:
            self._seen = set()

    def _build(self, node: Node) -> Any:
        if id(node) in self._seen:  # the same node twice: an alias
            raise _refuse("YAML aliases/anchors are not allowed", node)
        self._seen.add(id(node))
        tag = node.tag
        if tag == _STR:
            return node.value
        if tag == _MAP:
            return self._mapping(node)
        if tag == _SEQ:
            return [self._build(n) for n in node.value]
        if tag == _INT:
            return int(node.value) if _JSON_INT.fullmatch(node.value) else node.value
        if tag == _FLOAT:
            return self._float(node)
        if tag == _BOOL:
            return _BOOLS.get(node.value, node.value)
        if tag == _NULL:
            return None
        raise _refuse(
            f"YAML tag {_short_tag(tag)!r} is not allowed: a cassette holds plain values only", node
        )

    def _float(self, node: Node) -> float | str:
        text = node.value
        if _JSON_FLOAT.fullmatch(text):
            value = float(text)
            if math.isfinite(value):
                return value
        elif text.lstrip("+-").lower() not in (".inf", ".nan"):
            return text  # YAML 1.1 only (".5", "1_0.5", "1:30.5"): a string
        raise _refuse(f"{text!r} is not a finite number (JSON has no NaN or Infinity)", node)

    def _mapping(self, node: Node) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _STR:
                if id(key_node) in self._seen:
                    raise _refuse("YAML aliases/anchors are not allowed", key_node)
                self._seen.add(id(key_node))
                key = key_node.value
            else:
                key = self._key(key_node)
            if key in out:
                raise _refuse(f"duplicate key {key!r} (each key may appear once)", key_node)
            out[key] = self._build(value_node)
        return out

    def _key(self, node: Node) -> str:
        if node.tag in (_MAP, _SEQ):
            raise _refuse("a key must be a string, not a collection", node)
        key = self._build(node)  # an explicit tag is refused there
        if not isinstance(key, str):
            kind = "null" if key is None else "a boolean" if isinstance(key, bool) else "a number"
            raise _refuse(f"key {node.value!r} is read as {kind}, not as a string (quote it)", node)
        return key


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
        return yaml.load(text, Loader=Loader)  # Loader is a safe loader
    except (yaml.YAMLError, UnicodeDecodeError, RecursionError, ValueError) as e:
        raise _error(e) from None


def load_all(text: Any, strict: bool = False) -> Iterator[Any]:
    """Load every document of a YAML stream safely (``strict``: with
    :class:`StrictLoader`); raises :class:`YamlError`. ``text``: str, bytes, or a
    binary reader (``read(n)``), which the parser reads as it goes."""
    try:
        yield from yaml.load_all(text, Loader=StrictLoader if strict else Loader)
    except (yaml.YAMLError, UnicodeDecodeError, RecursionError, ValueError) as e:
        raise _error(e) from None


# ------------------------------------------------------------------------- the emitter
# Cassette entries are JSON-shaped data (dicts, lists, str, int, float, bool, None).
# PyYAML's representer and resolver are pure Python even with libyaml's C emitter, and
# cost ~0.4 ms per entry, most of record mode's own time; this emitter writes the same
# block style ~3x faster. Strings are plain only when that is unambiguous (a narrow
# character set, and PyYAML's own resolver says they read back as str); everything else
# is double-quoted with YAML escapes. Its output is read back by the safe loader above,
# and a property test checks load(dump(x)) == x on arbitrary data.

_RESOLVER = yaml.resolver.Resolver()
_MAYBE_TYPED = frozenset("yYnNtTfFoO-+0123456789.<~=")  # first chars of implicit types
_PLAIN = re.compile(r"[A-Za-z0-9_/(][A-Za-z0-9 _./@+:,()-]*")
_UNPRINTABLE = re.compile("[^\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_NAMED = {"\n": "\\n", "\t": "\\t", "\r": "\\r"}
MAX_SIMPLE_KEY = 1000  # YAML caps implicit keys at 1024 characters


def _escape(m: re.Match) -> str:
    ch = m.group()
    if ch in _NAMED:
        return _NAMED[ch]
    c = ord(ch)
    return f"\\x{c:02x}" if c < 0x100 else (f"\\u{c:04x}" if c < 0x10000 else f"\\U{c:08x}")


_STR_CACHE: dict[str, str] = {}  # keys and most values repeat from entry to entry
_STR_CACHE_MAX = 8192


def _str(s: str) -> str:
    out = _STR_CACHE.get(s)
    if out is None:
        out = _str_written(s)
        if len(s) <= 256:
            if len(_STR_CACHE) >= _STR_CACHE_MAX:
                _STR_CACHE.clear()
            _STR_CACHE[s] = out
    return out


def _str_written(s: str) -> str:
    if (
        s
        and _PLAIN.fullmatch(s)
        and s[-1] not in " :"
        and ": " not in s
        and (
            s[0] not in _MAYBE_TYPED
            or _RESOLVER.resolve(yaml.ScalarNode, s, (True, False)) == "tag:yaml.org,2002:str"
        )
    ):
        return s
    if _SURROGATE.search(s):
        raise ValueError("a lone UTF-16 surrogate cannot be written as YAML")
    return _UNPRINTABLE.sub(_escape, '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"')


def _scalar(v: Any) -> str:
    if isinstance(v, str):  # the usual case first
        return _str(v)
    if v is None:
        return "null"
    if isinstance(v, int):  # booleans lower-case, as in JSON and forms
        return formcodec.scalar(v)
    if isinstance(v, float):
        if v != v:
            return ".nan"
        if v in (math.inf, -math.inf):
            return ".inf" if v > 0 else "-.inf"
        r = repr(v).lower()
        return r.replace("e", ".0e", 1) if "." not in r and "e" in r else r
    raise TypeError(f"cannot write a {type(v).__name__} to a cassette")


def _leaf(v: Any) -> str:
    if isinstance(v, dict):
        return "{}"
    if isinstance(v, list):
        return "[]"
    return _scalar(v)


def _is_block(v: Any) -> bool:
    return isinstance(v, (dict, list)) and bool(v)


def _emit(v: dict | list, indent: int, out: list[str]) -> None:
    """Lines of a non-empty mapping or sequence at ``indent``."""
    pad = " " * indent
    if isinstance(v, dict):
        for k, x in v.items():
            key = _scalar(k)
            if len(key) > MAX_SIMPLE_KEY:  # explicit key: "? key" then ": value"
                out.append(f"{pad}? {key}\n")
                if _is_block(x):
                    out.append(f"{pad}:\n")
                    _emit(x, indent + 2, out)
                else:
                    out.append(f"{pad}: {_leaf(x)}\n")
            elif isinstance(x, dict) and x:
                out.append(f"{pad}{key}:\n")
                _emit(x, indent + 2, out)
            elif isinstance(x, list) and x:  # PyYAML's style: "key:" then "- item"
                out.append(f"{pad}{key}:\n")
                _emit(x, indent, out)
            else:
                out.append(f"{pad}{key}: {_leaf(x)}\n")
        return
    for x in v:
        if _is_block(x):  # "- " takes the place of the nested block's first indent
            first = len(out)
            _emit(x, indent + 2, out)
            out[first] = f"{pad}- {out[first][indent + 2 :]}"
        else:
            out.append(f"{pad}- {_leaf(x)}\n")


def dump(data: Any) -> str:
    """One document in block style, keys in insertion order, readable in a diff."""
    if _is_block(data):
        out: list[str] = []
        _emit(data, 0, out)
        return "".join(out)
    return _leaf(data) + "\n"


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
        elif (
            isinstance(node, yaml.SequenceNode)
            and isinstance(key, int)
            and 0 <= key < len(node.value)
        ):
            node = node.value[key]
            line = node.start_mark.line + 1
        else:
            return line
    return line

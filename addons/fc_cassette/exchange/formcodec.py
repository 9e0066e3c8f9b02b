"""Stripe's bracket form encoding, decoded to nested data and encoded back.

Stripe (and stripe-python) send nested parameters as
``account_holder[type]=customer&permissions[0]=balances``; Stripe's curl docs use
``permissions[]=balances``. Both decode to the same data here, and :func:`encode`
writes one canonical form (indexed lists, literal brackets), so two requests that
mean the same compare equal as data.

Decoding is bounded: a hostile body cannot make it hang or allocate without limit
(field count, nesting depth and list indices are capped), and every malformed input
raises :class:`FormDecodeError` with a message that names the offending key.
"""

from __future__ import annotations

import functools
import re
from typing import Any
from urllib.parse import quote, unquote

MAX_FIELDS = 10_000
MAX_DEPTH = 32
MAX_LIST_INDEX = 10_000

_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_SEGMENT = re.compile(r"\[([^\[\]]*)\]")


class FormDecodeError(ValueError):
    """The input is not a well-formed Stripe form encoding."""


def _short(key: str, limit: int = 60) -> str:
    return repr(key if len(key) <= limit else key[:limit] + "...")


class _ListNode:
    """A list under construction: explicit indices, then ``[]`` appends, in order."""

    __slots__ = ("items",)

    def __init__(self) -> None:
        self.items: dict[int, Any] = {}

    def next_index(self) -> int:
        return max(self.items) + 1 if self.items else 0


def split_key(key: str) -> list[str]:
    """``a[b][0]`` -> ``["a", "b", "0"]``; raises on unbalanced or empty names."""
    m = _KEY.match(key)
    if not m:
        raise FormDecodeError(f"malformed parameter name {_short(key)} (unbalanced brackets?)")
    segments = [m.group(1)] + _SEGMENT.findall(m.group(2))
    if len(segments) > MAX_DEPTH:
        raise FormDecodeError(f"parameter {_short(key)} is nested deeper than {MAX_DEPTH} levels")
    return segments


def decode(data: str | bytes) -> dict[str, Any]:
    """Decode a form body or query string into nested dicts, lists and strings."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as e:
            raise FormDecodeError(f"form data is not valid UTF-8 (byte {e.start})") from None
    if data.count("&") >= MAX_FIELDS:
        raise FormDecodeError(f"more than {MAX_FIELDS} form fields")
    try:
        pairs = [
            (_name(name), _unquote(value) if "%" in value or "+" in value else value)
            for name, value in _raw_pairs(data)
        ]
    except UnicodeDecodeError as e:
        raise FormDecodeError(
            f"form data is not valid UTF-8 once percent-decoded ({e.reason})"
        ) from None
    root: dict[str, Any] = {}
    for key, value in pairs:
        if key == "":
            raise FormDecodeError("empty parameter name")
        _assign(
            root,
            key,
            _memo_segments(key) if len(key) <= _MEMO_MAX else tuple(split_key(key)),
            value,
        )
    return _finish(root)


def _raw_pairs(data: str) -> list[tuple[str, str]]:
    """``parse_qsl(data, keep_blank_values=True)``'s pairs before unquoting (a field
    without "=" has the value "", empty fields are skipped)."""
    out = []
    for field in data.split("&") if data else ():
        if field:
            name, _, value = field.partition("=")
            out.append((name, value))
    return out


def _unquote(text: str) -> str:
    """What parse_qsl makes of a name or a value: "+" is a space, then %-escapes in
    strict UTF-8."""
    return unquote(text.replace("+", " "), encoding="utf-8", errors="strict")


# Names repeat from request to request ("account_holder%5Btype%5D"): memoized, with
# their segments, up to _MEMO_MAX characters (a long name, e.g. in a hostile body, is
# not kept); a name that fails raises every time (failures are not cached).
_MEMO_MAX = 256
_memo_unquote = functools.lru_cache(maxsize=1024)(_unquote)


def _name(raw: str) -> str:
    return _memo_unquote(raw) if len(raw) <= _MEMO_MAX else _unquote(raw)


@functools.lru_cache(maxsize=1024)
def _memo_segments(key: str) -> tuple[str, ...]:
    return tuple(split_key(key))


def _assign(root: dict, key: str, segments: tuple[str, ...], value: str) -> None:
    node: Any = root
    slot: Any  # a list's index (int) or an object's key (str)
    for i, seg in enumerate(segments):
        last = i == len(segments) - 1
        if isinstance(node, _ListNode):
            if seg == "":
                index = node.next_index()
            elif seg.isdigit():
                index = int(seg)
                if index > MAX_LIST_INDEX:
                    raise FormDecodeError(
                        f"list index {index} in {_short(key)} is larger than {MAX_LIST_INDEX}"
                    )
            else:
                raise FormDecodeError(f"{_short(key)} mixes list indices and named keys")
            slot, container = index, node.items
        else:
            if i > 0 and (seg == "" or seg.isdigit()):
                raise FormDecodeError(f"{_short(key)} mixes named keys and list indices")
            slot, container = seg, node
        if last:
            _set_leaf(container, slot, value, key)
            return
        nxt_is_list = segments[i + 1] == "" or segments[i + 1].isdigit()
        child = container.get(slot)
        if child is None:
            child = _ListNode() if nxt_is_list else {}
            container[slot] = child
        elif isinstance(child, (str, list)):
            raise FormDecodeError(f"{_short(key)} is both a value and a nested object")
        elif isinstance(child, _ListNode) != nxt_is_list:
            raise FormDecodeError(f"{_short(key)} mixes list indices and named keys")
        node = child


def _set_leaf(container: dict, slot: Any, value: str, key: str) -> None:
    old = container.get(slot)
    if old is None:
        container[slot] = value
    elif isinstance(old, str):
        container[slot] = [old, value]  # a repeated plain key keeps every value
    elif isinstance(old, list):
        old.append(value)
    else:
        raise FormDecodeError(f"{_short(key)} is both a value and a nested object")


def _finish(node: Any) -> Any:
    if isinstance(node, _ListNode):
        return [_finish(node.items[k]) for k in sorted(node.items)]
    if isinstance(node, dict):
        return {k: _finish(v) for k, v in node.items()}
    return node


def flatten(data: Any, prefix: str = "") -> list[tuple[str, str]]:
    """Nested data -> ``[("a[b][0]", "x"), ...]`` in key order; leaves as Stripe strings."""
    out: list[tuple[str, str]] = []
    _flatten(data, prefix, out)
    return out


def _flatten(data: Any, prefix: str, out: list[tuple[str, str]]) -> None:
    if isinstance(data, dict):
        for k, v in data.items():
            _flatten(v, f"{prefix}[{k}]" if prefix else str(k), out)
    elif isinstance(data, (list, tuple)):
        for i, v in enumerate(data):
            _flatten(v, f"{prefix}[{i}]", out)
    else:
        out.append((prefix, scalar(data)))


def scalar(value: Any) -> str:
    """A leaf as Stripe writes it: booleans lower-case, None as the empty string."""
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    return str(value)


def canonical(data: Any) -> Any:
    """Nested data with dict keys sorted and leaves as strings: equal meaning, equal value."""
    if isinstance(data, dict):
        return {str(k): canonical(data[k]) for k in sorted(data, key=str)}
    if isinstance(data, (list, tuple)):
        return [canonical(v) for v in data]
    return scalar(data)


def encode(data: dict[str, Any], *, sort: bool = True) -> str:
    """Encode nested data in the canonical form: indexed lists, literal brackets."""
    if sort:
        data = canonical(data)
    return "&".join(f"{quote(k, safe='[]')}={quote(v, safe='')}" for k, v in flatten(data))

"""The regexes the redactor and the scanner share, all derived from the secret-kinds
table (:mod:`fc_cassette.secret_kinds`), and the small predicates over them."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator

from fc_cassette.redact.codecs import _B64_RUN, _b64_fragments, _b64_windows, _unescape
from fc_cassette.redact.kinds import (
    OBJECT_SECRET,
    OBJECT_SECRET_ANCHOR,
    PREFIXES,
    REDACTED,
    SECRET_FIELDS,
    _is_placeholder_token,
    field_alternation,
    kind_of,
    prefix_alternation,
)

#: How many encoding layers (percent, ``\\uXXXX``, base64, in any mix) are looked through.
MAX_DEPTH = 4

# A secret, or one of our placeholders (group "ph"), which is left alone. Any tail of
# one letter or digit or more, in runs joined by single underscores (a real ephemeral
# key is ``ek_test_<base64>_00<tail>``: cut at its first "_", its end would stay
# behind); no upper bound (a longer run is redacted whole rather than missed), but the
# tail stops where another prefix starts, so secrets glued together are each found
# whole. A placeholder followed by "_" and more is not one ("ek_test_REDACTED_1_00ab"
# is a secret redacted in part). Object secrets keep their id: only the random part
# after "_secret_" is replaced ("pi_3Abc_secret_REDACTED_1").
_PREFIX = prefix_alternation()
_TAIL_CHAR = rf"(?:(?!{_PREFIX})[A-Za-z0-9])"
_SECRET = re.compile(
    rf"(?P<prefix>{_PREFIX}|{OBJECT_SECRET})"
    rf"(?:(?P<ph>REDACTED_[0-9]+(?!_{_TAIL_CHAR})|REDACTED(?!_?{_TAIL_CHAR}))"
    rf"|(?P<tail>{_TAIL_CHAR}+(?:_{_TAIL_CHAR}+)*))"
)
# Cheap probe: can a string hold a secret of a known shape at all?
_SECRET_QUICK = re.compile(f"{_PREFIX}|{OBJECT_SECRET_ANCHOR}")
# The longest object-secret prefix before "_secret_" (see OBJECT_SECRET's bounds).
_OBJECT_REACH = 20 + 2 * 21 + 1 + 100


def _secret_matches(text: str) -> Iterator[re.Match[str]]:
    """``_SECRET.finditer(text)``, faster: a match can only start where one of the
    literal prefixes starts, or shortly before a "_secret_", and ``str.find``
    locates those at C speed (the regex alone tries every position)."""
    starts = {i for anchor in PREFIXES for i in _found(text, anchor)}
    for i in _found(text, OBJECT_SECRET_ANCHOR):
        # the object id before it is made of word characters only: it starts within
        # the run of them that ends at the anchor (read backwards, at C speed)
        before = text[max(0, i - _OBJECT_REACH) : i][::-1]
        run = _WORD_RUN.match(before)  # it matches the empty run too
        starts.update(range(i - (run.end() if run else 0), i))
    return _matches_from(_SECRET, text, starts)


_WORD_RUN = re.compile(r"[A-Za-z0-9_]*")


def _found(text: str, needle: str) -> Iterator[int]:
    """Every index where ``needle`` occurs in ``text`` (overlapping ones included)."""
    i = text.find(needle)
    while i >= 0:
        yield i
        i = text.find(needle, i + 1)


def _matches_from(pattern: re.Pattern[str], text: str, starts: set[int]) -> Iterator[re.Match[str]]:
    """``pattern``'s non-overlapping matches that start at one of ``starts``, in order."""
    end = 0
    for i in sorted(starts):
        if i >= end and (m := pattern.match(text, i)) is not None:
            end = m.end()
            yield m


def sub_secrets(text: str, repl: Callable[[re.Match[str]], str]) -> str:
    """``_SECRET.sub(repl, text)`` over :func:`_secret_matches`."""
    parts: list[str] = []
    last = 0
    for m in _secret_matches(text):
        parts += [text[last : m.start()], repl(m)]
        last = m.end()
    return "".join(parts) + text[last:] if parts else text


def _escapable(c: str) -> str:
    """``c`` literally, percent-encoded or ``\\u``-escaped (hex digits in any case)."""
    h = "".join(f"[{x}{x.upper()}]" if x.isalpha() else x for x in f"{ord(c):02x}")
    return rf"(?:{re.escape(c)}|%{h}|\\{{1,4}}u00{h})"


# The same secrets with any of their characters percent- or \u-escaped, matched on the
# escaped text itself: decoding a whole span first can go wrong when a stray "%" sits
# right before an escaped secret ("100%" + "%66cs…" decodes to "100ücs…").
_ESC_PREFIX = "|".join("".join(_escapable(c) for c in p) for p in PREFIXES)
_ESC_ALNUM = r"(?:3[0-9]|4[1-9a-fA-F]|5[0-9aA]|6[1-9a-fA-F]|7[0-9aA])"
_ESC_SECRET = re.compile(
    rf"(?:{_ESC_PREFIX})(?:(?!{_ESC_PREFIX})(?:[A-Za-z0-9]|%{_ESC_ALNUM}"
    rf"|\\{{1,4}}u00{_ESC_ALNUM}))+"
)


def sub_escaped_secret(m: re.Match[str], sub_secret: Callable[[re.Match[str]], str]) -> str:
    """A secret with some of its characters percent- or ``\\u``-escaped (a match of
    ``_ESC_SECRET``): replaced, unescaped, by its placeholder."""
    t = m.group(0)
    if "%" not in t and "\\" not in t:
        return t  # a plain secret: the raw rule takes it
    dec = _unescape(t)
    red = _SECRET.sub(sub_secret, dec)
    return t if red == dec else red


# Stripe's own masked form in error messages ("sk_test_********1234"): the visible
# characters are dropped so a developer's key does not leave its last four behind.
_MASKED = re.compile(rf"(?P<prefix>{_PREFIX})[A-Za-z0-9]*(?P<stars>\*+)[A-Za-z0-9*]*")
# "Bearer <token>"; after "Authorization:" every token counts (strict), elsewhere
# only token-shaped ones (prose like "using Bearer auth" stays readable). The redactor
# lets the gaps span lines; the scanner does not, because in YAML text a line break
# may separate two different values (it only has to find what the redactor missed).
_BEARER_TEMPLATE = (
    r"(?P<auth>(?<![A-Za-z0-9_])(?i:authorization)[\"']?{ws}*[:=]{ws}*[\"']?)?"
    r"(?<![A-Za-z0-9_])(?P<scheme>(?i:bearer))(?P<sp>{ws}+)"
    r"(?=(?P<tok>[A-Za-z0-9\-._~+/=]+))"
)
# The token is only looked at, not consumed, so "Bearer Bearer x" and "Bearer word
# authorization: Bearer x" still see the second scheme. Word boundaries are ASCII-only:
# a YAML dump may escape a non-ASCII letter and fold the line right after it.
_BEARER = re.compile(_BEARER_TEMPLATE.format(ws=r"\s"))
_BEARER_SCAN = re.compile(_BEARER_TEMPLATE.format(ws=r"[ \t]"))
_BEARER_QUICK = re.compile(r"(?i)bearer")


def has_bearer(text: str) -> bool:
    """``_BEARER_QUICK.search(text)``; faster on ASCII text (the usual case), where
    ignoring case is exactly lower-casing."""
    if text.isascii():
        return "bearer" in text.lower()
    return _BEARER_QUICK.search(text) is not None


def bearer_at(text: str) -> Iterator[int]:
    """Where ``_BEARER_QUICK`` matches in ``text``, in order (the same fast way)."""
    if not text.isascii():
        yield from (m.start() for m in _BEARER_QUICK.finditer(text))
        return
    low = text.lower()
    i = low.find("bearer")
    while i >= 0:
        yield i
        i = low.find("bearer", i + 6)


# Header names and mapping keys whose values are credentials ("Authorization",
# "X-Authorization", and keys the scanner's strict form would also reach).
_AUTH_NAME = re.compile(r"(?i)(?<![A-Za-z0-9_])authorization[^A-Za-z0-9_]*$")
_AUTH_VALUE = re.compile(
    r"(?P<scheme>[A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]*)(?P<sp>\s+)"
    r"(?P<cred>\S.*)",
    re.S,
)
# What a key's name makes of its value (see key_role)
PLAIN_KEY, SECRET_KEY, AUTH_KEY = 0, 1, 2


def key_role(name: str) -> int:
    """What a mapping key or header name makes of its value: a secret field
    (``client_secret``, any case), an ``Authorization``-like name, or neither.
    Memoized for names of up to 128 characters (the same few keys come back in every
    entry; a long one, e.g. in hostile traffic, is not kept)."""
    return _memo_key_role(name) if len(name) <= 128 else _key_role(name)


def _key_role(name: str) -> int:
    if name.lower() in SECRET_FIELDS:
        return SECRET_KEY
    return AUTH_KEY if _AUTH_NAME.search(name) else PLAIN_KEY


_memo_key_role = functools.lru_cache(maxsize=4096)(_key_role)


# A secret field where its name is visible in text: "client_secret=abc" (a query or a
# form), '"secret": "abc"' (JSON text, a log line), "payment_intent[client_secret]=abc".
_FIELD_TEXT = re.compile(
    rf"(?<![A-Za-z0-9_])(?P<name>{field_alternation()})"
    r"(?P<sep>\]?\\{0,3}[\"']?[ \t]*[:=][ \t]*\\{0,3}[\"']?)"
    r"(?P<val>[A-Za-z0-9_\-.~+/%]+=*)"
)


def field_matches(text: str) -> Iterator[re.Match[str]]:
    """``_FIELD_TEXT.finditer(text)``, starting only where a field name occurs."""
    starts = {i for name in SECRET_FIELDS for i in _found(text, name)}
    return _matches_from(_FIELD_TEXT, text, starts)


# Values after a secret field's name in text that are not taken for secrets: literals,
# numbers, and short lower-case words ("client_secret: recorded ..." in a miss
# explanation). Structured values (JSON, form, query) are redacted whatever they are.
_NOT_A_VALUE = re.compile(r"null|true|false|None|~|-?[0-9]+(?:\.[0-9]+)?|[a-z]{1,15}")

# Anything any layer could act on; strings without a match are returned untouched.
# (Few alternatives: each costs a step at every position of a long decoded window.
# "secret" covers the object-secret anchor, the field names and client-secret prefixes.)
_PROBES = sorted(
    {p[1:] for p in PREFIXES if "secret" not in p}
    | {"secret"}
    | {f for f in SECRET_FIELDS if "secret" not in f}
)
_INTERESTING = re.compile(
    "|".join(re.escape(p) for p in _PROBES)
    + r"|(?i:bearer)|%[0-9A-Fa-f]{2}|\\u[0-9A-Fa-f]{4}|[A-Za-z0-9+/_-]{16}"
)

_PLACEHOLDER_NUM = re.compile(
    rf"(?:(?P<prefix>{_PREFIX}|{OBJECT_SECRET})|(?<![A-Za-z0-9_]))"
    r"REDACTED_(?P<n>[0-9]+)"
)


_PLACEHOLDER_B64 = _b64_fragments(b"REDACTED_")


def last_placeholder_numbers(text: str) -> dict[str, int]:
    """The highest placeholder number of each kind in ``text`` (a cassette appended
    to), also inside base64 runs (e.g. a redacted Basic header)."""
    last: dict[str, int] = {}

    def take(s: str) -> None:
        for m in _PLACEHOLDER_NUM.finditer(s):
            kind = kind_of(m.group("prefix") or "")
            last[kind] = max(last.get(kind, 0), int(m.group("n")))

    take(text)
    for m in _B64_RUN.finditer(text):
        run = m.group(0)
        if any(f in run for f in _PLACEHOLDER_B64):
            for _, dec, _ in _b64_windows(run):
                take(dec)
    return last


def mask(secret: str) -> str:
    """A loggable stand-in: the known non-secret prefix and the length, nothing else."""
    for p in (*PREFIXES, "pk_test_", "pk_live_", "Bearer ", "Basic "):
        if secret.startswith(p):
            return f"{p}…({len(secret)} chars)"
    m = re.match(OBJECT_SECRET, secret)
    if m:
        return f"{secret.split('_', 1)[0]}_…_secret_…({len(secret)} chars)"
    return f"…({len(secret)} chars)"


def _is_field_value_secret(val: str) -> bool:
    """A value after a secret field's name that must not stay as it is."""
    return not (_is_placeholder_token(val) or val == REDACTED or _NOT_A_VALUE.fullmatch(val))


def _token_flagged(tok: str, strict: bool) -> bool:
    """Is this bearer token a credential to redact (not a placeholder, token-shaped)?"""
    t = tok.rstrip(".")
    if not t or _is_placeholder_token(t):
        return False
    if strict:
        return True
    return len(t) >= 8 and (len(t) >= 20 or any(c.isdigit() for c in t))

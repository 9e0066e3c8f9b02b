"""Redaction of recorded interactions, and a fail-closed scanner for what slips through.

Threat model: cassettes are committed to git, so anything written to them must be
assumed public forever. A recorded exchange carries credentials: the API key
(``Authorization: Bearer sk_…``, or curl's ``Basic base64("sk_…:")``), FC client
secrets (``fcsess_client_secret_…``, enough to run a bank-linking flow), cookies,
idempotency/telemetry ids, and account-owner PII. They can hide anywhere: headers,
paths, query strings, nested JSON, dict keys, JSON-in-a-string, error messages, and in
percent-encoded, ``\\uXXXX``-escaped or base64 form. The adversary is *accident*, not a
determined insider (who could encrypt a key before sending it), so the goal is:

- :class:`Redactor` replaces every secret it recognises, under every encoding layer it
  can decode (up to :data:`MAX_DEPTH` nested layers), with a stable placeholder
  (``sk_test_REDACTED_1``; the same secret always gets the same number within one
  cassette), keeps the rest of the value byte for byte, and is idempotent. The
  built-in secret rules cannot be switched off; :class:`RedactionRules` only adds to
  them (headers, paths, patterns, PII).
- :func:`scan` re-checks the serialized text independently; the recorder refuses to
  write an entry it has findings for. Findings never carry the secret itself.

Not covered: secrets inside compressed or encrypted bytes, base64 wrapped across
lines, secrets broken up by other characters, more than :data:`MAX_DEPTH` nested
encodings, and credential formats other than the ones below (add them with
``patterns``).
"""

from __future__ import annotations

import binascii
import bisect
import functools
import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["REDACTED", "MAX_DEPTH", "RedactionRules", "Redactor", "Finding", "scan", "mask"]

REDACTED = "REDACTED"
#: How many encoding layers (percent, ``\\uXXXX``, base64, in any mix) are looked through.
MAX_DEPTH = 4

API_KEY_PREFIXES = ("sk_test_", "sk_live_", "rk_test_", "rk_live_")
CLIENT_SECRET_PREFIX = "fcsess_client_secret_"
_KIND = {"sk_test_": "sk_test", "sk_live_": "sk_live", "rk_test_": "rk_test",
         "rk_live_": "rk_live", CLIENT_SECRET_PREFIX: "client_secret", "": "bearer"}

_API_MIN_TAIL = 10  # Stripe's own leak scanning: 10-128 characters after the prefix
# A secret, or one of our placeholders (group "ph"), which is left alone. No upper bound
# on the tail (a longer run is redacted whole rather than missed), but the tail stops
# where another prefix starts, so secrets glued together are each found whole.
_PREFIX = r"(?:sk|rk)_(?:test|live)_|fcsess_client_secret_"
_TAIL_CHAR = rf"(?:(?!{_PREFIX})[A-Za-z0-9])"
_SECRET = re.compile(
    rf"(?P<prefix>(?P<api>(?:sk|rk)_(?:test|live)_)|fcsess_client_secret_)"
    rf"(?:(?P<ph>REDACTED(?:_[0-9]+)?)(?![A-Za-z0-9])"
    rf"|(?P<tail>(?(api){_TAIL_CHAR}{{{_API_MIN_TAIL},}}|{_TAIL_CHAR}+)))")


def _escapable(c: str) -> str:
    """``c`` literally, percent-encoded or ``\\u``-escaped (hex digits in any case)."""
    h = "".join(f"[{x}{x.upper()}]" if x.isalpha() else x for x in f"{ord(c):02x}")
    return rf"(?:{re.escape(c)}|%{h}|\\{{1,4}}u00{h})"


# The same secrets with any of their characters percent- or \u-escaped, matched on the
# escaped text itself: decoding a whole span first can go wrong when a stray "%" sits
# right before an escaped secret ("100%" + "%66cs…" decodes to "100ücs…").
_ESC_PREFIX = "|".join("".join(_escapable(c) for c in p)
                       for p in (*API_KEY_PREFIXES, CLIENT_SECRET_PREFIX))
_ESC_ALNUM = r"(?:3[0-9]|4[1-9a-fA-F]|5[0-9aA]|6[1-9a-fA-F]|7[0-9aA])"
_ESC_SECRET = re.compile(
    rf"(?:{_ESC_PREFIX})(?:(?!{_ESC_PREFIX})(?:[A-Za-z0-9]|%{_ESC_ALNUM}"
    rf"|\\{{1,4}}u00{_ESC_ALNUM}))+")
_ESC_TOKEN = re.compile(r"%([0-9A-Fa-f]{2})|\\{1,4}u([0-9A-Fa-f]{4})")


def _unescape(s: str) -> str:
    return _ESC_TOKEN.sub(lambda m: chr(int(m.group(1) or m.group(2), 16)), s)


# Stripe's own masked form in error messages ("sk_test_********1234"): the visible
# characters are dropped so a developer's key does not leave its last four behind.
_MASKED = re.compile(r"(?P<prefix>(?:sk|rk)_(?:test|live)_)[A-Za-z0-9]*(?P<stars>\*+)"
                     r"[A-Za-z0-9*]*")
# "Bearer <token>"; after "Authorization:" every token counts (strict), elsewhere
# only token-shaped ones (prose like "using Bearer auth" stays readable). The redactor
# lets the gaps span lines; the scanner does not, because in YAML text a line break
# may separate two different values (it only has to find what the redactor missed).
_BEARER_TEMPLATE = (
    r"(?P<auth>(?<![A-Za-z0-9_])(?i:authorization)[\"']?{ws}*[:=]{ws}*[\"']?)?"
    r"(?<![A-Za-z0-9_])(?P<scheme>(?i:bearer))(?P<sp>{ws}+)"
    r"(?=(?P<tok>[A-Za-z0-9\-._~+/=]+))")
# The token is only looked at, not consumed, so "Bearer Bearer x" and "Bearer word
# authorization: Bearer x" still see the second scheme. Word boundaries are ASCII-only:
# a YAML dump may escape a non-ASCII letter and fold the line right after it.
_BEARER = re.compile(_BEARER_TEMPLATE.format(ws=r"\s"))
_BEARER_SCAN = re.compile(_BEARER_TEMPLATE.format(ws=r"[ \t]"))
_BEARER_QUICK = re.compile(r"(?i)bearer")
# Tokens that are not credentials: our placeholders, publishable keys, and doc
# placeholders like YOUR_SECRET_KEY (Stripe's own 401 message quotes one).
_PLACEHOLDER_TOKEN = re.compile(
    r"(?:(?:sk|rk)_(?:test|live)_|fcsess_client_secret_)?REDACTED(?:_[0-9]+)?"
    r"|pk_(?:test|live)_[A-Za-z0-9]+|[A-Z]+(?:_[A-Z]+)+")
# Header names and mapping keys whose values are credentials ("Authorization",
# "X-Authorization", and keys the scanner's strict form would also reach).
_AUTH_NAME = re.compile(r"(?i)(?<![A-Za-z0-9_])authorization[^A-Za-z0-9_]*$")
_AUTH_VALUE = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]*)(?P<sp>\s+)"
                         r"(?P<cred>\S.*)", re.S)

_PCT_SPAN = re.compile(r"[A-Za-z0-9%._~+/-]+")
_PCT_TOKEN = re.compile(r"%[0-9A-Fa-f]{2}|.", re.S)
_UESC_SPAN = re.compile(r"(?:\\{1,4}u[0-9A-Fa-f]{4}|[A-Za-z0-9_.~=+/%-])+")
_UESC_TOKEN = re.compile(r"\\{1,4}u[0-9A-Fa-f]{4}|.", re.S)
_B64_RUN = re.compile(r"[A-Za-z0-9+/_-]{16,}={0,2}")
_B64_MIN = 16
_CACHE_SIZE = 4096
_CACHE_MAX_LEN = 512
_B64_CRED = re.compile(r"[A-Za-z0-9+/_-]+={0,2}")
_TO_STD = str.maketrans("-_", "+/")
_TO_URL = str.maketrans("+/", "-_")
# Anything any layer could act on; strings without a match are returned untouched.
_INTERESTING = re.compile(
    r"k_(?:test|live)_|client_secret_|(?i:bearer)|%[0-9A-Fa-f]{2}|\\u[0-9A-Fa-f]{4}"
    r"|[A-Za-z0-9+/_-]{16}")
_WORD = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")

_PLACEHOLDER_NUM = re.compile(
    r"(?:(?P<prefix>(?:sk|rk)_(?:test|live)_|fcsess_client_secret_)|(?<![A-Za-z0-9_]))"
    r"REDACTED_(?P<n>[0-9]+)")

_PII_OWNER_OBJECT = "financial_connections.account_owner"
_PII_OWNER_FIELDS = ("name", "email", "phone", "raw_address")
_LAST4_PLACEHOLDER = "0000"
_HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")


# --------------------------------------------------------------------------- rules


def _parse_path(path: str) -> tuple[str, ...]:
    """``"accounts.data[].last4"`` -> ``("accounts", "data", "[]", "last4")``.

    Tokens: a key name, ``"*"`` (any key) or ``"[]"`` (any list index).
    """
    if not path or path != path.strip():
        raise ValueError(f"invalid path {path!r}: empty or padded with spaces")
    tokens: list[str] = []
    for part in path.split("."):
        m = re.fullmatch(r"([^.\[\]]*)((?:\[\])*)", part)
        if not m or (not m.group(1) and not m.group(2)):
            raise ValueError(f"invalid path {path!r}: write segments like 'a.b[].c'")
        if m.group(1):
            tokens.append(m.group(1))
        tokens.extend(["[]"] * (len(m.group(2)) // 2))
    if not tokens:
        raise ValueError(f"invalid path {path!r}")
    return tuple(tokens)


def _header_names(v: list[str]) -> list[str]:
    out: list[str] = []
    for name in v:
        if not _HEADER_NAME.fullmatch(name):
            raise ValueError(f"invalid header name {name!r}")
        if name.lower() not in out:
            out.append(name.lower())
    return out


class RedactionRules(BaseModel):
    """Extra redaction on top of the built-in secret rules, which are always on.

    Built in (not configurable): Stripe secret and restricted keys, FC client secrets,
    ``Authorization`` credentials and ``Bearer`` tokens, in every encoding layer the
    redactor can decode.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    remove_header_values: list[str] = Field(
        default=["cookie", "set-cookie"],
        description="Headers (any case) kept with their value replaced by 'REDACTED'.")
    drop_headers: list[str] = Field(
        default=["idempotency-key", "x-stripe-client-user-agent", "x-stripe-client-telemetry"],
        description="Headers (any case) removed from recordings entirely.")
    redact_headers: list[str] = Field(
        default=[],
        description="More headers (any case) whose values become 'REDACTED'.")
    paths: list[str] = Field(
        default=[],
        description="Body/query fields whose values become 'REDACTED': dotted keys, '[]' for "
                    "any list index, '*' for any key, e.g. 'accounts.data[].last4'.")
    patterns: list[str] = Field(
        default=[],
        description="Regexes (Python syntax); every match in any string of an entry (header "
                    "names and values, path, query, bodies, keys) becomes 'REDACTED'. Matched "
                    "on the text as stored, not inside percent/base64 encodings.")
    pii: bool = Field(
        default=False,
        description="Redact account-owner PII (name, email, phone, raw_address) and "
                    "replace every last4 with '0000'.")

    @field_validator("remove_header_values", "drop_headers", "redact_headers")
    @classmethod
    def _names(cls, v: list[str]) -> list[str]:
        return _header_names(v)

    @field_validator("paths")
    @classmethod
    def _paths(cls, v: list[str]) -> list[str]:
        for p in v:
            _parse_path(p)
        return v

    @field_validator("patterns")
    @classmethod
    def _patterns(cls, v: list[str]) -> list[str]:
        for p in v:
            try:
                rx = re.compile(p)
            except re.error as e:
                raise ValueError(f"invalid regex {p!r}: {e}") from None
            if rx.search("") is not None:
                raise ValueError(f"regex {p!r} matches the empty string")
            if rx.sub(REDACTED, REDACTED) != REDACTED:
                raise ValueError(f"regex {p!r} matches inside the placeholder {REDACTED!r}")
        return v


# --------------------------------------------------------------------------- helpers


def mask(secret: str) -> str:
    """A loggable stand-in: the known non-secret prefix and the length, nothing else."""
    for p in (*API_KEY_PREFIXES, CLIENT_SECRET_PREFIX, "pk_test_", "pk_live_",
              "Bearer ", "Basic "):
        if secret.startswith(p):
            return f"{p}…({len(secret)} chars)"
    return f"…({len(secret)} chars)"


def _is_placeholder_token(tok: str) -> bool:
    return _PLACEHOLDER_TOKEN.fullmatch(tok.rstrip(".")) is not None


def _token_flagged(tok: str, strict: bool) -> bool:
    """Is this bearer token a credential to redact (not a placeholder, token-shaped)?"""
    t = tok.rstrip(".")
    if not t or _is_placeholder_token(t):
        return False
    if strict:
        return True
    return len(t) >= 8 and (len(t) >= 20 or any(c.isdigit() for c in t))


def _decode_mapped(span: str, token_re: re.Pattern[str],
                   decode_one: Callable[[str], str]) -> tuple[str, list[int]]:
    """Decode ``span`` token by token; ``starts[i]`` is where decoded char i came from."""
    chars: list[str] = []
    starts: list[int] = []
    for m in token_re.finditer(span):
        t = m.group(0)
        chars.append(decode_one(t) if len(t) > 1 else t)
        starts.append(m.start())
    starts.append(len(span))
    return "".join(chars), starts


def _pct_one(t: str) -> str:
    return chr(int(t[1:], 16))


def _uesc_one(t: str) -> str:
    return chr(int(t[-4:], 16))


def _splice(span: str, starts: list[int], text: str, red: str,
            encode: Callable[[str], str]) -> str:
    """Put ``red`` (the redacted ``text``) back into the encoded ``span``.

    Only the changed middle (widened to whole words, so a placeholder comes out in one
    literal piece) is re-encoded; the rest of the span is kept exactly as it was.
    """
    n, r = len(text), len(red)
    p = 0
    while p < n and p < r and text[p] == red[p]:
        p += 1
    q = 0
    while q < n - p and q < r - p and text[n - 1 - q] == red[r - 1 - q]:
        q += 1
    while p > 0 and text[p - 1] in _WORD:
        p -= 1
    while q > 0 and text[n - q] in _WORD:
        q -= 1
    return span[:starts[p]] + encode(red[p:r - q]) + span[starts[n - q]:]


def _pct_encode(s: str) -> str:
    return quote(s.encode("latin-1", "replace"), safe="")


def _uesc_encode(s: str) -> str:
    return "".join(c if c in _WORD or c in ".-" else f"\\u{ord(c):04x}" for c in s)


def _b64_decode(seg: str) -> tuple[bytes, int] | None:
    """Decode a run of either alphabet (no padding needed); returns (bytes, chars used)."""
    used = len(seg) - (len(seg) % 4 == 1)
    chunk = seg[:used]
    if "-" in chunk or "_" in chunk:
        chunk = chunk.translate(_TO_STD)
    try:
        return binascii.a2b_base64(chunk + "=" * (-used % 4), strict_mode=True), used
    except (binascii.Error, ValueError):
        return None


def _b64_windows(run: str) -> Iterator[tuple[int, str, int]]:
    """(offset, decoded latin-1 text, chars used) for the 4 alignments of a run."""
    body = run.rstrip("=")
    for k in range(4):
        seg = body[k:]
        if len(seg) < _B64_MIN:
            return
        dec = _b64_decode(seg)
        if dec is not None:
            yield k, dec[0].decode("latin-1"), dec[1]


def _b64_fragments(needle: bytes) -> tuple[str, ...]:
    """Base64 characters that encode ``needle`` alone, at each of the 3 byte alignments."""
    out = []
    for pad in range(3):
        enc = binascii.b2a_base64(b"\0" * pad + needle, newline=False).decode()
        start, end = -(-8 * pad // 6), 8 * (pad + len(needle)) // 6
        out.append(enc[start:end])
        out.append(enc[start:end].translate(_TO_URL))
    return tuple(set(out))


_PLACEHOLDER_B64 = _b64_fragments(b"REDACTED_")


# --------------------------------------------------------------------------- redactor


MIN_LEARNED = 8  # shorter credentials (a Basic user name like "admin") are not chased
MAX_LEARNED = 256  # per cassette; beyond, credentials are still redacted in place
_PLAIN_WORD = re.compile(r"[a-z]+|[0-9]+")  # not credential-shaped: chasing would mangle
_TOKEN_CHAR = r"A-Za-z0-9_\-"


def learned_pattern(forms: Mapping[str, str]) -> re.Pattern[str]:
    """The learned credentials as whole tokens (never inside a longer word)."""
    alternatives = "|".join(re.escape(f) for f in sorted(forms, key=len, reverse=True))
    return re.compile(f"(?<![{_TOKEN_CHAR}])(?:{alternatives})(?![{_TOKEN_CHAR}])")


class Redactor:
    """Redacts entries for one cassette, numbering placeholders consistently.

    ``existing`` is the text of a cassette being appended to: numbering continues after
    the highest placeholder of each kind found in it.
    """

    def __init__(self, rules: RedactionRules | None = None, existing: str = "") -> None:
        self.rules = rules if rules is not None else RedactionRules()
        self._numbers: dict[str, dict[str, int]] = {p: {} for p in _KIND}
        self._last: dict[str, int] = {p: 0 for p in _KIND}
        self._drop = frozenset(self.rules.drop_headers)
        self._blank = frozenset(self.rules.remove_header_values) | frozenset(
            self.rules.redact_headers)
        self._paths = tuple(_parse_path(p) for p in self.rules.paths)
        self._patterns = tuple(re.compile(p) for p in self.rules.patterns)
        # _str is a pure function of the string once its secrets have numbers, so
        # results are reused (keys and common values repeat across entries).
        self._cache: dict[str, str] = {}
        # Credentials that match no secret pattern (an opaque Bearer token, a Basic
        # password) are learned from Authorization headers; their copies elsewhere
        # (echoed in a body, a query, another header) are replaced too.
        self.learned: dict[str, str] = {}
        self._learned_forms: dict[str, str] = {}  # raw and percent-encoded -> placeholder
        self._learned_re: re.Pattern[str] | None = None
        if existing:
            self._continue_after(existing)

    # -- numbering

    def _continue_after(self, text: str) -> None:
        def take(s: str) -> None:
            for m in _PLACEHOLDER_NUM.finditer(s):
                prefix = m.group("prefix") or ""
                self._last[prefix] = max(self._last[prefix], int(m.group("n")))

        take(text)
        for m in _B64_RUN.finditer(text):  # e.g. a redacted Basic header
            run = m.group(0)
            if any(f in run for f in _PLACEHOLDER_B64):
                for _, dec, _ in _b64_windows(run):
                    take(dec)

    def _placeholder(self, prefix: str, secret: str) -> str:
        table = self._numbers[prefix]
        n = table.get(secret)
        if n is None:
            self._last[prefix] += 1
            n = table[secret] = self._last[prefix]
        return f"{prefix}{REDACTED}_{n}"

    # -- strings

    def _sub_secret(self, m: re.Match[str]) -> str:
        if m.group("ph") is not None:
            return m.group(0)
        return self._placeholder(m.group("prefix"), m.group(0))

    def _bearer(self, s: str) -> str:
        parts: list[str] = []
        last = 0
        for m in _BEARER.finditer(s):
            tok, start = m.group("tok"), m.start("tok")
            if start >= last and _token_flagged(tok, strict=m.group("auth") is not None):
                core = tok.rstrip(".")
                parts += [s[last:start], self._placeholder("", core)]
                last = start + len(core)
        return "".join(parts) + s[last:] if parts else s

    def _sub_escaped_secret(self, m: re.Match[str]) -> str:
        t = m.group(0)
        if "%" not in t and "\\" not in t:
            return t  # a plain secret: the raw rule below takes it
        dec = _unescape(t)
        red = _SECRET.sub(self._sub_secret, dec)
        return t if red == dec else red

    def _sub_pct(self, m: re.Match[str], depth: int) -> str:
        span = m.group(0)
        if "%" not in span:
            return span
        text, starts = _decode_mapped(span, _PCT_TOKEN, _pct_one)
        if text == span:
            return span
        red = self._rewrite(text, depth + 1)
        return span if red == text else _splice(span, starts, text, red, _pct_encode)

    def _sub_uesc(self, m: re.Match[str], depth: int) -> str:
        span = m.group(0)
        if "\\" not in span:
            return span
        text, starts = _decode_mapped(span, _UESC_TOKEN, _uesc_one)
        red = self._rewrite(text, depth + 1)
        return span if red == text else _splice(span, starts, text, red, _uesc_encode)

    def _sub_b64(self, m: re.Match[str], depth: int) -> str:
        run = m.group(0)
        for _ in range(8):  # a run may hold more than one encoded blob
            for k, text, used in _b64_windows(run):
                if not _INTERESTING.search(text):
                    continue
                red = self._rewrite(text, depth + 1)
                if red == text:
                    continue
                body = run.rstrip("=")
                padded = len(run) > len(body)
                enc = binascii.b2a_base64(red.encode("latin-1", "replace"),
                                          newline=False).decode()
                if "-" in body or "_" in body:
                    enc = enc.translate(_TO_URL)
                rest = body[k + used:]
                if not padded or rest:
                    enc = enc.rstrip("=")
                    rest += run[len(body):]
                run = body[:k] + enc + rest
                break
            else:
                return run
        return run

    def _rewrite(self, s: str, depth: int) -> str:
        """The built-in rules over one string, looking through encodings (no patterns)."""
        if not _INTERESTING.search(s):
            return s
        if "%" in s or "\\" in s:
            s = _ESC_SECRET.sub(self._sub_escaped_secret, s)
        if depth < MAX_DEPTH:
            if "%" in s:
                s = _PCT_SPAN.sub(lambda m: self._sub_pct(m, depth), s)
            if "\\" in s:
                s = _UESC_SPAN.sub(lambda m: self._sub_uesc(m, depth), s)
            s = _B64_RUN.sub(lambda m: self._sub_b64(m, depth), s)
        if "k_" in s or CLIENT_SECRET_PREFIX in s:
            s = _SECRET.sub(self._sub_secret, s)
            if "*" in s:
                s = _MASKED.sub(lambda m: m.group("prefix") + m.group("stars"), s)
        if _BEARER_QUICK.search(s):
            s = self._bearer(s)
        return s

    def _str(self, s: str) -> str:
        hit = self._cache.get(s)
        if hit is not None:
            return hit
        out = self._rewrite(s, 0)
        if self._learned_re is not None:
            out = self._learned_re.sub(self._sub_learned, out)
        for rx in self._patterns:
            out = rx.sub(REDACTED, out)
        if len(s) <= _CACHE_MAX_LEN:
            if len(self._cache) >= _CACHE_SIZE:
                self._cache.clear()
            self._cache[s] = out
        return out

    def _sub_learned(self, m: re.Match[str]) -> str:
        return self._learned_forms[m.group(0)]

    def redact_text(self, s: str) -> str:
        """A log line or error message with every secret replaced."""
        return self._str(s)

    # -- credentials

    def _opaque(self, tok: str) -> str:
        """A credential that must not survive: placeholder or a fresh ``REDACTED_<n>``."""
        red = self._str(tok)
        if _is_placeholder_token(red) or red == REDACTED:
            return red
        placeholder = self._placeholder("", tok)
        if (len(tok) >= MIN_LEARNED and tok not in self.learned
                and len(self.learned) < MAX_LEARNED and not _PLAIN_WORD.fullmatch(tok)):
            self.learned[tok] = placeholder
            self._learned_forms[tok] = self._learned_forms[quote(tok, safe="")] = placeholder
            self._learned_re = learned_pattern(self._learned_forms)
            self._cache.clear()  # strings holding it now read differently
        return placeholder

    def _basic(self, cred: str) -> str:
        if _is_placeholder_token(cred):
            return cred
        dec = _b64_decode(cred.rstrip("=")) if _B64_CRED.fullmatch(cred) else None
        if dec is None or dec[1] != len(cred.rstrip("=")):
            return self._opaque(cred)
        text = dec[0].decode("latin-1")
        parts = text.split(":", 1)
        red = ":".join(self._opaque(p) if p else p for p in parts)
        if red == text:
            return cred
        return binascii.b2a_base64(red.encode("latin-1", "replace"), newline=False).decode()

    def _auth(self, value: str) -> str:
        """An ``Authorization`` value: credentials replaced, scheme kept."""
        m = _AUTH_VALUE.fullmatch(value.strip())
        if not m:
            return value if not value.strip() else self._opaque(value)
        scheme, cred = self._str(m.group("scheme")), m.group("cred")
        new = self._basic(cred) if scheme.lower() == "basic" else self._opaque(cred)
        return f"{scheme}{m.group('sp')}{new}"

    # -- headers

    def redact_headers(self, headers: Mapping[str, Any]) -> dict[str, Any]:
        """Headers (``name -> str | list[str]``) with the header rules applied."""
        out: dict[str, Any] = {}
        for name, value in headers.items():
            low = str(name).lower()
            if low in self._drop:
                continue
            key = self._str(name) if isinstance(name, str) else name
            if low in self._blank:
                out[key] = [REDACTED for _ in value] if isinstance(value, list) else REDACTED
            elif _AUTH_NAME.search(low):
                out[key] = self._auth_value(value)
            else:
                out[key] = self._walk(value, ())
        return out

    def _auth_value(self, value: Any) -> Any:
        if isinstance(value, str):
            return self._auth(value)
        if isinstance(value, list):
            return [self._auth_value(v) for v in value]
        return self._walk(value, ())

    # -- structured values

    def _advance(self, states: tuple[tuple[int, int], ...], key: Any, index: bool
                 ) -> tuple[tuple[tuple[int, int], ...], bool]:
        nxt: list[tuple[int, int]] = []
        hit = False
        for r, i in states:
            tok = self._paths[r][i]
            if (tok == "[]") if index else (tok == "*" or tok == str(key)):
                if i + 1 == len(self._paths[r]):
                    hit = True
                else:
                    nxt.append((r, i + 1))
        return tuple(nxt), hit

    def _walk(self, obj: Any, states: tuple[tuple[int, int], ...]) -> Any:
        if isinstance(obj, str):
            return self._str(obj)
        if isinstance(obj, Mapping):
            pii = self.rules.pii
            owner = pii and obj.get("object") == _PII_OWNER_OBJECT
            out: dict[Any, Any] = {}
            for k, v in obj.items():
                nk = self._str(k) if isinstance(k, str) else k
                child, hit = self._advance(states, k, False) if states else ((), False)
                if hit:
                    out[nk] = REDACTED
                elif owner and k in _PII_OWNER_FIELDS and v is not None:
                    out[nk] = REDACTED
                elif pii and k == "last4" and isinstance(v, (str, int)):
                    out[nk] = _LAST4_PLACEHOLDER
                elif isinstance(k, str) and _AUTH_NAME.search(k):
                    out[nk] = self._auth_value(v)
                else:
                    out[nk] = self._walk(v, child)
            return out
        if isinstance(obj, (list, tuple)):
            child, hit = self._advance(states, None, True) if states else ((), False)
            if hit:
                return [REDACTED for _ in obj]
            return [self._walk(v, child) for v in obj]
        if isinstance(obj, (bytes, bytearray)):
            return self._str(bytes(obj).decode("latin-1")).encode("latin-1", "replace")
        return obj

    def _root(self) -> tuple[tuple[int, int], ...]:
        return tuple((r, 0) for r in range(len(self._paths)))

    def redact_value(self, obj: Any) -> Any:
        """Any JSON-like value (a body or query): built-ins, paths, patterns, PII."""
        return self._walk(obj, self._root())

    def _body(self, body: Any) -> Any:
        if not isinstance(body, Mapping) or len(body) != 1:
            return self.redact_value(body)
        kind, value = next(iter(body.items()))
        if kind == "base64" and isinstance(value, str):
            return {kind: self._binary(value)}
        if kind == "text" and isinstance(value, str):
            return {kind: self._text_body(value)}
        return {kind: self.redact_value(value)}

    def _binary(self, value: str) -> str:
        try:
            raw = binascii.a2b_base64(value.encode("ascii"), strict_mode=True)
        except (binascii.Error, ValueError, UnicodeEncodeError):
            return self._str(value)
        text = raw.decode("latin-1")
        red = self._str(text)
        if red == text:
            return value
        return binascii.b2a_base64(red.encode("latin-1", "replace"), newline=False).decode()

    def _text_body(self, value: str) -> str:
        red = self._str(value)
        if (self._paths or self.rules.pii) and red.lstrip()[:1] in ("{", "["):
            try:
                data = json.loads(red)
            except (ValueError, RecursionError):
                return red
            from .interaction import MAX_JSON_DEPTH, nested_within
            if not nested_within(data, MAX_JSON_DEPTH):
                return red  # too deep to walk (kept as text by the body decoder too)
            new = self.redact_value(data)
            if new != data:
                return json.dumps(new, ensure_ascii=False)
        return red

    def _message(self, msg: Mapping[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for k, v in msg.items():
            if k == "headers" and isinstance(v, Mapping):
                out[k] = self.redact_headers(v)
            elif k == "body":
                out[k] = self._body(v)
            elif k == "query":
                out[k] = self.redact_value(v)
            else:
                out[self._str(k) if isinstance(k, str) else k] = self._walk(v, ())
        return out

    def redact_entry(self, entry: Mapping[str, Any]) -> dict[str, Any]:
        """A new, redacted copy of a recorded interaction (the input is not changed)."""
        for part in ("request", "response"):  # learn credentials before walking the
            msg = entry.get(part)             # query and path, which come first
            headers = msg.get("headers") if isinstance(msg, Mapping) else None
            if isinstance(headers, Mapping):
                for name, value in headers.items():
                    if isinstance(name, str) and _AUTH_NAME.search(name.lower()):
                        self._auth_value(value)
        out: dict[str, Any] = {}
        for k, v in entry.items():
            if k in ("request", "response") and isinstance(v, Mapping):
                out[k] = self._message(v)
            else:
                out[self._str(k) if isinstance(k, str) else k] = self._walk(v, ())
        return out


# --------------------------------------------------------------------------- scanner


@dataclass(frozen=True)
class Finding:
    """A secret that survived: its kind, where (offset in the scanned text), masked."""

    kind: str
    offset: int
    excerpt: str
    encoding: str = "raw"


def _find(text: str, depth: int) -> list[tuple[str, str, int, str]]:
    """(kind, secret, offset, encoding chain) for every secret in ``text``."""
    found: list[tuple[str, str, int, str]] = []
    if not _INTERESTING.search(text):
        return found
    for m in _secret_matches(text):
        if m.group("ph") is None:
            found.append((_KIND[m.group("prefix")], m.group(0), m.start(), "raw"))
    if "%" in text or "\\" in text:
        for m in _ESC_SECRET.finditer(text):
            t = m.group(0)
            if "%" in t or "\\" in t:
                for sm in _SECRET.finditer(_unescape(t)):
                    if sm.group("ph") is None:
                        found.append((_KIND[sm.group("prefix")], sm.group(0), m.start(),
                                      "percent" if "%" in t else "unicode-escape"))
    if _BEARER_QUICK.search(text):
        # a token already reported as a key or client secret is not reported again; the
        # bearer findings added below start before their own token, and before any
        # later token, so only the offsets found so far matter (sorted: no quadratic scan)
        known = sorted(f[2] for f in found)
        for m in _bearer_scan_matches(text):
            tok = m.group("tok")
            i = bisect.bisect_left(known, m.start("tok"))
            if (_token_flagged(tok, m.group("auth") is not None)
                    and not (i < len(known) and known[i] < m.end("tok"))):
                found.append(("bearer", tok.rstrip("."), m.start("scheme"), "raw"))
    if depth >= MAX_DEPTH:
        return found

    def nested(span: str, start: int, inner: str, layer: str) -> None:
        for kind, secret, _, chain in _find(inner, depth + 1):
            if secret not in span:  # otherwise already reported in raw form
                enc = layer if chain == "raw" else f"{layer}+{chain}"
                found.append((kind, secret, start, enc))

    if "%" in text:
        for m in _PCT_SPAN.finditer(text):
            span = m.group(0)
            if "%" in span:
                dec = _decode_mapped(span, _PCT_TOKEN, _pct_one)[0]
                if dec != span:
                    nested(span, m.start(), dec, "percent")
    if "\\" in text:
        for m in _UESC_SPAN.finditer(text):
            span = m.group(0)
            if "\\" in span:
                nested(span, m.start(), _decode_mapped(span, _UESC_TOKEN, _uesc_one)[0],
                       "unicode-escape")
    for m in _B64_RUN.finditer(text):
        run = m.group(0)
        windows = _b64_interesting_cached(run) if len(run) <= 512 else _b64_interesting(run)
        if windows:
            basic = text[max(0, m.start() - 6):m.start()].lower() == "basic "
            for k, dec in windows:
                nested(run, m.start() + k, dec, "basic" if basic else "base64")
    return found


def _b64_interesting(run: str) -> tuple[tuple[int, str], ...]:
    """The alignments of a base64-looking run whose decoding might hold a secret (as
    bytes read one per character, or as UTF-16/UTF-32 text)."""
    out = []
    for k, dec, _ in _b64_windows(run):
        if _INTERESTING.search(dec):
            out.append((k, dec))
        # both readings: an ASCII run elsewhere in the window must not hide wide text
        if "\x00" in dec and (wide := _wide_text(dec.encode("latin-1"))) is not None:
            out.append((k, wide))
    return tuple(out)


def _wide_text(raw: bytes) -> str | None:
    """``raw`` read as UTF-16 or UTF-32 (either byte order, any alignment), when that
    reading might hold a secret: a text body in those charsets is stored as base64,
    and read one byte per character its secrets are interleaved with NULs."""
    for codec, width in (("utf-16-le", 2), ("utf-16-be", 2), ("utf-32-le", 4),
                         ("utf-32-be", 4)):
        for start in range(width):
            text = raw[start:].decode(codec, "ignore")
            if _INTERESTING.search(text):
                return text
    return None


# Entries repeat most runs (header values, ids, paths): decoding them again each time
# was a third of the scanner's cost per recorded interaction. Pure, so memoized.
_b64_interesting_cached = functools.lru_cache(maxsize=8192)(_b64_interesting)


_SECRET_ANCHORS = ("sk_test_", "sk_live_", "rk_test_", "rk_live_", "fcsess_client_secret_")


def _secret_matches(text: str) -> Iterator[re.Match[str]]:
    """``_SECRET.finditer(text)``, faster: a match can only start where one of the
    literal prefixes starts, and ``str.find`` locates those at C speed (the regex
    alone tries every position)."""
    starts = set()
    for anchor in _SECRET_ANCHORS:
        i = text.find(anchor)
        while i >= 0:
            starts.add(i)
            i = text.find(anchor, i + 1)
    end = 0
    for i in sorted(starts):
        if i >= end and (m := _SECRET.match(text, i)) is not None:
            end = m.end()
            yield m


def _bearer_scan_matches(text: str) -> Iterator[re.Match[str]]:
    """``_BEARER_SCAN.finditer(text)``, faster: its whitespace never crosses a line
    break, so only the lines where the cheap ``bearer`` probe hits can match."""
    line_end = -1
    for q in _BEARER_QUICK.finditer(text):
        if q.start() < line_end:
            continue  # that line was scanned already
        start = text.rfind("\n", 0, q.start()) + 1
        line_end = text.find("\n", q.end())
        if line_end < 0:
            line_end = len(text)
        yield from _BEARER_SCAN.finditer(text, start, line_end)


def scan(text: str) -> list[Finding]:
    """Every Stripe secret, client secret or bearer token left in ``text`` (fail closed).

    Looks through percent-encoding (repeated), ``\\uXXXX`` escapes and base64/base64url
    (including ``Basic`` credentials), up to :data:`MAX_DEPTH` layers. Placeholders and
    publishable keys are not findings. One finding per distinct secret (at the first
    place it shows); excerpts are masked.
    """
    seen: set[tuple[str, str]] = set()
    out: list[Finding] = []
    for kind, secret, offset, chain in sorted(_find(text, 0), key=lambda f: f[2]):
        if (kind, secret) in seen:  # one finding per distinct secret, at its first place
            continue
        seen.add((kind, secret))
        shown = ("Bearer " if kind == "bearer" else "") + mask(secret)
        excerpt = shown
        for layer in reversed(chain.split("+")):
            if layer != "raw":
                excerpt = f"{layer}({excerpt})"
        out.append(Finding(kind, offset, excerpt, chain))
    return out

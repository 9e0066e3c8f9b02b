"""The :class:`Redactor`: replaces every secret it recognises, under every encoding
layer it can decode, with a stable placeholder, and learns opaque credentials from
``Authorization`` headers to chase their copies (raw, percent, base64, hex)."""

from __future__ import annotations

import binascii
import json
import re
from collections.abc import Mapping
from typing import Any

from fc_cassette.exchange.codings import MAX_JSON_DEPTH, nested_within
from fc_cassette.redact import layers
from fc_cassette.redact.codecs import _B64_CRED, _PCT_SPAN, _UESC_SPAN, _b64_decode
from fc_cassette.redact.fieldshapes import sub_values
from fc_cassette.redact.kinds import REDACTED, _is_placeholder_token, kind_of
from fc_cassette.redact.learned import (
    _PLAIN_WORD,
    MAX_LEARNED,
    MIN_LEARNED,
    _b64_map,
    _token_pattern,
    echo_forms,
)
from fc_cassette.redact.patterns import (
    _AUTH_NAME,
    _AUTH_VALUE,
    _BEARER,
    _BEARER_QUICK,
    _ESC_SECRET,
    _INTERESTING,
    _MASKED,
    _SECRET_QUICK,
    AUTH_KEY,
    MAX_DEPTH,
    PLAIN_KEY,
    SECRET_KEY,
    _is_field_value_secret,
    _token_flagged,
    field_matches,
    key_role,
    last_placeholder_numbers,
    sub_escaped_secret,
    sub_secrets,
)
from fc_cassette.redact.rules import RedactionRules, _parse_path

_CACHE_SIZE = 4096
_CACHE_MAX_LEN = 512
_PII_OWNER_OBJECT = "financial_connections.account_owner"
# the PII profile (redaction.pii): each distinct value gets a numbered placeholder of
# its own shape, the same within the cassette (so replayed requests still match)
_PII_SHAPES = {
    "name": "Redacted Name {n}",
    "email": "redacted-{n}@example.invalid",
    "phone": "Redacted Phone {n}",
    "raw_address": "Redacted Address {n}",
    "last4": "{n:04d}",
}
_PII_OWNER_FIELDS = ("name", "email", "phone", "raw_address")
_PII_OURS = re.compile(
    r"Redacted (?:Name|Address|Phone) [0-9]+"
    r"|redacted-[0-9]+@example\.invalid"
)
# (a last4 is numbered again: four digits cannot say they are a placeholder)


class Redactor:
    """Redacts entries for one cassette, numbering placeholders consistently.

    ``existing`` is the text of a cassette being appended to: numbering continues after
    the highest placeholder of each kind found in it.
    """

    def __init__(self, rules: RedactionRules | None = None, existing: str = "") -> None:
        self.rules = rules if rules is not None else RedactionRules()
        # numbered per kind (sk_test, client_secret, ...; "bearer" for opaque ones)
        self._numbers: dict[str, dict[str, int]] = {}
        self._last: dict[str, int] = {}
        self._pii_numbers: dict[str, dict[str, int]] = {}  # field -> value -> number
        self._drop = frozenset(self.rules.drop_headers)
        self._blank = frozenset(self.rules.remove_header_values) | frozenset(
            self.rules.redact_headers
        )
        self._paths = tuple(_parse_path(p) for p in self.rules.paths)
        self._patterns = tuple(re.compile(p) for p in self.rules.patterns)
        # _str is a pure function of the string once its secrets have numbers, so
        # results are reused (keys and common values repeat across entries).
        self._cache: dict[str, str] = {}
        # Credentials that match no secret pattern (an opaque Bearer token, a Basic
        # password) are learned from Authorization headers; their copies elsewhere
        # (echoed in a body, a query, another header) are replaced too.
        self.learned: dict[str, str] = {}
        self._learned_forms: dict[str, str] = {}  # each echo form -> its replacement
        self._learned_re: re.Pattern[str] | None = None
        if existing:
            self._continue_after(existing)

    # -- numbering

    def _continue_after(self, text: str) -> None:
        self._last.update(last_placeholder_numbers(text))

    def _placeholder(self, prefix: str, secret: str) -> str:
        kind = kind_of(prefix)
        table = self._numbers.setdefault(kind, {})
        n = table.get(secret)
        if n is None:
            n = table[secret] = self._last[kind] = self._last.get(kind, 0) + 1
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

    def _rewrite(self, s: str, depth: int) -> str:
        """The built-in rules over one string, looking through encodings (no patterns)."""
        if not _INTERESTING.search(s):
            return s
        if "%" in s or "\\" in s:
            s = _ESC_SECRET.sub(lambda m: sub_escaped_secret(m, self._sub_secret), s)
        if depth < MAX_DEPTH:
            if "%" in s:
                s = _PCT_SPAN.sub(lambda m: layers.sub_pct(m, depth, self._rewrite), s)
            if "\\" in s:
                s = _UESC_SPAN.sub(lambda m: layers.sub_uesc(m, depth, self._rewrite), s)
            s = layers.sub_b64_runs(s, depth, self._rewrite, _INTERESTING)
        if _SECRET_QUICK.search(s):
            if "*" in s:  # first: "sk_test_abc***1234" must not keep its last four
                s = _MASKED.sub(lambda m: m.group("prefix") + m.group("stars"), s)
            s = sub_secrets(s, self._sub_secret)
        if _BEARER_QUICK.search(s):
            s = self._bearer(s)
        return s

    def _str(self, s: str) -> str:
        hit = self._cache.get(s)
        if hit is not None:
            return hit
        out = self._rewrite(s, 0)
        if "secret" in out:
            out = self._sub_fields(out)
        if self._learned_re is not None:
            out = self._learned_re.sub(self._sub_learned, out)
        for rx in self._patterns:
            out = rx.sub(REDACTED, out)
        if len(s) <= _CACHE_MAX_LEN:
            if len(self._cache) >= _CACHE_SIZE:
                self._cache.clear()
            self._cache[s] = out
        return out

    def _sub_fields(self, s: str) -> str:
        s = sub_values(s, self._opaque)  # multipart parts, values of binary bytes
        parts: list[str] = []
        last = 0
        for m in field_matches(s):
            parts += [s[last : m.start()], self._sub_field(m)]
            last = m.end()
        return "".join(parts) + s[last:] if parts else s

    def _sub_field(self, m: re.Match[str]) -> str:
        """ "client_secret=abc": the value of a secret field, whatever its shape."""
        val = m.group("val")
        if not _is_field_value_secret(val):
            return m.group(0)
        return m.group("name") + m.group("sep") + self._opaque(val)

    def _secret_value(self, v: Any) -> Any:
        """The value of a field named in SECRET_FIELDS: every string in it replaced."""
        if isinstance(v, str):
            return self._opaque(v) if v.strip() else v
        if isinstance(v, (list, tuple)):
            return [self._secret_value(x) for x in v]
        if isinstance(v, Mapping):
            return {
                self._str(k) if isinstance(k, str) else k: self._secret_value(x)
                for k, x in v.items()
            }
        return v

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
        if len(tok) >= MIN_LEARNED and not _PLAIN_WORD.fullmatch(tok):
            self._learn(tok, placeholder)
        return placeholder

    def _learn(
        self, secret: str, replacement: str, encoded: Mapping[str, str] | None = None
    ) -> None:
        """Chase ``secret`` from now on in each of its echo forms: the raw one becomes
        ``replacement``, an encoded one becomes ``encoded[form]`` (or ``replacement``)."""
        if secret in self.learned or len(self.learned) >= MAX_LEARNED:
            return
        self.learned[secret] = replacement
        for form in echo_forms(secret):
            self._learned_forms.setdefault(form, (encoded or {}).get(form, replacement))
        self._learned_re = _token_pattern(self._learned_forms)
        self._cache.clear()  # strings holding it now read differently

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
        new = binascii.b2a_base64(red.encode("latin-1", "replace"), newline=False).decode()
        if len(text) >= MIN_LEARNED:  # echoed whole: "user:password" in any encoding,
            raw, rb = text.encode("utf-8", "replace"), red.encode("utf-8", "replace")
            self._learn(
                text,
                red,
                {
                    **_b64_map(text, new),  # whatever the password is
                    raw.hex(): rb.hex(),
                    raw.hex().upper(): rb.hex().upper(),
                },
            )
        return new

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
            elif key_role(low) == AUTH_KEY:  # (a secret field's name is not a header's)
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

    def _advance(
        self, states: tuple[tuple[int, int], ...], key: Any, index: bool
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
        if obj is None or isinstance(obj, (int, float)):  # (before the ABC check below)
            return obj
        if isinstance(obj, dict):
            return self._mapping(obj, states)
        if isinstance(obj, (list, tuple)):
            child, hit = self._advance(states, None, True) if states else ((), False)
            if hit:
                return [REDACTED for _ in obj]
            return [self._walk(v, child) for v in obj]
        if isinstance(obj, Mapping):
            return self._mapping(obj, states)
        if isinstance(obj, (bytes, bytearray)):
            return self._str(bytes(obj).decode("latin-1")).encode("latin-1", "replace")
        return obj

    def _mapping(
        self, obj: Mapping[Any, Any], states: tuple[tuple[int, int], ...]
    ) -> dict[Any, Any]:
        pii = self.rules.pii
        owner = pii and obj.get("object") == _PII_OWNER_OBJECT
        out: dict[Any, Any] = {}
        for k, v in obj.items():
            nk = self._str(k) if isinstance(k, str) else k
            child, hit = self._advance(states, k, False) if states else ((), False)
            if hit:
                out[nk] = REDACTED
            elif owner and k in _PII_OWNER_FIELDS and v is not None:
                out[nk] = self._pii(k, v)
            elif pii and k == "last4" and isinstance(v, (str, int)):
                out[nk] = self._pii(k, v)
            elif (role := key_role(k) if isinstance(k, str) else PLAIN_KEY) == SECRET_KEY:
                out[nk] = self._secret_value(v)
            elif role == AUTH_KEY:
                out[nk] = self._auth_value(v)
            elif isinstance(v, str):  # the usual leaves, without a call
                out[nk] = self._str(v)
            elif v is None or isinstance(v, (int, float)):
                out[nk] = v
            else:
                out[nk] = self._walk(v, child)
        return out

    def _pii(self, field: str, value: Any) -> str:
        """The PII profile's placeholder for ``value`` (``Redacted Name 1``,
        ``redacted-1@example.invalid``, ``Redacted Phone 1``, ``0001`` for a last4)."""
        if field != "last4" and isinstance(value, str) and _PII_OURS.fullmatch(value):
            return value  # already a placeholder: redaction is idempotent
        table = self._pii_numbers.setdefault(field, {})
        n = table.setdefault(str(value), len(table) + 1)
        return _PII_SHAPES[field].format(n=n)

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
            msg = entry.get(part)  # query and path, which come first
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

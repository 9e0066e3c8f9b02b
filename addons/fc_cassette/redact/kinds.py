"""The one table of Stripe secret kinds, the live-key check derived from it, and what a
placeholder (a secret redacted) looks like.

Every place that recognises a credential (the redactor, the fail-closed scanner, the
record mode's live-key guard, ``mask``) derives its patterns from :data:`KINDS`,
:data:`OBJECT_SECRET` and :data:`SECRET_FIELDS`. Adding a credential kind is one row
here (plus its tests).

A kind is a literal prefix followed by at least one letter or digit (any length: a
short ``sk_test_123`` is a key too). Client secrets also have a shape without a fixed
prefix, ``<object id>_secret_<random>`` (``pi_3Abc_secret_xyz``, ``seti_1X_secret_Y``,
``fcsess_123_secret_456``): only the part after ``_secret_`` is secret, the object id
is kept (Stripe.js derives the object's id from it). Values of fields named in
:data:`SECRET_FIELDS` are secrets whatever their shape.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mitmproxy import http


@dataclass(frozen=True)
class SecretKind:
    name: str  # reported by the scanner ("sk_test", "client_secret", ...)
    prefix: str  # kept in placeholders: "sk_test_REDACTED_1"
    live: bool = False  # refused by record mode unless live keys are allowed


KINDS: tuple[SecretKind, ...] = (
    SecretKind("sk_test", "sk_test_"),
    SecretKind("sk_live", "sk_live_", live=True),
    SecretKind("rk_test", "rk_test_"),
    SecretKind("rk_live", "rk_live_", live=True),
    SecretKind("ek_test", "ek_test_"),  # ephemeral keys (mobile SDKs)
    SecretKind("ek_live", "ek_live_", live=True),
    SecretKind("whsec", "whsec_"),  # webhook signing secrets
    SecretKind("client_secret", "fcsess_client_secret_"),
    SecretKind("client_secret", "src_client_secret_"),  # Sources (legacy)
)

#: The ``<object id>_secret_<random>`` shape (its kind is ``client_secret``): a
#: lower-case object prefix (``pi``, ``seti``, ``fcsess``, ``cs_test``), an id with at
#: least one digit or capital letter (Stripe ids are random base62; this keeps
#: ``get_client_secret_value`` or ``test_verify_secret_in`` from being one), then
#: ``_secret_``. Bounded repetitions keep the regex linear on long words.
OBJECT_SECRET = (
    r"[a-z]{1,20}(?:_[a-z]{1,20}){0,2}"
    r"_(?=[A-Za-z0-9]{0,99}[0-9A-Z])[A-Za-z0-9]{1,100}_secret_"
)
OBJECT_SECRET_KIND = "client_secret"
OBJECT_SECRET_ANCHOR = "_secret_"
#: Field names (JSON at any depth, form, query) whose string values are secrets.
SECRET_FIELDS = frozenset({"client_secret", "secret"})

PREFIXES: tuple[str, ...] = tuple(k.prefix for k in KINDS)
LIVE_PREFIXES: tuple[str, ...] = tuple(k.prefix for k in KINDS if k.live)
_BY_PREFIX = {k.prefix: k.name for k in KINDS}


def kind_of(prefix: str) -> str:
    """The kind name of a matched prefix (a literal one, or an object-secret one)."""
    return _BY_PREFIX.get(prefix) or (
        OBJECT_SECRET_KIND if prefix.endswith("_secret_") else "bearer"
    )


def prefix_alternation() -> str:
    """A regex alternation of the literal prefixes (longest first)."""
    return "|".join(re.escape(p) for p in sorted(PREFIXES, key=len, reverse=True))


def field_alternation() -> str:
    """A regex alternation of the secret field names (longest first)."""
    return "|".join(sorted(SECRET_FIELDS, key=len, reverse=True))


# --------------------------------------------------------------------------- placeholders

#: What a secret is replaced with, after its kind's prefix and before its number
#: (``sk_test_REDACTED_1``); a configured path or pattern is replaced by the word alone.
REDACTED = "REDACTED"
# Tokens that are not credentials: our placeholders, publishable keys, and doc
# placeholders like YOUR_SECRET_KEY (Stripe's own 401 message quotes one).
_PLACEHOLDER_TOKEN = re.compile(
    rf"(?:{prefix_alternation()}|{OBJECT_SECRET})?{REDACTED}(?:_[0-9]+)?"
    r"|pk_(?:test|live)_[A-Za-z0-9]+|[A-Z]+(?:_[A-Z]+)+"
)


def _is_placeholder_token(tok: str) -> bool:
    return _PLACEHOLDER_TOKEN.fullmatch(tok.rstrip(".")) is not None


# --------------------------------------------------------------------------- live keys

_LIVE = re.compile(f"(?:{'|'.join(re.escape(p) for p in LIVE_PREFIXES)})[A-Za-z0-9]")
_TOKEN = re.compile(r"[A-Za-z0-9+/_=-]{4,}")
_URLSAFE = str.maketrans("-_", "+/")


def _b64(token: str) -> str:
    """``token`` base64-decoded as leniently as servers do (either alphabet, padding
    optional); "" when it is not base64."""
    body = token.rstrip("=").translate(_URLSAFE)
    if len(body) % 4 == 1:
        body = body[:-1]
    try:
        return base64.b64decode(body + "=" * (-len(body) % 4)).decode("latin-1")
    except (binascii.Error, ValueError):
        return ""


def live_key_in(value: str) -> bool:
    """Does this ``Authorization`` value carry a live-mode key in any form HTTP allows?

    The scheme is case-insensitive and separated from the credentials by any
    whitespace (spaces, TABs); the key may be the whole value, a Bearer token, or the
    user or password of Basic credentials. Every whitespace-separated token is also
    read as base64, whatever the scheme, so no spelling of the scheme slips through.
    """
    if _LIVE.search(value):
        return True
    return any(_LIVE.search(_b64(tok)) for tok in _TOKEN.findall(value))


def uses_live_key(flow: http.HTTPFlow) -> bool:
    """Whether a request is made with a live-mode key (every ``Authorization`` header
    counts, repeated ones too)."""
    return any(live_key_in(v) for v in flow.request.headers.get_all("authorization"))

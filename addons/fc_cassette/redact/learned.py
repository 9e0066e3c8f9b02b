"""Credentials learned from ``Authorization`` headers (an opaque Bearer token, a Basic
user or password: no pattern finds them) and the shapes in which an upstream may echo
them, which the redactor chases and the recorder checks a written entry against."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Mapping
from urllib.parse import quote

from fc_cassette.redact.codecs import _TO_URL

MIN_LEARNED = 8  # shorter credentials (a Basic user name like "admin") are not chased
MAX_LEARNED = 256  # per cassette; beyond, credentials are still redacted in place
_PLAIN_WORD = re.compile(r"[a-z]+|[0-9]+")  # not credential-shaped: chasing would mangle
_TOKEN_CHAR = r"A-Za-z0-9_\-"


def echo_forms(secret: str) -> set[str]:
    """The shapes in which an upstream may echo a credential: raw, percent-encoded,
    base64 (either alphabet, padded or not) and hex (either case)."""
    raw = secret.encode("utf-8", "replace")
    std = base64.b64encode(raw).decode()
    url = std.translate(_TO_URL)
    return {
        secret,
        quote(secret, safe=""),
        std,
        std.rstrip("="),
        url,
        url.rstrip("="),
        raw.hex(),
        raw.hex().upper(),
    }


def _token_pattern(forms: Iterable[str]) -> re.Pattern[str]:
    alternatives = "|".join(re.escape(f) for f in sorted(forms, key=len, reverse=True))
    return re.compile(f"(?<![{_TOKEN_CHAR}])(?:{alternatives})(?![{_TOKEN_CHAR}])")


def learned_pattern(learned: Mapping[str, str]) -> re.Pattern[str]:
    """The learned credentials, in each of their :func:`echo_forms`, as whole tokens
    (never inside a longer word): what the recorder checks a written entry against."""
    return _token_pattern({f for secret in learned for f in echo_forms(secret)})


def _b64_map(text: str, new: str) -> dict[str, str]:
    """The base64 forms of ``text`` mapped to the same forms of its redacted ``new``."""
    url = new.translate(_TO_URL)
    std = base64.b64encode(text.encode("latin-1", "replace")).decode()
    su = std.translate(_TO_URL)
    return {std: new, std.rstrip("="): new.rstrip("="), su: url, su.rstrip("="): url.rstrip("=")}

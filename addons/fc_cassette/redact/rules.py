"""The configurable part of redaction: :class:`RedactionRules` (the ``redaction:``
section of the config), on top of the built-in secret rules, which are always on."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator

from fc_cassette.redact.kinds import REDACTED

_HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")


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

    Built in (not configurable): every kind in :mod:`fc_cassette.secret_kinds` (secret,
    restricted and ephemeral keys, webhook secrets, client secrets of any object),
    values of ``client_secret``/``secret`` fields, ``Authorization`` credentials and
    ``Bearer`` tokens, in every encoding layer the redactor can decode (see
    docs/security.md).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    remove_header_values: list[str] = Field(
        default=["cookie", "set-cookie"],
        description="Headers (any case) kept with their value replaced by 'REDACTED'.",
    )
    drop_headers: list[str] = Field(
        default=["idempotency-key", "x-stripe-client-user-agent", "x-stripe-client-telemetry"],
        description="Headers (any case) removed from recordings entirely.",
    )
    redact_headers: list[str] = Field(
        default=[], description="More headers (any case) whose values become 'REDACTED'."
    )
    paths: list[str] = Field(
        default=[],
        description="Body/query fields whose values become 'REDACTED': dotted keys, '[]' for "
        "any list index, '*' for any key, e.g. 'accounts.data[].last4'.",
    )
    patterns: list[str] = Field(
        default=[],
        description="Regexes (Python syntax); every match in any string of an entry (header "
        "names and values, path, query, bodies, keys) becomes 'REDACTED'. Matched "
        "on the text as stored, not inside percent/base64 encodings.",
    )
    pii: bool = Field(
        default=False,
        description="Redact account-owner PII (name, email, phone, raw_address) and "
        "replace every last4 with '0000'.",
    )

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

"""Settings every mode reads: ``config/default.yaml`` overlaid by a user's file.

The pydantic models below are the schema of the config file; ``config/default.yaml``
holds the documented defaults (a test keeps both in step). A user file only needs
the keys it changes; nested mappings are merged key by key, lists replace lists.
A bad file raises :class:`ConfigError`, whose one-line message names the file, the
line and the dotted key.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from . import yamlio
from .redact import RedactionRules

# config/default.yaml, reached through the package (a symlink in the checkout, a copy
# in a built wheel), so a regular install finds it too.
DEFAULT_CONFIG = Path(__file__).parent / "default.yaml"
MAX_CONFIG_BYTES = 1 << 20


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ScopeRules(_Strict):
    """Which flows are FC Session traffic (recorded, replayed, inspected)."""

    hosts: list[str] = Field(
        default=["api.stripe.com"],
        description="Hosts treated as Stripe in forward mode (reverse mode: every request "
                    "goes to the upstream, so the host is not checked).")
    paths: list[str] = Field(
        default=[r"^/v1/financial_connections/sessions$",
                 r"^/v1/financial_connections/sessions/[^/]+$"],
        description="Regexes over the URL path; add '^/v1/' to record every Stripe path.")

    @field_validator("paths")
    @classmethod
    def _regexes(cls, v: list[str]) -> list[str]:
        for p in v:
            try:
                re.compile(p)
            except re.error as e:
                raise ValueError(f"invalid regex {p!r}: {e}") from None
        return v


class MatchRules(_Strict):
    """How a live request is matched against recorded ones (replay, once, new_episodes)."""

    match_host: bool = Field(
        default=False,
        description="Make the host part of the key (off: reverse and forward cassettes mix).")
    headers: list[str] = Field(
        default=["stripe-account"],
        description="Request headers that are part of the key; every other header is ignored.")
    ignore_params: list[str] = Field(
        default=[],
        description="Dotted query/body parameters left out of the key, e.g. 'return_url'.")


class ReplayPolicy(_Strict):
    """What replay does when nothing (more) matches."""

    on_exhausted: Literal["miss", "repeat_last"] = Field(
        default="miss",
        description="When a request's recordings are used up: answer a miss, or repeat "
                    "the last recording.")
    miss_status: int = Field(
        default=400, ge=400, le=499,
        description="HTTP status of a miss: a 4xx other than 409, so no SDK retries it.")

    @field_validator("miss_status")
    @classmethod
    def _not_retried(cls, v: int) -> int:
        if v in (409, 429):
            raise ValueError("409 and 429 are retried by stripe-python; pick another 4xx")
        return v


class RecordPolicy(_Strict):
    """How record mode writes."""

    mode: Literal["once", "new_episodes", "all", "none"] = "once"
    fsync: bool = Field(default=True, description="fsync each interaction before the client "
                                                  "gets its response.")
    allow_live_keys: bool = Field(default=False, description="Forward and record requests "
                                                            "made with sk_live_/rk_live_ keys.")
    timing: bool = Field(default=False, description="Keep each interaction's duration_ms and "
                                                    "the header's creation time (off: "
                                                    "re-recording gives identical bytes).")


class SimulatePolicy(_Strict):
    """The local FC Session upstream."""

    seed: int = 0
    clock_start: int = Field(default=1767225600,
                             description="Unix time of the simulator's fixed clock.")


class Settings(_Strict):
    scope: ScopeRules = ScopeRules()
    redaction: RedactionRules = RedactionRules()
    matching: MatchRules = MatchRules()
    replay: ReplayPolicy = ReplayPolicy()
    record: RecordPolicy = RecordPolicy()
    simulate: SimulatePolicy = SimulatePolicy()


class ConfigError(ValueError):
    """A config file that cannot be used; ``str()`` is one line naming file and key."""


def _read_mapping(path: Path) -> tuple[dict[str, Any], str]:
    try:
        raw = yamlio.read_file(path, "config file", MAX_CONFIG_BYTES)
    except ValueError as e:
        raise ConfigError(f"{path}: {e}") from None
    try:
        text = raw.decode("utf-8")
        data = yamlio.load(text)
    except UnicodeDecodeError as e:
        raise ConfigError(f"{path}: not valid UTF-8 (byte {e.start})") from None
    except yamlio.YamlError as e:
        raise ConfigError(f"{path}:{e.where()}: {e.message}") from None
    if data is None:
        return {}, text
    if not isinstance(data, dict):
        raise ConfigError(f"{path}:1: the config must be a mapping, not {type(data).__name__}")
    return data, text


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _validate(data: dict[str, Any], path: Path, text: str) -> Settings:
    try:
        return Settings.model_validate(data)
    except ValidationError as e:
        err = e.errors()[0]
        loc = [p for p in err["loc"] if not isinstance(p, str) or not p.startswith("function-")]
        key = ".".join(str(p) for p in loc) or "(root)"
        line = yamlio.line_of(text, loc)
        where = f"{path}:{line}" if line else str(path)
        msg = err["msg"].removeprefix("Value error, ")
        more = f" (and {len(e.errors()) - 1} more)" if len(e.errors()) > 1 else ""
        raise ConfigError(f"{where}: {key}: {msg}{more}") from None


def load_settings(user_file: str | Path | None = None,
                  default_file: Path = DEFAULT_CONFIG) -> Settings:
    """Defaults from ``default_file`` (model defaults if it is absent), then ``user_file``."""
    data: dict[str, Any] = {}
    if default_file.exists():
        data, text = _read_mapping(default_file)
        _validate(data, default_file, text)
    if user_file:
        path = Path(user_file)
        over, text = _read_mapping(path)
        data = _merge(data, over)
        return _validate(data, path, text)
    return Settings.model_validate(data)

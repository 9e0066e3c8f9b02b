"""Settings every mode reads: ``config/default.yaml`` overlaid by a user's file.

The pydantic models below are the schema of the config file; ``config/default.yaml``
holds the documented defaults (a test keeps both in step). A user file only needs
the keys it changes; nested mappings are merged key by key, lists replace lists.
A bad file raises :class:`ConfigError`, whose one-line message names the file, the
line and the dotted key.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from fc_cassette.cassette import yamlio
from fc_cassette.redact.rules import RedactionRules
from fc_cassette.settings.modes import RecordMode, parse_record_mode

# config/default.yaml, reached through the package (a symlink in the checkout, a copy
# in a built wheel), so a regular install finds it too.
DEFAULT_CONFIG = Path(__file__).parent / "default.yaml"
MAX_CONFIG_BYTES = 1 << 20


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ScopeRules(_Strict):
    """Which flows are recorded, replayed and inspected (default: every Stripe API call)."""

    hosts: list[str] = Field(
        default=[
            "api.stripe.com",
            "files.stripe.com",
            "connect.stripe.com",
            "meter-events.stripe.com",
        ],
        description="Hosts treated as Stripe in forward mode (reverse mode: every request "
        "goes to the upstream, so the host is not checked).",
    )
    paths: list[str] = Field(
        default=[r"^/"], description="Regexes over the URL path (default '^/': every path)."
    )

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
        description="Make the host part of the key (off: reverse and forward cassettes mix).",
    )
    headers: list[str] = Field(
        default=["stripe-account"],
        description="Request headers that are part of the key; every other header is ignored.",
    )
    ignore_params: list[str] = Field(
        default=[],
        description="Dotted query/body parameters left out of the key, e.g. 'return_url'.",
    )


class ReplayPolicy(_Strict):
    """What replay does when nothing (more) matches."""

    on_exhausted: Literal["miss", "repeat_last"] = Field(
        default="miss",
        description="When a request's recordings are used up: answer a miss, or repeat "
        "the last recording.",
    )
    miss_status: int = Field(
        default=400,
        ge=400,
        le=499,
        description="HTTP status of a miss: a 4xx other than 409, so no SDK retries it.",
    )

    @field_validator("miss_status")
    @classmethod
    def _not_retried(cls, v: int) -> int:
        if v in (409, 429):
            raise ValueError("409 and 429 are retried by stripe-python; pick another 4xx")
        return v


class RecordPolicy(_Strict):
    """How record mode writes."""

    mode: RecordMode = "once"
    fsync: bool = Field(
        default=True, description="fsync each interaction before the client gets its response."
    )
    allow_live_keys: bool = Field(
        default=False, description="Forward and record requests made with sk_live_/rk_live_ keys."
    )
    timing: bool = Field(
        default=False,
        description="Keep each interaction's duration_ms and "
        "the header's creation time (off: "
        "re-recording gives identical bytes).",
    )


WEBHOOK_SECRET_PREFIX = "whsec_"


def check_webhook_url(url: str) -> str:
    """An http(s) URL with a host (ValueError naming what is wrong, never the URL's
    credentials: a URL with userinfo is refused)."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an absolute http:// or https:// URL")
    if parts.username is not None or parts.password is not None:
        raise ValueError("must not carry credentials")
    return url


def check_webhook_secret(secret: str) -> str:
    if not secret.startswith(WEBHOOK_SECRET_PREFIX) or len(secret) == len(WEBHOOK_SECRET_PREFIX):
        raise ValueError(f"must be a webhook signing secret ({WEBHOOK_SECRET_PREFIX}...)")
    return secret


class WebhookTarget(_Strict):
    """A URL the simulator delivers every event to, and the secret it signs with."""

    url: str
    secret: str

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        return check_webhook_url(v)

    @field_validator("secret")
    @classmethod
    def _secret(cls, v: str) -> str:
        return check_webhook_secret(v)


class SimulatePolicy(_Strict):
    """The local FC Session upstream."""

    seed: int = 0
    clock_start: int = Field(
        default=1767225600, description="Unix time of the simulator's fixed clock."
    )
    webhooks: list[WebhookTarget] = Field(
        default=[],
        description="Where the simulator delivers every event ({url, secret}); "
        "--webhook-url/--webhook-secret replace this list.",
    )
    settle_after_s: float | None = Field(
        default=3.0,
        ge=0,
        le=86_400,
        description="Seconds a processing PaymentIntent takes to settle by itself (null: "
        "only the simulator-only settle call settles it).",
    )
    accept_unknown_customers: bool = Field(
        default=False,
        description="Accept customer ids the simulator never created where "
        "an object names its customer (else 404, as Stripe).",
    )


class WebhookPolicy(_Strict):
    """How the proxy delivers webhook events to the app (simulate, replay --webhooks-to)."""

    retry_after_s: list[float] = Field(
        default=[0.5, 1.0, 2.0, 4.0],
        max_length=20,
        description="Seconds between the attempts to deliver one event: a non-2xx answer, "
        "a timeout or a refused connection is retried after each, then given up (one "
        "attempt more than the list is long; [] : one attempt only).",
    )

    @field_validator("retry_after_s")
    @classmethod
    def _waits(cls, v: list[float]) -> list[float]:
        for wait in v:
            if not 0 <= wait <= 3600 or wait != wait:
                raise ValueError("each wait must be between 0 and 3600 seconds")
        return v


class AuditPolicy(_Strict):
    """What ``fc-cassette audit`` holds cassettes against (its flags override these)."""

    api_version: str | None = Field(
        default=None, description="The Stripe API version cassettes should hold."
    )
    max_age_days: int | None = Field(
        default=None, ge=0, description="Oldest a cassette may be, in days."
    )


class ControlPolicy(_Strict):
    """The control endpoint (docs/control-endpoint.md, docs/security.md)."""

    token: str = Field(
        default="",
        description="A token every control call must carry in the X-FC-Cassette-Token "
        "header (empty: none needed; --control-token and "
        "$FC_CASSETTE_CONTROL_TOKEN take precedence).",
    )


class Settings(_Strict):
    scope: ScopeRules = ScopeRules()
    redaction: RedactionRules = RedactionRules()
    matching: MatchRules = MatchRules()
    replay: ReplayPolicy = ReplayPolicy()
    record: RecordPolicy = RecordPolicy()
    simulate: SimulatePolicy = SimulatePolicy()
    webhooks: WebhookPolicy = WebhookPolicy()
    audit: AuditPolicy = AuditPolicy()
    control: ControlPolicy = ControlPolicy()


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


def _fields_at(loc: list[Any]) -> list[str]:
    """The keys the schema allows in the mapping at ``loc`` (for a did-you-mean)."""
    model: Any = Settings
    for part in loc:
        field = getattr(model, "model_fields", {}).get(part)
        if field is None:
            return []
        model = field.annotation
    return list(getattr(model, "model_fields", {}))


# pydantic's wording, in ours (the rest of its messages read well as they are)
_OUR_WORDS = {"extra_forbidden": "unknown key", "missing": "required key missing"}


def _key_message(err: Any) -> tuple[list[Any], str, str]:
    """An error's location, dotted key and message, with a did-you-mean for a key the
    schema does not have."""
    loc = [p for p in err["loc"] if not isinstance(p, str) or not p.startswith("function-")]
    key = ".".join(str(p) for p in loc) or "(root)"
    msg = _OUR_WORDS.get(err["type"]) or err["msg"].removeprefix("Value error, ")
    if err["type"] == "extra_forbidden" and loc:
        near = difflib.get_close_matches(str(loc[-1]), _fields_at(loc[:-1]), n=1)
        allowed = ", ".join(_fields_at(loc[:-1]))
        msg += f" (did you mean {near[0]!r}?)" if near else f" (known keys: {allowed})"
    return loc, key, msg


def _describe(err: Any, path: Path, text: str) -> tuple[int, str]:
    """One error as its line and ``file:line: dotted.key: message``."""
    loc, key, msg = _key_message(err)
    line = yamlio.line_of(text, loc)
    where = f"{path}:{line}" if line else str(path)
    return line or 0, f"{where}: {key}: {msg}"


def _validate(data: dict[str, Any], path: Path, text: str) -> Settings:
    try:
        return Settings.model_validate(data)
    except ValidationError as e:  # every error, not only the first: one fix-up round
        found = sorted((_describe(err, path, text) for err in e.errors()), key=lambda d: d[0])
        raise ConfigError("; ".join(message for _, message in found)) from None


def check_overrides(base: str | Path | None, overrides: dict[str, Any]) -> str | None:
    """Why ``overrides`` (a mapping from code, e.g. the pytest fixture
    ``fc_cassette_config``) merged over the config file ``base`` is not a valid config,
    as ``key: message; ...`` (no file: the caller names where the mapping comes from);
    None when it is valid."""
    if not isinstance(overrides, dict):
        return f"must be a mapping (a dict), not {type(overrides).__name__}"
    data: dict[str, Any] = {}
    if DEFAULT_CONFIG.exists():
        data = _read_mapping(DEFAULT_CONFIG)[0]
    if base:
        data = _merge(data, _read_mapping(Path(base))[0])
    try:
        Settings.model_validate(_merge(data, overrides))
    except ValidationError as e:
        return "; ".join(f"{key}: {msg}" for _, key, msg in map(_key_message, e.errors()))
    return None


def load_settings(
    user_file: str | Path | None = None, default_file: Path = DEFAULT_CONFIG
) -> Settings:
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


# The fc_* options that override a setting when they are set (differ from their
# "unset" default): option -> (section, field, unset value). The CLI's flags become
# these options; :func:`with_options` is the one place where they meet the config file.
OPTION_OVERRIDES: dict[str, tuple[str, str, Any]] = {
    "fc_record_mode": ("record", "mode", ""),
    "fc_allow_live": ("record", "allow_live_keys", False),
    "fc_seed": ("simulate", "seed", -1),
    "fc_accept_unknown_customers": ("simulate", "accept_unknown_customers", False),
}
# How a set overriding option is parsed (``ValueError``: "must be one of ..."), here
# where the options are folded in, so that no addon checks it again.
OPTION_PARSERS: dict[str, Callable[[Any], Any]] = {"fc_record_mode": parse_record_mode}


def with_options(settings: Settings, options: Mapping[str, Any]) -> Settings:
    """``settings`` with every overriding option that is set applied (``options``: the
    options' current values by name; an option not in it is unset). A bad value (e.g. a
    record mode) is a ``ValueError`` naming the option."""
    updates: dict[str, dict[str, Any]] = {}
    for name, (section, field, unset) in OPTION_OVERRIDES.items():
        value = options.get(name, unset)
        if value != unset:
            if name in OPTION_PARSERS:
                try:
                    value = OPTION_PARSERS[name](value)
                except ValueError as e:
                    raise ValueError(f"{name} {e}") from None
            updates.setdefault(section, {})[field] = value
    if not updates:
        return settings
    return settings.model_copy(
        update={
            section: getattr(settings, section).model_copy(update=fields)
            for section, fields in updates.items()
        }
    )

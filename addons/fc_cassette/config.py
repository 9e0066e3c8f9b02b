"""Kept for code written before issue #21: the settings live in
:mod:`fc_cassette.settings.config` (``load_settings``, ``Settings``, ``ConfigError``)."""

from fc_cassette.settings.config import (
    ConfigError as ConfigError,
    Settings as Settings,
    UpstreamError as UpstreamError,
    load_settings as load_settings,
    parse_upstream as parse_upstream,
)

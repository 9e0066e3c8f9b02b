"""Kept for code written before issue #21: the settings live in
:mod:`fc_cassette.settings.config` (``load_settings``, ``Settings``, ``ConfigError``) and
:mod:`fc_cassette.settings.upstream` (``parse_upstream``, ``UpstreamError``)."""

from fc_cassette.settings.config import (
    ConfigError as ConfigError,
    Settings as Settings,
    load_settings as load_settings,
)
from fc_cassette.settings.upstream import (
    UpstreamError as UpstreamError,
    parse_upstream as parse_upstream,
)

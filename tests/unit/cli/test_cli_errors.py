"""Upstream URL parsing in-process (the CLI error lines: tests/e2e/test_cli_errors_e2e.py)."""

from __future__ import annotations

import pytest

from fc_cassette.settings.upstream import UpstreamError, parse_upstream


def test_parse_upstream_is_importable_and_normalizes():
    assert parse_upstream("HTTP://127.0.0.1:12111/") == "http://127.0.0.1:12111"
    assert parse_upstream("https://api.stripe.com") == "https://api.stripe.com"
    assert parse_upstream("http://[::1]:8") == "http://[::1]:8"
    with pytest.raises(ValueError) as e:  # UpstreamError is a ValueError
        parse_upstream("127.0.0.1:12111", "--fc-upstream")
    assert isinstance(e.value, UpstreamError)
    assert str(e.value).startswith("--fc-upstream '127.0.0.1:12111': a scheme is required")


def test_a_good_upstream_still_runs():
    from fc_cassette.cli import app as cli

    args = cli.build_parser().parse_args(["record", "c.yaml", "--upstream", "HTTP://h:1/"])
    assert cli.check_upstream(args) is None and args.upstream == "http://h:1"
    assert "mode=reverse:http://h:1" in cli.mitm_arguments(args)

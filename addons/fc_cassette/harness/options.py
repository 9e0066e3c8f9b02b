"""The pytest plugin's command-line options and ini keys (``--fc-*``, ``fc_*``), and
reading them (the command line's value, else the ini's)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from fc_cassette.harness import block_network
from fc_cassette.harness.pool import LIVE_PORTS
from fc_cassette.settings import modes as vocab
from fc_cassette.settings.upstream import DEFAULT_UPSTREAM, UpstreamError, parse_upstream

RECORD_MODES = vocab.REPLAY_FIRST  # none: the default


def add(parser: pytest.Parser) -> None:
    """The pytest options and ini keys of fc-cassette."""
    group = parser.getgroup("fc-cassette", "Stripe FC Session cassettes (fc-cassette)")
    group.addoption(
        "--fc-record-mode",
        choices=RECORD_MODES,
        default=None,
        help=f"{vocab.harness_help()} (ini: fc_record_mode)",
    )
    group.addoption(
        "--fc-upstream",
        default=None,
        help=f"where record modes forward to (default {DEFAULT_UPSTREAM}; ini: fc_upstream)",
    )
    group.addoption(
        "--fc-config",
        default=None,
        metavar="FILE",
        help="fc-cassette's YAML config (scope, matching, redaction, replay), "
        "as the CLI's --config (ini: fc_config)",
    )
    parser.addini(
        "fc_record_mode",
        f"fc-cassette record mode ({', '.join(RECORD_MODES)})",
        default=RECORD_MODES[0],
    )
    parser.addini(
        "fc_upstream", "where fc-cassette's record modes forward to", default=DEFAULT_UPSTREAM
    )
    parser.addini(
        "fc_config", "fc-cassette's YAML config file (relative to the ini file)", default=""
    )
    _network_and_reports(parser, group)


def _network_and_reports(parser: pytest.Parser, group: pytest.OptionGroup) -> None:
    group.addoption(
        "--fc-block-network",
        action="store_true",
        default=None,
        help="a test may connect only to the fc-cassette proxies (and "
        "--fc-allowed-hosts); any other connection fails it "
        "(ini: fc_block_network)",
    )
    group.addoption(
        "--fc-allowed-hosts",
        default=None,
        metavar="HOSTS",
        help="with --fc-block-network: hosts a test may also reach, "
        "comma-separated HOST or HOST:PORT, e.g. localhost:5432 "
        "(ini: fc_allowed_hosts)",
    )
    parser.addini(
        "fc_block_network",
        "a test may connect only to the fc-cassette proxies (and fc_allowed_hosts)",
        type="bool",
        default=False,
    )
    parser.addini(
        "fc_allowed_hosts",
        "with fc_block_network: hosts a test may also reach (HOST or HOST:PORT, comma-separated)",
        default="",
    )
    group.addoption(
        "--fc-report-unused",
        action="store_true",
        default=False,
        help="at the end, list the cassettes no collected test uses and the "
        "interactions no test used",
    )
    group.addoption(
        "--fc-usage-out",
        default=None,
        metavar="FILE",
        help="at the end, write which interactions of the replayed cassettes "
        "tests used (for 'fc-cassette prune')",
    )
    parser.addini(
        "fc_webhooks_to",
        "the app URL fc-cassette's webhook events go to (replay "
        "delivers the recorded ones; record forwards its "
        "ingress's)",
        default="",
    )
    parser.addini(
        "fc_webhook_secret",
        "the whsec_ secret replayed webhook events are "
        "signed with (default: the documented test secret)",
        default="",
    )


def value(config: pytest.Config, name: str, parsed: Any = None) -> tuple[str, Path]:
    """An option's value (the command line's, else the ini's) and the folder a relative
    path in it is relative to; ``parsed``: the command line as parsed so far (before
    pytest_configure, ``config.known_args_namespace``), else ``config``'s options."""
    flag = f"--{name.replace('_', '-')}"
    given = getattr(parsed, name, None) if parsed is not None else config.getoption(flag)
    if given is not None:
        return given, Path(config.invocation_params.dir)
    base = Path(config.inipath).parent if config.inipath else Path(config.rootpath)
    return str(config.getini(name) or ""), base


def config_path(config: pytest.Config, parsed: Any = None) -> tuple[str, str | None]:
    """``--fc-config`` (else the ini's ``fc_config``) as given, and resolved (None: none
    is given); ``parsed`` as for :func:`value`."""
    cfg, base = value(config, "fc_config", parsed)
    return cfg, str((base / cfg).resolve()) if cfg else None


def upstream(config: pytest.Config) -> str:
    """The upstream record modes forward to (checked: a bad one is a usage error)."""
    url, _ = value(config, "fc_upstream")
    cmdline = config.getoption("--fc-upstream") is not None
    try:
        return parse_upstream(
            url or DEFAULT_UPSTREAM, "--fc-upstream" if cmdline else "fc_upstream (ini)"
        )
    except UpstreamError as e:
        raise pytest.UsageError(f"fc-cassette: {e}") from None


def guard(config: pytest.Config) -> block_network.Guard | None:
    """--fc-block-network's guard (None: the network is not blocked)."""
    on = config.getoption("--fc-block-network")
    if not (on if on is not None else config.getini("fc_block_network")):
        return None
    hosts = config.getoption("--fc-allowed-hosts")
    what = "--fc-allowed-hosts" if hosts is not None else "fc_allowed_hosts (ini)"
    try:
        allowed = block_network.parse_allowed(
            hosts if hosts is not None else config.getini("fc_allowed_hosts"), what
        )
    except block_network.AllowedHostsError as e:
        raise pytest.UsageError(f"fc-cassette: {e}") from None
    return block_network.Guard(allowed, lambda: LIVE_PORTS)


def complete_args(config: pytest.Config, parser: pytest.Parser) -> Any:
    """While pytest still loads its plugins (this one's ``pytest_addoption``): the whole
    command line (``$PYTEST_ADDOPTS``, the ini's ``addopts``, the arguments, as pytest
    puts them together) parsed with the options registered so far; None if an argument
    is not known yet (a plugin loaded later may own it, e.g. xdist's ``-n``) or the
    ini's ``addopts`` cannot be read yet."""
    import copy
    import os
    import shlex

    try:
        args = [
            *shlex.split(os.environ.get("PYTEST_ADDOPTS", "")),
            *config.getini("addopts"),
            *config.invocation_params.args,
        ]
        ns, unknown = parser.parse_known_and_unknown_args(args, namespace=copy.copy(config.option))
    except (ValueError, SystemExit):  # (a bad line: pytest itself says so, later)
        return None
    return None if unknown else ns


def early_replay_config(config: pytest.Config, ns: Any = None) -> tuple[str | None] | None:
    """Before pytest imports the conftest.py files (``pytest_load_initial_conftests``,
    where only the options parsed so far are known): ``(config file or None,)`` for a
    run that will replay in this process, so that its proxy can start now; None when
    that is not certain yet (``pytest_configure`` decides then, as before): a record
    mode other than ``none``, ``-n`` (xdist: the controller runs no test; its workers,
    which parse the same arguments, start theirs in ``pytest_configure``),
    ``--collect-only``, ``--help``, ``--version``, a config file that does not exist
    (its usage error comes later). ``ns``: the command line as parsed so far (default
    ``config.known_args_namespace``)."""
    ns = config.known_args_namespace if ns is None else ns
    quiet = any(getattr(ns, flag, False) for flag in ("collectonly", "help", "version"))
    if quiet or getattr(ns, "numprocesses", None):
        return None
    if (value(config, "fc_record_mode", ns)[0] or "none") != "none":
        return None
    _, path = config_path(config, ns)
    return (path,) if path is None or Path(path).is_file() else None

"""Checks of a proxy command's values before mitmproxy sees them, each a one-line message.

mitmproxy's own reports of these are several lines (``--port 99999``), do not name the
option (``--set flow_detail=abc``: "Not an integer: abc"), or print a URL's credentials
(``--upstream http://user:KEY@host``). The caller prefixes ``fc-cassette: ``.
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
from collections.abc import Callable
from typing import Any

from fc_cassette.cli.args import one_line
from fc_cassette.settings.upstream import UpstreamError, parse_upstream

MAX_HELP = 240  # characters of an option's help quoted in a message


def check_port(args: argparse.Namespace) -> str | None:
    if not 0 <= args.port <= 65535:
        return f"--port {args.port}: not a port number: use 0-65535 (0: the OS picks a free port)"
    return None


def check_root(args: argparse.Namespace) -> str | None:
    """``--cassette-root`` is a directory. It confines what the control endpoint may
    switch to; the command's own cassette is the operator's choice on the command line
    (a harness starts its proxies on a cassette of its own, outside the root)."""
    root = getattr(args, "cassette_root", None)
    if root is None:
        return None
    try:
        if not os.path.isdir(os.path.realpath(root)):
            return f"--cassette-root {root!r}: not a directory"
    except ValueError as e:  # a NUL byte
        return f"--cassette-root {root!r}: {e}"
    return None


def check_cassette(args: argparse.Namespace) -> str | None:
    """A cassette the command can only read (replay, record --record-mode none) must
    exist and be a file: said before mitmproxy starts (it takes seconds to)."""
    path = getattr(args, "cassette", None)
    only_reads = args.command == "replay" or (
        args.command == "record" and getattr(args, "record_mode", None) == "none"
    )
    if path is None or not only_reads:
        return None
    from pathlib import Path

    p = Path(path)
    if p.is_dir():
        return f"{path}: is a directory, not a cassette file"
    if not p.exists():
        how = (
            "replay answers only from an existing cassette"
            if args.command == "replay"
            else "record mode 'none' only replays"
        )
        return (
            f"{path}: no such cassette ({how}; record it first: fc-cassette record "
            f"{path} --upstream URL)"
        )
    return None


def check_config(args: argparse.Namespace) -> str | None:
    """``--config FILE``, read and validated before mitmproxy starts: every problem on
    one line, once (see :func:`fc_cassette.config.load_settings`)."""
    path = getattr(args, "config", None)
    if not path:
        return None
    from fc_cassette.settings.config import ConfigError, load_settings

    try:
        load_settings(path)
    except ConfigError as e:
        return str(e)
    return None


def _mode_url(spec: str) -> str | None:
    """The URL in a ``reverse:URL[@PORT]`` or ``upstream:URL[@PORT]`` mode spec."""
    kind, sep, data = spec.partition(":")
    if not sep or kind.lower() not in ("reverse", "upstream"):
        return None
    head, at, listen = data.rpartition("@")
    if at and re.fullmatch(r"(?:[\w.\[\]:-]*:)?\d+", listen):
        return head  # URL@PORT: mitmproxy's listen port for this mode
    return data


def check_upstream(args: argparse.Namespace) -> str | None:
    """``--upstream`` and any ``--set mode=reverse:URL|upstream:URL`` of the user's."""
    try:
        if getattr(args, "upstream", None) is not None:
            args.upstream = parse_upstream(args.upstream, "--upstream")
        for spec in args.setoptions:
            name, _, value = spec.partition("=")
            url = _mode_url(value) if name == "mode" else None
            if url is not None:
                parse_upstream(url, f"--set mode={value.partition(':')[0]}:")
    except UpstreamError as e:
        return str(e)
    return None


def allowed_values(opt: Any) -> str:
    """What an option of mitmproxy's takes, in words."""
    if opt.choices:
        return "one of " + ", ".join(map(str, opt.choices))
    kinds = {bool: "true or false", int: "an integer", str: "a string"}
    typespec = opt.typespec
    if typespec in kinds:
        return kinds[typespec]
    text = str(typespec)
    if "Sequence" in text:
        return "a string (repeat --set NAME=VALUE for more)"
    if "Optional" in text or "None" in text:
        return "a string, or nothing (NAME=)"
    return text


def bad_value(name: str, value: str, opt: Any, error: Exception) -> str:
    """``--set NAME=VALUE``: what is wrong, and what NAME takes (with its help)."""
    text = " ".join(str(error).split())
    hint = " ".join(str(opt.help or "").split())
    if len(hint) > MAX_HELP:
        hint = hint[: MAX_HELP - 3] + "..."
    return one_line(
        f"--set {name}={value}: {text}; {name} takes {allowed_values(opt)}"
        + (f" ({hint})" if hint else "")
    )


def checked_set(opts: Any, original: Callable[..., None]) -> Callable[..., None]:
    """``opts.set`` that first parses each known option's value, so a bad one is
    reported naming the option and what it takes."""
    from mitmproxy import exceptions

    from fc_cassette.mitm import mitm_compat  # (a proxy command: mitmproxy is loaded)

    def set_(*specs: str, defer: bool = False) -> None:
        for spec in specs:
            name, eq, value = spec.partition("=")
            opt = mitm_compat.option(opts, name)
            if opt is None or not eq:
                continue
            try:
                mitm_compat.parse_value(opts, opt, [value])
            except exceptions.OptionsError as e:
                raise exceptions.OptionsError(bad_value(name, value, opt, e)) from None
        original(*specs, defer=defer)

    return set_


def unknown_options(names: list[str], known: list[str]) -> str:
    parts = []
    for name in names:
        near = difflib.get_close_matches(name, known, n=1)
        parts.append(f"{name} (did you mean {near[0]}?)" if near else name)
    return one_line(f"unknown option(s): {', '.join(parts)}")

"""``--lean`` (the pytest plugin's proxies): mitmproxy's addons package without its
``__init__`` (only the addons a proxy uses are imported), a master with only those
addons, and a parser of ``--set`` alone; every option a proxy command passes exists
there (mitm_compat.lean_imports, lean_master_class, lean_parser)."""

from __future__ import annotations

import asyncio
import json
import logging
import subprocess
import sys

import mitmproxy.addons  # noqa: F401 (the real package here: lean_imports leaves it)
import pytest
from mitmproxy import options

from builders import mitm_options
from fc_cassette.cli.app import check_fc_options
from fc_cassette.mitm import mitm_compat
from fc_cassette.mitm.addon import all_addons

FRESH = """
import json, sys
from fc_cassette.mitm import mitm_compat
installed = mitm_compat.lean_imports()
again = mitm_compat.lean_imports()
from mitmproxy import master  # imports mitmproxy.addons.termlog
from mitmproxy.addons import proxyserver, tlsconfig
before = sorted(m for m in sys.modules if m.startswith("mitmproxy.addons."))
heavy = [m for m in ("flask", "passlib", "ldap3") if m in sys.modules]
import mitmproxy.addons
names = [type(a).__name__ for a in mitmproxy.addons.default_addons()]
print(json.dumps([installed, again, before, heavy, names]))
"""


def test_the_addons_package_without_its_init():
    out = subprocess.run(
        [sys.executable, "-c", FRESH], capture_output=True, text=True, timeout=120, check=True
    )
    installed, again, before, heavy, names = json.loads(out.stdout)
    assert installed is True and again is False  # once; never over a real import
    assert before == [
        "mitmproxy.addons.proxyserver",
        "mitmproxy.addons.termlog",
        "mitmproxy.addons.tlsconfig",
    ]
    assert heavy == []  # flask (onboarding), passlib and ldap3 (proxyauth) never imported
    # default_addons still works, as the real package's: every default addon
    assert "ProxyAuth" in names and "Onboarding" in names and names[0] == "Core"
    assert len(names) > 25


def _lean_master():
    set_up: list[object] = []
    master_cls = mitm_compat.lean_master_class(lambda master, opts: set_up.append(master))

    async def make():
        return master_cls(options.Options())

    root = logging.getLogger()
    handlers = list(root.handlers)
    try:
        master = asyncio.run(make())
    finally:  # its log handlers (bound to a loop now closed) leave with it
        root.handlers[:] = handlers
    assert set_up == [master]
    return master


def test_the_lean_master_has_only_the_proxy_addons_and_our_dispatch():
    master = _lean_master()
    names = [type(a).__name__ for a in master.addons.chain]
    assert names == ["TermLog", *(name for _, name in mitm_compat.LEAN_ADDONS)]
    assert master.addons.trigger_event.__qualname__.startswith("skip_idle_addons")


@pytest.mark.parametrize(
    "argv",
    [
        ["replay", "c.yaml", "--lean", "--forward"],
        [
            "replay",
            "c.yaml",
            "--lean",
            "--strict",
            "--usage-out",
            "u.json",
            "--webhooks-to",
            "http://127.0.0.1:9/h",
            "--cassette-root",
            ".",
        ],
        ["record", "c.yaml", "--lean", "--record-mode", "all", "--upstream", "http://x:1"],
        ["simulate", "--lean", "--seed", "3"],
        ["inspect", "--lean", "--report", "r.jsonl"],
    ],
)
def test_every_option_a_lean_command_passes_exists(argv):
    """What ``mitm_arguments`` passes a lean proxy is declared by the lean master and
    our addons (else mitmproxy would refuse it as unknown at start-up)."""
    master = _lean_master()
    for addon in all_addons(argv[0]):
        master.addons.register(addon)
    declared = set(master.options.keys())
    assert set(mitm_options(*argv)) - declared == set()
    assert (
        check_fc_options(
            [a for n, vs in mitm_options(*argv).items() for v in vs for a in ("--set", f"{n}={v}")],
            argv[0],
        )
        is None
    )


def test_the_lean_parser_reads_set_alone_as_mitmdumps_would():
    args = mitm_compat.lean_parser(options.Options()).parse_args(
        ["--set", "listen_port=0", "--set", "mode=regular"]
    )
    assert args.setoptions == ["listen_port=0", "mode=regular"]
    assert (args.version, args.quiet, args.options, args.commands, args.verbose) == (
        False,
        False,
        False,
        False,
        False,
    )
    assert args.filter_args is None


def test_the_lean_option_names_are_a_lean_masters():
    """What :func:`choose_lean` checks a command line against is exactly what a lean
    master declares (before fc-cassette's own options)."""
    assert set(_lean_master().options.keys()) == mitm_compat.lean_option_names()


@pytest.mark.parametrize(
    "argv, lean",
    [
        (["replay", "c.yaml"], True),
        (
            ["replay", "c.yaml", "--set", "termlog_verbosity=debug", "--set", "ssl_insecure=true"],
            True,
        ),
        (
            ["record", "c.yaml", "--set", "fc_strict=true", "--set", "connection_strategy=eager"],
            True,
        ),
        (["simulate", "--set", "block_global=false"], True),
        (["replay", "c.yaml", "--set", "anticache=true"], False),  # mitmproxy's AntiCache
        (["replay", "c.yaml", "--set", "flow_detail=2"], False),  # mitmdump's flow printer
        (["inspect", "--set", "scripts=x.py"], False),
        (["inspect", "--web"], False),  # mitmweb's master
    ],
)
def test_a_proxy_is_lean_unless_something_asks_for_another_addon(argv, lean, tmp_path):
    from builders import cli_args
    from fc_cassette.cli.app import choose_lean

    conf = ["--set", f"confdir={tmp_path}"]
    assert choose_lean(cli_args(*argv, *conf)) is lean
    if lean:  # mitmproxy's config.yaml in the confdir may set any option: not lean
        (tmp_path / "config.yaml").write_text("anticache: true\n")
        assert choose_lean(cli_args(*argv, *conf)) is False
        assert choose_lean(cli_args(*argv, *conf, "--lean")) is True  # unless forced

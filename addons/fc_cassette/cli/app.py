"""``fc-cassette <command>``: each proxy command is mitmdump, in-process, with our addons.

Proxy commands (simulate, record, replay, inspect) translate their flags into
mitmproxy options and run mitmproxy's own start-up (:func:`mitmproxy.tools.main.run`)
with a master that already carries fc-cassette's addons, so every option error
(ours or mitmproxy's, including unknown ``--set`` names) is reported in one line
before anything listens. Offline commands (verify, show, diff) never start mitmproxy.

Exit codes: 0 success; 1 problems found (replay --strict misses, verify findings, diff
differences), or a proxy command that cannot start (bad option, port, upstream URL,
config or cassette: one line on stderr); 2 a cassette that verify, show or diff cannot
read, or a bad command line (argparse; one ``fc-cassette:`` line, see :mod:`.cli_args`).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from fc_cassette.cli.args import DEFAULT_UPSTREAM, build_parser, one_line  # noqa: F401 (CLI names)
from fc_cassette.cli.errors import (
    bad_value,
    check_cassette,
    check_config,
    check_port,
    check_root,
    check_upstream,
    checked_set,
    unknown_options,
)

if TYPE_CHECKING:
    from mitmproxy.master import Master
    from mitmproxy.options import Options

# CLI flags that become fc_* options, where the command has them.
FLAG_OPTIONS = (
    ("config", "fc_config"),
    ("cassette", "fc_cassette"),
    ("seed", "fc_seed"),
    ("record_mode", "fc_record_mode"),
    ("strict", "fc_strict"),
    ("report", "fc_report"),
    ("usage_out", "fc_usage_out"),
    ("webhooks_to", "fc_webhooks_to"),
    ("webhook_secret", "fc_webhook_secret"),
    ("cassette_root", "fc_cassette_root"),
    ("control_token", "fc_control_token"),
)
OFFLINE_COMMANDS = ("verify", "show", "diff", "audit", "redact", "prune", "export", "import")
# Repeatable CLI flags that become sequence fc_* options (one --set per value).
LIST_FLAG_OPTIONS = (("webhook_urls", "fc_webhook_urls"), ("webhook_secrets", "fc_webhook_secrets"))


def mitm_mode(args: argparse.Namespace) -> str:
    if args.command == "simulate" or getattr(args, "forward", False):
        return "regular"  # a forward proxy; it also answers requests sent to it directly
    if args.command == "replay":
        return f"reverse:{DEFAULT_UPSTREAM}"  # never contacted: replay is offline
    return f"reverse:{args.upstream or DEFAULT_UPSTREAM}"


def mitm_arguments(args: argparse.Namespace, lean: bool | None = None) -> list[str]:
    """The mitmproxy ``--set`` options equivalent to a proxy command's flags, for a
    lean proxy (see :func:`choose_lean`; default: as ``--lean`` says) or not."""
    if lean is None:
        lean = bool(getattr(args, "lean", False))
    mode = mitm_mode(args)
    fc: dict[str, str] = {"fc_mode": args.command}
    for attr, name in FLAG_OPTIONS:
        value = getattr(args, attr, None)
        if value is not None and value is not False:
            fc[name] = "true" if value is True else str(value)
    ours: dict[str, str] = {
        "mode": mode,
        "listen_host": args.listen_host,
        "listen_port": str(args.port),
        # lazy: never connect upstream before a request needs it (replay never does)
        "connection_strategy": "lazy",
        **fc,
    }
    if args.command == "inspect" and args.web:
        ours.update(web_open_browser="false", web_host="127.0.0.1")
    elif not lean:  # (lean: no flow printer at all)
        # mitmdump's own per-flow lines could print secrets in URLs: we log our own
        ours["flow_detail"] = "0"
    # The user's --set replaces ours for the same name (mitmproxy refuses a repeated
    # scalar option); a repeated sequence option (e.g. mode) keeps all the user's values.
    merged: dict[str, list[str]] = {name: [f"{name}={value}"] for name, value in ours.items()}
    for attr, name in LIST_FLAG_OPTIONS:
        values = getattr(args, attr, None) or []
        if values:
            merged[name] = [f"{name}={value}" for value in values]
    user: dict[str, list[str]] = {}
    for spec in args.setoptions:
        user.setdefault(spec.partition("=")[0], []).append(spec)
    merged.update(user)
    return [arg for specs in merged.values() for spec in specs for arg in ("--set", spec)]


def check_fc_options(arguments: list[str], mode: str) -> str | None:
    """Type-check our own ``--set fc_*=...`` values, naming the option in the message
    (mitmproxy's own message for ``--set fc_seed=abc`` is only "Not an integer: abc")."""
    from mitmproxy import exceptions, optmanager

    from fc_cassette.mitm import mitm_compat
    from fc_cassette.mitm.addon import all_addons

    opts = optmanager.OptManager()

    class Loader:
        def add_option(
            self,
            name: str,
            typespec: type,
            default: Any,
            help: str,
            choices: Sequence[str] | None = None,
        ) -> None:
            opts.add_option(name, typespec, default, help, choices)

    for addon in all_addons(mode):
        if hasattr(addon, "load"):
            addon.load(Loader())
    for spec in arguments[1::2]:
        if spec.startswith("fc_") and spec.partition("=")[0] in opts:
            try:
                opts.set(spec)
            except exceptions.OptionsError as e:
                name, _, value = spec.partition("=")
                opt = mitm_compat.option(opts, name)
                return bad_value(name, value, opt, e) if opt is not None else f"--set {spec}: {e}"
    return None


def _set_value(arguments: list[str], name: str) -> str | None:
    """The last ``--set NAME=VALUE`` value for ``name`` in a mitmproxy argument list."""
    value = None
    for spec in arguments[1::2]:
        key, _, v = spec.partition("=")
        if key == name:
            value = v
    return value


def check_listen(arguments: list[str]) -> str | None:
    """Refuse a listen address that is taken, in one line (mitmproxy's own message spans
    lines and suggests ``--mode ...@PORT``, a flag the CLI does not have)."""
    import socket

    host = _set_value(arguments, "listen_host") or ""
    try:
        port = int(_set_value(arguments, "listen_port") or 0)
    except ValueError:
        return None  # mitmproxy reports it
    if not 0 <= port <= 65535:
        return f"--set listen_port={port}: not a port number: use 0-65535 (0: the OS picks one)"
    if not port:
        return None
    try:
        family, kind, proto, _, addr = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        with socket.socket(family, kind, proto) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as asyncio's server
            s.bind(addr)
    except OSError as e:
        return f"cannot listen on {host or '*'}:{port}: {e.strerror or e} (choose another --port)"
    return None


def prepare_ca(arguments: list[str]) -> str | None:
    """Create mitmproxy's CA before mitmproxy starts, safely against proxies starting
    at the same moment (see :mod:`fc_cassette.ca`)."""
    from fc_cassette.mitm.ca import CONF_DIR, KEY_SIZE, ensure_ca

    confdir = _set_value(arguments, "confdir") or CONF_DIR
    try:
        key_size = int(_set_value(arguments, "key_size") or KEY_SIZE)
    except ValueError:  # mitmproxy reports it
        key_size = KEY_SIZE
    try:
        ensure_ca(confdir, key_size)
    except OSError as e:
        return f"cannot create mitmproxy's CA in confdir {confdir}: {e.strerror or e}"
    except ValueError as e:  # e.g. key_size below 1024, a NUL byte in the path
        return f"cannot create mitmproxy's CA in confdir {confdir}: {e}"
    return None


def _run_mitmproxy(
    arguments: list[str], mode: str, web: bool, lean: bool = False, forced: bool = False
) -> int:
    from mitmproxy import ctx, exceptions

    from fc_cassette.mitm import mitm_compat
    from fc_cassette.mitm.addon import all_addons

    if lean:
        make_parser = mitm_compat.lean_parser
    elif web:
        make_parser = mitm_compat.web_parser
    else:
        from mitmproxy.tools import cmdline

        make_parser = cmdline.mitmdump
    ours: list[Any] = []

    def set_up(master: Master, opts: Options) -> None:
        # a bad --set value names the option and what it takes (mitmproxy: "Not an
        # integer: abc"); an instance attribute, as OptManager refuses setattr
        mitm_compat.replace_set(opts, checked_set(opts, opts.set))
        core, *modes = all_addons(mode)
        ours.extend([core, *modes])
        master.addons.add(core, *modes)
        # The core first in the chain: its configure refuses any option value outside
        # the option's choices before mitmproxy's own addons see it (termlog, given
        # termlog_verbosity=nope, raises a bare ValueError: a logged traceback).
        mitm_compat.put_first(master.addons, core)

    def refuse_unknown_options(_args: argparse.Namespace) -> dict[str, Any]:
        unknown = sorted(mitm_compat.deferred(ctx.options))
        if unknown:
            message = unknown_options(unknown, sorted(ctx.options.keys()))
            if forced:
                message += (
                    " (--lean loads only the mitmproxy addons a proxy needs: drop --lean "
                    "to set the other addons' options)"
                )
            raise exceptions.OptionsError(message)
        return {}

    try:
        master_cls = (
            mitm_compat.lean_master_class(set_up) if lean else mitm_compat.master_class(web, set_up)
        )
        master = mitm_compat.run(master_cls, make_parser, arguments, refuse_unknown_options)
    finally:  # a start-up that fails (e.g. port in use) exits without the done hook
        for addon in ours:
            if hasattr(addon, "close"):
                addon.close()  # release the cassette and its recording lock
    codes = [getattr(a, "exit_code", 0) for a in master.addons.chain]
    return max([c for c in codes if isinstance(c, int)] or [0])


def _offline(args: argparse.Namespace) -> int:
    if args.command == "verify":
        from fc_cassette.cli.verify import main as verify_main

        return verify_main(args.cassettes)
    if args.command == "show":
        from fc_cassette.cli.show import main as show_main

        return show_main(args.cassette, as_json=args.json)
    if args.command in MAINTENANCE:
        return _maintenance(args)
    from fc_cassette.cli.diff import main as diff_main

    return diff_main(
        args.old,
        args.new,
        as_json=args.json,
        ignore=tuple(args.ignore),
        keep_volatile=args.keep_volatile,
    )


MAINTENANCE = ("audit", "redact", "prune", "export", "import")


def _maintenance(args: argparse.Namespace) -> int:
    """The commands that keep cassettes in shape (docs/maintaining-cassettes.md)."""
    if args.command == "audit":
        from fc_cassette.cli.audit import main as audit_main

        return audit_main(
            args.paths,
            api_version=args.api_version,
            max_age_days=args.max_age_days,
            config=args.config,
            as_json=args.json,
        )
    if args.command == "redact":
        from fc_cassette.cli.redact_cmd import main as redact_main

        return redact_main(args.paths, check=args.check, config=args.config, as_json=args.json)
    if args.command == "prune":
        from fc_cassette.cli.prune import main as prune_main

        return prune_main(args.cassette, args.usage)
    if args.command == "export":
        from fc_cassette.cli.har import main as export_main

        return export_main(args.cassette, args.output)
    from fc_cassette.cli.import_cmd import main as import_main

    return import_main(args.source, args.output, config=args.config)


def _refusal(args: argparse.Namespace) -> str | None:
    """Why a proxy command's own flags cannot work (checked before mitmproxy's options)."""
    if any(spec.partition("=")[0] == "fc_mode" for spec in args.setoptions):
        return (
            "the command sets fc_mode; use 'fc-cassette simulate|record|replay|inspect' "
            "instead of --set fc_mode"
        )
    if getattr(args, "lean", False) and getattr(args, "web", False):
        return "--lean does not apply with --web (mitmweb needs its own addons)"
    return check_port(args) or check_upstream(args) or check_root(args)


def choose_lean(args: argparse.Namespace) -> bool:
    """Whether the proxy runs lean, with only the mitmproxy addons a proxy needs
    (:func:`fc_cassette.mitm.mitm_compat.lean_imports`): with ``--lean``, and otherwise
    whenever nothing asks for another addon: no ``--set`` of an option only the others
    declare, no mitmproxy ``config.yaml`` in the confdir (it may set one). Never for
    ``inspect --web`` (mitmweb's master)."""
    if args.command == "inspect" and args.web:
        return False
    if not args.lean:
        from fc_cassette.mitm.ca import CONF_DIR

        home = os.path.expanduser(_set_value(mitm_arguments(args), "confdir") or CONF_DIR)
        if any(os.path.exists(os.path.join(home, f)) for f in ("config.yaml", "config.yml")):
            return False
    from fc_cassette.mitm import mitm_compat

    mitm_compat.lean_imports()  # before anything imports mitmproxy's addons
    if args.lean:
        return True
    names = {spec.partition("=")[0] for spec in args.setoptions}
    return all(n.startswith("fc_") for n in names - mitm_compat.lean_option_names())


def main(argv: Sequence[str] | None = None) -> int:
    sys.argv[0] = "fc-cassette"
    parser = build_parser()
    args = parser.parse_args(sys.argv[1:] if argv is None else list(argv))
    if getattr(args, "forward", False) and getattr(args, "upstream", None) is not None:
        parser.error(
            "--upstream does not apply with --forward: a forward proxy sends each "
            "request to the host the app asked for (to chain to another proxy, "
            "e.g. the simulator: --set mode=upstream:URL)"
        )
    if args.command in OFFLINE_COMMANDS:
        return _offline(args)
    problem = _refusal(args) or check_cassette(args) or check_config(args)
    # the cheap checks first: a busy port is said before mitmproxy is even imported
    problem = problem or check_listen(mitm_arguments(args))
    lean = not problem and choose_lean(args)  # (imports mitmproxy's proxy server)
    arguments = [] if problem else mitm_arguments(args, lean)
    problem = problem or check_fc_options(arguments, args.command) or prepare_ca(arguments)
    if problem:
        print(one_line(f"fc-cassette: {problem}"), file=sys.stderr)
        return 1
    return _run_mitmproxy(
        arguments,
        args.command,
        web=args.command == "inspect" and args.web,
        lean=lean,
        forced=args.lean,
    )


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

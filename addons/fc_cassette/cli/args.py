"""The command line of ``fc-cassette``: its parser, help texts and one-line usage errors.

A usage error (an unknown command or option, a missing or malformed argument) is one
line on stderr, ``fc-cassette: ...``, with a did-you-mean where a known name is close,
and exit code 2 (argparse's own code for a bad command line).
"""

from __future__ import annotations

import argparse
import difflib
import re
import sys
from collections.abc import Sequence
from typing import NoReturn

from fc_cassette.cli.lines import clean
from fc_cassette.settings import modes
from fc_cassette.settings.modes import RECORD_MODES
from fc_cassette.settings.upstream import DEFAULT_UPSTREAM

_EXAMPLES = {
    "simulate": "fc-cassette simulate --port 12111 --seed 7\n"
    "  then point the app (or the stripe SDK's api_base) at http://127.0.0.1:12111",
    "record": "fc-cassette record cassettes/flow.yaml --upstream http://127.0.0.1:12111 "
    "--port 8080\n"
    "fc-cassette record cassettes/flow.yaml --record-mode new_episodes   "
    "(upstream: api.stripe.com)",
    "replay": "fc-cassette replay cassettes/flow.yaml --port 8080 --strict\n"
    "  then run the app against http://127.0.0.1:8080; exit 1 if any request missed",
    "inspect": "fc-cassette inspect --upstream http://127.0.0.1:12111 --report flows.jsonl",
    "verify": "fc-cassette verify cassettes/   (every *.yaml under it; or files)",
    "show": "fc-cassette show cassettes/flow.yaml --json",
    "diff": "fc-cassette diff cassettes/flow.yaml /tmp/flow-rerecorded.yaml",
    "audit": "fc-cassette audit cassettes/ --api-version 2026-10-28.endive --max-age-days 365",
    "redact": "fc-cassette redact cassettes/          (then: fc-cassette redact cassettes/ "
    "--check)",
    "prune": "fc-cassette replay cassettes/flow.yaml --usage-out used.json ...\n"
    "fc-cassette prune cassettes/flow.yaml --usage used.json",
    "export": "fc-cassette export cassettes/flow.yaml --format har -o flow.har",
    "import": "fc-cassette import capture.har -o cassettes/flow.yaml\n"
    "fc-cassette import flows.mitm -o cassettes/flow.yaml   (from mitmdump -w)",
}

RECORD_MODE_HELP = modes.cli_help()  # the record mode table's

DESCRIPTIONS = {
    "simulate": "Serve a stateful local Stripe API with Financial Connections built in "
    "(sessions, accounts, customers, us_bank_account payment methods, payment "
    "and setup intents, mandates, events; no upstream).",
    "record": "Record an app's Stripe traffic (FC and everything around it) into a YAML cassette.",
    "replay": "Answer from a cassette, fully offline.",
    "inspect": "Pass traffic through unchanged; validate and report it.",
    "verify": "Check cassettes: readable, valid against the Stripe models (FC and the "
    "objects around it), and free of "
    "secrets. Exit 0 when every cassette is clean, 1 when problems are found (one "
    "line each, file:entry N: problem), 2 when a file cannot be read as a cassette.",
    "show": "List a cassette's interactions, one row each: sequence number, method, path, "
    "status, the session and account ids, and whether the request and response are "
    "valid (with any schema drift). Printed values are redacted.",
    "diff": "Compare two recordings of a flow, interaction by interaction: added and removed "
    "interactions, changed request and response fields by path, schema drift added "
    "or gone. Ids are paired as the two recordings use them (a re-recorded flow's new ids "
    "are no change) and volatile headers are ignored. Exit 0 when both hold the same "
    "exchanges, 1 when they differ, 2 when one cannot be read. duration_ms (timing) "
    "is ignored; see docs/cli.md.",
    "audit": "Audit cassettes (files, or folders searched recursively) against today's "
    "rules: secrets the current scanner finds (never printed), exchanges the "
    "current models reject or do not fully know (drift), verify's structural "
    "checks, the Stripe API version and the age. Exit 0 when clean, 1 with "
    "findings (file:line: category (kind): message), 2 on bad input. See "
    "docs/maintaining-cassettes.md.",
    "redact": "Redact cassettes again, in place, with the current rules (atomic; "
    "placeholders stay consistent within each cassette; idempotent). Exit 0 when "
    "done, 1 when --check finds a cassette that would change or a secret is left "
    "that cannot be rewritten, 2 on bad input.",
    "prune": "Remove the interactions that no usage file (written by 'replay --usage-out' or "
    "the pytest plugin's --fc-usage-out) names as served (atomic). Exit 0 when "
    "done, 2 on bad input.",
    "export": "Write a cassette as a HAR 1.2 file (browsers' devtools, mitmproxy).",
    "import": "Make a cassette from a HAR file or a 'mitmdump -w' flows file: every "
    "in-scope exchange is validated, redacted and scanned like a recorded one; "
    "out-of-scope ones are skipped and counted. Exit 0 when done, 1 when an "
    "exchange was refused (a secret left after redaction), 2 on bad input.",
}


def one_line(text: str) -> str:
    """A message as printed: secrets redacted (an argument may quote a key), one line."""
    return clean(text)


def _closest(word: str, choices: list[str]) -> str:
    near = difflib.get_close_matches(word, choices, n=1)
    return f" (did you mean {near[0]!r}?)" if near else ""


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors and a did-you-mean."""

    def parse_known_args(  # type: ignore[override]  # typeshed overloads on namespace
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        self._seen = list(sys.argv[1:] if args is None else args)
        return super().parse_known_args(args, namespace)

    def _subparsers_map(self) -> dict[str, argparse.ArgumentParser]:
        for action in self._actions:
            if isinstance(action, argparse._SubParsersAction):
                return dict(action.choices)
        return {}

    def _explain(self, message: str) -> str:
        commands = self._subparsers_map()
        m = re.match(r"argument (\S+): invalid choice: '(.*?)' \(choose from (.*)\)$", message)
        if m and m.group(1) == "COMMAND":
            return (
                f"unknown command {m.group(2)!r}{_closest(m.group(2), list(commands))}; "
                f"commands: {', '.join(commands)}"
            )
        if m:
            choices = re.findall(r"'([^']*)'", m.group(3))
            return (
                f"argument {m.group(1)}: invalid choice {m.group(2)!r}"
                f"{_closest(m.group(2), choices)}; choose from {', '.join(choices)}"
            )
        if message.startswith("unrecognized arguments: "):
            return self._unrecognized(message, commands)
        return message

    def _command(self) -> str:
        """The subcommand this error is about: this parser's, else the one on the line."""
        command = self.prog.removeprefix("fc-cassette").strip()
        commands = self._subparsers_map()
        return command or next((a for a in getattr(self, "_seen", []) if a in commands), "")

    def _unrecognized(self, message: str, commands: dict[str, argparse.ArgumentParser]) -> str:
        parser = commands.get(self._command(), self)
        options = sorted(o for o in parser._option_string_actions if o.startswith("--"))
        extra = message.removeprefix("unrecognized arguments: ").split()
        words = [
            f"unknown option {name}{_closest(name, options)}"
            for name in (token.split("=", 1)[0] for token in extra)
            if name.startswith("-")
        ]
        return "; ".join(words) or message

    def error(self, message: str) -> NoReturn:
        command = self._command()
        where = f"{command}: " if command and not message.startswith("argument COMMAND") else ""
        helper = f"fc-cassette {where[:-2]} --help" if where else "fc-cassette --help"
        sys.stderr.write(
            one_line(f"fc-cassette: {where}{self._explain(message)} (see '{helper}')") + "\n"
        )
        sys.exit(2)


def _sub(sub: argparse._SubParsersAction[Parser], name: str) -> argparse.ArgumentParser:
    epilog = "example:\n" + "\n".join(f"  {line}" for line in _EXAMPLES[name].splitlines())
    if name == "record":
        epilog = RECORD_MODE_HELP + "\n\n" + epilog
    return sub.add_parser(
        name,
        help=DESCRIPTIONS[name].split(". ")[0].rstrip(".") + ".",
        description=DESCRIPTIONS[name],
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def _proxy_parser(sub: argparse._SubParsersAction[Parser], name: str) -> argparse.ArgumentParser:
    p = _sub(sub, name)
    p.add_argument(
        "--port",
        type=int,
        default=8080,
        help="listen port, 0-65535 (default 8080; 0: the OS picks a free one)",
    )
    p.add_argument(
        "--listen-host",
        default="127.0.0.1",
        help="listen address (default 127.0.0.1; 0.0.0.0 exposes the proxy)",
    )
    p.add_argument("--config", metavar="FILE", help="YAML overriding config/default.yaml")
    p.add_argument(
        "--set",
        dest="setoptions",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="mitmproxy option, passed as is (repeatable)",
    )
    p.add_argument(
        "--lean",
        action="store_true",
        help="only the mitmproxy addons a proxy needs, always: a --set of another "
        "addon's option (e.g. anticache, scripts) is refused instead of starting "
        "mitmdump's whole set for it (a proxy is lean unless asked: docs/cli.md)",
    )
    return p


def _upstream(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--upstream",
        metavar="URL",
        help=f"reverse-proxy target, http://HOST[:PORT] or https://HOST[:PORT] "
        f"(default {DEFAULT_UPSTREAM}; no credentials in the URL)",
    )
    p.add_argument("--forward", action="store_true", help="run as a forward (HTTPS) proxy")


def _control(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--cassette-root",
        metavar="DIR",
        help="the control endpoint's cassettes must lie in DIR ('..' and symlinks "
        "resolved; default: the directory the proxy is started in)",
    )
    p.add_argument(
        "--control-token",
        metavar="TOKEN",
        help="control calls must carry TOKEN in the X-FC-Cassette-Token header "
        "(prefer $FC_CASSETTE_CONTROL_TOKEN: a command line is visible to "
        "other users); see docs/security.md",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="fc-cassette",
        description="Record, replay, validate and simulate Stripe traffic, with Financial "
        "Connections built in.",
        epilog="Run 'fc-cassette COMMAND --help' for a command's options and an example.",
    )
    from fc_cassette._version import __version__

    parser.add_argument("--version", action="version", version=f"fc-cassette {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    _proxy_commands(sub)

    p = _proxy_parser(sub, "inspect")
    _upstream(p)
    p.add_argument("--report", metavar="FILE", help="write one JSON object per flow")
    p.add_argument("--web", action="store_true", help="run mitmweb (UI on 127.0.0.1:8081)")

    p = _sub(sub, "verify")
    p.add_argument(
        "cassettes",
        nargs="+",
        metavar="CASSETTE",
        help="a cassette file, or a folder: every *.yaml / *.yml under it",
    )

    p = _sub(sub, "show")
    p.add_argument("cassette")
    p.add_argument("--json", action="store_true", help="machine-readable output")

    p = _sub(sub, "diff")
    p.add_argument("old", metavar="A", help="the earlier recording")
    p.add_argument("new", metavar="B", help="the later recording")
    p.add_argument(
        "--ignore",
        action="append",
        default=[],
        metavar="GLOB",
        help="leave out the fields whose path matches GLOB (repeatable), e.g. "
        "'response.body.json.created' or '*.created'",
    )
    p.add_argument(
        "--keep-volatile",
        action="store_true",
        help="also compare the headers that differ on every recording (Date, "
        "Request-Id, Idempotency-Key, User-Agent, ...), ignored by default",
    )
    p.add_argument("--json", action="store_true", help="machine-readable output")
    _maintenance(sub)
    return parser


def _proxy_commands(sub: argparse._SubParsersAction[Parser]) -> None:
    """simulate, record and replay."""
    _simulate(sub)
    _record(sub)
    _replay(sub)


def _simulate(sub: argparse._SubParsersAction[Parser]) -> None:
    p = _proxy_parser(sub, "simulate")
    p.add_argument("--seed", type=int, default=None, help="seed for ids and secrets (default 0)")
    p.add_argument(
        "--webhook-url",
        dest="webhook_urls",
        action="append",
        default=[],
        metavar="URL",
        help="deliver every event to URL, signed (repeatable; "
        "replaces the config's simulate.webhooks)",
    )
    p.add_argument(
        "--webhook-secret",
        dest="webhook_secrets",
        action="append",
        default=[],
        metavar="WHSEC",
        help="the whsec_... secret of each --webhook-url, in order (one secret: for every URL)",
    )


def _record(sub: argparse._SubParsersAction[Parser]) -> None:
    p = _proxy_parser(sub, "record")
    p.add_argument("cassette")
    _upstream(p)
    p.add_argument(
        "--record-mode",
        choices=list(RECORD_MODES),
        default=None,
        help="VCR record mode (default: config record.mode, 'once'); see below",
    )
    p.add_argument(
        "--strict",
        action="store_true",
        help="exit 1 if no request reached the proxy (and, as always, if any "
        "in-scope exchange was not recorded)",
    )
    p.add_argument(
        "--webhooks-to",
        metavar="APP_URL",
        help="accept webhook deliveries at POST /__fc_cassette__/webhooks, forward "
        "them to APP_URL and record them (docs/webhooks.md)",
    )
    _control(p)


def _replay(sub: argparse._SubParsersAction[Parser]) -> None:
    p = _proxy_parser(sub, "replay")
    p.add_argument("cassette")
    p.add_argument("--forward", action="store_true", help="run as a forward (HTTPS) proxy")
    p.add_argument(
        "--strict",
        action="store_true",
        help="exit 1 if any request missed or a recorded webhook was not delivered",
    )
    p.add_argument(
        "--webhooks-to",
        metavar="APP_URL",
        help="deliver the recorded webhook events to APP_URL, each after the "
        "response it followed (docs/webhooks.md)",
    )
    p.add_argument(
        "--webhook-secret",
        metavar="WHSEC",
        help="sign the replayed events with this whsec_ secret (default: the "
        "documented test secret)",
    )
    p.add_argument(
        "--usage-out",
        metavar="FILE",
        default=None,
        help="at shutdown, write which interactions were served (for prune)",
    )
    _control(p)


def _maintenance(sub: argparse._SubParsersAction[Parser]) -> None:
    """The commands that keep cassettes in shape over the years."""
    p = _sub(sub, "audit")
    p.add_argument("paths", nargs="+", metavar="PATH", help="cassette file or folder")
    p.add_argument(
        "--api-version",
        metavar="V",
        default=None,
        help="flag cassettes holding another Stripe API version "
        "(default: the config's audit.api_version)",
    )
    p.add_argument(
        "--max-age-days",
        metavar="N",
        type=int,
        default=None,
        help="flag cassettes recorded more than N days ago",
    )
    p.add_argument("--config", metavar="FILE", help="YAML overriding config/default.yaml")
    p.add_argument("--json", action="store_true", help="machine-readable output")

    p = _sub(sub, "redact")
    p.add_argument("paths", nargs="+", metavar="PATH", help="cassette file or folder")
    p.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 if a cassette would change"
    )
    p.add_argument("--config", metavar="FILE", help="YAML overriding config/default.yaml")
    p.add_argument("--json", action="store_true", help="machine-readable output")

    p = _sub(sub, "prune")
    p.add_argument("cassette")
    p.add_argument(
        "--usage",
        metavar="FILE",
        action="append",
        required=True,
        help="a usage file (repeatable): interactions none of them names go",
    )

    p = _sub(sub, "export")
    p.add_argument("cassette")
    p.add_argument("--format", choices=["har"], default="har", help="output format")
    p.add_argument("-o", "--output", metavar="OUT", required=True, help="file to write")

    p = _sub(sub, "import")
    p.add_argument("source", metavar="IN", help="a HAR file or a mitmdump -w flows file")
    p.add_argument(
        "-o",
        "--output",
        metavar="CASSETTE",
        required=True,
        help="the cassette to write (must not exist)",
    )
    p.add_argument("--config", metavar="FILE", help="YAML overriding config/default.yaml")

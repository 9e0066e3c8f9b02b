"""The CLI contract shared by every proxy command: flags, errors, signals, raw mitmdump."""

from __future__ import annotations

import signal

import pytest
import requests

from builders import mitm_options as mitm
from support import ROOT, raw_mitmdump, run_fc, run_mitmdump, start

DEMO = ROOT / "cassettes" / "fc_sessions.yaml"  # a cassette that exists

KEY = "sk_test_" + "fakeCliKey0123456789"


def test_help_lists_every_command():
    r = run_fc(["--help"])
    assert r.returncode == 0
    for command in ("simulate", "record", "replay", "inspect", "verify", "show"):
        assert command in r.stdout
    r = run_fc(["replay", "--help"])
    for flag in ("--port", "--listen-host", "--set", "--config", "--forward", "--strict"):
        assert flag in r.stdout


@pytest.mark.parametrize(
    "argv, words",
    [
        (["simulate", "--set", "nonsense_option=1"], "unknown option(s): nonsense_option"),
        (["simulate", "--set", "fc_mode=bogus"], "the command sets fc_mode"),
        (
            ["record", "c.yaml", "--set", "fc_record_mode=sometimes"],
            "fc_record_mode must be one of",
        ),
        (["simulate", "--set", "fc_seed=abc"], "fc_seed"),
        (["simulate", "--set", "connection_strategy=sometimes"], "connection_strategy"),
        (
            ["simulate", "--set", "termlog_verbosity=nope"],
            "termlog_verbosity must be one of error, warn, info, alert, debug, not 'nope'",
        ),
        (["inspect", "--web", "--set", "termlog_verbosity=nope"], "termlog_verbosity must be"),
        (
            ["simulate", "--set", "ignore_hosts=["],
            "ignore_hosts: not a regular expression: '[': unterminated character set",
        ),
        (["replay", str(DEMO), "--set", "allow_hosts=("], "allow_hosts: not a regular expression"),
        (["simulate", "--set", "tcp_hosts=("], "tcp_hosts: not a regular expression"),
        (["simulate", "--set", "udp_hosts=["], "udp_hosts: not a regular expression"),
        (["record", ".", "--record-mode", "all"], "fc-cassette: .: is a directory, not a cassette"),
        (["replay", "no-such-cassette.yaml"], "no-such-cassette.yaml: no such cassette"),
    ],
)
def test_bad_options_are_one_line_and_exit_1_before_listening(argv, words, tmp_path):
    r = run_fc([*argv, "--port", "0"], cwd=tmp_path)
    assert r.returncode == 1
    err = r.stderr.strip()
    assert words in err and "Traceback" not in r.stderr + r.stdout
    assert err.count("\n") == 0, err
    assert err.startswith("fc-cassette: ")


def test_bad_config_names_file_line_and_key(tmp_path):
    cfg = tmp_path / "mine.yaml"
    cfg.write_text("# comment\nreplay:\n  on_exhausted: sometimes\n")
    r = run_fc(["simulate", "--config", str(cfg), "--port", "0"])
    assert r.returncode == 1
    assert r.stderr.strip() == (
        f"fc-cassette: {cfg}:3: replay.on_exhausted: Input should be 'miss' or 'repeat_last'"
    )


@pytest.mark.parametrize("command", [["record", "c.yaml"], ["inspect"]])
def test_forward_with_upstream_is_refused(command):
    """--forward would silently ignore --upstream (and talk to real Stripe)."""
    r = run_fc([*command, "--forward", "--upstream", "http://127.0.0.1:9"])
    assert r.returncode == 2 and r.stdout == ""
    assert "--upstream does not apply with --forward" in r.stderr
    assert "--set mode=upstream:URL" in r.stderr
    assert mitm(*command, "--upstream", "http://127.0.0.1:9")["mode"] == [
        "reverse:http://127.0.0.1:9"
    ]
    assert mitm(*command)["mode"] == ["reverse:https://api.stripe.com"]


def test_bad_argument_is_argparse_error():
    r = run_fc(["replay"])
    assert r.returncode == 2 and "cassette" in r.stderr
    r = run_fc(["record", "c.yaml", "--record-mode", "sometimes"])
    assert r.returncode == 2 and "invalid choice" in r.stderr


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_listens_on_loopback_and_stops_cleanly(tmp_path, sig):
    stack = start(["simulate"], tmp_path, "sim")
    r = requests.post(
        f"{stack.base}/v1/financial_connections/sessions",
        data={
            "account_holder[type]": "customer",
            "account_holder[customer]": "cus_fake1",
            "permissions[]": "balances",
        },
        headers={"Authorization": f"Bearer {KEY}"},
        timeout=10,
    )
    assert r.status_code == 200
    assert stack.proc.stop(sig) == 0
    assert f"listening at 127.0.0.1:{stack.port}" in stack.proc.output()


def test_raw_mitmdump_script_runs_the_same_addon(tmp_path):
    proc = raw_mitmdump(tmp_path, "fc_mode=simulate", "fc_seed=4")
    r = requests.get(
        f"http://127.0.0.1:{proc.port}/v1/financial_connections/sessions/fcsess_x",
        headers={"Authorization": f"Bearer {KEY}"},
        timeout=10,
    )
    assert r.status_code == 404 and r.json()["error"]["code"] == "resource_missing"
    assert proc.stop() == 0


def test_raw_mitmdump_refuses_bad_fc_options(tmp_path):
    for bad, words in (
        (
            "fc_mode=bogus",
            "fc-cassette: --set fc_mode=bogus: must be one of simulate, record, replay, inspect",
        ),
        ("fc_modee=simulate", "unknown option(s): fc_modee"),
    ):
        r = run_mitmdump(tmp_path, bad)
        assert r.returncode == 1, bad
        assert words in r.stdout + r.stderr
        assert "Traceback" not in r.stdout + r.stderr


@pytest.mark.parametrize(
    "bad, words",
    [  # (mitmproxy 11 and 12 word it differently)
        ("fc_strict=maybe", "boolean"),
        ("fc_allow_live=yes", "boolean"),
        ("fc_seed=abc", "integer"),
        ("fc_record_mode=sometimes", "must be one of once, new_episodes, all, none"),
    ],
)
def test_raw_mitmdump_bad_fc_value_is_an_error_not_a_plain_proxy(tmp_path, bad, words):
    """mitmproxy applies a script's --set values in one update: one that does not parse
    used to leave fc_mode unset, silently (a replay proxy forwarding upstream)."""
    cassette = tmp_path / "c.yaml"
    cassette.write_text("---\nfc_cassette: 1\n...\n")
    r = run_mitmdump(tmp_path, "fc_mode=replay", f"fc_cassette={cassette}", bad)
    out = r.stdout + r.stderr
    assert r.returncode == 1, out
    line = next(ln for ln in out.splitlines() if f"fc-cassette: --set {bad}: " in ln)
    assert words in line.lower()
    assert "fc-cassette replay: 0 interactions" in out  # the other values still applied


def test_a_recorder_that_cannot_start_leaves_no_lock_file(tmp_path):
    """mitmproxy exits on a start-up error without its done hook; the lock still goes.
    (The mode's own @PORT is taken: only mitmproxy finds out, after the lock.)"""
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        mode = f"reverse:http://127.0.0.1:9@{taken.getsockname()[1]}"
        r = run_fc(
            [
                "record",
                str(tmp_path / "c.yaml"),
                "--port",
                "0",
                "--set",
                f"mode={mode}",
                "--set",
                f"confdir={tmp_path / 'conf'}",
            ],
            cwd=tmp_path,
        )
    assert r.returncode == 1 and "address already in use" in r.stdout + r.stderr
    assert "fc-cassette record (once): recording" in r.stdout + r.stderr  # it had the lock
    assert sorted(p.name for p in tmp_path.iterdir()) == ["conf"]


@pytest.mark.parametrize("how", ["--port", "--set listen_port"])
def test_a_taken_port_is_one_line(tmp_path, how):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        flag = (
            ["--port", str(port)]
            if how == "--port"
            else ["--port", "0", "--set", f"listen_port={port}"]
        )
        r = run_fc(["replay", "cassettes/fc_sessions.yaml", *flag])
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr.splitlines() == [
        f"fc-cassette: cannot listen on 127.0.0.1:{port}: "
        "Address already in use (choose another --port)"
    ]

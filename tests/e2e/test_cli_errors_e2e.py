"""Every bad input is one line starting ``fc-cassette:``, naming the thing, with a
did-you-mean where a known name is close, a non-zero exit and no traceback (issue 17);
secrets in ``--upstream`` never reach a line (issue 14)."""

from __future__ import annotations

import subprocess

import pytest

from support import FC, encoded_forms, raw_mitmdump, run_fc

CASSETTE = "cassettes/fc_sessions.yaml"
SECRET = "sk_test_" + "upstreamUserinfo0123456789"


def one_line(r: subprocess.CompletedProcess, code: int, *words: str) -> str:
    out = r.stdout + r.stderr
    assert r.returncode == code, out
    assert "Traceback" not in out, out
    err = r.stderr.strip()
    assert err.count("\n") == 0, err
    assert err.startswith("fc-cassette: "), err
    for w in words:
        assert w in err, (w, err)
    return err


@pytest.mark.parametrize(
    "url, words",
    [
        (
            "notaurl",
            [
                "--upstream 'notaurl'",
                "a scheme is required",
                "http://HOST[:PORT] or https://HOST[:PORT]",
                "e.g. http://notaurl",
            ],
        ),
        ("127.0.0.1:12111", ["a scheme is required", "e.g. http://127.0.0.1:12111"]),
        ("ftp://example.test", ["scheme 'ftp' is not supported"]),
        ("htps://example.test", ["did you mean 'https'?"]),
        ("http://", ["a host is required"]),
        ("http://example.test:99999", ["the port must be a number 1-65535"]),
        ("http://example.test/v1", ["a path, query or fragment is not supported"]),
    ],
)
@pytest.mark.parametrize("command", [["record", "c.yaml"], ["inspect"]])
def test_bad_upstream_is_refused_in_one_line(url, words, command, tmp_path):
    r = run_fc([*command, "--upstream", url, "--port", "0"], cwd=tmp_path)
    one_line(r, 1, *words)
    assert list(tmp_path.iterdir()) == []  # refused before anything started


def test_upstream_userinfo_never_reaches_a_line(tmp_path):
    for url in (
        f"http://user:{SECRET}@127.0.0.1:9",
        f"http://{SECRET}@127.0.0.1:9",
        f"http://{SECRET}:@127.0.0.1:9",
    ):
        for argv in (
            ["record", "c.yaml", "--upstream", url],
            ["replay", CASSETTE, "--set", f"mode=reverse:{url}@0"],
        ):
            r = run_fc([*argv, "--port", "0"], cwd=tmp_path)
            err = one_line(r, 1, "credentials in the URL are refused", "***@127.0.0.1:9")
            out = r.stdout + r.stderr
            for form in encoded_forms(SECRET):
                assert form not in out, (form, err)
            assert "user" not in err


@pytest.mark.parametrize("port", ["99999", "-1", "65536"])
def test_bad_port_is_one_line_before_mitmproxy(port):
    r = run_fc(["replay", CASSETTE, "--port", port])
    one_line(r, 1, f"--port {port}: not a port number: use 0-65535")
    assert r.stdout == ""  # mitmproxy never started (it would log the cassette's load)


@pytest.mark.parametrize("port", ["99999", "-3"])
def test_bad_listen_port_set_is_one_line_before_mitmproxy(port):
    r = run_fc(["replay", CASSETTE, "--set", f"listen_port={port}"])
    one_line(r, 1, f"--set listen_port={port}: not a port number: use 0-65535")
    assert r.stdout == ""


def test_non_numeric_port_is_a_usage_error():
    r = run_fc(["replay", CASSETTE, "--port", "abc"])
    one_line(r, 2, "replay: argument --port: invalid int value: 'abc'", "fc-cassette replay --help")


def test_port_0_lets_the_os_pick(tmp_path):
    from support import Proc

    proc = Proc(
        [
            FC,
            "replay",
            CASSETTE,
            "--port",
            "0",
            "--set",
            f"confdir={tmp_path / 'conf'}",
        ],
        None,
        tmp_path / "p0.log",
    )
    import re
    import time

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not re.search(
        r"listening at 127\.0\.0\.1:\d+", proc.output()
    ):
        time.sleep(0.1)
    assert proc.stop() == 0
    port = int(re.search(r"listening at 127\.0\.0\.1:(\d+)", proc.output()).group(1))
    assert port > 0


@pytest.mark.parametrize(
    "spec, words",
    [
        (
            "flow_detail=abc",
            ["--set flow_detail=abc: ", "flow_detail takes an integer", "0 (quiet) to 4"],
        ),
        ("connection_strategy=sometimes", ["connection_strategy must be one of eager, lazy"]),
        (
            "ssl_insecure=perhaps",
            ["--set ssl_insecure=perhaps", "ssl_insecure takes true or false"],
        ),
        ("fc_strict=maybe", ["--set fc_strict=maybe", "fc_strict takes true or false"]),
    ],
)
def test_bad_set_value_names_the_option_and_what_it_takes(spec, words):
    r = run_fc(["replay", CASSETTE, "--set", spec, "--port", "0"])
    one_line(r, 1, *words)


@pytest.mark.parametrize(
    "argv, words",
    [
        (
            ["replay", CASSETTE, "--lean", "--set", "anticache=true"],
            ["unknown option(s): anticache", "drop --lean to set the other addons' options"],
        ),
        (["inspect", "--web", "--lean"], ["--lean does not apply with --web"]),
    ],
)
def test_lean_refuses_what_it_does_not_load(argv, words):
    """``--lean`` (the pytest plugin's proxies) has only the mitmproxy addons a proxy
    needs: another addon's option is refused in one line that says so, not ignored."""
    one_line(run_fc([*argv, "--port", "0"]), 1, *words)


def test_another_addons_option_starts_the_whole_mitmdump(tmp_path):
    """Without --lean, a --set of an option only another mitmproxy addon declares
    (anticache) starts mitmdump's whole set of addons instead: it listens, and answers."""
    import re
    import time
    import urllib.request

    from support import Proc

    proc = Proc(
        [FC, "replay", CASSETTE, "--port", "0", "--set", f"confdir={tmp_path / 'conf'}"]
        + ["--set", "anticache=true"],
        None,
        tmp_path / "full.log",
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not re.search(r"listening at \S+:\d+", proc.output()):
        time.sleep(0.1)
    port = int(re.search(r"listening at 127\.0\.0\.1:(\d+)", proc.output()).group(1))
    req = urllib.request.Request(f"http://127.0.0.1:{port}/v1/customers/cus_FakeNone")
    try:
        urllib.request.urlopen(req, timeout=60)
        status = 200
    except urllib.error.HTTPError as e:
        status = e.code  # a miss, answered by the replay
        assert e.headers["Fc-Cassette-Miss"], e.headers
    assert status == 400
    assert proc.stop() == 0


@pytest.mark.parametrize(
    "argv, code, words",
    [
        (
            ["replya", CASSETTE],
            2,
            [
                "unknown command 'replya' (did you mean 'replay'?)",
                "commands: simulate, record, replay, inspect, verify, show",
            ],
        ),
        (
            ["record", "c.yaml", "--recrod-mode", "all"],
            2,
            [
                "record: unknown option --recrod-mode (did you mean '--record-mode'?)",
                "fc-cassette record --help",
            ],
        ),
        (
            ["record", "c.yaml", "--record-mode", "onec"],
            2,
            ["invalid choice 'onec' (did you mean 'once'?)", "once, new_episodes, all, none"],
        ),
        (["show", CASSETTE, "--jsn"], 2, ["unknown option --jsn (did you mean '--json'?)"]),
        (
            ["replay", CASSETTE, "--set", "fc_stirct=true"],
            1,
            ["unknown option(s): fc_stirct (did you mean fc_strict?)"],
        ),
        (
            ["simulate", "--set", "flow_detial=1"],
            1,
            ["unknown option(s): flow_detial (did you mean flow_detail?)"],
        ),
    ],
)
def test_did_you_mean(argv, code, words):
    port = ["--port", "0"] if argv[0] in ("replay", "simulate", "record") else []
    one_line(run_fc([*argv, *port]), code, *words)


def test_raw_mitmdump_without_fc_mode_warns_once_that_it_is_inactive(tmp_path):
    proc = raw_mitmdump(tmp_path)
    assert proc.stop() == 0
    lines = [ln for ln in proc.output().splitlines() if "inactive" in ln]
    assert len(lines) == 1, proc.output()
    assert "fc-cassette: inactive: fc_mode is not set" in lines[0]
    assert "--set fc_mode=simulate|record|replay|inspect" in lines[0]
    proc = raw_mitmdump(tmp_path, "fc_mode=simulate", name="sim")
    assert proc.stop() == 0
    assert "inactive" not in proc.output()


@pytest.mark.parametrize(
    "command", ["simulate", "record", "replay", "inspect", "verify", "show", "diff"]
)
def test_each_command_has_a_description_and_an_example(command):
    r = run_fc([command, "--help"])
    assert r.returncode == 0
    assert "example:\n  fc-cassette " + command in r.stdout


def test_record_help_explains_the_record_modes():
    out = run_fc(["record", "--help"]).stdout
    for mode in ("once", "new_episodes", "all", "none"):
        assert f"\n  {mode} " in out, mode
    assert "re-record" in out


def test_verify_and_show_help_describe_them():
    assert "free of secrets" in " ".join(run_fc(["verify", "--help"]).stdout.split())
    assert "one row each" in run_fc(["show", "--help"]).stdout


@pytest.mark.parametrize(
    "argv",
    [
        ["replay", CASSETTE, "--port", SECRET],
        ["replay", CASSETTE, "--set", f"flow_detail={SECRET}"],
        ["replay", CASSETTE, "--set", f"{SECRET}=1"],
        [SECRET],
        ["record", "c.yaml", "--upstream", f"http://127.0.0.1:9/{SECRET}"],
    ],
)
def test_a_secret_in_any_argument_is_redacted_in_the_error(argv):
    port = ["--port", "0"] if "--port" not in argv and len(argv) > 1 else []
    r = run_fc([*argv, *port])
    assert r.returncode in (1, 2)
    assert r.stderr.startswith("fc-cassette: ") and "Traceback" not in r.stderr
    for form in encoded_forms(SECRET):
        assert form not in r.stdout + r.stderr, form

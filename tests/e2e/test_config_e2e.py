"""Every config error reaches the real CLI as one line."""


def test_every_config_error_reaches_the_cli_in_one_line(tmp_path):
    from support import run_fc

    f = tmp_path / "bad.yaml"
    f.write_text("recrod:\n  mode: all\nreplay:\n  on_exhausted: sometimes\n")
    r = run_fc(["simulate", "--config", str(f), "--port", "0"])
    assert r.returncode == 1 and "Traceback" not in r.stdout + r.stderr
    assert r.stderr.strip() == (
        f"fc-cassette: {f}:1: recrod: unknown key (did you mean "
        f"'record'?); {f}:4: replay.on_exhausted: Input should be 'miss' or 'repeat_last'"
    )

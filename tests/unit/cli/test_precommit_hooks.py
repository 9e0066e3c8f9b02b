"""``.pre-commit-hooks.yaml``: the two hooks pre-commit installs, checked as pre-commit
reads them (its manifest keys) and run as pre-commit runs them (``entry`` + the files
its ``files`` regex selects) on a clean cassette and on one with a raw secret."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import yaml

from fc_cassette import cli
from fc_cassette.cassette import store as cio

ROOT = Path(__file__).resolve().parents[3]
HOOKS = {h["id"]: h for h in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}


def test_the_hooks_are_declared_as_pre_commit_reads_them():
    assert set(HOOKS) == {"fc-cassette-verify", "fc-cassette-audit"}
    for hook in HOOKS.values():
        assert {"id", "name", "entry", "language"} <= set(hook)
        assert hook["language"] == "python"  # pre-commit pip-installs this repository
        assert shlex.split(hook["entry"])[0] == "fc-cassette"
    files = {re.compile(h["files"]) for h in HOOKS.values()}
    for pattern in files:
        assert pattern.search("cassettes/flow.yaml")
        assert pattern.search("tests/cassettes/test_x/test_y.yml")
        assert not pattern.search("config/default.yaml")
    assert "fc-cassette-verify" in (ROOT / "docs" / "maintaining-cassettes.md").read_text()


def test_each_hook_passes_a_clean_cassette_and_fails_a_raw_secret(tmp_path, capsys):
    folder = tmp_path / "cassettes"
    folder.mkdir()
    w = cio.Writer(folder / "ok.yaml", fsync=False)  # a path no model covers: no drift
    w.append(
        {
            "request": {"method": "GET", "path": "/v1/charges/ch_fakeHook1"},
            "response": {"status": 200, "body": {"json": {"id": "ch_fakeHook1"}}},
        }
    )
    w.close()
    clean = str(folder / "ok.yaml")
    dirty = folder / "old.yaml"
    dirty.write_text(
        Path(clean)
        .read_text()
        .replace("id: ch_fakeHook1", "id: ch_fakeHook1\n      note: rk_test_FakeHookKey123456")
    )
    for hook in HOOKS.values():
        args = shlex.split(hook["entry"])[1:] + list(hook.get("args", []))
        assert cli.main([*args, clean]) == 0, hook["id"]
        assert cli.main([*args, str(dirty)]) == 1, hook["id"]
        out = capsys.readouterr()
        assert "FakeHookKey" not in out.out + out.err

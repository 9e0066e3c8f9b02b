"""Every runnable snippet in README.md and docs/*.md runs as written.

A fenced block is taken when its info string says so:

- ```` ```sh run ```` / ```` ```python run ````: run (bash -e / the venv's python);
- ```` ```python file=PATH ```` / ```` ```yaml file=PATH ````: written to PATH first.

The blocks of one page run in order, in one fresh folder (a copy of nothing: a user's
empty project), with the venv's ``bin`` first on PATH and a real
``fc-cassette simulate --port 12111`` running, as the README tells a user to start it.
Processes a block leaves in the background are killed after the block.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from support import ROOT, Proc, wait_port

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```(\w+)[ \t]+([^\n]*)\n(.*?)^```[ \t]*$", re.M | re.S)
SIM_PORT = 12111


def blocks(page: Path) -> list[tuple[str, str, str]]:
    """(language, what, text) of each marked block: what is 'run' or 'file=PATH'."""
    found = []
    for lang, info, text in FENCE.findall(page.read_text()):
        info = info.strip()
        if info == "run" or info.startswith("file="):
            found.append((lang, info, text))
    return found


def test_the_pages_have_runnable_snippets():
    marked = {p.name: len(blocks(p)) for p in PAGES}
    assert marked.get("README.md", 0) >= 3, marked  # the front door shows a whole run


@pytest.fixture(scope="module")
def simulator(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("docs-sim")
    proc = Proc(
        [
            str(Path(sys.executable).parent / "fc-cassette"),
            "simulate",
            "--port",
            str(SIM_PORT),
            "--set",
            f"confdir={tmp / 'conf'}",
        ],
        SIM_PORT,
        tmp / "sim.log",
    )
    yield proc
    proc.stop()


def _run(cmd: list[str], cwd: Path, env: dict, timeout: float) -> subprocess.CompletedProcess:
    p = subprocess.Popen(
        cmd,
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
        stdin=subprocess.DEVNULL,
    )
    try:
        out, _ = p.communicate(timeout=timeout)
    finally:
        try:  # whatever the block left in the background
            os.killpg(p.pid, signal.SIGKILL)
        except OSError:
            pass
    return subprocess.CompletedProcess(cmd, p.returncode, out, "")


@pytest.mark.parametrize("page", [p for p in PAGES if blocks(p)], ids=lambda p: p.name)
def test_snippets_run_as_written(page, simulator, tmp_path):
    wait_port(SIM_PORT)
    work = tmp_path / "project"
    work.mkdir()
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "HOME": str(tmp_path / "home"),
    }
    env.pop("PYTEST_ADDOPTS", None)
    for n, (lang, what, text) in enumerate(blocks(page), 1):
        if what.startswith("file="):
            target = work / what[len("file=") :]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
            continue
        cmd = (
            ["bash", "-euo", "pipefail", "-c", text]
            if lang in ("sh", "bash", "shell")
            else [sys.executable, "-c", text]
        )
        done = _run(cmd, work, env, timeout=180)
        assert done.returncode == 0, (
            f"{page.name}: block {n} ({lang}) exited {done.returncode}:\n{text}\n---\n{done.stdout}"
        )


def test_the_configuration_reference_names_every_key():
    from fc_cassette.settings.config import Settings

    text = (ROOT / "docs" / "configuration.md").read_text()
    for section, model in Settings.model_fields.items():
        for key in model.annotation.model_fields:
            assert f"`{section}.{key}`" in text, f"{section}.{key} is not documented"

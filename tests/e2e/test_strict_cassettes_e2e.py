"""replay and record (real processes) refuse each strict-loader case with one line."""

from __future__ import annotations

import re
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from corpus import CORPUS, LOCATED, MALFORMED
from support import run_fc

STRICT_CASES = [
    "binary_method.yaml",
    "binary_path.yaml",
    "binary_query.yaml",
    "str_tag.yaml",
    "duplicate_key.yaml",
    "crlf_in_method.yaml",
    "crlf_in_path.yaml",
    "nul_in_header_value.yaml",
    "esc_in_header_value.yaml",
    "control_in_header_name.yaml",
    "nan_in_json_body.yaml",
    "infinity_in_json_body.yaml",
    "seq_as_string.yaml",
    "int_key_in_body.yaml",
]
COMMANDS = {
    "replay": [],
    "record-none": ["--record-mode", "none"],
    "record-new_episodes": ["--record-mode", "new_episodes"],
}


def _run(command: str, path: Path, tmp_path: Path) -> subprocess.CompletedProcess:
    args = [
        command.split("-")[0],
        str(path),
        *COMMANDS[command],
        "--port",
        "0",
        "--set",
        f"confdir={tmp_path / 'conf'}",
    ]
    if command.startswith("record"):
        args += ["--upstream", "http://127.0.0.1:9"]  # never reached: refused before
    return run_fc(args, timeout=60, cwd=tmp_path)  # timeout: a hang guard


RECORDED = [
    "binary_query.yaml",
    "duplicate_key.yaml",
    "crlf_in_path.yaml",
    "nul_in_header_value.yaml",
    "nan_in_json_body.yaml",
    "seq_as_string.yaml",
]


def test_replay_and_record_refuse_each_strict_case_with_one_line(tmp_path):
    jobs = [
        (c, MALFORMED / n) for n in STRICT_CASES for c in COMMANDS if c == "replay" or n in RECORDED
    ]
    with ThreadPoolExecutor(max_workers=3) as pool:
        results = list(pool.map(lambda j: _run(j[0], j[1], tmp_path), jobs))
    for (command, path), p in zip(jobs, results, strict=False):
        out = p.stdout + p.stderr
        assert "Traceback" not in out, (command, out)
        assert p.returncode != 0 and "listening" not in out, (command, path, out)
        err = [ln for ln in p.stderr.splitlines() if ln.strip()]
        assert len(err) == 1 and p.stdout.strip() == "", (command, out)
        prefix = f"fc-cassette: {path}"
        assert err[0].startswith(prefix), (command, err)
        assert CORPUS[path.name] in err[0], (command, err)
        assert re.match(LOCATED[path.name], err[0][len(prefix) :]), err
    assert not list(MALFORMED.glob(".*.recording"))  # record wrote nothing beside them

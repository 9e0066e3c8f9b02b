"""A new secret kind is one table row (checked in a fresh Python process)."""

from __future__ import annotations


def test_a_new_kind_is_one_row(tmp_path):
    """Adding a credential kind is one row in the table: a copy of the package with one
    more row recognises, redacts, numbers and masks it everywhere."""
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    import fc_cassette

    pkg = tmp_path / "fc_cassette"
    shutil.copytree(
        Path(fc_cassette.__file__).parent, pkg, ignore=shutil.ignore_patterns("__pycache__")
    )
    src = (pkg / "redact" / "kinds.py").read_text()
    row = '    SecretKind("whsec", "whsec_"),'
    assert src.count(row) == 1
    (pkg / "redact" / "kinds.py").write_text(
        src.replace(row, row + '\n    SecretKind("fake_kind", "fakekind_", live=True),')
    )
    code = (
        "from fc_cassette.redact import Redactor, scan, mask\n"
        "from fc_cassette.redact.kinds import live_key_in\n"
        "import base64\n"
        "v = 'fakekind_' + 'Abc123xyz0987654'\n"
        "print([(f.kind, f.encoding) for t in (v, base64.b64encode(v.encode()).decode())"
        " for f in scan('a ' + t)])\n"
        "print(Redactor().redact_text('k=' + v + '&x=' + v))\n"
        "print(mask(v), live_key_in('Bearer ' + v))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PYTHONPATH": str(tmp_path)},
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [
        "[('fake_kind', 'raw'), ('fake_kind', 'base64')]",
        "k=fakekind_REDACTED_1&x=fakekind_REDACTED_1",
        "fakekind_…(25 chars) True",
    ]

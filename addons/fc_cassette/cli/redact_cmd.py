"""``fc-cassette redact PATH... [--check]``: today's redaction rules over old cassettes.

Each cassette is redacted again, in place, by the record mode's own
:class:`~fc_cassette.redact.Redactor` (with the config's rules): one redactor per
cassette, its numbering continuing after the placeholders the cassette already holds,
so a secret gets one placeholder wherever it appears in the cassette and the
placeholders already there keep theirs (replay matches as before). A document the
redactor leaves unchanged, and in which the scanner finds nothing, keeps its text byte
for byte; a changed one is written again as the recorder writes it. A torn tail (a
crash while recording) is dropped: it is no interaction, and may hold a secret.

The cassette is replaced atomically under its recording lock
(:mod:`fc_cassette.cassette.rewrite`). Idempotent: a second run changes nothing.
``--check`` writes nothing and exits 1 when a cassette would change (CI, pre-commit).

Exit 0 when done (or, with ``--check``, when nothing would change); 1 when a cassette
would change (``--check``) or a secret the scanner finds is left that the redactor
cannot rewrite (edit it by hand); 2 on bad input (one ``fc-cassette:`` line each).
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

from fc_cassette.cassette import store as cassette_io
from fc_cassette.cassette.files import MissingPath, cassette_files
from fc_cassette.cassette.rewrite import documents, editing, replace
from fc_cassette.cli.lines import clean, emit
from fc_cassette.redact.redactor import Redactor
from fc_cassette.redact.rules import RedactionRules
from fc_cassette.redact.scanner import scan
from fc_cassette.settings.config import ConfigError, load_settings


@dataclass
class Outcome:
    text: str  # the cassette as it should be
    changed: int  # documents rewritten (the header counts)
    torn: bool  # a torn tail was dropped
    left: int  # secrets the scanner still finds in ``text``


def reredact(c: cassette_io.Cassette, rules: RedactionRules) -> Outcome:
    """What ``c`` becomes under ``rules`` (nothing is written)."""
    texts = documents(c)
    redactor = Redactor(rules, existing=c.text)
    new_docs = [redactor.redact_value(c.header)]
    new_docs += [redactor.redact_entry(it) for it in c.interactions]
    out, changed = [], 0
    for i, (old, new) in enumerate(zip([c.header, *c.interactions], new_docs, strict=True)):
        kept = texts[i] if texts is not None else None
        if kept is not None and new == old and not scan(kept):
            out.append(kept)
        else:
            out.append(cassette_io.serialize(new))
            changed += kept is None or new != old or bool(scan(kept))
    text = "".join(out)
    return Outcome(text, changed, bool(c.warnings), len(scan(text)))


def _checked(path: Path, text: str, count: int) -> None:
    """Refuse to write a text that would not load as the same cassette (fail closed)."""
    again = cassette_io.parse(text, path)
    if len(again.interactions) != count or again.warnings:
        raise cassette_io.CassetteError(
            path,
            "the redacted cassette would not load as the same interactions; nothing was changed",
        )


def _one(path: Path, rules: RedactionRules, check: bool) -> tuple[bool, int, str]:
    """(changed or would change, secrets left, the line to print)."""
    if check:
        c = cassette_io.load(path)
        o = reredact(c, rules)
        would = o.text != c.text
        what = _what(o)
        return would, o.left, f"{path}: {'would ' + what if would else 'clean'}"
    with editing(path) as c:
        o = reredact(c, rules)
        if o.text == c.text:
            return False, o.left, f"{path}: nothing to redact"
        _checked(path, o.text, len(c.interactions))
        replace(path, o.text)
    return True, o.left, f"{path}: {_what(o, done=True)}"


def _what(o: Outcome, done: bool = False) -> str:
    parts = []
    if o.changed:
        parts.append(f"{'redacted' if done else 'redact'} {o.changed} document(s)")
    if o.torn:
        parts.append(f"{'dropped' if done else 'drop'} a torn tail")
    return ", ".join(parts) or ("rewritten" if done else "rewrite")


def main(
    paths: list[str], *, check: bool = False, config: str | None = None, as_json: bool = False
) -> int:
    try:
        rules = load_settings(config).redaction
        files = cassette_files(paths)
    except (ConfigError, MissingPath) as e:
        emit(clean(f"fc-cassette: redact: {e}"), sys.stderr)
        return 2
    bad = changed = left = 0
    rows = []
    for p in files:
        try:
            did, remaining, line = _one(p, rules, check)
        except cassette_io.CassetteError as e:
            emit(clean(f"fc-cassette: {e}"), sys.stderr)
            bad += 1
            continue
        changed += did
        left += remaining
        rows.append({"path": str(p), "changed": did, "secrets_left": remaining})
        if not as_json:
            emit(
                clean(
                    line
                    + (
                        f"; {remaining} secret(s) the redactor cannot rewrite are "
                        "left: edit them by hand (see fc-cassette audit)"
                        if remaining
                        else ""
                    )
                )
            )
    if as_json:
        emit(json.dumps({"check": check, "cassettes": rows}, indent=2))
    emit(None)
    verb = "would change" if check else "changed"
    emit(
        f"redact: {len(files)} cassette(s), {changed} {verb}" + (f", {bad} refused" if bad else ""),
        sys.stderr,
    )
    if bad:
        return 2
    return 1 if left or (check and changed) else 0

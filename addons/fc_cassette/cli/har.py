"""``fc-cassette export C --format har -o OUT``: a cassette as a HAR 1.2 file.

Each interaction becomes one HAR entry (request as the client sent it, response as
replay sends it), written by mitmproxy's own HAR writer
(:class:`mitmproxy.addons.savehar.SaveHar`), so browsers' devtools and mitmproxy
(``mitmproxy -r OUT``, :mod:`mitmproxy.io.har`) load it. An entry's ``comment`` names
the interaction's ``seq``. Times: the header's ``created`` (else 1970-01-01), plus one
millisecond per interaction, so the order survives tools that sort by time. The
cassette is redacted already; the HAR holds its placeholders.

The HAR text is scanned before it is written, as the recorder scans an entry: a
cassette that still holds a secret (one recorded before the rules knew its kind) is
refused, and nothing is written: ``fc-cassette redact`` it first.

Exit 0 when written, 1 when refused for a secret, 2 when the cassette cannot be read or
OUT cannot be written.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from pathlib import Path
from typing import Any

from fc_cassette.cassette import store as cassette_io
from fc_cassette.cli.ingest import flow_of
from fc_cassette.cli.lines import clean, emit
from fc_cassette.redact.scanner import scan


def _start(header: dict[str, Any]) -> dt.datetime:
    created = header.get("created")
    if isinstance(created, str):
        try:
            when = dt.datetime.fromisoformat(created)
            return when if when.tzinfo else when.replace(tzinfo=dt.UTC)
        except ValueError:
            pass
    return dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def har_of(c: cassette_io.Cassette) -> dict[str, Any]:
    from mitmproxy.addons.savehar import SaveHar

    start = _start(c.header)
    flows = [
        flow_of(it, start + dt.timedelta(milliseconds=i)) for i, it in enumerate(c.interactions)
    ]
    har = SaveHar().make_har(flows)
    for entry, it in zip(har["log"]["entries"], c.interactions, strict=True):
        entry["comment"] = f"fc-cassette interaction {it.get('seq')}"
    har["log"]["comment"] = (
        f"exported by fc-cassette from {c.path.name} (Stripe-Version "
        f"{c.header.get('stripe_version') or '-'})"
    )
    return har


def main(cassette: str, output: str) -> int:
    try:
        c = cassette_io.load(cassette)
    except cassette_io.CassetteError as e:
        emit(clean(f"fc-cassette: export: {e}"), sys.stderr)
        return 2
    out = Path(output)
    text = json.dumps(har_of(c), indent=2, ensure_ascii=False) + "\n"
    found = scan(text)
    if found:
        kinds = ", ".join(sorted({f.kind for f in found}))
        emit(
            clean(
                f"fc-cassette: export: {cassette} holds {len(found)} secret(s) ({kinds}); "
                f"nothing was written: run 'fc-cassette redact {cassette}' first"
            ),
            sys.stderr,
        )
        return 1
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, out)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        emit(clean(f"fc-cassette: export: {output}: cannot write: {e.strerror or e}"), sys.stderr)
        return 2
    emit(clean(f"{output}: {len(c.interactions)} interaction(s) of {cassette} as HAR 1.2"))
    emit(None)
    return 0

"""``fc-cassette import IN -o C``: a cassette from a HAR file or a ``mitmdump -w`` capture.

Both are read by mitmproxy's own reader (:class:`mitmproxy.io.FlowReader`: HAR 1.2 when
the file starts with ``{``, mitmproxy's flow format otherwise). Every HTTP exchange
with a response is taken in order through the recorder's steps
(:func:`fc_cassette.cassette.ingest.entry_of`): decoded, validated, redacted by one
redactor for the whole cassette (consistent placeholders), and the exact text scanned
before it is written; an exchange with a secret left (or an undecodable body) is
refused, never written. Out of scope (not a Stripe or loopback host, or a path outside
``scope.paths``), flows without a response and non-HTTP flows are skipped and counted.

``C`` must not exist: import writes a new cassette (beside it first, renamed into
place with its first interaction, as ``record`` does). Exit 0 when every in-scope
exchange was written, 1 when one was refused or none was in scope, 2 on bad input.
"""

from __future__ import annotations

import os
import sys
from collections import Counter
from pathlib import Path

from mitmproxy.http import HTTPFlow

from fc_cassette.cassette import store as cassette_io
from fc_cassette.cassette.ingest import Refused, entry_of, fail_closed, stripe_version
from fc_cassette.cassette.lock import RecordingLock
from fc_cassette.cli.ingest import captured_in_scope
from fc_cassette.cli.lines import clean, emit
from fc_cassette.redact.redactor import Redactor
from fc_cassette.settings.config import ConfigError, Settings, load_settings


class BadInput(Exception):
    """One line: why the import cannot start."""


def read_flows(source: str) -> list:
    from mitmproxy import exceptions, io

    try:
        with open(source, "rb") as fh:
            return list(io.FlowReader(fh).stream())
    except OSError as e:
        raise BadInput(f"{source}: cannot read: {e.strerror or e}") from None
    except exceptions.FlowReadException as e:
        raise BadInput(f"{source}: neither a HAR file nor a mitmdump -w flows file ({e})") from None


def _write(flows: list, out: Path, settings: Settings) -> Counter:
    """Write the in-scope exchanges of ``flows`` into the new cassette ``out``."""
    from mitmproxy import http

    counts: Counter = Counter()
    redactor = Redactor(settings.redaction)
    writer = cassette_io.Writer(out, fsync=settings.record.fsync)
    try:
        for flow in flows:
            if not isinstance(flow, http.HTTPFlow):
                counts["not HTTP"] += 1
            elif flow.response is None or not 100 <= flow.response.status_code <= 599:
                counts["without a response"] += 1  # (a HAR's status 0: none came)
            elif not captured_in_scope(flow, settings.scope):
                counts["out of scope"] += 1
            else:
                _one(flow, writer, redactor, counts)
    finally:
        writer.close()
    return counts


def _one(flow: HTTPFlow, writer: cassette_io.Writer, redactor: Redactor, counts: Counter) -> None:
    path = redactor.redact_text(flow.request.path.split("?", 1)[0])
    try:
        entry = entry_of(flow, redactor)
        writer.append(
            entry,
            stripe_version=stripe_version(entry),
            check=lambda text: fail_closed(text, redactor.learned),
        )
    except Refused as e:
        counts["refused"] += 1
        emit(clean(f"fc-cassette: import: refused {flow.request.method} {path}: {e}"), sys.stderr)
        return
    counts["imported"] += 1


def _start(source: str, output: str, config: str | None) -> tuple[list, Settings]:
    settings = load_settings(config)
    if os.path.lexists(output):
        raise BadInput(
            f"{output} exists; import writes a new cassette (choose another -o, or remove it first)"
        )
    return read_flows(source), settings


def main(source: str, output: str, config: str | None = None) -> int:
    try:
        flows, settings = _start(source, output, config)
        out = Path(output)
        lock = RecordingLock.acquire(out)
    except (BadInput, ConfigError, cassette_io.CassetteError) as e:
        emit(clean(f"fc-cassette: import: {e}"), sys.stderr)
        return 2
    except OSError as e:
        emit(clean(f"fc-cassette: import: {output}: {e.strerror or e}"), sys.stderr)
        return 2
    try:
        counts = _write(flows, out, settings)
    except (OSError, cassette_io.CassetteFull, cassette_io.CassetteGone) as e:
        emit(
            clean(
                f"fc-cassette: import: {output}: cannot write: {getattr(e, 'strerror', None) or e}"
            ),
            sys.stderr,
        )
        return 2
    finally:
        lock.release()
    skipped = ", ".join(
        f"{n} {why}" for why, n in counts.items() if why not in ("imported", "refused")
    )
    emit(
        clean(
            f"{output}: imported {counts['imported']} exchange(s) from {source}"
            + (f", refused {counts['refused']}" if counts["refused"] else "")
            + (f"; skipped {skipped}" if skipped else "")
        )
    )
    if not counts["imported"]:
        emit(
            clean(f"fc-cassette: import: no in-scope exchange in {source}: no cassette written"),
            sys.stderr,
        )
    emit(None)
    return 1 if counts["refused"] or not counts["imported"] else 0

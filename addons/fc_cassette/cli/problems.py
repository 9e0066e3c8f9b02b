"""What ``verify`` calls a problem in a loaded cassette (``prune`` asks it too, of its
result): a cut-short file, a ``seq`` that does not increase, a response replay could not
send, a request or response the models reject, a secret (in the text, and in the loaded
values that YAML escapes hide from it), and the same for each webhook document (an event
the models reject, an ``after`` naming no interaction).

Each problem is ``where: what``; the caller prints it through :mod:`.lines` (one line,
redacted, bounded).
"""

from __future__ import annotations

import bisect
import json

from fc_cassette.cassette import store as cassette_io
from fc_cassette.exchange.wire import WIRE_ERRORS, wire_fields
from fc_cassette.redact.scanner import scan
from fc_cassette.stripe_api.models import validate_event
from fc_cassette.stripe_api.validation import verdict


def problems(c: cassette_io.Cassette) -> list[str]:
    out = [f"{c.path}: {w.split(': ', 1)[-1]}" for w in c.warnings]
    previous = 0
    for i, it in enumerate(c.interactions, start=1):
        req, resp = it["request"], it["response"]
        where = f"{c.path}:entry {it.get('seq', i)}"
        seq = it.get("seq")
        if not isinstance(seq, int) or seq <= previous:
            out.append(
                f"{where}: seq {seq!r} does not follow seq {previous} (entries "
                "written by two recorders at once, or edited by hand)"
            )
        if isinstance(seq, int):
            previous = max(previous, seq)
        try:
            wire_fields(resp)  # exactly what replay does with it at start-up
        except WIRE_ERRORS as e:
            out.append(f"{where}: the response cannot be replayed: {e}")
            continue
        v = verdict(req, resp)
        out += [
            f"{where}: response invalid at {e['path'] or '(root)'}: {e['message']}"
            for e in v.errors("response")
        ]
        if 200 <= int(resp["status"]) < 300:
            out += [
                f"{where}: request invalid at {e['path'] or '(root)'}: {e['message']} "
                f"(yet Stripe answered {resp['status']})"
                for e in v.errors("request")
            ]
    starts = cassette_io.doc_starts(c.text)
    flagged: set[str] = set()
    for f in scan(c.text):  # the file as written: comments and a torn tail included
        entry = bisect.bisect_right(starts, f.offset) - 1
        label = "header" if entry <= 0 else f"entry {entry}"
        flagged.add(label)
        out.append(f"{c.path}:{label}: possible secret ({f.kind}): {f.excerpt}")
    # ... and as loaded: YAML escapes ("\x73k_live_...") and folded lines hide a key
    # from a scan of the text, not from the loaded value
    docs = [("header", c.header)] + [
        (f"entry {i}", it) for i, it in enumerate(c.interactions, start=1)
    ]
    for label, doc in docs:
        if label in flagged:
            continue
        text = json.dumps(doc, ensure_ascii=False, default=str)
        for f in scan(text):
            out.append(
                f"{c.path}:{label}: possible secret ({f.kind}), written with YAML "
                f"escapes or line folding: {f.excerpt}"
            )
            break
    return out + _webhook_problems(c)


def _webhook_problems(c: cassette_io.Cassette) -> list[str]:
    """verify: an event the models reject, an ``after`` naming no interaction, a secret
    in a loaded event (YAML escapes hide it from the scan of the text)."""
    seqs = {it.get("seq") for it in c.interactions} | {0}
    out = []
    for d in c.webhooks:
        w = d["webhook"]
        where = f"{c.path}:webhook {w['id']}"
        report = validate_event(w["body"]["json"])
        out += [
            f"{where}: event invalid at {e['path'] or '(root)'}: {e['message']}"
            for e in report.errors
        ]
        if w["after"] not in seqs:
            out.append(
                f"{where}: after: {w['after']} names no interaction of the cassette "
                "(replay would never deliver it)"
            )
        for f in scan(json.dumps(w, ensure_ascii=False, default=str)):
            out.append(f"{where}: possible secret ({f.kind}): {f.excerpt}")
            break
    return out

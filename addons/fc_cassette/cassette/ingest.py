"""A captured flow as a cassette entry, made as the recorder makes one.

:func:`entry_of` takes a mitmproxy flow through the recorder's steps
(:mod:`fc_cassette.mitm.record`): the request and response decoded
(:func:`fc_cassette.exchange.interaction.request_record`, ``response_record``; a body that
cannot be decoded is refused), validated against the models, redacted by the
cassette's one :class:`~fc_cassette.redact.Redactor`; :func:`fail_closed` is the last
check of the exact text about to be written (any secret the scanner finds, or a
credential learned from an ``Authorization`` header, refuses it). ``import`` uses both
(:mod:`fc_cassette.cli.import_cmd`); the recorder's own copy of these steps could use
them too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fc_cassette.exchange import interaction
from fc_cassette.redact.learned import learned_pattern
from fc_cassette.redact.redactor import Redactor
from fc_cassette.redact.scanner import scan
from fc_cassette.stripe_api import validation

if TYPE_CHECKING:
    from mitmproxy import http


class Refused(Exception):
    """An exchange that must not be written (``str()`` is one redacted line)."""


def fail_closed(text: str, learned: dict[str, str] | None = None) -> None:
    """The recorder's last check of the exact text about to be written."""
    if learned and learned_pattern(learned).search(text):
        raise Refused("a credential learned from an Authorization header is left after redaction")
    findings = scan(text)
    if findings:
        kinds = ", ".join(sorted({f.kind for f in findings}))
        raise Refused(
            f"the secret scanner found {len(findings)} secret(s) left after redaction ({kinds})"
        )


def entry_of(flow: http.HTTPFlow, redactor: Redactor) -> dict[str, Any]:
    """The redacted cassette entry of a captured flow; raises :class:`Refused`."""
    try:
        request = interaction.request_record(flow)
        response = interaction.response_record(flow)
    except interaction.UndecodableBody as e:
        raise Refused(redactor.redact_text(str(e))) from None
    entry: dict[str, Any] = {"request": request, "response": response}
    reports = validation.validate(request, response)
    if reports is not None:
        entry["validation"] = {k: r.as_dict() for k, r in reports.items()}
    return redactor.redact_entry(entry)


def stripe_version(entry: dict[str, Any]) -> str | None:
    """The ``Stripe-Version`` a (recorded) request asked for: the cassette header's."""
    for name, value in entry["request"]["headers"].items():
        if name.lower() == "stripe-version":
            return value if isinstance(value, str) else value[0]
    return None

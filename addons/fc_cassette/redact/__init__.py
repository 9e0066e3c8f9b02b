"""Redaction of recorded interactions, and a fail-closed scanner for what slips through.

Threat model: cassettes are committed to git, so anything written to them must be
assumed public forever. A recorded exchange carries credentials: the API key
(``Authorization: Bearer sk_…``, or curl's ``Basic base64("sk_…:")``), client secrets
(``fcsess_…_secret_…``, ``pi_…_secret_…``: enough to run a bank-linking or payment
flow), ephemeral keys, webhook secrets, cookies, idempotency/telemetry ids, and
account-owner PII. They can hide anywhere: headers, paths, query strings, nested JSON,
dict keys, JSON-in-a-string, error messages, and in percent-encoded, ``\\uXXXX``-escaped
or base64 form. The adversary is *accident*, not a determined insider (who could
encrypt a key before sending it). The package:

- :mod:`.rules`: :class:`RedactionRules`, the configurable part (headers, paths,
  patterns, PII); the built-in secret rules cannot be switched off.
- :mod:`.patterns`: the regexes, derived from :mod:`fc_cassette.secret_kinds`.
- :mod:`.codecs`: the encoding layers (percent, ``\\u``, base64, hex, base32, HTML, gzip).
- :mod:`.redactor`: :class:`Redactor` replaces every secret it recognises, under every
  encoding layer it can rewrite (up to :data:`MAX_DEPTH` nested layers), with a stable
  placeholder that keeps the kind's prefix (``sk_test_REDACTED_1``,
  ``pi_3Abc_secret_REDACTED_2``; the same secret always gets the same number within
  one cassette), keeps the rest of the value byte for byte, and is idempotent.
- :mod:`.fieldshapes`: secret fields as multipart parts and as values of binary bytes.
- :mod:`.learned`: credentials learned from ``Authorization`` and their echo forms.
- :mod:`.scanner`: :func:`scan` re-checks the serialized text independently (it does
  not import the redactor) and reads more layers; the recorder refuses to write an
  entry it has findings for. Findings never carry the secret itself.

What is and is not covered: docs/security.md.
"""

from fc_cassette.redact.kinds import REDACTED
from fc_cassette.redact.learned import MAX_LEARNED, MIN_LEARNED, echo_forms, learned_pattern
from fc_cassette.redact.patterns import MAX_DEPTH, mask
from fc_cassette.redact.redactor import Redactor
from fc_cassette.redact.rules import RedactionRules
from fc_cassette.redact.scanner import Finding, scan

__all__ = [
    "REDACTED",
    "MAX_DEPTH",
    "RedactionRules",
    "Redactor",
    "Finding",
    "scan",
    "mask",
    "learned_pattern",
    "echo_forms",
    "MIN_LEARNED",
    "MAX_LEARNED",
]

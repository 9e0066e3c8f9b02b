"""How Stripe signs a webhook delivery: the one signing function of fc-cassette.

``Stripe-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>``,
the key being the whole ``whsec_...`` string as UTF-8 (stripe-python 16.1.0
``stripe/_webhook.py``: ``WebhookSignature._compute_signature``). The simulator's
deliveries, record's ingress and replay's re-signing all call :func:`sign`;
:func:`verify` is the check the SDKs do (``construct_event``), for the ingress and tests.
"""

from __future__ import annotations

import hashlib
import hmac

HEADER = "Stripe-Signature"
SCHEME = "v1"
DEFAULT_TOLERANCE = 300  # seconds, as the SDKs
# The secret replay signs with when none is given (documented in docs/webhooks.md): a
# test value, never a real endpoint's.
TEST_SECRET = "whsec_fc_cassette_test_secret"
USER_AGENT = "Stripe/1.0 (+https://stripe.com/docs/webhooks)"
CONTENT_TYPE = "application/json; charset=utf-8"


class SignatureError(ValueError):
    """A ``Stripe-Signature`` header that does not verify."""


def signature(payload: bytes, secret: str, timestamp: int) -> str:
    """The hex ``v1`` signature of ``payload`` sent at ``timestamp``."""
    signed = str(int(timestamp)).encode("ascii") + b"." + payload
    return hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()


def sign(payload: bytes, secret: str, timestamp: int) -> str:
    """The ``Stripe-Signature`` header value, ``t=<timestamp>,v1=<hex>``."""
    return f"t={int(timestamp)},{SCHEME}={signature(payload, secret, timestamp)}"


def parse(header: str) -> tuple[int, list[str]]:
    """The timestamp and the ``v1`` signatures of a header (SignatureError if none)."""
    stamp: int | None = None
    sigs: list[str] = []
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        if key == "t":
            try:
                stamp = int(value)
            except ValueError:
                raise SignatureError("the timestamp t= is not an integer") from None
        elif key == SCHEME:
            sigs.append(value)
    if stamp is None:
        raise SignatureError("no timestamp t= in the header")
    if not sigs:
        raise SignatureError(f"no {SCHEME}= signature in the header")
    return stamp, sigs


def verify(
    payload: bytes, header: str, secret: str, now: int, tolerance: int = DEFAULT_TOLERANCE
) -> int:
    """Check ``header`` as the SDKs do; the signed timestamp, or SignatureError."""
    stamp, sigs = parse(header)
    expected = signature(payload, secret, stamp)
    if not any(hmac.compare_digest(expected, s) for s in sigs):
        raise SignatureError("no signature matches the expected one for this payload")
    if tolerance > 0 and stamp < now - tolerance:
        raise SignatureError("the timestamp is outside the tolerance zone")
    return stamp


def headers(payload: bytes, secret: str, timestamp: int) -> dict[str, str]:
    """The headers of a delivery as Stripe sends them."""
    return {
        "Content-Type": CONTENT_TYPE,
        "User-Agent": USER_AGENT,
        HEADER: sign(payload, secret, timestamp),
    }

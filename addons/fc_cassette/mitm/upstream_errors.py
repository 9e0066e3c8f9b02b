"""What a client gets when the upstream fails: a Stripe-shaped JSON error, not HTML.

mitmproxy answers a request whose upstream cannot be reached (refused, reset, a TLS
handshake that fails, a name that does not resolve) with its own HTML 502 page, which a
Stripe SDK reports as an unparseable response. fc-cassette answers instead with
``{"error": {"type": "api_error", "code": "fc_cassette_upstream_failed", "message":
...}}`` (status 502, ``Stripe-Should-Retry: false``) whose message names the upstream,
mitmproxy's reason and the likely cause, e.g. an ``https://`` upstream that serves
plain HTTP (``fc-cassette simulate`` does). Installed by :func:`install` (the core's
``load``, which hands it the redaction) through :func:`fc_cassette.mitm_compat.error_pages`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable

from mitmproxy import ctx, http
from mitmproxy.net.http import http1

from fc_cassette.stripe_api import errors as stripe_errors

_CAUSES: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"(?i)certificate|tls|ssl|handshake|wrong version number"),
        "the TLS handshake with the upstream failed: if it serves plain HTTP (fc-cassette "
        "simulate does, and so do most local servers), give an http:// upstream; if it is "
        "a TLS server with a private CA, trust that CA (--set ssl_verify_upstream_trusted_ca"
        "=FILE)",
    ),
    (
        re.compile(r"(?i)refused|connect call failed|errno 111"),
        "nothing accepts connections there: is the server (or fc-cassette simulate) running, "
        "and on that port?",
    ),
    (
        re.compile(r"(?i)name or service|nodename|getaddrinfo|resolve|errno -[23]"),
        "the host name does not resolve (only 127.0.0.1 may be reachable offline)",
    ),
    (re.compile(r"(?i)timed? ?out"), "the upstream did not answer in time"),
    (
        re.compile(r"(?i)reset|disconnect|closed|eof"),
        "the upstream closed the connection before it answered",
    ),
)


def likely_cause(reason: str) -> str:
    return next(
        (cause for rx, cause in _CAUSES if rx.search(reason)),
        "see the proxy's log for the connection error",
    )


def upstream() -> str:
    """The reverse-proxy target (``https://api.stripe.com``), or the request's host in
    forward mode."""
    modes = getattr(ctx.options, "mode", None) or []
    for mode in modes:
        if mode.startswith("reverse:"):
            return mode.removeprefix("reverse:")
    return "the request's host (forward mode)"


def message(reason: str, target: str, redact: Callable[[str], str]) -> str:
    """The error's message, redacted (mitmproxy's reason can quote the request)."""
    return redact(
        f"fc-cassette got no response from the upstream {target}: {reason or 'no reason'}. "
        f"Likely cause: {likely_cause(reason)}."
    )


def render(status: int, reason: str, redact: Callable[[str], str]) -> bytes | None:
    """A 502's response as Stripe-shaped JSON (other statuses: mitmproxy's own)."""
    if status != 502:
        return None
    try:
        target = upstream()
    except Exception:  # noqa: BLE001 - no options (a unit test): say what is known
        target = "(unknown)"
    body = stripe_errors.own(stripe_errors.UPSTREAM_FAILED, message(reason, target, redact))
    resp = http.Response.make(
        status,
        stripe_errors.encode(body),
        {**stripe_errors.NO_RETRY, "Connection": "close", "Fc-Cassette-Upstream-Failed": "true"},
    )
    return http1.assemble_response(resp)


def install(redact: Callable[[str], str]) -> None:
    """Answer upstream failures with :func:`render`; ``redact`` is core's (the active
    mode's redactor)."""
    from fc_cassette.mitm.mitm_compat import error_pages

    error_pages(functools.partial(render, redact=redact))

"""Where record modes forward to: the one default upstream and the check of a user's
``--upstream`` (one line naming the option, never a traceback)."""

from __future__ import annotations

import difflib
import re
from urllib.parse import urlsplit


class UpstreamError(ValueError):
    """An upstream URL that cannot be used; ``str()`` is one line that never quotes
    the URL's credentials."""


UPSTREAM_FORM = "http://HOST[:PORT] or https://HOST[:PORT]"
DEFAULT_UPSTREAM = "https://api.stripe.com"
"""Where the record modes (and inspect) forward to unless told: the CLI's ``--upstream``,
the pytest plugin's ``--fc-upstream`` and ``fc_cassette.proxy(upstream=...)``."""
UPSTREAM_SCHEMES = ("http", "https")
_HOST = re.compile(r"^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.?)+$|^\[[0-9A-Fa-f:.]+\]$")


def _shown(url: str) -> str:
    """``url`` as an error message may quote it: userinfo masked, secrets redacted."""
    # imported here, for the error only: this module is imported by the pytest plugin in
    # every pytest process of a project that installs fc-cassette, and the redactor's
    # rules are a fifth of a second of imports (issue #25)
    from fc_cassette.redact.redactor import Redactor

    scheme, sep, rest = url.partition("://")
    netloc, slash, tail = rest.partition("/")
    if "@" in netloc:
        netloc = "***@" + netloc.rpartition("@")[2]
    text = Redactor().redact_text(f"{scheme}{sep}{netloc}{slash}{tail}")
    return repr(text if len(text) <= 100 else text[:97] + "...")


def _upstream_scheme(text: str) -> tuple[str, str]:
    scheme, sep, rest = text.partition("://")
    if not sep or not scheme:
        hint = f", e.g. http://{text}" if text and "/" not in text and "@" not in text else ""
        raise UpstreamError(f"a scheme is required: use {UPSTREAM_FORM}{hint}")
    if scheme.lower() not in UPSTREAM_SCHEMES:
        near = difflib.get_close_matches(scheme.lower(), UPSTREAM_SCHEMES, n=1)
        raise UpstreamError(
            f"scheme {scheme!r} is not supported"
            + (f" (did you mean {near[0]!r}?)" if near else "")
            + f": use {UPSTREAM_FORM}"
        )
    return scheme.lower(), rest


def _upstream_where(scheme: str, rest: str) -> tuple[str, int | None]:
    if "@" in re.split(r"[/?#]", rest, maxsplit=1)[0]:
        raise UpstreamError(
            f"credentials in the URL are refused (mitmproxy would "
            "print them in its log); the client sends its API key in its "
            f"Authorization header: use {UPSTREAM_FORM}"
        )
    bad_port = UpstreamError(f"the port must be a number 1-65535: use {UPSTREAM_FORM}")
    try:
        parts = urlsplit(f"{scheme}://{rest}")
        port = parts.port
    except ValueError:
        raise bad_port from None
    if port == 0:
        raise bad_port
    host = (
        parts.netloc.rsplit(":", 1)[0]
        if parts.netloc.endswith(":") or port is not None
        else parts.netloc
    )
    if not host or not _HOST.match(host):
        raise UpstreamError(f"a host is required: use {UPSTREAM_FORM}")
    if parts.path not in ("", "/") or "?" in rest or "#" in rest:
        raise UpstreamError(
            f"a path, query or fragment is not supported (each request "
            f"keeps its own path): use {UPSTREAM_FORM}"
        )
    return host, port


def parse_upstream(url: str, what: str = "--upstream") -> str:
    """The upstream base URL ``scheme://host[:port]`` of ``url``, or :class:`UpstreamError`.

    Only ``http`` and ``https`` with a host (and optionally a port) are accepted: no
    scheme is refused (mitmproxy would silently assume https), and so is any path,
    query or fragment (a proxied request keeps its own path). Credentials in the URL
    (``http://user:KEY@host``) are refused without being echoed: mitmproxy prints
    its mode, URL included, in log lines and errors; the client sends its key itself.
    ``what`` names the option in the message (e.g. ``--fc-upstream``).
    """
    text = str(url).strip()
    try:
        scheme, rest = _upstream_scheme(text)
        host, port = _upstream_where(scheme, rest)
    except UpstreamError as e:  # the URL shown (redacted) only when it is refused
        raise UpstreamError(f"{what} {_shown(text)}: {e}") from None
    return f"{scheme}://{host}" + (f":{port}" if port is not None else "")

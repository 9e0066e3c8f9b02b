"""The simulator's HTTP side: authentication, versions, routing, idempotency, responses.

Endpoint handlers live in :mod:`.sessions` and :mod:`.accounts` (mixins of
:class:`~fc_cassette.simulator.Simulator`); this module never knows what they do.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import random
import re
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from fc_cassette.exchange import formcodec
from fc_cassette.simulator.errors import StripeError, clip, mask_key
from fc_cassette.stripe_api import errors as stripe_errors

if TYPE_CHECKING:
    from fc_cassette.stripe_api.endpoints import Endpoint

log = logging.getLogger("fc_cassette")

DEFAULT_STRIPE_VERSION = "2026-10-28.endive"
DEFAULT_CLOCK_START = 1767225600
MAX_BODY_BYTES = 1 << 20
MAX_IDEMPOTENCY_KEY = 255
_STRIPE_VERSION = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}(\.[a-z]+)?(; *[A-Za-z0-9_.=\-]+)*$")
_ALNUM = string.ascii_letters + string.digits
_TEST_KEY = re.compile(r"^(sk|rk)_test_[A-Za-z0-9_]+$")

MSG_NO_KEY = (
    "You did not provide an API key. You need to provide your API key in the "
    "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer "
    "YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, "
    "or we can help at https://support.stripe.com/."
)
MSG_PUBLISHABLE = (
    "This API call cannot be made with a publishable API key. Please use a secret API key."
)
MSG_LIVE = (
    "The fc-cassette simulator only accepts test-mode API keys (sk_test_..., "
    "rk_test_...); it never handles live data. Key provided: {masked}"
)
_INTERNAL = "An unexpected error occurred in the fc-cassette simulator."
_NO_KEY_HEADERS = {"WWW-Authenticate": 'Basic realm="Stripe"'}


@dataclass(frozen=True)
class SimResponse:
    status: int
    headers: dict[str, str]
    body: bytes


class Headers:
    """Case-insensitive read-only view of request headers."""

    def __init__(self, headers: Mapping[str, str] | None) -> None:
        self._h: dict[str, str] = {}
        for k, v in (headers or {}).items():
            if isinstance(k, bytes):
                k = k.decode("latin-1")
            if isinstance(v, bytes):
                v = v.decode("latin-1")
            self._h.setdefault(str(k).lower(), str(v))

    def get(self, name: str, default: str | None = None) -> str | None:
        return self._h.get(name.lower(), default)


@dataclass
class _Stored:
    fingerprint: str
    endpoint: str
    response: SimResponse
    request_id: str


def authenticate(h: Headers) -> str:
    """The request's test-mode API key, or the 401 Stripe gives."""
    auth = (h.get("authorization") or "").strip()
    if not auth:
        raise StripeError(401, MSG_NO_KEY, headers=_NO_KEY_HEADERS)
    scheme, _, cred = auth.partition(" ")
    cred = cred.strip()
    if scheme.lower() == "bearer":
        key = cred
    elif scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(cred, validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            raise StripeError(401, f"Invalid API Key provided: {mask_key(cred)}") from None
        key = decoded.partition(":")[0]
    else:
        raise StripeError(401, f"Invalid API Key provided: {mask_key(auth)}")
    if not key:
        raise StripeError(401, MSG_NO_KEY, headers=_NO_KEY_HEADERS)
    if key.startswith(("pk_test_", "pk_live_")):
        raise StripeError(401, MSG_PUBLISHABLE)
    if key.startswith(("sk_live_", "rk_live_")):
        raise StripeError(401, MSG_LIVE.format(masked=mask_key(key)))
    if not _TEST_KEY.match(key) or len(key) > 255:
        raise StripeError(401, f"Invalid API Key provided: {mask_key(key)}")
    return key


Route = tuple[str, str, str]  # (method, path regex with at most one id group, handler name)


# the endpoint table's lookup (``fc_cassette.stripe_api.endpoints.match``): the endpoint
# of ``method path`` (its handler is ``_ep_<name>``) and the id in its path, or None
FindEndpoint = Callable[[str, str], "tuple[Endpoint, str | None] | None"]


def route(
    method: str,
    path: str,
    find: FindEndpoint,
    extra: tuple[tuple[str, re.Pattern[str], str], ...] = (),
) -> tuple[str | None, str]:
    """The handler name for ``method path`` and the (unquoted) id in the path: the FC
    endpoint table's (``find``), or ``extra``'s: the simulator's own routes beyond the
    table (events, webhook endpoints, simulator-only actions), compiled."""
    found = find(method, path) if not path.endswith("/") else None
    if found is not None:
        ep, ident = found
        return ep.name, unquote(ident, errors="replace") if ident is not None else ""
    for verb, pattern, name in extra:
        m = pattern.match(path) if verb == method else None
        if m:
            return name, unquote(m.group(1), errors="replace") if m.groups() else ""
    return None, ""


def decode(data: str | bytes, what: str) -> dict[str, Any]:
    try:
        return formcodec.decode(data)
    except formcodec.FormDecodeError as e:
        raise StripeError(400, f"Invalid request {what}: {e}") from None


def post_params(query: str, h: Headers, body: bytes) -> dict[str, Any]:
    if len(body) > MAX_BODY_BYTES:
        raise StripeError(413, f"Request body larger than {MAX_BODY_BYTES} bytes.")
    ctype = (h.get("content-type") or "").split(";")[0].strip().lower()
    if body.strip() and ctype and ctype != "application/x-www-form-urlencoded":
        raise StripeError(
            400,
            f"Invalid request: unsupported Content-Type {clip(ctype)}. "
            "Stripe API requests are form-encoded "
            "(application/x-www-form-urlencoded).",
        )
    params = decode(query, what="query") if query else {}
    params.update(decode(body, what="body"))
    return params


class Engine:
    """Request handling shared by every endpoint; handlers are ``_ep_<name>`` methods
    (dots become underscores) taking ``(ident, params)`` and returning the object.
    ``ROUTES`` (``(method, regex, name)`` rows) adds routes beyond the FC endpoint table:
    the Simulator class joins its mixins' ``ROUTES``."""

    ROUTES: tuple[Route, ...] = ()

    def _event_api_version(self) -> str:
        """The API version an event is rendered in (the events mixin's ``api_version``)."""
        return DEFAULT_STRIPE_VERSION

    def __init__(self, find: FindEndpoint, seed: int = 0, clock_start: int = DEFAULT_CLOCK_START):
        """``find``: the endpoint table's lookup, handed by the :class:`Simulator` (the
        engine routes; the table, with its models, is the Simulator's to know)."""
        self.find = find
        self.seed = seed
        self._rng = random.Random(seed)
        self._clock = int(clock_start)
        self._idempotency: dict[tuple[str, str], _Stored] = {}
        self._routes = tuple((verb, re.compile(rx), name) for verb, rx, name in self.ROUTES)

    def _begin_request(self) -> None:
        """Called before each request is handled (the events mixin tracks what it causes)."""

    def _end_request(self, request_id: str | None, idempotency_key: str | None) -> None:
        """Called once a request is answered, with its Request-Id and Idempotency-Key."""

    # ----------------------------------------------------------------------- helpers
    def _token(self, n: int = 24) -> str:
        return "".join(self._rng.choice(_ALNUM) for _ in range(n))

    def _tick(self) -> int:
        now = self._clock
        self._clock += 1
        return now

    def _respond(
        self, status: int, obj: Any, version: str, extra: Mapping[str, str] | None = None
    ) -> SimResponse:
        body = json.dumps(obj, indent=2).encode("utf-8")
        headers = {
            "Content-Type": "application/json",
            "Cache-Control": "no-cache, no-store",
            "Request-Id": "req_" + self._token(14),
            "Stripe-Version": version,
        }
        headers.update(extra or {})
        return SimResponse(status, headers, body)

    def _error(self, err: StripeError, version: str) -> SimResponse:
        return self._respond(err.status, err.body(), version, err.headers)

    # ------------------------------------------------------------------------ entry
    def handle(
        self, method: str, path: str, query: str, headers: Mapping[str, str], body: bytes
    ) -> SimResponse:
        """Answer one request; never raises."""
        version = DEFAULT_STRIPE_VERSION
        h = Headers(headers)
        self._begin_request()
        resp: SimResponse | None = None
        try:
            requested = (h.get("stripe-version") or "").strip()
            if requested and _STRIPE_VERSION.match(requested):
                version = requested
            resp = self._handle(
                str(method).upper(), str(path), str(query or ""), h, body or b"", requested, version
            )
            return resp
        except StripeError as e:
            resp = self._error(e, version)
            return resp
        except Exception as e:  # a simulator bug must not kill the proxy
            log.error("simulate: internal error (%s)", type(e).__name__, exc_info=True)
            try:
                return self._error(StripeError(500, _INTERNAL, type_="api_error"), version)
            except Exception:
                return SimResponse(
                    500,
                    dict(stripe_errors.JSON_HEADERS),
                    stripe_errors.encode(stripe_errors.body(_INTERNAL, type_="api_error")),
                )
        finally:
            self._end_request(
                resp.headers.get("Request-Id") if resp is not None else None,
                h.get("idempotency-key"),
            )

    def _handle(
        self,
        method: str,
        path: str,
        query: str,
        h: Headers,
        body: bytes,
        requested_version: str,
        version: str,
    ) -> SimResponse:
        if "?" in path:  # tolerate a path that still carries its query
            path, _, q = path.partition("?")
            query = query or q
        api_key = authenticate(h)
        if requested_version and not _STRIPE_VERSION.match(requested_version):
            raise StripeError(400, f"Invalid Stripe API version: {clip(requested_version)}")
        name, ident = route(method, path, self.find, self._routes)
        if name is None:
            raise StripeError(
                404,
                f"Unrecognized request URL ({clip(method, 20)}: "
                f"{clip(path, 200)}). Please see https://stripe.com/docs "
                "or we can help at https://support.stripe.com/.",
            )
        if method == "GET":
            return self._dispatch(name, ident, decode(query, what="query"), version)
        params = post_params(query, h, body)
        idem_key = h.get("idempotency-key")
        if idem_key is None:
            return self._dispatch(name, ident, params, version)
        return self._idempotent(api_key, idem_key, f"{method} {path}", name, ident, params, version)

    def _idempotent(
        self,
        api_key: str,
        idem_key: str,
        endpoint: str,
        name: str,
        ident: str,
        params: dict[str, Any],
        version: str,
    ) -> SimResponse:
        if len(idem_key) > MAX_IDEMPOTENCY_KEY:
            raise StripeError(
                400, f"Idempotency key must be at most {MAX_IDEMPOTENCY_KEY} characters long."
            )
        scope = (hashlib.sha256(api_key.encode("utf-8", "surrogateescape")).hexdigest(), idem_key)
        fingerprint = json.dumps(formcodec.canonical(params), sort_keys=True)
        stored = self._idempotency.get(scope)
        if stored is not None:
            return self._replayed(stored, endpoint, fingerprint, idem_key)
        try:
            resp = self._dispatch(name, ident, params, version)
        except StripeError as e:
            if e.status < 500:
                raise  # validation failures are not stored
            resp = self._error(e, version)
        rid = resp.headers["Request-Id"]
        resp = SimResponse(resp.status, {**resp.headers, "Original-Request": rid}, resp.body)
        self._idempotency[scope] = _Stored(fingerprint, endpoint, resp, rid)
        return resp

    def _replayed(
        self, stored: _Stored, endpoint: str, fingerprint: str, idem_key: str
    ) -> SimResponse:
        if stored.endpoint != endpoint:
            raise StripeError(
                400,
                "Keys for idempotent requests can only be used for the same endpoint "
                f"they were first used for ('{stored.endpoint}' vs '{endpoint}'). "
                f"Try using a key other than '{idem_key}' if you meant to execute "
                "a different request.",
                type_="idempotency_error",
            )
        if stored.fingerprint != fingerprint:
            raise StripeError(
                400,
                "Keys for idempotent requests can only be used with the same "
                "parameters they were first used with. Try using a key other than "
                f"'{idem_key}' if you meant to execute a different request.",
                type_="idempotency_error",
            )
        headers = dict(stored.response.headers)
        headers["Request-Id"] = "req_" + self._token(14)
        headers["Original-Request"] = stored.request_id
        headers["Idempotent-Replayed"] = "true"
        return SimResponse(stored.response.status, headers, stored.response.body)

    def _dispatch(self, name: str, ident: str, params: dict[str, Any], version: str) -> SimResponse:
        handler = getattr(self, "_ep_" + name.replace(".", "_"))
        return self._respond(200, handler(ident, params), version)

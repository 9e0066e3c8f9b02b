"""A stateful, deterministic, in-memory stand-in for Stripe's FC Sessions API.

Pure Python (no mitmproxy): :meth:`Simulator.handle` takes one HTTP request and returns
a :class:`SimResponse`. :mod:`fc_cassette.simulate` wires it into mitmproxy.

Endpoints (anything else, or a wrong method on these paths, is Stripe's 404
"Unrecognized request URL"):

* ``POST /v1/financial_connections/sessions`` — create. Form-encoded body (indexed
  ``permissions[0]=`` and curl's ``permissions[]=`` both work; parameters in the query
  string are merged in, the body winning).
* ``GET /v1/financial_connections/sessions/{id}`` — retrieve the current state; only
  ``expand[]`` is accepted in the query.
* ``POST /_simulator/financial_connections/sessions/{id}/complete`` — simulator only:
  plays the end user finishing the Stripe.js flow. Optional form parameter
  ``accounts=N`` (default 2; an integer >= 1, else 400; silently capped at the session's
  ``limits.accounts``). Links N ``financial_connections.account`` objects and answers
  200 with the updated session; a second completion of the same session is a 400.
  Requires an API key like every other endpoint.

Decisions (Stripe behaviour the simulator models, and where it chooses):

* Authentication is checked first on every request: ``Authorization: Bearer KEY`` or
  ``Basic base64("KEY:")``. ``sk_test_``/``rk_test_`` followed by letters, digits or
  ``_`` are accepted (any such key: there is one simulated account). A missing key,
  a malformed one, a publishable key (``pk_test_``/``pk_live_``: Stripe's "cannot be
  made with a publishable API key" message) and a live key (``sk_live_``/``rk_live_``:
  the simulator only accepts test-mode keys, so it never holds live data) are all 401
  with an ``invalid_request_error`` body. Keys are always masked in messages
  (``sk_test_****abcd``: the prefix and at most the last four characters, and those
  only when at least eight characters follow the prefix).
* Stored sessions are shared by every accepted key; idempotency keys are scoped per
  API key (as Stripe scopes them per account/key).
* Create echoes what was sent and omits what was not: ``filters`` appears only when
  filters were sent (``countries`` list and/or the 16.1.0 SDK's ``country`` string,
  echoed as sent), ``prefetch`` is ``null`` when not sent (the spec's nullable list),
  ``return_url``/``manual_entry`` only when sent; ``limits.accounts`` defaults to 100
  (also for ``limits[accounts]=``) and must be 1..100.
  ``account_holder[type]=customer`` needs ``account_holder[customer]`` (a ``cus_`` id)
  or ``account_holder[customer_account]``; ``type=account`` needs
  ``account_holder[account]`` (an ``acct_`` id); the other holder kind's field is
  refused. ``expand[]`` accepts the session's expandable fields (a no-op: accounts are
  always inline).
* Error bodies use Stripe's wording and bracket ``param`` form (``permissions[0]``,
  ``account_holder[type]``): ``parameter_missing``, ``parameter_unknown`` (also for
  unknown nested keys), ``parameter_invalid_integer``, ``resource_missing``; enum errors
  ("Invalid permissions[0]: must be one of ...") carry no ``code``, as Stripe's do.
* Linked accounts honour the session: subcategories cycle through
  ``filters.account_subcategories`` when given, else checking (cash) / credit_card
  (credit). ``balance`` (+ ``balance_refresh``), ``ownership_refresh`` and
  ``transaction_refresh`` are filled only when the feature is both permitted and in
  ``prefetch``; ``ownership`` is an ``fcaowns_`` id when ``ownership`` is permitted.
  ``supported_payment_method_types`` is ``["us_bank_account"]`` for cash accounts of
  a session with the ``payment_method`` permission (ACH cannot debit a credit card).
* Idempotency (POST only): results of requests that got past validation (200, 500) are
  stored per (API key, Idempotency-Key); the same key and the same *decoded* parameters
  replay the stored body byte for byte with ``Idempotent-Replayed: true`` and
  ``Original-Request`` naming the first request id (the replay gets its own
  ``Request-Id``); the same key with other parameters or another endpoint is a 400
  ``idempotency_error``. Validation failures are not stored (Stripe does the same).
* Determinism: every id, secret, request id and generated number comes from one
  ``random.Random(seed)``; timestamps come from a clock that starts at ``clock_start``
  and advances one second per state-changing request (create, complete). Same seed and
  same request sequence give byte-identical responses.
* Every response carries ``Content-Type: application/json``, ``Request-Id``,
  ``Cache-Control: no-cache, no-store`` and ``Stripe-Version`` (the request's, else
  ``2026-10-28.endive``; a request version that is not ``YYYY-MM-DD[.name][; beta=v]``
  is a 400). Bodies are ``json.dumps(obj, indent=2)`` with Stripe's key order (``id``,
  ``object``, then alphabetical). POST bodies over 1 MiB are a 413; a non-form
  ``Content-Type`` (e.g. JSON) with a body is a 400.
* ``handle`` never raises: a bug becomes a 500 ``api_error`` body (logged without the
  request's contents).
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
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from . import formcodec
from .models import (
    AccountHolderType,
    AccountSubcategoryFilter,
    CreateParams,
    ManualEntryMode,
    Permission,
    Prefetch,
    RequirePaymentMethodSupport,
    RetrieveParams,
    validate_create_params,
    validate_retrieve_params,
)

log = logging.getLogger("fc_cassette")

DEFAULT_STRIPE_VERSION = "2026-10-28.endive"
DEFAULT_CLOCK_START = 1767225600
DEFAULT_LIMIT_ACCOUNTS = 100
MAX_LIMIT_ACCOUNTS = 100
DEFAULT_COMPLETE_ACCOUNTS = 2
MAX_BODY_BYTES = 1 << 20
MAX_IDEMPOTENCY_KEY = 255
MAX_STRING = 5000
_ECHO_LIMIT = 100  # longest user-supplied text echoed inside an error message

CREATE_PATH = "/v1/financial_connections/sessions"
ACCOUNTS_URL = "/v1/financial_connections/accounts"
_RETRIEVE = re.compile(r"^/v1/financial_connections/sessions/([^/]+)$")
_COMPLETE = re.compile(r"^/_simulator/financial_connections/sessions/([^/]+)/complete$")
_SESSION_ID = re.compile(r"^fcsess_[A-Za-z0-9]+$")
_CUSTOMER_ID = re.compile(r"^cus_[A-Za-z0-9]+$")
_STRIPE_ACCOUNT_ID = re.compile(r"^acct_[A-Za-z0-9]+$")
_INT = re.compile(r"^-?[0-9]{1,18}$")
_STRIPE_VERSION = re.compile(
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}(\.[a-z]+)?(; *[A-Za-z0-9_.=\-]+)*$")
_ALNUM = string.ascii_letters + string.digits

_TEST_KEY = re.compile(r"^(sk|rk)_test_[A-Za-z0-9_]+$")
_KEY_PREFIXES = ("sk_test_", "sk_live_", "rk_test_", "rk_live_", "pk_test_", "pk_live_")

DOCS = "https://stripe.com/docs/error-codes/"
MSG_NO_KEY = (
    "You did not provide an API key. You need to provide your API key in the "
    "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer "
    "YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, "
    "or we can help at https://support.stripe.com/.")
MSG_PUBLISHABLE = ("This API call cannot be made with a publishable API key. "
                   "Please use a secret API key.")
MSG_LIVE = ("The fc-cassette simulator only accepts test-mode API keys (sk_test_..., "
            "rk_test_...); it never handles live data. Key provided: {masked}")

PERMISSIONS: tuple[str, ...] = typing.get_args(Permission)
PREFETCH: tuple[str, ...] = typing.get_args(Prefetch)
HOLDER_TYPES: tuple[str, ...] = typing.get_args(AccountHolderType)
SUBCATEGORY_FILTERS: tuple[str, ...] = typing.get_args(AccountSubcategoryFilter)
PM_SUPPORT: tuple[str, ...] = typing.get_args(RequirePaymentMethodSupport)
MANUAL_ENTRY_MODES: tuple[str, ...] = typing.get_args(ManualEntryMode)
CREATE_PARAMS = tuple(CreateParams.model_fields)
RETRIEVE_PARAMS = tuple(RetrieveParams.model_fields)
EXPANDABLE = ("account_holder", "accounts", "bank_account_token", "filters", "limits",
              "manual_entry")
_NESTED_FIELDS = {
    "account_holder": ("account", "customer", "customer_account", "type"),
    "filters": ("account_subcategories", "countries", "country",
                "require_payment_method_support"),
    "limits": ("accounts",),
    "manual_entry": ("mode",),
}
_CREDIT_SUBCATEGORIES = ("credit_card", "line_of_credit", "mortgage")
_DISPLAY_NAMES = {"checking": "Checking", "savings": "Savings",
                  "credit_card": "Credit Card", "line_of_credit": "Line of Credit",
                  "mortgage": "Mortgage"}


@dataclass(frozen=True)
class SimResponse:
    status: int
    headers: dict[str, str]
    body: bytes


class StripeError(Exception):
    """A Stripe error response, raised inside handlers and turned into a SimResponse."""

    def __init__(self, status: int, message: str, *, type_: str = "invalid_request_error",
                 code: str | None = None, param: str | None = None,
                 headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.type = status, message, type_
        self.code, self.param = code, param
        self.headers = dict(headers or {})

    def body(self) -> dict[str, Any]:
        err: dict[str, Any] = {}
        if self.code:
            err["code"] = self.code
            err["doc_url"] = DOCS + self.code.replace("_", "-")
        err["message"] = self.message
        if self.param is not None:
            err["param"] = self.param
        err["type"] = self.type
        return {"error": err}


def _invalid(param: str, message: str, code: str | None = None) -> StripeError:
    return StripeError(400, message, code=code, param=param)


def _missing(param: str) -> StripeError:
    return _invalid(param, f"Missing required param: {param}.", "parameter_missing")


def _unknown(param: str) -> StripeError:
    return _invalid(param, f"Received unknown parameter: {_clip(param)}", "parameter_unknown")


def _clip(text: str, limit: int = _ECHO_LIMIT) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


def _one_of(values: tuple[str, ...]) -> str:
    if len(values) == 1:
        return values[0]
    if len(values) == 2:
        return f"{values[0]} or {values[1]}"
    return ", ".join(values[:-1]) + f", or {values[-1]}"


def bracket_param(path: str) -> str:
    """A models.py dotted error path -> Stripe's bracket form.

    ``account_holder.type`` -> ``account_holder[type]``; ``permissions[1]`` stays;
    ``filters.countries[0]`` -> ``filters[countries][0]``.
    """
    if not path:
        return ""
    parts = path.split(".")
    out = parts[0]
    for part in parts[1:]:
        name, sep, rest = part.partition("[")
        out += f"[{name}]" + (sep + rest if sep else "")
    return out


def mask_key(key: str) -> str:
    """Never the whole key: a known prefix, ``****`` and at most the last four characters."""
    prefix = next((p for p in _KEY_PREFIXES if key.startswith(p)), "")
    rest = key[len(prefix):]
    tail = rest[-4:] if len(rest) >= 8 else ""
    tail = "".join(c if c.isprintable() and c.isascii() else "?" for c in tail)
    return f"{prefix}****{tail}"


class _Headers:
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


@dataclass
class _Session:
    obj: dict[str, Any]
    completed: bool = False


class Simulator:
    """Stripe's FC Sessions API in memory; see the module docstring for the contract."""

    def __init__(self, seed: int = 0, clock_start: int = DEFAULT_CLOCK_START) -> None:
        self.seed = seed
        self._rng = random.Random(seed)
        self._clock = int(clock_start)
        self._sessions: dict[str, _Session] = {}
        self._idempotency: dict[tuple[str, str], _Stored] = {}

    # ----------------------------------------------------------------------- helpers
    def _token(self, n: int = 24) -> str:
        return "".join(self._rng.choice(_ALNUM) for _ in range(n))

    def _tick(self) -> int:
        now = self._clock
        self._clock += 1
        return now

    def _respond(self, status: int, obj: Any, version: str,
                 extra: Mapping[str, str] | None = None) -> SimResponse:
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
    def handle(self, method: str, path: str, query: str, headers: Mapping[str, str],
               body: bytes) -> SimResponse:
        """Answer one request; never raises."""
        version = DEFAULT_STRIPE_VERSION
        try:
            h = _Headers(headers)
            requested = (h.get("stripe-version") or "").strip()
            if requested and _STRIPE_VERSION.match(requested):
                version = requested
            return self._handle(str(method).upper(), str(path), str(query or ""), h,
                                body or b"", requested, version)
        except StripeError as e:
            return self._error(e, version)
        except Exception as e:  # noqa: BLE001 - a simulator bug must not kill the proxy
            log.error("simulate: internal error (%s)", type(e).__name__, exc_info=True)
            try:
                return self._error(StripeError(
                    500, "An unexpected error occurred in the fc-cassette simulator.",
                    type_="api_error"), version)
            except Exception:  # noqa: BLE001
                return SimResponse(500, {"Content-Type": "application/json"},
                                   b'{\n  "error": {\n    "message": "An unexpected error '
                                   b'occurred in the fc-cassette simulator.",\n    '
                                   b'"type": "api_error"\n  }\n}')

    def _handle(self, method: str, path: str, query: str, h: _Headers, body: bytes,
                requested_version: str, version: str) -> SimResponse:
        if "?" in path:  # tolerate a path that still carries its query
            path, _, q = path.partition("?")
            query = query or q
        api_key = self._authenticate(h)
        if requested_version and not _STRIPE_VERSION.match(requested_version):
            raise StripeError(400, f"Invalid Stripe API version: {_clip(requested_version)}")

        route, session_id = self._route(method, path)
        if route is None:
            raise StripeError(404, f"Unrecognized request URL ({_clip(method, 20)}: "
                                   f"{_clip(path, 200)}). Please see https://stripe.com/docs "
                                   "or we can help at https://support.stripe.com/.")
        if route == "retrieve":
            params = self._decode(query, what="query")
            return self._retrieve(session_id, params, version)

        params = self._post_params(query, h, body)
        endpoint = f"POST {path}"
        idem_key = h.get("idempotency-key")
        if idem_key is None:
            return self._dispatch(route, session_id, params, version)
        if len(idem_key) > MAX_IDEMPOTENCY_KEY:
            raise StripeError(400, f"Idempotency key must be at most {MAX_IDEMPOTENCY_KEY} "
                                   "characters long.")
        scope = (hashlib.sha256(api_key.encode("utf-8", "surrogateescape")).hexdigest(),
                 idem_key)
        fingerprint = json.dumps(formcodec.canonical(params), sort_keys=True)
        stored = self._idempotency.get(scope)
        if stored is not None:
            if stored.endpoint != endpoint:
                raise StripeError(
                    400, "Keys for idempotent requests can only be used for the same endpoint "
                         f"they were first used for ('{stored.endpoint}' vs '{endpoint}'). "
                         f"Try using a key other than '{idem_key}' if you meant to execute "
                         "a different request.", type_="idempotency_error")
            if stored.fingerprint != fingerprint:
                raise StripeError(
                    400, "Keys for idempotent requests can only be used with the same "
                         "parameters they were first used with. Try using a key other than "
                         f"'{idem_key}' if you meant to execute a different request.",
                    type_="idempotency_error")
            headers = dict(stored.response.headers)
            headers["Request-Id"] = "req_" + self._token(14)
            headers["Original-Request"] = stored.request_id
            headers["Idempotent-Replayed"] = "true"
            return SimResponse(stored.response.status, headers, stored.response.body)
        try:
            resp = self._dispatch(route, session_id, params, version)
        except StripeError as e:
            if e.status < 500:
                raise  # validation failures are not stored
            resp = self._error(e, version)
        rid = resp.headers["Request-Id"]
        resp = SimResponse(resp.status, {**resp.headers, "Original-Request": rid}, resp.body)
        self._idempotency[scope] = _Stored(fingerprint, endpoint, resp, rid)
        return resp

    def _dispatch(self, route: str, session_id: str, params: dict[str, Any],
                  version: str) -> SimResponse:
        if route == "create":
            return self._respond(200, self._create(params), version)
        return self._respond(200, self._complete(session_id, params), version)

    # ------------------------------------------------------------------ auth, routing
    def _authenticate(self, h: _Headers) -> str:
        auth = (h.get("authorization") or "").strip()
        if not auth:
            raise StripeError(401, MSG_NO_KEY, headers={"WWW-Authenticate": 'Basic realm="Stripe"'})
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
            raise StripeError(401, MSG_NO_KEY, headers={"WWW-Authenticate": 'Basic realm="Stripe"'})
        if key.startswith(("pk_test_", "pk_live_")):
            raise StripeError(401, MSG_PUBLISHABLE)
        if key.startswith(("sk_live_", "rk_live_")):
            raise StripeError(401, MSG_LIVE.format(masked=mask_key(key)))
        if not _TEST_KEY.match(key) or len(key) > 255:
            raise StripeError(401, f"Invalid API Key provided: {mask_key(key)}")
        return key

    @staticmethod
    def _route(method: str, path: str) -> tuple[str | None, str]:
        if path == CREATE_PATH:
            return ("create" if method == "POST" else None), ""
        m = _RETRIEVE.match(path)
        if m:
            return ("retrieve" if method == "GET" else None), unquote(m.group(1),
                                                                       errors="replace")
        m = _COMPLETE.match(path)
        if m:
            return ("complete" if method == "POST" else None), unquote(m.group(1),
                                                                       errors="replace")
        return None, ""

    # ----------------------------------------------------------------------- params
    @staticmethod
    def _decode(data: str | bytes, what: str) -> dict[str, Any]:
        try:
            return formcodec.decode(data)
        except formcodec.FormDecodeError as e:
            raise StripeError(400, f"Invalid request {what}: {e}") from None

    def _post_params(self, query: str, h: _Headers, body: bytes) -> dict[str, Any]:
        if len(body) > MAX_BODY_BYTES:
            raise StripeError(413, f"Request body larger than {MAX_BODY_BYTES} bytes.")
        ctype = (h.get("content-type") or "").split(";")[0].strip().lower()
        if body.strip() and ctype and ctype != "application/x-www-form-urlencoded":
            raise StripeError(400, f"Invalid request: unsupported Content-Type {_clip(ctype)}. "
                                   "Stripe API requests are form-encoded "
                                   "(application/x-www-form-urlencoded).")
        params = self._decode(query, what="query") if query else {}
        params.update(self._decode(body, what="body"))
        return params

    @staticmethod
    def _check_expand(params: dict[str, Any]) -> None:
        if "expand" not in params:
            return
        expand = params["expand"]
        if not isinstance(expand, list):
            raise _invalid("expand", "Invalid array")
        for i, item in enumerate(expand):
            if not isinstance(item, str):
                raise _invalid(f"expand[{i}]", f"Invalid expand[{i}]: must be a string")
            if item.split(".")[0] not in EXPANDABLE:
                raise _invalid(f"expand[{i}]",
                               f"This property cannot be expanded ({_clip(item)}).")

    @staticmethod
    def _string(params: dict[str, Any], name: str, param: str) -> str | None:
        """``params[name]`` as a non-empty string, ``None`` when absent or empty."""
        value = params.get(name)
        if value is None:
            return None
        if not isinstance(value, str):
            raise _invalid(param, f"Invalid {param}: must be a string")
        if len(value) > MAX_STRING:
            raise _invalid(param, f"Invalid {param}: must be at most {MAX_STRING} characters")
        return value or None

    @staticmethod
    def _enum(value: Any, param: str, allowed: tuple[str, ...]) -> str:
        if not isinstance(value, str) or value not in allowed:
            raise _invalid(param, f"Invalid {param}: must be one of {_one_of(allowed)}")
        return value

    def _enum_list(self, params: dict[str, Any], name: str, prefix: str,
                   allowed: tuple[str, ...] | None) -> list[str] | None:
        if name not in params:
            return None
        value = params[name]
        if not isinstance(value, list):
            raise _invalid(prefix, "Invalid array")
        out = []
        for i, item in enumerate(value):
            param = f"{prefix}[{i}]"
            if allowed is None:
                if not isinstance(item, str):
                    raise _invalid(param, f"Invalid {param}: must be a string")
                out.append(item)
            else:
                out.append(self._enum(item, param, allowed))
        return out

    @staticmethod
    def _object(params: dict[str, Any], name: str) -> dict[str, Any] | None:
        if name not in params:
            return None
        value = params[name]
        if not isinstance(value, dict):
            raise _invalid(name, "Invalid hash")
        for key in value:
            if key not in _NESTED_FIELDS[name]:
                raise _unknown(f"{name}[{key}]")
        return value

    # ------------------------------------------------------------------------ create
    def _validate_create(self, params: dict[str, Any]) -> dict[str, Any]:
        for key in params:
            if key not in CREATE_PARAMS:
                raise _unknown(key)
        holder = self._object(params, "account_holder")
        if holder is None:
            raise _missing("account_holder")
        if "permissions" not in params:
            raise _missing("permissions")
        if "type" not in holder:
            raise _missing("account_holder[type]")
        htype = self._enum(holder["type"], "account_holder[type]", HOLDER_TYPES)

        permissions = self._enum_list(params, "permissions", "permissions", PERMISSIONS)
        if not permissions:
            raise _missing("permissions")
        prefetch = self._enum_list(params, "prefetch", "prefetch", PREFETCH)

        filters_out: dict[str, Any] | None = None
        filters = self._object(params, "filters")
        if filters is not None:
            filters_out = {}
            subcats = self._enum_list(filters, "account_subcategories",
                                      "filters[account_subcategories]", SUBCATEGORY_FILTERS)
            if subcats is not None:
                filters_out["account_subcategories"] = subcats
            countries = self._enum_list(filters, "countries", "filters[countries]", None)
            if countries is not None:
                filters_out["countries"] = countries
            country = self._string(filters, "country", "filters[country]")
            if country is not None:
                filters_out["country"] = country
            if "require_payment_method_support" in filters:
                filters_out["require_payment_method_support"] = self._enum(
                    filters["require_payment_method_support"],
                    "filters[require_payment_method_support]", PM_SUPPORT)

        limit = DEFAULT_LIMIT_ACCOUNTS
        limits = self._object(params, "limits")
        if limits is not None:
            if "accounts" not in limits:
                raise _missing("limits[accounts]")
            raw = limits["accounts"]
            if not isinstance(raw, str):
                raise _invalid("limits[accounts]", "Invalid integer")
            if raw != "":
                if not _INT.match(raw):
                    raise _invalid("limits[accounts]", f"Invalid integer: {_clip(raw)}",
                                   "parameter_invalid_integer")
                limit = int(raw)
                if not 1 <= limit <= MAX_LIMIT_ACCOUNTS:
                    raise _invalid("limits[accounts]", "Invalid limits[accounts]: must be "
                                                       f"between 1 and {MAX_LIMIT_ACCOUNTS}")

        manual_out = None
        manual = self._object(params, "manual_entry")
        if manual is not None:
            manual_out = {}
            if "mode" in manual:
                manual_out["mode"] = self._enum(manual["mode"], "manual_entry[mode]",
                                                MANUAL_ENTRY_MODES)
        return_url = self._string(params, "return_url", "return_url")
        self._check_expand(params)

        # Cross-field rules, after every parameter's own shape is known to be right.
        echoed_holder: dict[str, Any] = {}
        if htype == "customer":
            customer = self._string(holder, "customer", "account_holder[customer]")
            customer_account = self._string(holder, "customer_account",
                                            "account_holder[customer_account]")
            if "account" in holder:
                raise _invalid("account_holder[account]",
                               "You cannot set account_holder[account] when "
                               "account_holder[type] is customer.")
            if customer is None and customer_account is None:
                raise _missing("account_holder[customer]")
            if customer is not None:
                if not _CUSTOMER_ID.match(customer):
                    raise StripeError(400, f"No such customer: '{_clip(customer)}'",
                                      code="resource_missing", param="account_holder[customer]")
                echoed_holder["customer"] = customer
            if customer_account is not None:
                echoed_holder["customer_account"] = customer_account
        else:
            account = self._string(holder, "account", "account_holder[account]")
            for other in ("customer", "customer_account"):
                if other in holder:
                    raise _invalid(f"account_holder[{other}]",
                                   f"You cannot set account_holder[{other}] when "
                                   "account_holder[type] is account.")
            if account is None:
                raise _missing("account_holder[account]")
            if not _STRIPE_ACCOUNT_ID.match(account):
                raise StripeError(400, f"No such account: '{_clip(account)}'",
                                  code="resource_missing", param="account_holder[account]")
            echoed_holder["account"] = account
        echoed_holder["type"] = htype

        # The project's models must agree; anything they reject that the checks above
        # let through still becomes a 400, in Stripe's bracket form.
        report = validate_create_params(params)
        if not report.valid:
            err = report.errors[0]
            param = bracket_param(err["path"]) or None
            raise _invalid(param, f"Invalid {param or 'request'}: {err['message']}")

        return {"account_holder": echoed_holder, "permissions": permissions,
                "prefetch": prefetch, "filters": filters_out, "limit": limit,
                "manual_entry": manual_out, "return_url": return_url}

    def _create(self, params: dict[str, Any]) -> dict[str, Any]:
        v = self._validate_create(params)
        self._tick()
        sid = "fcsess_" + self._token()
        session: dict[str, Any] = {
            "id": sid,
            "object": "financial_connections.session",
            "account_holder": v["account_holder"],
            "accounts": {"object": "list", "data": [], "has_more": False, "url": ACCOUNTS_URL},
            "client_secret": "fcsess_client_secret_" + self._token(),
        }
        if v["filters"] is not None:
            session["filters"] = v["filters"]
        session["limits"] = {"accounts": v["limit"]}
        session["livemode"] = False
        if v["manual_entry"] is not None:
            session["manual_entry"] = v["manual_entry"]
        session["permissions"] = v["permissions"]
        session["prefetch"] = v["prefetch"]
        if v["return_url"] is not None:
            session["return_url"] = v["return_url"]
        self._sessions[sid] = _Session(session)
        return session

    # ---------------------------------------------------------------------- retrieve
    def _lookup(self, session_id: str) -> _Session:
        found = self._sessions.get(session_id) if _SESSION_ID.match(session_id) else None
        if found is None:
            raise StripeError(404, "No such financialconnections.session: "
                                   f"'{_clip(session_id)}'", code="resource_missing",
                              param="session")
        return found

    def _retrieve(self, session_id: str, params: dict[str, Any], version: str) -> SimResponse:
        for key in params:
            if key not in RETRIEVE_PARAMS:
                raise _unknown(key)
        self._check_expand(params)
        report = validate_retrieve_params(params)
        if not report.valid:
            err = report.errors[0]
            param = bracket_param(err["path"]) or None
            raise _invalid(param, f"Invalid {param or 'request'}: {err['message']}")
        return self._respond(200, self._lookup(session_id).obj, version)

    # ---------------------------------------------------------------------- complete
    def _complete(self, session_id: str, params: dict[str, Any]) -> dict[str, Any]:
        for key in params:
            if key != "accounts":
                raise _unknown(key)
        wanted = DEFAULT_COMPLETE_ACCOUNTS
        if "accounts" in params:
            raw = params["accounts"]
            if not isinstance(raw, str) or not _INT.match(raw):
                raise _invalid("accounts", f"Invalid integer: {_clip(str(raw))}",
                               "parameter_invalid_integer")
            wanted = int(raw)
            if wanted < 1:
                raise _invalid("accounts", "Invalid accounts: must be at least 1")
        stored = self._lookup(session_id)
        session = stored.obj
        if stored.completed:
            raise StripeError(400, f"The session {session_id} has already been completed: "
                                   "the simulator links accounts once per session.",
                              param="session")
        n = min(wanted, session.get("limits", {}).get("accounts", DEFAULT_LIMIT_ACCOUNTS))
        now = self._tick()
        subcats = (session.get("filters") or {}).get("account_subcategories") or [
            "checking", "credit_card"]
        accounts = [self._account(session, subcats[i % len(subcats)], now) for i in range(n)]
        session["accounts"]["data"] = accounts
        stored.completed = True
        return session

    def _account(self, session: dict[str, Any], subcategory: str, now: int) -> dict[str, Any]:
        permissions = list(session["permissions"])
        prefetch = session.get("prefetch") or []
        credit = subcategory in _CREDIT_SUBCATEGORIES
        category = "credit" if credit else "cash"
        acc_id = "fca_" + self._token()
        last4 = "".join(self._rng.choice(string.digits) for _ in range(4))
        refresh = {"last_attempted_at": now, "next_refresh_available_at": now + 3600,
                   "status": "succeeded"}
        balance = balance_refresh = None
        if "balances" in prefetch and "balances" in permissions:
            if credit:
                used = self._rng.randint(1_000, 500_000)
                balance = {"as_of": now, "credit": {"used": {"usd": used}},
                           "current": {"usd": -used}, "type": "credit"}
            else:
                available = self._rng.randint(1_000, 5_000_000)
                pending = self._rng.randint(0, 50_000)
                balance = {"as_of": now, "cash": {"available": {"usd": available}},
                           "current": {"usd": available + pending}, "type": "cash"}
            balance_refresh = dict(refresh)
        ownership = ownership_refresh = None
        if "ownership" in permissions:
            ownership = "fcaowns_" + self._token()
            if "ownership" in prefetch:
                ownership_refresh = dict(refresh)
        transaction_refresh = None
        if "transactions" in prefetch and "transactions" in permissions:
            transaction_refresh = {"id": "fctxnref_" + self._token(), **refresh}
        pm_types = (["us_bank_account"]
                    if "payment_method" in permissions and not credit else [])
        return {
            "id": acc_id,
            "object": "financial_connections.account",
            "account_holder": dict(session["account_holder"]),
            "account_numbers": None,
            "balance": balance,
            "balance_refresh": balance_refresh,
            "category": category,
            "created": now,
            "display_name": _DISPLAY_NAMES.get(subcategory, "Account"),
            "institution_name": "StripeBank",
            "last4": last4,
            "livemode": False,
            "ownership": ownership,
            "ownership_refresh": ownership_refresh,
            "permissions": permissions,
            "status": "active",
            "subcategory": subcategory,
            "subscriptions": [],
            "supported_payment_method_types": pm_types,
            "transaction_refresh": transaction_refresh,
        }

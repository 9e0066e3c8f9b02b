"""A tiny control endpoint on the proxy itself, for test harnesses (the pytest plugin).

- ``POST /__fc_cassette__/use`` with a JSON body ``{"cassette": PATH, "record_mode":
  "none|once|new_episodes|all", "rewind": true}`` switches the active cassette
  (``record_mode`` applies to ``record`` only; ``replay`` accepts ``none`` or nothing;
  ``rewind`` is optional). It answers the new cassette's status; a bad body or a
  cassette that cannot be used gets a 400 whose JSON names the ``field``.
- ``POST /__fc_cassette__/rewind`` makes every recording available again and resets
  the counts;
- ``GET /__fc_cassette__/status`` returns the playback state as JSON (served, misses
  with their explanations, unused and never-used interaction numbers, ``not_recorded``,
  ``passthrough``).
- ``use`` with ``"previous": true`` also answers, under ``previous``, the status the
  cassette it switches away from had (a harness reports it on the next switch instead
  of asking after every test).

The ``fc_events`` option names a file the proxy appends a byte to whenever a status
gets news (a miss, an exchange not recorded, a request outside the scope), before the
client gets its answer: a harness compares the file's size with the last it saw and
asks for the status only when it grew (a passing test costs one ``use``, no ``status``).

Only requests addressed to the proxy itself (not forwarded through it) are answered,
and only those a browser page cannot send or read (:func:`refusal`, a ``403``): the
``Host`` is a loopback name or address or the proxy's own; an ``Origin``, if any, is
loopback; a ``POST`` is ``Content-Type: application/json`` (a page must preflight, and
no CORS answer is ever given); no browser fetch metadata other than a typed URL; no
Stripe API request headers (a followed redirect); and the control token when one is
set (``X-FC-Cassette-Token``, compared in constant time). See docs/security.md.
The addons that play back (replay, record) call :func:`handle` first in their
``request`` hook, so no extra addon sits in every request's path. See
docs/control-endpoint.md.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

from mitmproxy import http

from fc_cassette.mitm import core
from fc_cassette.mitm.scope import (
    addressed_to_proxy,
    client_host,
    is_loopback,
    same_host,
    split_host,
)
from fc_cassette.settings.modes import RecordMode, parse_record_mode

log = logging.getLogger("fc_cassette")

PREFIX = "/__fc_cassette__/"
NOTHING = {"error": "no cassette is being played back"}
# Actions a Stripe delivery tool calls (a webhook ingress: ``stripe listen`` sends
# ``User-Agent: Stripe/...`` and no token; it checks its own signature): these get the
# Host, Origin and Content-Type checks only.
TOKENLESS = frozenset({"webhooks"})
# Headers of a Stripe API request: a control call carrying one is an API request the
# client was redirected into (a 307 to /__fc_cassette__/rewind), never a harness's call.
API_HEADERS = (
    "authorization",
    "stripe-version",
    "x-stripe-client-user-agent",
    "stripe-account",
    "idempotency-key",
)


class Refused(Exception):
    """A ``use`` that cannot be done: ``field`` names the body's field at fault."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Use:
    cassette: str
    record_mode: RecordMode | None
    rewind: bool
    previous: bool = False


class Target(Protocol):
    record_modes: tuple[str, ...]  # what ``use`` accepts as record_mode

    def control_status(self) -> dict[str, Any] | None: ...  # None: nothing played back

    def rewind(self) -> bool: ...  # False: nothing played back

    def use(self, cassette: str, record_mode: RecordMode | None) -> None: ...  # or Refused


def note_news() -> None:
    """A status got news: append a byte to the ``fc_events`` file, if one is set."""
    from mitmproxy import ctx

    path = getattr(ctx.options, "fc_events", "") if ctx.master else ""
    if path:
        try:
            with open(path, "ab") as fh:
                fh.write(b".")
        except OSError as e:  # the harness then misses a swallowed miss: say so loudly
            log.error("fc-cassette: cannot append to fc_events %s: %s", path, e)


def passthrough() -> list[str]:
    """Out-of-scope flows passed through or refused since the last rewind ("METHOD
    host/path", redacted), from the ``passthrough`` addon when it is loaded."""
    from mitmproxy import ctx

    addon = ctx.master.addons.get("passthrough") if ctx.master else None
    return list(getattr(addon, "flows", []) or [])


def rewind_passthrough() -> None:
    from mitmproxy import ctx

    addon = ctx.master.addons.get("passthrough") if ctx.master else None
    if addon is not None and hasattr(addon, "rewind"):
        addon.rewind()


def parse_use(raw: bytes, modes: tuple[str, ...]) -> Use:
    try:
        body = json.loads(raw or b"null")
    except (ValueError, UnicodeDecodeError) as e:
        raise Refused("body", f"not JSON: {e}") from None
    if not isinstance(body, dict):
        raise Refused("body", 'must be a JSON object with a "cassette" field')
    unknown = sorted(set(body) - {"cassette", "record_mode", "rewind", "previous"})
    if unknown:
        raise Refused(unknown[0], f"unknown field {unknown[0]!r}")
    cassette = body.get("cassette")
    if not isinstance(cassette, str) or not cassette:
        raise Refused("cassette", '"cassette" must be a non-empty string (a path)')
    mode = body.get("record_mode")
    if mode is not None:
        try:
            mode = parse_record_mode(mode, modes)
        except ValueError:
            raise Refused(
                "record_mode",
                f'"record_mode" must be one of {", ".join(modes)}, not {_shown(str(mode))}',
            ) from None
    rewind = body.get("rewind", False)
    if not isinstance(rewind, bool):
        raise Refused("rewind", '"rewind" must be true or false')
    previous = body.get("previous", False)
    if not isinstance(previous, bool):
        raise Refused("previous", '"previous" must be true or false')
    return Use(cassette, mode, rewind, previous)


def confine(cassette: str) -> None:
    """Refuse a cassette path outside the cassette root (``--cassette-root``), once
    ``..`` and symlinks are resolved: the control endpoint writes only cassettes there."""
    root = str(core.cassette_root())
    real = os.path.realpath(cassette)  # ValueError on a NUL byte: a bad path
    if os.path.commonpath([real, root]) != root:
        raise Refused(
            "cassette",
            f"{_shown(cassette)} is outside the cassette root {_shown(root)}"
            " (resolved, symlinks followed; see --cassette-root)",
        )


def _use(raw: bytes, target: Target) -> tuple[int, dict[str, Any]]:
    use = None
    before: dict[str, Any] | None = None
    try:
        use = parse_use(raw, target.record_modes)
        confine(use.cassette)
        before = target.control_status() if use.previous else None
        target.use(use.cassette, use.record_mode)
    except Refused as e:
        return 400, {"error": core.shared_redactor().redact_text(str(e)), "field": e.field}
    except (OSError, ValueError) as e:  # e.g. a NUL byte or an over-long name in the path
        reason = getattr(e, "strerror", None) or str(e)
        shown = _shown(use.cassette) if use is not None else "the cassette"
        return 400, {
            "error": core.shared_redactor().redact_text(
                f"{shown}: not a usable cassette path: {reason}"
            ),
            "field": "cassette",
        }
    if use.rewind:
        target.rewind()
        rewind_passthrough()
    answer = target.control_status() or {"cassette": use.cassette, "recording": True}
    return 200, {**answer, "previous": before} if use.previous else answer


def _status(target: Target) -> tuple[int, dict[str, Any]]:
    status = target.control_status()
    return (409, NOTHING) if status is None else (200, status)


def _shown(value: str) -> str:
    """A refused header value as an error may quote it: redacted, short."""
    text = core.shared_redactor().redact_text(value)
    return repr(text if len(text) <= 80 else text[:77] + "...")


def _host_ok(flow: http.HTTPFlow) -> bool:
    host = split_host(client_host(flow))
    sock = flow.client_conn.sockname
    return bool(host) and (is_loopback(host) or (bool(sock) and same_host(host, str(sock[0]))))


def _origin_ok(origin: str) -> bool:
    try:
        parts = urlsplit(origin.strip())
        return parts.scheme in ("http", "https") and is_loopback(parts.hostname or "")
    except ValueError:
        return False


def _json(content_type: str | None) -> bool:
    return (content_type or "").split(";", 1)[0].strip().lower() == "application/json"


def refusal(flow: http.HTTPFlow, action: str) -> str | None:
    """Why a control request must not be answered (None: it may): see the module
    docstring and docs/security.md."""
    r = flow.request
    if not _host_ok(flow):
        return (
            f"Host {_shown(client_host(flow))} is not a loopback name or address nor the "
            "proxy's own address (DNS rebinding?)"
        )
    origin = r.headers.get("origin")
    if origin is not None and not _origin_ok(origin):
        return f"Origin {_shown(origin)} is not loopback: a web page may not drive the proxy"
    if r.method not in ("GET", "HEAD") and not _json(r.headers.get("content-type")):
        return (
            "a control call needs Content-Type: application/json, not "
            f"{_shown(r.headers.get('content-type', '(none)'))}"
        )
    if action in TOKENLESS:
        return None
    site = r.headers.get("sec-fetch-site")
    if site is not None and site.strip().lower() != "none":
        return f"a browser request (Sec-Fetch-Site: {_shown(site)}) may not drive the proxy"
    api = next((h for h in API_HEADERS if h in r.headers), None)
    if api is not None:
        return (
            f"a Stripe API request (it carries {api}) redirected to the control endpoint "
            "is not followed into it"
        )
    token = core.control_token()
    if token and not hmac.compare_digest(
        r.headers.get(core.CONTROL_TOKEN_HEADER, "").encode("utf-8", "surrogateescape"),
        token.encode("utf-8", "surrogateescape"),
    ):
        return f"a control call needs the control token in {core.CONTROL_TOKEN_HEADER}"
    return None


def handle(flow: http.HTTPFlow, target: Target) -> bool:
    """Answer ``flow`` if it is a control request; True when it was one. A ``use`` of a
    cassette that must be parsed first is answered later: the flow waits (intercepted)
    while a worker thread parses it, and every other client is served meanwhile, from
    the cassette in use until the switch."""
    if not flow.request.path.startswith(PREFIX) or not addressed_to_proxy(flow):
        return False
    try:
        why = refusal(flow, flow.request.path[len(PREFIX) :].split("?", 1)[0])
        if why is not None:
            log.warning("fc-cassette: refused a control request: %s", why)
            status, body = (
                403,
                {"error": f"fc-cassette refused the control request: {why}", "refused": True},
            )
        elif _deferred(flow, target):
            return True
        else:
            status, body = _dispatch(flow, target)
    except Exception as e:  # a control call is never forwarded, whatever goes wrong
        status, body = _failed(e)
    _respond(flow, status, body)
    return True


def _failed(e: Exception) -> tuple[int, dict[str, Any]]:
    log.error("fc-cassette: the control request failed: %s: %s", type(e).__name__, e)
    return 500, {"error": f"fc-cassette could not handle the control request: {type(e).__name__}"}


def _shown_body(body: dict[str, Any]) -> dict[str, Any]:
    if isinstance(body.get("cassette"), str):  # a key in a path is never echoed
        body = {**body, "cassette": core.shared_redactor().redact_text(body["cassette"])}
    return body


def _respond(flow: http.HTTPFlow, status: int, body: dict[str, Any]) -> None:
    flow.response = http.Response.make(
        status, json.dumps(_shown_body(body)).encode(), {"Content-Type": "application/json"}
    )


_PENDING: set[asyncio.Task] = set()  # deferred ``use`` calls (a task needs a reference)


def _action(flow: http.HTTPFlow) -> str:
    return flow.request.path[len(PREFIX) :].split("?", 1)[0]


def _ahead(action: str, method: str, raw: bytes, target: Target) -> Callable[[], None] | None:
    """The job parsing a ``use``'s cassette in a worker thread first (None: answer the
    call now: nothing to parse, a bad body, not a ``use``)."""
    preload = getattr(target, "preload", None)
    if preload is None or method != "POST" or action != "use":
        return None
    try:
        use = parse_use(raw, target.record_modes)
        confine(use.cassette)
        job: Callable[[], None] | None = preload(use.cassette, use.record_mode)
        return job
    except (Refused, OSError, ValueError):
        return None  # answered now: the same checks give their 400


def _later(job: Callable[[], None], then: Callable[[], None]) -> bool:
    """Run ``job`` in a worker thread, then ``then`` on the event loop; False if there
    is no running loop."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return False

    async def run() -> None:
        try:
            await asyncio.to_thread(job)
        except Exception:  # (the job keeps its own errors: see PlayerCache.preload)
            log.debug("fc-cassette: a cassette's parse ahead failed", exc_info=True)
        then()  # answers, whatever happened

    task = loop.create_task(run())
    _PENDING.add(task)
    task.add_done_callback(_PENDING.discard)
    return True


def _deferred(flow: http.HTTPFlow, target: Target) -> bool:
    """Start a ``use`` whose cassette must be parsed in a worker thread (see
    :func:`handle`); False: answer it now (nothing to parse, a bad body, no loop)."""
    action, raw = _action(flow), flow.request.raw_content or b""
    job = _ahead(action, flow.request.method, raw, target)

    def finish() -> None:
        try:  # the parsed player is taken from the cache
            status, body = dispatch(action, flow.request.method, raw, target)
        except Exception as e:
            status, body = _failed(e)
        _respond(flow, status, body)
        flow.resume()

    if job is None or not _later(job, finish):
        return False
    flow.intercept()
    return True


def parent_call(message: dict[str, Any], target: Target, reply: Callable[[bytes], None]) -> None:
    """A control call on the parent pipe (:func:`.core.watch_parent`): ``{"call":
    ACTION, "id": N, "body": {...}}``, the endpoint's actions (``use``, ``rewind``,
    ``status``) answered on the pipe as ``{"id": N, "status": HTTP_STATUS, "body":
    {...}}`` by the same code as the endpoint's. The pytest plugin calls its replay
    proxies this way (issue #25: no HTTP round trip through mitmproxy per test). Only
    the process that started the proxy holds the pipe: the endpoint's checks against
    web pages and other local processes (Host, Origin, the token) have nothing to
    check here (docs/security.md)."""
    ident, action = message.get("id"), message.get("call")
    method = "GET" if action == "status" else "POST"
    raw = json.dumps(message["body"]).encode() if "body" in message else b""

    def answer(status: int, body: dict[str, Any]) -> None:
        reply(json.dumps({"id": ident, "status": status, "body": _shown_body(body)}).encode())

    def finish() -> None:
        try:
            answer(*dispatch(str(action), method, raw, target))
        except Exception as e:  # a control call never breaks the proxy
            answer(*_failed(e))

    job = _ahead(str(action), method, raw, target) if isinstance(action, str) else None
    if job is None or not _later(job, finish):
        finish()


def _dispatch(flow: http.HTTPFlow, target: Target) -> tuple[int, dict[str, Any]]:
    return dispatch(_action(flow), flow.request.method, flow.request.raw_content or b"", target)


def dispatch(action: str, method: str, raw: bytes, target: Target) -> tuple[int, dict[str, Any]]:
    """A control call's answer (HTTP status, JSON body), whichever way it came."""
    if action == "use" and method == "POST":
        status, body = _use(raw, target)
    elif (action, method) == ("rewind", "POST"):
        rewound = target.rewind()
        rewind_passthrough()
        status, body = _status(target) if rewound else (409, NOTHING)
    elif (action, method) == ("status", "GET"):
        status, body = _status(target)
    else:
        status, body = 404, {"error": f"unknown control action {action!r}"}
    return status, body

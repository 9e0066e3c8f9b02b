"""What a cassette interaction may hold: strict models and their one-line errors.

The YAML side (:class:`.yamlio.StrictLoader`) already guarantees plain JSON-model values
(no tags, no duplicate keys, no NaN). These models check the shape and the types
without coercion (``seq: "1"`` is an error, not 1), and refuse what replay would put on
the wire or compare as data and must not hold: control characters in the method, the
path, header names and values, and the reason (HTTP cannot carry them); a body of an
unknown kind or of more than one kind; form data or a query whose leaves are not
strings.

:func:`check` validates one loaded document and returns None or ``(path, message)``,
where ``path`` is the key path of the offending value in the document (for its line).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    ValidationError,
)
from pydantic_core import PydanticCustomError

_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # RFC 9110 token: method, header name
# a tab is fine in a header value; NEL, LINE and PARAGRAPH SEPARATOR are line breaks
# to YAML and to str.splitlines (a client splitting on them would see a new line)
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f\x85\u2028\u2029]")
_CONTROL_OR_SPACE = re.compile(r"[\x00-\x20\x7f\x85\u2028\u2029]")  # nor a target
BODY_KINDS = ("form", "json", "text", "base64")


def _fail(message: str, key: str | None = None) -> PydanticCustomError:
    """An error with ``message`` as is; ``key``: the mapping key it is about (its line)."""
    # pydantic fills in "{name}" only for names in the context: this one never appears
    return PydanticCustomError(
        "fc_cassette", message, {"fc_cassette_key": key} if key is not None else None
    )


def _char(m: re.Match) -> str:
    return f"control character U+{ord(m.group()):04X}" if m.group() != " " else "a space"


def _token(what: str) -> Callable[[str], str]:
    def check(value: str) -> str:
        if not _TOKEN.fullmatch(value):
            bad = _CONTROL_OR_SPACE.search(value)
            raise _fail(
                f"{what} {value[:40]!r} is not an HTTP token" + (f" ({_char(bad)})" if bad else "")
            )
        return value

    return check


def _text(what: str, bad: re.Pattern[str]) -> Callable[[str], str]:
    def check(value: str) -> str:
        if m := bad.search(value):
            raise _fail(f"{_char(m)} in the {what} (HTTP cannot carry it)")
        return value

    return check


def _headers(value: dict[str, Any]) -> dict[str, Any]:
    for name, v in value.items():
        if not _TOKEN.fullmatch(name):
            bad = _CONTROL_OR_SPACE.search(name)
            raise _fail(
                f"header name {name[:40]!r} is not an HTTP token"
                + (f" ({_char(bad)})" if bad else ""),
                name,
            )
        for x in v if isinstance(v, list) else (v,):
            if not isinstance(x, str):
                raise _fail(
                    f"a header value is a string (or a list of strings), not {type(x).__name__}",
                    name,
                )
            if m := _CONTROL.search(x):
                raise _fail(f"{_char(m)} in a header value (HTTP cannot carry it)", name)
    return value


def _form_leaves(value: Any, where: str) -> None:
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, dict):
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)
        elif not isinstance(v, str):
            raise _fail(f"{where} values are strings, not {type(v).__name__} ({v!r}): quote it")


def _query(value: dict[str, Any] | str) -> dict[str, Any] | str:
    if isinstance(value, dict):
        _form_leaves(value, "query")
    return value


def _body(value: dict[str, Any] | None) -> dict[str, Any] | None:
    if not value:
        return value
    kinds = list(value)
    if len(kinds) != 1:
        raise _fail(f"a body has one kind, not {len(kinds)} ({', '.join(map(str, kinds))})")
    kind, v = kinds[0], value[kinds[0]]
    if kind not in BODY_KINDS:
        raise _fail(f"unknown body kind {str(kind)[:40]!r} (one of {', '.join(BODY_KINDS)})")
    if kind in ("text", "base64") and not isinstance(v, str):
        raise _fail(f"a {kind} body is a string, not {type(v).__name__}")
    if kind == "form":
        if not isinstance(v, dict):
            raise _fail(f"a form body is a mapping, not {type(v).__name__}")
        _form_leaves(v, "form")
    return value


Method = Annotated[StrictStr, AfterValidator(_token("method"))]
RequestPath = Annotated[StrictStr, AfterValidator(_text("path", _CONTROL_OR_SPACE))]
Reason = Annotated[StrictStr, AfterValidator(_text("reason", _CONTROL))]
Headers = Annotated[dict[StrictStr, Any], AfterValidator(_headers)]
Query = Annotated[dict[StrictStr, Any] | StrictStr, AfterValidator(_query)]
Body = Annotated[dict[StrictStr, Any] | None, AfterValidator(_body)]


class RecordedRequest(BaseModel):
    model_config = ConfigDict(extra="allow")
    method: Method
    path: RequestPath
    scheme: StrictStr = "https"
    host: StrictStr = ""
    port: StrictInt | None = None
    query: Query = {}
    headers: Headers = {}
    body: Body = None


class RecordedResponse(BaseModel):
    model_config = ConfigDict(extra="allow")
    status: Annotated[StrictInt, Field(ge=100, le=599)]
    reason: Reason = ""
    headers: Headers = {}
    body: Body = None


class Interaction(BaseModel):
    model_config = ConfigDict(extra="allow")
    seq: StrictInt
    request: RecordedRequest
    response: RecordedResponse


_FIELDS = (
    set(RecordedRequest.model_fields)
    | set(RecordedResponse.model_fields)
    | set(Interaction.model_fields)
)


def _data_path(doc: Any, loc: tuple) -> list[str | int]:
    """``loc`` without pydantic's union branch names (``int``, ``list[str]``...): the
    keys that exist in ``doc``, then a missing field's name."""
    out: list[str | int] = []
    node = doc
    for part in loc:
        if (isinstance(node, dict) and part in node) or (
            isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        ):
            out.append(part)
            node = node[part]
        elif isinstance(node, dict) and part in _FIELDS:
            out.append(part)
            break
    return out


class RecordedWebhook(BaseModel):
    """A webhook delivery received while recording (docs/cassette-format.md)."""

    model_config = ConfigDict(extra="allow")
    after: Annotated[StrictInt, Field(ge=0)]  # the seq of the interaction it followed
    id: StrictStr
    type: StrictStr
    app_status: Annotated[StrictInt, Field(ge=100, le=599)] | None = None
    body: Body


class WebhookDoc(BaseModel):
    model_config = ConfigDict(extra="allow")
    webhook: RecordedWebhook


def is_webhook(doc: Any) -> bool:
    """A webhook document: ``webhook:`` and no ``request:``."""
    return isinstance(doc, dict) and "webhook" in doc and "request" not in doc


def check_webhook(doc: Any) -> tuple[list[str | int], str] | None:
    """None when ``doc`` is a valid webhook document, else (key path, message); its body
    is the event as JSON."""
    try:
        WebhookDoc.model_validate(doc)
    except ValidationError as e:
        err = e.errors()[0]
        loc: list[str | int] = [str(x) for x in err["loc"] if isinstance(x, str | int)]
        return loc[:3], err["msg"]
    body = doc["webhook"]["body"]
    if not isinstance(body, dict) or not isinstance(body.get("json"), dict):
        return ["webhook", "body"], "a webhook's body is the event as JSON (body: {json: ...})"
    return None


def check(doc: Any) -> tuple[list[str | int], str] | None:
    """None when ``doc`` is a valid interaction, else (key path, message)."""
    try:
        Interaction.model_validate(doc)
    except ValidationError as e:
        err = e.errors()[0]
        path = _data_path(doc, err["loc"])
        key = (err.get("ctx") or {}).get("fc_cassette_key")
        return (path + [key] if key is not None else path), err["msg"]
    return None

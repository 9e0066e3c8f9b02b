"""Cassette format v1: an append-only YAML stream, durable and loadable after any crash.

Layout: every document starts with ``---`` and ends with ``...``. The first document is
the header (``fc_cassette: 1`` plus versions; the creation time only with config
``record.timing``, so re-recording gives identical bytes); each following one is
an interaction, appended with one ``write`` and fsynced before the client gets its
response. So:

- a crash (even ``kill -9``) leaves every complete interaction loadable;
- a file cut short at any byte loads every interaction before the cut: the loader keeps
  the text up to the last ``...`` line and reports where it was cut;
- a new or re-recorded cassette is first written beside its final name and renamed
  over it once it holds an interaction, so re-recording never destroys the old one
  before the new one has content;
- the writer appends only to the file it loaded or created: before and after each
  append it compares that file's identity with the path's, and a cassette deleted or
  replaced meanwhile raises :class:`CassetteGone` (for good).

Loading uses libyaml's safe loader with aliases refused (see :mod:`.yamlio`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from fc_cassette._version import __version__ as __version__
from fc_cassette.cassette import (
    entries,
    errors,
    format as cformat,
    lazy,
    stream as cassette_stream,
    yamlio,
)
from fc_cassette.cassette.errors import CassetteError as CassetteError
from fc_cassette.cassette.format import (
    DOC_END as DOC_END,
    DOC_START as DOC_START,
    FORMAT_VERSION as FORMAT_VERSION,
    Cassette as Cassette,
    CassetteFull as CassetteFull,
    CassetteGone as CassetteGone,
    Unloadable as Unloadable,
    new_header as new_header,
    serialize as serialize,
)
from fc_cassette.cassette.stream import (
    doc_starts as doc_starts,
    entry_line as _entry_line,
    line_at as _line_at,
)
from fc_cassette.cassette.writer import Writer as Writer

# The interaction models live in .entries (strict types, no control characters where
# replay writes to the wire); re-exported here for code that names them.
Interaction, RecordedRequest, RecordedResponse = (
    entries.Interaction,
    entries.RecordedRequest,
    entries.RecordedResponse,
)


Compact = Callable[[dict[str, Any]], dict[str, Any]]


def load(path: str | os.PathLike, compact: Compact | None = None) -> Cassette:
    """Load and check a cassette; raises :class:`CassetteError` with file and location.

    ``compact`` (replay's loader, see :class:`fc_cassette.playback.Compactor`) turns each
    checked interaction into what the caller keeps, as it is parsed, so the decoded
    form of every interaction is never held at once; the file's text is then not kept
    either (``Cassette.text`` is empty). ValueError or TypeError from it is reported
    as an interaction that cannot be replayed."""
    p = Path(path)
    if compact is not None:
        return _load_compact(p, compact)
    return parse(_text(_read_raw(p), p), p)


def _read_raw(p: Path) -> bytes:
    try:
        return yamlio.read_file(p, "cassette", cformat.MAX_CASSETTE_BYTES)
    except ValueError as e:
        raise CassetteError(p, str(e)) from None


def _text(raw: bytes, p: Path) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        if _DOC_END_B.search(raw, 0, e.start) and not _DOC_END_B.search(raw, e.start):
            return _text(raw[: e.start], p)  # a torn tail, cut inside a character
        raise CassetteError(
            p, f"not valid UTF-8 (byte {e.start})", _line_at(raw.decode("latin-1"), e.start)
        ) from None


def _load_compact(p: Path, compact: Compact) -> Cassette:
    """:func:`parse` for a ``compact`` load, reading the file as it is parsed: neither
    its bytes nor its text are ever held whole (:mod:`.cassette_stream` makes the
    whole-file checks first, in chunks). A file with CRLF line ends or a torn tail
    takes :func:`parse`'s way."""
    fh = open_cassette(p)
    with fh:
        got = start_compact(p, fh, compact, cassette_stream.Bounded)
        if isinstance(got, Cassette):
            return got
        got.cassette.interactions.extend(got.rest)
    return got.cassette


@dataclass
class Streaming:
    """A compact load under way: ``cassette`` (header checked, no interactions yet) and
    ``rest``, its checked interactions (compacted) as they are parsed; iterating it
    appends webhook documents to ``cassette.webhooks`` and raises
    :class:`CassetteError` where the whole load would."""

    cassette: Cassette
    rest: Iterator[dict[str, Any]]
    source: cassette_stream.Bounded


def open_cassette(p: Path) -> BinaryIO:
    try:
        return yamlio.open_file(p, "cassette")
    except ValueError as e:
        raise CassetteError(p, str(e)) from None


def start_compact(
    p: Path, fh: BinaryIO, compact: Compact, reader: type[cassette_stream.Bounded]
) -> Cassette | Streaming:
    """The whole-file byte checks (:func:`.cassette_stream.scan`) and the header of
    the open cassette ``fh``; then the whole load (a file with CRLF line ends or a torn
    tail) or a :class:`Streaming` reading the rest through ``reader``."""
    try:
        scan = cassette_stream.scan(fh, cformat.MAX_CASSETTE_BYTES)
    except ValueError as e:
        raise CassetteError(p, str(e)) from None
    if scan.bad_utf8 is not None and scan.complete:
        byte, line = scan.bad_utf8
        raise CassetteError(p, f"not valid UTF-8 (byte {byte})", line)
    source = reader(fh, scan.size)
    if scan.crlf or not scan.complete:  # (a torn tail may cut a character)
        return parse(_text(source.whole(), p), p, compact)
    hooks: list[dict[str, Any]] = []
    header, rest = _stream(source, p, compact, lambda: source.whole().decode("utf-8"), hooks)
    return Streaming(Cassette(p, header, [], [], "", scan.size, hooks), rest, source)


_LAST_DOC_END, _DOC_END_B = re.compile(r"\n\.\.\.\r?\n"), re.compile(rb"\n\.\.\.\r?\n")


def _complete_bytes(original: str) -> int:
    """Bytes of the file up to its last complete document, whatever its line endings."""
    ends = [m.end() for m in _LAST_DOC_END.finditer(original)]
    return len(original[: ends[-1]].encode("utf-8")) if ends else 0


def _header(docs: list[Any], path: Path) -> dict[str, Any]:
    if not docs or not isinstance(docs[0], dict) or "fc_cassette" not in docs[0]:
        raise CassetteError(path, "not an fc-cassette cassette (no 'fc_cassette' header)", 1)
    version = docs[0].get("fc_cassette")
    if type(version) is not int or version != FORMAT_VERSION:  # True == 1 in Python
        shown = (
            repr(version) if type(version) is int else repr(errors.redact_text(str(version))[:40])
        )
        raise CassetteError(
            path,
            f"unknown cassette format version {shown} (this fc-cassette reads {FORMAT_VERSION})",
            1,
        )
    return docs[0]


def _checked(
    docs: Iterator[Any],
    text: Callable[[], str],
    path: Path,
    compact: Compact | None,
    webhooks: list[dict[str, Any]],
) -> Iterator[dict[str, Any]]:
    """The documents after the header, checked (:mod:`.entries`), defaults filled in,
    each passed through ``compact`` as soon as it is parsed; webhook documents go to
    ``webhooks``."""
    for i, doc in enumerate(docs, start=1):
        is_webhook = entries.is_webhook(doc)
        problem = entries.check_webhook(doc) if is_webhook else entries.check(doc)
        if problem is not None:
            keys, message = problem
            loc = ".".join(str(x) for x in keys) or "(entry)"
            raise CassetteError(
                path,
                f"{'webhook' if is_webhook else 'interaction'} {i}: {loc}: {message}",
                _entry_line(text(), i, keys),
            ) from None
        if is_webhook:
            webhooks.append(doc)
            continue
        req = doc["request"]  # the optional parts, as the format's defaults say
        req.setdefault("query", {})
        req.setdefault("headers", {})
        req.setdefault("body", None)
        doc["response"].setdefault("headers", {})
        doc["response"].setdefault("body", None)
        if compact is not None:
            try:
                doc = compact(doc)
            except (ValueError, TypeError) as e:
                raise CassetteError(
                    path, f"interaction {doc.get('seq')}: the response cannot be replayed: {e}"
                ) from None
        yield doc


def _yaml_errors(docs: Iterator[dict[str, Any]], path: Path) -> Iterator[dict[str, Any]]:
    try:
        yield from docs
    except yamlio.YamlError as e:
        raise CassetteError(path, e.message, e.line, e.column) from None


def _stream(
    source: str | cassette_stream.Bounded,
    path: Path,
    compact: Compact | None,
    text: Callable[[], str],
    webhooks: list[dict[str, Any]],
) -> tuple[dict[str, Any], Iterator[dict[str, Any]]]:
    """The header of a cassette's complete documents (``source``: their text, or a
    reader of their bytes) and an iterator of its checked interactions, parsed one
    document at a time as it is advanced; ``text()`` gives their text for an error's
    location."""
    docs = yamlio.load_all(source, strict=True)
    try:
        first = next(docs, None)
        header = _header([] if first is None else [first], path)
    except yamlio.YamlError as e:
        raise CassetteError(path, e.message, e.line, e.column) from None
    return header, _yaml_errors(_checked(docs, text, path, compact, webhooks), path)


def _documents(
    source: str | cassette_stream.Bounded,
    path: Path,
    compact: Compact | None,
    text: Callable[[], str],
    webhooks: list[dict[str, Any]],
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The header and the checked interactions of a cassette's complete documents
    (see :func:`_stream`), parsed one document at a time."""
    header, rest = _stream(source, path, compact, text, webhooks)
    return header, list(rest)


def parse(text: str, path: Path, compact: Compact | None = None) -> Cassette:
    if not text.strip():
        raise CassetteError(path, "empty file, not a cassette")
    original = text
    if "\r\n" in text:  # e.g. checked out with git's core.autocrlf (or partly so)
        text = text.replace("\r\n", "\n")
    warnings: list[str] = []
    complete = len(text)
    if not text.endswith("\n" + DOC_END) and text != DOC_END:
        cut = text.rfind("\n" + DOC_END)
        complete = cut + 1 + len(DOC_END) if cut >= 0 else 0
        if complete == 0 and text.lstrip().startswith(("---", "fc_cassette")):
            raise CassetteError(
                path, "cut short inside its header: no complete document", _line_at(text, len(text))
            )
        if complete:
            warnings.append(
                f"{path}:{_line_at(text, complete)}: cassette cut short at byte "
                f"{complete} of {len(text)}; kept the complete interactions "
                f"before the cut"
            )
    body = text[:complete] if complete else text
    hooks: list[dict[str, Any]] = []
    header, interactions = _documents(body, path, compact, lambda: body, hooks)
    complete_bytes = (
        _complete_bytes(original)
        if warnings
        else len(original)
        if original.isascii()
        else len(original.encode("utf-8"))
    )
    return Cassette(
        path, header, interactions, warnings, "" if compact else text, complete_bytes, hooks
    )


def open_progressive(
    path: str | os.PathLike, compact: Compact, sync_bytes: int | None = None
) -> lazy.Progressive:
    """Check and start loading the cassette at ``path`` (see the module); raises
    :class:`CassetteError` for what the whole load refuses in the file's bytes, its
    header or its first ``sync_bytes`` bytes."""
    p = Path(path)
    fh = open_cassette(p)
    try:
        got = start_compact(p, fh, compact, lazy.Watched)
    except BaseException:
        fh.close()
        raise
    if isinstance(got, Cassette):  # the whole load's way (CRLF, a torn tail)
        fh.close()
        return lazy.Progressive(p, got, error=CassetteError)
    prog = lazy.Progressive(p, got.cassette, got.rest, fh, error=CassetteError)
    source = got.source
    assert isinstance(source, lazy.Watched)
    limit = lazy.SYNC_BYTES if sync_bytes is None else sync_bytes
    while source.consumed < limit and prog.pump(16):
        pass
    if prog.error is not None:
        raise prog.error
    return prog

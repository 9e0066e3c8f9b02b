"""The cassette format's fixed parts: its constants, its errors, its in-memory form, the
header and how one document is written (the format itself: :mod:`.store`)."""

from __future__ import annotations

import datetime as _dt
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fc_cassette._version import __version__
from fc_cassette.cassette import yamlio
from fc_cassette.redact.redactor import Redactor

FORMAT_VERSION = 1
DOC_START = "---\n"
DOC_END = "...\n"
MAX_CASSETTE_BYTES = 512 << 20
MAX_MESSAGE = 300


def redact_text(text: str) -> str:
    return Redactor().redact_text(text)


class CassetteFull(Exception):
    """An append would make the cassette too large to load again; nothing was written."""


class Unloadable(ValueError):
    """An entry the loader would refuse: not written (the cassette stays loadable)."""


class CassetteGone(Exception):
    """The cassette file was deleted or replaced while recording: nothing more is
    written into it (an append would land in an unlinked or foreign file)."""


class CassetteError(Exception):
    """A cassette that cannot be used. ``str()`` is one line: ``file:line:col: problem``."""

    def __init__(
        self,
        path: str | os.PathLike,
        message: str,
        line: int | None = None,
        column: int | None = None,
    ):
        # the message may quote cassette content: never a secret, never a huge line
        message = " ".join(redact_text(message).split())
        if len(message) > MAX_MESSAGE:
            message = message[:MAX_MESSAGE] + "..."
        self.path, self.message, self.line, self.column = str(path), message, line, column
        where = self.path + (f":{line}" if line else "") + (f":{column}" if line and column else "")
        super().__init__(f"{where}: {message}")


@dataclass
class Cassette:
    path: Path
    header: dict[str, Any]
    interactions: list[dict[str, Any]]
    warnings: list[str] = field(default_factory=list)
    text: str = ""
    complete_bytes: int = 0  # bytes of the file that hold complete documents
    webhooks: list[dict[str, Any]] = field(default_factory=list)  # {"webhook": {...}} docs


def new_header(stripe_version: str | None, timing: bool = False) -> dict[str, Any]:
    """A cassette's header; the creation time only with ``timing`` (config
    ``record.timing``), so re-recording an unchanged flow gives identical bytes."""
    import mitmproxy.version

    header = {
        "fc_cassette": FORMAT_VERSION,
        "generator": f"fc-cassette {__version__}",
        "mitmproxy": mitmproxy.version.VERSION,
        "stripe_version": stripe_version,
    }
    if timing:
        header["created"] = _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat()
    return header


def serialize(doc: dict[str, Any]) -> str:
    return DOC_START + yamlio.dump(doc) + DOC_END

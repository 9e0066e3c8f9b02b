"""The cassette format's fixed parts: its constants, the writer's errors, its in-memory
form, the header and how one document is written (the format itself: :mod:`.store`; a
cassette that cannot be used: :mod:`.errors`, which redacts what it quotes)."""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fc_cassette._version import __version__
from fc_cassette.cassette import yamlio

FORMAT_VERSION = 1
DOC_START = "---\n"
DOC_END = "...\n"
MAX_CASSETTE_BYTES = 512 << 20


class CassetteFull(Exception):
    """An append would make the cassette too large to load again; nothing was written."""


class Unloadable(ValueError):
    """An entry the loader would refuse: not written (the cassette stays loadable)."""


class CassetteGone(Exception):
    """The cassette file was deleted or replaced while recording: nothing more is
    written into it (an append would land in an unlinked or foreign file)."""


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

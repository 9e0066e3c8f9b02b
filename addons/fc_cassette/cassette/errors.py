"""A cassette that cannot be used: :class:`CassetteError`, one line whose message never
quotes a secret (it goes through the redactor) nor a huge line.

Apart from the format's fixed parts (:mod:`.format`) so that what only builds, writes or
loads in the background (:mod:`.writer`, :mod:`.lazy`) does not carry the redactor; the
background load raises this class all the same (:func:`.store.open_progressive` hands it
over).
"""

from __future__ import annotations

import os

from fc_cassette.redact.redactor import Redactor

MAX_MESSAGE = 300


def redact_text(text: str) -> str:
    return Redactor().redact_text(text)


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

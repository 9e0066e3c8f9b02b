"""The CLI's output lines: each one line, printable, secrets redacted, bounded
(:func:`clean`), and printed without a traceback when the reader went away (:func:`emit`)."""

from __future__ import annotations

import os
import re
import sys
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:  # imported by clean(): --help, --version and usage errors go without it
    from fc_cassette.redact.redactor import Redactor

MAX_LINE = 1000
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")


def clean(text: str, redactor: Redactor | None = None, limit: int = MAX_LINE) -> str:
    """One printable line: secrets redacted, control characters escaped, clipped."""
    if redactor is None:
        from fc_cassette.redact.redactor import Redactor

        redactor = Redactor()
    text = redactor.redact_text(text)  # redact first: a cut could split a key
    text = _CONTROL.sub(
        lambda m: (
            f"\\x{ord(m.group()):02x}" if ord(m.group()) < 256 else f"\\u{ord(m.group()):04x}"
        ),
        text,
    )
    return text if len(text) <= limit else text[: limit - 3] + "..."


def emit(line: str | None, stream: IO[str] | None = None) -> None:
    """print() (None: flush only), except that a reader who went away (``| head``)
    silences the rest of the output instead of raising."""
    stream = stream if stream is not None else sys.stdout
    try:
        if line is not None:
            print(line, file=stream)
        else:
            stream.flush()
    except BrokenPipeError:
        try:  # later writes and the final flush go nowhere instead of raising again
            os.dup2(os.open(os.devnull, os.O_WRONLY), stream.fileno())
        except (OSError, ValueError):
            pass

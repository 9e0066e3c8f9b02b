"""Replay's progressive load: answer from a big cassette before it is fully parsed.

:func:`.store.open_progressive` makes, before it returns, every check the whole load makes on
the file's bytes (:func:`.stream.scan`: size, line length, CRLF, UTF-8, a torn tail),
reads the header and parses the interactions of the first :data:`SYNC_BYTES` bytes;
:meth:`Progressive.start` then parses the rest in a background thread, one batch of
documents at a time, each through the very checks and ``compact`` hook of the whole
load (:func:`.store.start_compact`: the same code, in the same order). Each batch is
handed to :attr:`Progressive.sink` (replay's match index) under :attr:`Progressive.cond`.

A cassette of at most :data:`SYNC_BYTES` bytes is therefore loaded whole before
anything is answered, as before; so is a file with CRLF line ends or a torn tail
(the whole load's way). A YAML or entry error found later ends the load with the
:class:`.errors.CassetteError` the whole load raises (:attr:`Progressive.error`): the
store hands that class to :class:`Progressive`, which raises and catches it without
carrying the redactor its messages go through.

The file is read through its open descriptor; a read after which the file's size,
modification time or inode differ from the scan's ends the load with an error (the
bytes may be a mix of two versions): nothing is parsed from an edited file.
"""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from fc_cassette.cassette import stream as cassette_stream
from fc_cassette.cassette.format import Cassette

if TYPE_CHECKING:
    from fc_cassette.cassette.errors import CassetteError

SYNC_BYTES = 256 << 10  # parsed before store.open_progressive returns (the whole of most cassettes)
BATCH = 256  # interactions handed to the sink at a time

CHANGED = "changed on disk while it was being loaded: use it again to load the new version"


def _stamp(fh: BinaryIO) -> tuple[int, int, int, int]:
    st = os.fstat(fh.fileno())
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns


class Watched(cassette_stream.Bounded):
    """:class:`.stream.Bounded` that refuses to go on once the file has changed."""

    def __init__(self, fh: BinaryIO, size: int):
        super().__init__(fh, size)
        self._stamp = _stamp(fh)
        self.changed = False

    @property
    def consumed(self) -> int:
        return self.size - self._left

    def read(self, n: int = -1) -> bytes:
        data = super().read(n)
        if _stamp(self._fh) != self._stamp:
            self.changed = True
            raise OSError(CHANGED)  # (turned into the load's error by Progressive)
        return data


Sink = Callable[[list[dict[str, Any]]], None]


class Progressive:
    """A cassette's interactions, parsed in order, in batches (:meth:`pump`), by a
    background thread once :meth:`start`-ed. ``cassette.interactions`` and
    ``cassette.webhooks`` grow as it goes; :attr:`finished` once all are parsed or
    :attr:`error` is set. ``error`` is the load's exception class (the store's
    :class:`~.errors.CassetteError`): the checks ``rest`` runs raise it, and a read or
    parse failure of the load's own becomes one."""

    def __init__(
        self,
        path: Path,
        cassette: Cassette,
        rest: Any = (),
        fh: BinaryIO | None = None,
        *,
        error: type[CassetteError],
    ):
        self.path = path
        self._error_type = error
        self.cassette = cassette
        self._rest = iter(rest)
        self._fh = fh
        self.cond = threading.Condition()
        self.finished = fh is None  # (a whole load: nothing left to parse)
        self.error: CassetteError | None = None
        self.sink: Sink = lambda batch: None  # called under cond with each batch
        self.on_finish: Callable[[], None] = lambda: None  # before finished is set
        self._thread: threading.Thread | None = None

    def pump(self, n: int = BATCH) -> bool:
        """Parse up to ``n`` more interactions here; False once finished."""
        if self.finished:
            return False
        batch: list[dict[str, Any]] = []
        error, more = None, True
        try:
            batch.extend(itertools.islice(self._rest, n))
            more = len(batch) == n
        except self._error_type as e:
            error = e
        except OSError as e:  # the file changed, or could not be read
            msg = str(e) if str(e) == CHANGED else f"cannot read: {e}"
            error = self._error_type(self.path, msg)
        with self.cond:
            self.cassette.interactions.extend(batch)
            self.sink(batch)
        if error is not None or not more:
            self._end(error)
        return not self.finished

    def _end(self, error: CassetteError | None) -> None:
        if error is None:
            self.on_finish()
        with self.cond:
            self.error = error
            self.finished = True
            self._rest = iter(())
            if self._fh is not None:
                self._fh.close()
            self.cond.notify_all()

    def start(self) -> None:
        """Parse the rest in a background (daemon) thread."""
        if self.finished or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="fc-cassette-load", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            while self.pump():
                with self.cond:
                    self.cond.notify_all()
        except Exception as e:  # a bug of ours: the load ends, requests get the error
            self._end(self._error_type(self.path, f"cannot be loaded: {type(e).__name__}: {e}"))

    def wait_until(self, ready: Callable[[], bool]) -> None:
        """Until ``ready()`` (asked under :attr:`cond`) or the load has finished; without
        a background thread the rest is parsed here, batch by batch, meanwhile."""
        if self._thread is None:
            while not ready() and self.pump():
                pass
            return
        with self.cond:
            while not ready() and not self.finished:
                self.cond.wait()

    def complete(self) -> None:
        """Until the load has finished."""
        self.wait_until(lambda: False)

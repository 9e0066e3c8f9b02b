"""A cassette from Python, outside pytest: ``with fc_cassette.proxy("c.yaml") as p: ...``.

The same proxy process the pytest plugin runs (:mod:`.pytest_proxy`: ``fc-cassette
replay --forward`` for record mode ``none``, ``fc-cassette record`` in front of the
upstream otherwise), and the same handle as its ``fc_proxy`` fixture (``url``,
``proxy_url``, ``ca_bundle``, ``client()``, ``status()``, ``recording``), plus
``misses``. Leaving the block stops the proxy (a recording is complete on disk then)
and, with ``strict=True`` (the default, like ``--strict``), raises
:class:`ReplayMisses` if a request missed (or, recording, was not recorded).
See docs/python-api.md.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from fc_cassette.harness.pool import ControlError, FcProxy, Pool, ProxyError, config_file
from fc_cassette.settings import modes as vocab
from fc_cassette.settings.config import parse_upstream

RECORD_MODES = ("none", *(m for m in vocab.RECORD_MODES if m != "none"))  # none: default
DEFAULT_UPSTREAM = "https://api.stripe.com"

__all__ = ["Proxy", "ProxyError", "ReplayMisses", "proxy"]


class ReplayMisses(AssertionError):
    """Requests the cassette could not answer (``misses``: their explanations) or, when
    recording, exchanges that were not recorded (``not_recorded``)."""

    def __init__(self, cassette: Path, misses: list[str], not_recorded: list[str]):
        lines = [f"fc-cassette: {len(misses)} replay miss(es) against {cassette}:"
                 ] if misses else []
        lines += [f"  - {m}".replace("\n", "\n    ") for m in misses]
        if not_recorded:
            lines.append(f"fc-cassette: {len(not_recorded)} exchange(s) NOT recorded into "
                         f"{cassette}:")
            lines += [f"  - {m}".replace("\n", "\n    ") for m in not_recorded]
        super().__init__("\n".join(lines))
        self.cassette, self.misses, self.not_recorded = cassette, misses, not_recorded


class Proxy(FcProxy):
    """A running proxy on one cassette (what ``with fc_cassette.proxy(...)`` gives)."""

    strict: bool = True
    _pool: Pool | None = None
    _last: dict[str, Any] | None = None  # the status when the proxy stopped

    def _status(self) -> dict[str, Any]:
        """Live while running; after :meth:`stop`, the last status (``misses`` etc.)."""
        if self._pool is None:
            return self._last or {}
        return self.status() or {}

    def __enter__(self) -> Proxy:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        died = self.stop()
        misses, unrecorded = self.misses, self.not_recorded
        error: Exception | None = None
        if died is not None:  # its misses are lost with it: never a silent pass
            error = ProxyError(f"fc-cassette: the proxy for {self.cassette} exited during "
                               f"the block; the end of its log:\n{died}")
        elif self.strict and (misses or unrecorded):
            error = ReplayMisses(self.cassette, misses, unrecorded)
        if error is not None:
            if exc is None:
                raise error
            exc.add_note(str(error))  # the block's own error first; ours with it

    def stop(self) -> str | None:
        """Stop the proxy (idempotent); ``misses`` keeps its last answer. Returns the end
        of its log if it had exited by itself (else None)."""
        if self._pool is None:
            return None
        died = None if self.process.poll() is None else \
            "\n".join(self.output().splitlines()[-20:])
        try:
            self._last = (self.status() or {}) if died is None else {}
        except (OSError, ValueError, ControlError):
            self._last = {}
        pool, self._pool, self._proxy = self._pool, None, None
        pool.stop_all()
        shutil.rmtree(pool.tmp, ignore_errors=True)  # logs, and the CA's private key
        return died


def _config(config: str | Path | dict | None, tmp: Path) -> str | None:
    if config is None:
        return None
    if isinstance(config, dict):
        return config_file(None, config, tmp)
    path = Path(config)
    if not path.is_file():
        raise FileNotFoundError(f"fc-cassette: config={str(config)!r}: no such file")
    return str(path.resolve())


def proxy(cassette: str | Path, record_mode: str = "none", *,
          upstream: str = DEFAULT_UPSTREAM, config: str | Path | dict | None = None,
          strict: bool = True) -> Proxy:
    """Start an fc-cassette proxy on ``cassette`` (use it as a context manager).

    ``record_mode``: ``none`` (replay only, offline; the cassette must exist), ``once``,
    ``new_episodes`` or ``all`` (record in front of ``upstream``). ``config``: a YAML
    config file (the CLI's ``--config``) or a dict of the same keys. ``strict``: leaving
    the block raises :class:`ReplayMisses` if there were misses. Bad arguments raise
    ValueError (or FileNotFoundError) with one ``fc-cassette:`` line; a proxy that does
    not start raises :class:`ProxyError` with its output.
    """
    if record_mode not in RECORD_MODES:
        raise ValueError(f"fc-cassette: record_mode={record_mode!r}: must be one of "
                         f"{', '.join(RECORD_MODES)}")
    try:
        upstream = parse_upstream(upstream, "upstream=")
    except ValueError as e:
        raise ValueError(f"fc-cassette: {e}") from None
    path = Path(cassette).resolve()
    if record_mode == "none" and not path.is_file():
        raise FileNotFoundError(f"fc-cassette: {path} does not exist; record it with "
                                f"record_mode='once' (and upstream=URL)")
    tmp = Path(tempfile.mkdtemp(prefix="fc-cassette-api-"))
    try:
        pool = Pool(upstream, tmp)
        kind = "replay" if record_mode == "none" else "record"
        if kind == "record":
            path.parent.mkdir(parents=True, exist_ok=True)
        process = pool.get(kind, _config(config, tmp), path, record_mode)
        status = process.call("GET", "status")
    except BaseException:
        if "pool" in locals():
            pool.stop_all()
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    handle = Proxy(path, record_mode, process.port, process.confdir, process.process,
                   process.log, bool(status.get("recording")), process)
    handle.strict, handle._pool = strict, pool
    return handle

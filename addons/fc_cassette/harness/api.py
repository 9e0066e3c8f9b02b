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

from pathlib import Path
from types import TracebackType
from typing import Any

from fc_cassette.harness import report as wording
from fc_cassette.harness.pool import ControlError, FcProxy, ProxyError
from fc_cassette.harness.session import Session, SessionError, tail
from fc_cassette.settings import modes as vocab
from fc_cassette.settings.upstream import DEFAULT_UPSTREAM, parse_upstream

RECORD_MODES = vocab.REPLAY_FIRST  # none: the default

__all__ = ["Proxy", "ProxyError", "ReplayMisses", "proxy"]


class ReplayMisses(AssertionError):
    """Requests the cassette could not answer (``misses``: their explanations) or, when
    recording, exchanges that were not recorded (``not_recorded``)."""

    def __init__(self, cassette: Path, misses: list[str], not_recorded: list[str]):
        super().__init__(
            "\n".join(
                wording.problems(
                    {"cassette": cassette, "misses": misses, "not_recorded": not_recorded}
                )
            )
        )
        self.cassette, self.misses, self.not_recorded = cassette, misses, not_recorded


class Proxy(FcProxy):
    """A running proxy on one cassette (what ``with fc_cassette.proxy(...)`` gives)."""

    strict: bool = True
    _session: Session | None = None
    _last: dict[str, Any] | None = None  # the status when the proxy stopped

    def _status(self) -> dict[str, Any]:
        """Live while running; after :meth:`stop`, the last status (``misses`` etc.)."""
        if self._session is None:
            return self._last or {}
        return self.status() or {}

    def __enter__(self) -> Proxy:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        died = self.stop()
        misses, unrecorded = self.misses, self.not_recorded
        error: Exception | None = None
        if died is not None:  # its misses are lost with it: never a silent pass
            error = ProxyError(
                f"fc-cassette: the proxy for {self.cassette} exited during "
                f"the block; the end of its log:\n{died}"
            )
        elif self.strict and (misses or unrecorded):
            error = ReplayMisses(self.cassette, misses, unrecorded)
        if error is not None:
            if exc is None:
                raise error
            exc.add_note(str(error))  # the block's own error first; ours with it

    def stop(self) -> str | None:
        """Stop the proxy (idempotent); ``misses`` keeps its last answer. Returns the end
        of its log if it had exited by itself (else None)."""
        if self._session is None:
            return None
        died = None if self.process.poll() is None else tail(self._proxy)
        try:
            self._last = (self.status() or {}) if died is None else {}
        except (OSError, ValueError, ControlError):
            self._last = {}
        session, self._session, self._proxy = self._session, None, None
        session.stop()  # its logs and the CA's private key go with it
        return died


def _config(config: str | Path | dict | None) -> tuple[str | None, dict[str, Any]]:
    """The config file and the overrides merged over it."""
    if config is None:
        return None, {}
    if isinstance(config, dict):
        return None, config
    path = Path(config)
    if not path.is_file():
        raise FileNotFoundError(f"fc-cassette: config={str(config)!r}: no such file")
    return str(path.resolve()), {}


def _checked(cassette: str | Path, record_mode: str, upstream: str) -> tuple[Path, str]:
    """The cassette's absolute path and the upstream, or a one-line ValueError (or
    FileNotFoundError for a cassette a replay needs)."""
    try:
        offline = vocab.row(vocab.parse_record_mode(record_mode, RECORD_MODES)).offline
    except ValueError as e:
        raise ValueError(f"fc-cassette: record_mode={record_mode!r}: {e}") from None
    try:
        upstream = parse_upstream(upstream, "upstream=")
    except ValueError as e:
        raise ValueError(f"fc-cassette: {e}") from None
    path = Path(cassette).resolve()
    if offline and not path.is_file():  # served by a replay process
        raise FileNotFoundError(
            f"fc-cassette: {path} does not exist; record it with "
            f"record_mode='once' (and upstream=URL)"
        )
    return path, upstream


def proxy(
    cassette: str | Path,
    record_mode: str = "none",
    *,
    upstream: str = DEFAULT_UPSTREAM,
    config: str | Path | dict | None = None,
    strict: bool = True,
    webhooks_to: str | None = None,
    webhook_secret: str | None = None,
) -> Proxy:
    """Start an fc-cassette proxy on ``cassette`` (use it as a context manager).

    ``record_mode``: ``none`` (replay only, offline; the cassette must exist), ``once``,
    ``new_episodes`` or ``all`` (record in front of ``upstream``). ``config``: a YAML
    config file (the CLI's ``--config``) or a dict of the same keys. ``strict``: leaving
    the block raises :class:`ReplayMisses` if there were misses. Bad arguments raise
    ValueError (or FileNotFoundError) with one ``fc-cassette:`` line; a proxy that does
    not start raises :class:`ProxyError` with its output. ``webhooks_to``: the app URL
    webhook events go to (replay delivers the recorded ones, signed with
    ``webhook_secret`` or the documented test secret; record forwards what its ingress
    receives): see ``handle.webhooks`` and ``handle.wait_for_webhooks(n, timeout)``.
    """
    path, upstream = _checked(cassette, record_mode, upstream)
    base, overrides = _config(config)
    if record_mode != "none":
        path.parent.mkdir(parents=True, exist_ok=True)  # (asked for: recorded there)
    # its cassette's folder is the cassette root
    session = Session(upstream, base, prefix="fc-cassette-api-", root=path.parent)
    try:
        opened = session.open(
            path,
            record_mode,
            overrides,
            {"webhooks_to": webhooks_to, "webhook_secret": webhook_secret},
        )
    except SessionError as e:
        session.stop()
        raise ProxyError(str(e)) from None
    except BaseException:
        session.stop()
        raise
    handle = Proxy(
        opened.cassette,
        record_mode,
        opened.port,
        opened.confdir,
        opened.process,
        opened.log,
        opened.recording,
        opened._proxy,
    )
    handle.strict, handle._session = strict, session
    return handle

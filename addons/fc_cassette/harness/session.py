"""One harness session: the proxies of a pytest process (or of one
``fc_cassette.proxy(...)`` block), switched per cassette, reported on, stopped.

Both harnesses use it (:mod:`fc_cassette.harness.pytest_plugin`, :mod:`fc_cassette.harness.api`):

- :meth:`Session.open` switches a proxy (started if none) to a cassette with one
  control call, ``use`` with ``rewind`` and ``previous``: the status of the cassette it
  leaves comes back with it (its never-used interactions, for the summary);
- :meth:`Session.news` is the status only when it has news (a miss, an exchange not
  recorded, a request outside the scope): the proxy appends to an events file before it
  answers such a request, so a passing test costs a stat, not a round trip;
- :meth:`Session.prestart` starts the replay proxy ahead, idle on an empty cassette
  (e.g. while pytest collects); :meth:`Session.stop` reads the last status of each proxy
  and stops them all (each proxy also exits by itself when this process is gone: its
  stdin is a pipe from here, see the ``fc_parent_pipe`` option).
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from fc_cassette.harness.pool import (
    ControlError,
    FcProxy,
    Pool,
    ProxyError,
    ProxyProcess,
    config_file,
    webhook_args,
)
from fc_cassette.settings import modes as vocab

IDLE = "---\nfc_cassette: 1\n...\n"  # an empty cassette: what a proxy started ahead serves

__all__ = ["ControlError", "ProxyError", "Session", "SessionError", "kind_of"]


class SessionError(Exception):
    """A cassette could not be used (the message is one ``fc-cassette:`` report)."""


def kind_of(mode: str) -> str:
    """The process that serves ``mode``: an offline mode is served by a replay process."""
    return "replay" if vocab.row(mode).offline else "record"


class Session:
    def __init__(
        self,
        upstream: str,
        config: str | None,
        prefix: str = "fc-cassette-",
        root: Path | None = None,
    ) -> None:
        self.upstream, self.config, self.prefix = upstream, config, prefix
        self.root = root  # the proxies' --cassette-root (pytest: its rootdir)
        self.never_used: dict[Path, list[int]] = {}
        self._pool: Pool | None = None
        self._tmp: Path | None = None
        self._idle: Path | None = None
        self._stopped_started = 0  # proxies started by pools already stopped

    @property
    def started(self) -> int:
        return self._stopped_started + (self._pool.started if self._pool is not None else 0)

    def pool(self) -> Pool:
        if self._pool is None:
            self._tmp = Path(tempfile.mkdtemp(prefix=self.prefix))
            self._pool = Pool(self.upstream, self._tmp, self.root)
        return self._pool

    def retarget(self, upstream: str) -> None:
        """The upstream the recording proxies started from now on forward to."""
        self.upstream = upstream
        if self._pool is not None:
            self._pool.upstream = upstream

    def prestart(self) -> None:
        """Start the replay proxy for the session's config now, idle until a ``use``."""
        pool = self.pool()
        assert self._tmp is not None
        self._idle = self._tmp / "idle.yaml"
        self._idle.write_text(IDLE)
        pool.prestart("replay", self.config, self._idle)

    def discard_prestarted(self) -> None:
        """No test needs the proxy started ahead: stop it."""
        if self._pool is not None:
            self._pool.discard_pending()

    def open(
        self,
        cassette: Path,
        mode: str,
        overrides: dict[str, Any],
        hooks: dict[str, str | None] | None = None,
    ) -> FcProxy:
        """A proxy switched to ``cassette`` in ``mode`` and rewound; SessionError or
        ProxyError (with the proxy's output) if not. ``hooks``: where its webhooks go
        (``webhooks_to``, ``webhook_secret``: :func:`~fc_cassette.harness.pool.webhook_args`)."""
        kind = kind_of(mode)
        body: dict[str, Any] = {"cassette": str(cassette), "rewind": True, "previous": True}
        if kind == "record":  # its folders are made by the proxy, on the first exchange
            body["record_mode"] = mode
        pool = self.pool()
        proxy = None
        try:
            proxy = pool.get(
                kind,
                config_file(self.config, overrides, pool.tmp),
                cassette,
                mode,
                webhook_args(kind, **(hooks or {})),
            )
            status = proxy.call("POST", "use", body)
        except ControlError as e:
            raise SessionError(f"fc-cassette: cannot use {cassette}: {e}") from None
        except (OSError, ValueError) as e:
            raise SessionError(
                f"fc-cassette: the proxy did not answer ({e}):\n{tail(proxy)}"
            ) from None
        self._note_never_used(status.pop("previous", None))
        proxy.news()  # what came before this test is not its news
        return FcProxy(
            cassette,
            mode,
            proxy.port,
            proxy.confdir,
            proxy.process,
            proxy.log,
            bool(status.get("recording")),
            proxy,
        )

    def news(self, handle: FcProxy) -> dict[str, Any] | None:
        """The handle's status if it got news since the last look, else None (raises
        OSError, ValueError or ControlError if the proxy does not answer)."""
        proxy = handle._proxy
        if proxy is None:
            return None
        news = getattr(proxy, "news", None)
        if news is not None and not news():
            return None
        return proxy.call("GET", "status")

    def _note_never_used(self, status: dict[str, Any] | None) -> None:
        if not status or status.get("recording", True) or "never_used" not in status:
            return
        path = Path(status["cassette"])
        if path != self._idle:
            self.never_used[path] = list(status["never_used"])

    def stop(self) -> None:
        """Read each proxy's last status (its cassette's never-used interactions), then
        stop them all (idempotent)."""
        if self._pool is not None:
            for proxy in self._pool.proxies.values():
                if proxy.alive():
                    try:
                        self._note_never_used(proxy.call("GET", "status"))
                    except (OSError, ValueError, ControlError):
                        pass
            self._pool.stop_all()
            self._stopped_started += self._pool.started
        if self._tmp is not None:  # the proxies' logs and mitmproxy's CA (a private key)
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None
        self._pool = None


def tail(proxy: ProxyProcess | None) -> str:
    """The end of a proxy's log, for a report."""
    return "\n".join(proxy.output().splitlines()[-20:]) if proxy is not None else ""

"""mitmproxy's certificate authority, created once even when proxies start together.

mitmproxy creates its CA on first start by writing ``mitmproxy-ca.pem`` (key and
certificate) and its siblings in place, and any process that finds the key file
loads it. Several proxies started at the same moment on a fresh confdir (parallel
CI jobs, a test suite, a demo) therefore race: one may read a half-written key and
die with "Could not deserialize key data", or two may each write a different CA.

:func:`ensure_ca` closes both gaps before mitmproxy starts: creation happens under
an exclusive lock on the confdir (one CA, whoever comes first), into a private
temporary folder whose files are then renamed into place with the key file last,
so a process that sees the key file always sees a complete CA.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from mitmproxy.options import CONF_BASENAME, CONF_DIR, KEY_SIZE

from fc_cassette.mitm import mitm_compat

LOCK_NAME = ".fc-cassette-ca.lock"


def key_file(confdir: Path) -> Path:
    return confdir / f"{CONF_BASENAME}-ca.pem"


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: the atomic rename still holds
        yield
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def ensure_ca(confdir: str | os.PathLike[str] = CONF_DIR, key_size: int = KEY_SIZE) -> bool:
    """Create mitmproxy's CA in *confdir* unless it exists; True if this call created it.

    Raises OSError when the confdir cannot be created or written."""
    path = Path(os.path.expanduser(os.fspath(confdir)))
    if key_file(path).exists():
        return False
    path.mkdir(parents=True, exist_ok=True)
    with _locked(path / LOCK_NAME):
        if key_file(path).exists():  # another process created it while we waited
            return False
        staging = Path(tempfile.mkdtemp(prefix=".fc-cassette-ca-", dir=path))
        try:
            mitm_compat.create_ca(staging, CONF_BASENAME, key_size)
            # made here, this moment: mitmproxy need not check the key when it loads it
            mitm_compat.trust_created_ca(key_file(staging).read_bytes())
            created = sorted(staging.iterdir(), key=lambda f: f.name == key_file(path).name)
            for f in created:  # the key file last: its presence means "complete"
                os.replace(f, path / f.name)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return True

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

A CA created here also gets a note of its key file's SHA-256 (:data:`TRUST_NAME`): a
later proxy on that confdir loads exactly those bytes without cryptography's RSA key
check (60 ms, twice in each proxy's start), as the creating process does
(:func:`fc_cassette.mitm.mitm_compat.trust_created_ca`). The check is meant for keys from
elsewhere; the note lives beside the key, so whoever can write it can replace the key
itself, which mitmproxy trusts anyway. A CA without the note (mitmproxy's own, a user's)
or a key file changed since is loaded checked, as before.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from mitmproxy.options import CONF_BASENAME, CONF_DIR, KEY_SIZE

from fc_cassette.mitm import mitm_compat

LOCK_NAME = ".fc-cassette-ca.lock"
TRUST_NAME = ".fc-cassette-ca.sha256"  # the SHA-256 of the key file this module created


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
        _trust_if_made_here(path)
        return False
    path.mkdir(parents=True, exist_ok=True)
    with _locked(path / LOCK_NAME):
        if key_file(path).exists():  # another process created it while we waited
            _trust_if_made_here(path)
            return False
        staging = Path(tempfile.mkdtemp(prefix=".fc-cassette-ca-", dir=path))
        try:
            mitm_compat.create_ca(staging, CONF_BASENAME, key_size)
            # made here, this moment: mitmproxy need not check the key when it loads it
            made = key_file(staging).read_bytes()
            mitm_compat.trust_created_ca(made)
            (staging / TRUST_NAME).write_text(hashlib.sha256(made).hexdigest() + "\n")
            created = sorted(staging.iterdir(), key=lambda f: f.name == key_file(path).name)
            for f in created:  # the key file last: its presence means "complete"
                os.replace(f, path / f.name)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return True


def _trust_if_made_here(path: Path) -> None:
    """Load the confdir's key unchecked if it is the one :func:`ensure_ca` created there
    (its note says so); otherwise leave mitmproxy's checked load alone."""
    try:
        noted = (path / TRUST_NAME).read_text().strip()
        made = key_file(path).read_bytes()
    except (OSError, UnicodeDecodeError):
        return
    if hmac.compare_digest(hashlib.sha256(made).hexdigest(), noted):
        mitm_compat.trust_created_ca(made)

"""The folders a test's cassette needs: made before a recording, said in one line when
they cannot be, and removed again when the test recorded nothing into them; and the
folder the plugin's proxies keep mitmproxy's CA in (:func:`shared_confdir`)."""

from __future__ import annotations

import errno
import os
from pathlib import Path


class FolderError(Exception):
    """A cassette folder that cannot be made or written: ``str()`` is one line."""


def make_parent(cassette: Path) -> list[Path]:
    """Make ``cassette``'s folder; return the folders this call created (outermost
    first), or raise FolderError naming the folder and the reason."""
    missing: list[Path] = []
    folder = cassette.parent
    while not folder.exists() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    missing.reverse()
    if folder.exists() and not folder.is_dir():
        raise FolderError(f"cannot record {cassette}: {folder} exists and is not a folder")
    for f in missing:
        try:
            f.mkdir()
        except FileExistsError:
            if not f.is_dir():
                remove_empty(missing, cassette)
                raise FolderError(
                    f"cannot record {cassette}: {f} exists and is not a folder"
                ) from None
        except OSError as e:
            remove_empty(missing, cassette)
            raise FolderError(
                f"cannot record {cassette}: cannot create the folder {f}: {e.strerror or e}"
            ) from None
    parent = cassette.parent
    if not parent.is_dir():
        raise FolderError(f"cannot record {cassette}: {parent} is not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise FolderError(
            f"cannot record {cassette}: the folder {parent} is not writable "
            f"({os.strerror(errno.EACCES)}); make it writable, or record "
            "somewhere else (the marker's path)"
        )
    return missing


def remove_empty(created: list[Path], cassette: Path) -> None:
    """Remove the folders in ``created`` that are still empty (innermost first), unless
    the cassette was written: a failed attempt leaves no empty folder behind."""
    if cassette.exists():
        return
    for f in reversed(created):
        try:
            f.rmdir()  # only an empty folder
        except OSError:
            return


def shared_confdir() -> Path | None:
    """The pytest plugin's mitmproxy confdir, kept from run to run: ``fc-cassette/mitmproxy``
    in the user's cache folder (``$XDG_CACHE_HOME``, else ``~/.cache``), so that its CA is
    made once (an RSA key: 50-200 ms of each run's first proxy start) and then loaded
    unchecked (see :mod:`fc_cassette.mitm.ca`). None (the run's own temporary folder
    instead) where it cannot be made, or is not a folder of this user's that only this
    user can open (a symlink, another owner, group or world access)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    if not os.path.isabs(base):
        return None  # (XDG: a relative path is to be ignored; ~ unresolved)
    folder = Path(base) / "fc-cassette" / "mitmproxy"
    try:
        folder.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        folder.mkdir(exist_ok=True, mode=0o700)
        st = os.lstat(folder)
    except OSError:
        return None
    import stat

    if not stat.S_ISDIR(st.st_mode) or st.st_mode & 0o077:
        return None
    if hasattr(os, "getuid") and st.st_uid != os.getuid():
        return None
    return folder

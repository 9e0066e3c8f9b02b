"""The pytest plugin's mitmproxy confdir is kept from run to run in the user's cache
folder (its CA made once, then loaded unchecked), only where that folder is this
user's alone; the run's temporary folder otherwise (harness.folders.shared_confdir)."""

from __future__ import annotations

import os

import pytest

from fc_cassette.harness import folders, pool


def test_the_users_cache_folder_is_used_and_kept_private(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    got = folders.shared_confdir()
    assert got == tmp_path / "fc-cassette" / "mitmproxy"
    for folder in (got, got.parent):
        assert os.stat(folder).st_mode & 0o777 == 0o700
    assert folders.shared_confdir() == got  # the same one next run
    assert pool.Pool("https://api.stripe.com", tmp_path / "run").confdir == got


@pytest.mark.parametrize("how", ["symlink", "group", "file", "relative", "unwritable"])
def test_anything_but_a_private_folder_of_ours_is_refused(how, tmp_path, monkeypatch):
    base = tmp_path / "cache"
    base.mkdir()
    target = base / "fc-cassette" / "mitmproxy"
    if how == "symlink":  # someone else's folder put in its place
        (base / "fc-cassette").mkdir(mode=0o700)
        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir(mode=0o700)
        target.symlink_to(elsewhere)
    elif how == "group":
        target.mkdir(parents=True)
        target.chmod(0o770)
    elif how == "file":
        (base / "fc-cassette").mkdir(mode=0o700)
        target.write_text("")
    elif how == "relative":
        base = tmp_path.relative_to(tmp_path.parent)
    elif how == "unwritable":
        if os.geteuid() == 0:  # root writes anywhere: a file where the folder must go
            (base / "fc-cassette").write_text("")
        else:
            base.chmod(0o500)
    monkeypatch.setenv("XDG_CACHE_HOME", str(base))
    assert folders.shared_confdir() is None
    run = tmp_path / "run"
    assert pool.Pool("https://api.stripe.com", run).confdir == run / "mitmproxy"

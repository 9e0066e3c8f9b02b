"""The progressive load (cassette.lazy): what is parsed before it returns, the background
parse, and a file edited while it is read (never a mix of two versions)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from fc_cassette.cassette import lazy, store as cassette_io

SESSIONS = "/v1/financial_connections/sessions"


def _doc(i: int) -> dict[str, Any]:
    return {
        "seq": i + 1,
        "request": {"method": "GET", "path": f"{SESSIONS}/fcsess_{i}"},
        "response": {"status": 200, "body": {"json": {"id": f"fcsess_{i}", "pad": "x" * 200}}},
    }


def _write(path: Path, n: int, first: int = 0) -> None:
    docs = [cassette_io.new_header(None)] + [_doc(i) for i in range(first, first + n)]
    path.write_text("".join(cassette_io.serialize(d) for d in docs))


def _paths(c: cassette_io.Cassette) -> list[str]:
    return [it["request"]["path"] for it in c.interactions]


def keep(doc: dict[str, Any]) -> dict[str, Any]:
    return doc


def test_a_small_cassette_is_loaded_whole_before_open_returns(tmp_path):
    path = tmp_path / "c.yaml"
    _write(path, 20)
    prog = cassette_io.open_progressive(path, keep)
    assert prog.finished and prog.error is None
    assert _paths(prog.cassette) == _paths(cassette_io.load(path, keep))


def test_the_first_sync_bytes_are_parsed_then_the_rest_in_the_background(tmp_path):
    path = tmp_path / "c.yaml"
    _write(path, 400)
    prog = cassette_io.open_progressive(path, keep, sync_bytes=20_000)
    assert not prog.finished and 0 < len(prog.cassette.interactions) < 400
    batches: list[int] = []
    prog.sink = lambda batch: batches.append(len(batch))
    prog.start()
    prog.complete()
    assert prog.finished and prog.error is None
    assert _paths(prog.cassette) == _paths(cassette_io.load(path, keep))
    assert sum(batches) + (400 - sum(batches)) == 400 and sum(batches) > 0


@pytest.mark.parametrize("edit", ["append", "rewrite_in_place"])
def test_a_file_edited_in_place_while_it_is_loaded_ends_the_load(tmp_path, edit):
    path = tmp_path / "c.yaml"
    _write(path, 400)
    prog = cassette_io.open_progressive(path, keep, sync_bytes=0)
    prog.pump(3)
    if edit == "append":
        with open(path, "a") as fh:
            fh.write(cassette_io.serialize(_doc(999)))
    else:  # same inode, other content (an editor saving in place)
        other = tmp_path / "other.yaml"
        _write(other, 400, first=5000)
        with open(path, "r+b") as fh:
            fh.write(other.read_bytes())
            fh.truncate()
    while prog.pump():
        pass
    assert prog.error is not None and lazy.CHANGED in str(prog.error)
    assert str(path) in str(prog.error)
    # nothing of the new version was taken in
    assert all(int(p.rsplit("_", 1)[1]) < 400 for p in _paths(prog.cassette))
    assert len(prog.cassette.interactions) < 400


def test_a_file_replaced_by_rename_is_read_to_its_end_as_it_was(tmp_path):
    path = tmp_path / "c.yaml"
    _write(path, 400)
    before = _paths(cassette_io.load(path, keep))
    prog = cassette_io.open_progressive(path, keep, sync_bytes=0)
    prog.pump(3)
    new = tmp_path / "new.yaml"
    _write(new, 10, first=7000)
    os.replace(new, path)  # as the recorder and most editors save
    prog.complete()
    assert prog.error is None and _paths(prog.cassette) == before


def test_what_the_whole_load_refuses_in_the_bytes_is_refused_at_once(tmp_path):
    path = tmp_path / "c.yaml"
    _write(path, 400)
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) - 1000] + b"\xff" + raw[len(raw) - 999 :])
    with pytest.raises(cassette_io.CassetteError) as got:
        cassette_io.open_progressive(path, keep, sync_bytes=0)
    with pytest.raises(cassette_io.CassetteError) as whole:
        cassette_io.load(path, keep)
    assert str(got.value) == str(whole.value) and "not valid UTF-8" in str(got.value)


SECRET = "sk_test_" + "4eC39HqLyjWDarjtT1zdp7dc"


def test_a_failure_of_the_background_load_is_a_redacted_cassette_error(tmp_path):
    """The load's own failures (a bug, a read error) are the store's CassetteError,
    handed to the progressive load: one line, any secret it quotes redacted."""
    path = tmp_path / "c.yaml"
    _write(path, 400)
    seen = 0

    def explode(doc: dict[str, Any]) -> dict[str, Any]:
        nonlocal seen
        seen += 1
        if seen > 50:
            raise RuntimeError(f"boom near Authorization: Bearer {SECRET}")
        return doc

    prog = cassette_io.open_progressive(path, explode, sync_bytes=0)
    prog.start()
    prog.complete()
    assert isinstance(prog.error, cassette_io.CassetteError)
    assert "cannot be loaded: RuntimeError" in str(prog.error)
    assert SECRET not in str(prog.error) and "REDACTED" in str(prog.error)
    assert "\n" not in str(prog.error)

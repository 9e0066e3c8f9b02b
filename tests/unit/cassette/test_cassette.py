"""Cassette format v1: writing, loading, truncation at any byte, atomic re-recording."""

import os

import pytest

from fc_cassette.cassette import format as cformat, store as cio, yamlio


def entry(i: int, note: str = "") -> dict:
    return {
        "request": {
            "method": "GET",
            "scheme": "https",
            "host": "api.stripe.com",
            "port": 443,
            "path": f"/v1/financial_connections/sessions/fcsess_{i}",
            "query": {},
            "headers": {"Stripe-Version": "2026-10-28.endive"},
            "body": None,
        },
        "response": {
            "status": 200,
            "reason": "OK",
            "headers": {"Content-Type": "application/json"},
            "body": {"json": {"id": f"fcsess_{i}", "note": note or "é ✓ ---\n...\n"}},
        },
    }


def write(path, n: int, **kw) -> None:
    w = cio.Writer(path, **kw)
    for i in range(n):
        w.append(entry(i), stripe_version="2026-10-28.endive")
    w.close()


def test_round_trip_header_and_order(tmp_path):
    p = tmp_path / "c.yaml"
    write(p, 3)
    c = cio.load(p)
    assert c.header["fc_cassette"] == 1
    assert c.header["stripe_version"] == "2026-10-28.endive"
    assert c.header["generator"].startswith("fc-cassette ")
    assert [i["seq"] for i in c.interactions] == [1, 2, 3]
    assert c.interactions[2]["response"]["body"]["json"]["note"] == "é ✓ ---\n...\n"
    assert c.warnings == []
    text = p.read_text()
    assert text.startswith("---\nfc_cassette: 1\n") and text.endswith("\n...\n")
    assert "{" not in text.split("\n", 1)[1].split("---")[0]  # block style header


def test_every_truncation_point_loads_the_complete_interactions(tmp_path):
    p = tmp_path / "c.yaml"
    write(p, 4)
    raw = p.read_bytes()
    # byte offsets where each document ends (after its "...\n")
    ends = [i + 5 for i in range(len(raw)) if raw[i : i + 5] == b"\n...\n"]
    header_end = ends[0]
    for cut in range(1, len(raw)):
        # a new file each time (removed once read): rewriting one in place waits for
        # ext4 to flush the truncated file's data at each close (about 4 ms a cut)
        cut_file = tmp_path / f"cut{cut}.yaml"
        cut_file.write_bytes(raw[:cut])
        _check_cut(cut_file, cut, ends, header_end)
        cut_file.unlink()


def _check_cut(cut_file, cut: int, ends: list[int], header_end: int) -> None:
    """The load of the cassette cut at byte ``cut``: only its complete interactions."""
    complete = sum(1 for e in ends[1:] if e <= cut)
    if cut < header_end:
        with pytest.raises(cio.CassetteError):
            cio.load(cut_file)
        return
    try:
        c = cio.load(cut_file)
    except cio.CassetteError as e:  # a cut inside a multi-byte UTF-8 character
        assert "UTF-8" in str(e), (cut, str(e))
        return
    assert len(c.interactions) == complete, cut
    assert [i["seq"] for i in c.interactions] == list(range(1, complete + 1))
    if cut not in ends:
        assert c.warnings and "cut short" in c.warnings[0], cut
    else:
        assert c.warnings == []


def test_utf8_cut_in_last_entry_still_loads_earlier_ones(tmp_path):
    p = tmp_path / "c.yaml"
    write(p, 2)
    raw = p.read_bytes()
    idx = raw.rindex("é".encode())
    p.write_bytes(raw[: idx + 1])  # cut in the middle of the two-byte é
    # the docs promise a file cut at any byte keeps its complete interactions (#27: it
    # used to refuse the whole file here)
    loaded = cio.load(p)
    assert len(loaded.interactions) == 1 and "cut short" in loaded.warnings[0]


def test_appending_cuts_a_torn_tail_first(tmp_path):
    p = tmp_path / "c.yaml"
    write(p, 2)
    raw = p.read_bytes()
    p.write_bytes(raw[:-20])  # a crash tore the second entry
    existing = cio.load(p)
    assert len(existing.interactions) == 1 and existing.warnings
    w = cio.Writer(p, existing=existing)
    w.append(entry(9))
    w.close()
    c = cio.load(p)
    assert [i["seq"] for i in c.interactions] == [1, 2]
    assert c.interactions[1]["request"]["path"].endswith("fcsess_9")
    assert c.warnings == []


def test_appending_continues_after_the_highest_seq(tmp_path):
    """An entry pruned by hand leaves a gap; the next append must not reuse a seq."""
    p = tmp_path / "c.yaml"
    write(p, 3)
    text = p.read_text()
    header, one, two, three = cio.doc_starts(text)
    p.write_text(text[:two] + text[three:])  # entry 2 pruned
    existing = cio.load(p)
    assert [i["seq"] for i in existing.interactions] == [1, 3]
    w = cio.Writer(p, existing=existing)
    assert w.append(entry(9)) == 4
    w.close()
    assert [i["seq"] for i in cio.load(p).interactions] == [1, 3, 4]


def test_rerecording_keeps_old_cassette_until_new_one_has_an_interaction(tmp_path):
    p = tmp_path / "c.yaml"
    write(p, 3)
    before = p.read_bytes()
    w = cio.Writer(p)  # record mode "all"
    assert p.read_bytes() == before  # nothing happened yet
    w.append(entry(7))
    assert len(cio.load(p).interactions) == 1
    w.close()
    assert not [f for f in os.listdir(tmp_path) if f.endswith(".recording")]


def test_check_can_refuse_an_entry_and_nothing_is_written(tmp_path):
    p = tmp_path / "c.yaml"

    def refuse(text):
        if "fcsess_1" in text:
            raise ValueError("no")

    w = cio.Writer(p)
    w.append(entry(0), check=refuse)
    with pytest.raises(ValueError):
        w.append(entry(1), check=refuse)
    w.append(entry(2), check=refuse)
    w.close()
    assert [i["seq"] for i in cio.load(p).interactions] == [1, 2]


@pytest.mark.parametrize(
    "content, words",
    [
        (b"", "empty"),
        (b"\x00\x01\x02\xff\xfe", "UTF-8"),
        (b"---\nfc_cassette: 1\n...\n---\nseq: [1\n...\n", ""),
        (b"- a\n- b\n", "not an fc-cassette"),
        (b"---\nfc_cassette: 99\n...\n", "unknown cassette format version 99"),
        (
            b"---\nfc_cassette: 1\n...\n---\n!!python/object/apply:os.system ['true']\n...\n",
            "YAML tag '!!python/object/apply:os.system' is not allowed",
        ),
        (b"---\nfc_cassette: 1\n...\n---\na: &x [1, 2]\nb: *x\n...\n", "aliases"),
        (
            b"---\nfc_cassette: 1\n...\n---\nseq: 1\nrequest: {method: GET}\nresponse: {status: 200}\n...\n",
            "interaction 1: request.path",
        ),
        (
            b"---\nfc_cassette: 1\n...\n---\nseq: x\nrequest: {method: GET, path: /}\n"
            b"response: {status: 200}\n...\n",
            "interaction 1: seq",
        ),
    ],
)
def test_malformed_cassettes_give_one_line_errors(tmp_path, content, words):
    p = tmp_path / "bad.yaml"
    p.write_bytes(content)
    with pytest.raises(cio.CassetteError) as e:
        cio.load(p)
    msg = str(e.value)
    assert msg.startswith(str(p)) and "\n" not in msg and words in msg


def test_missing_and_directory(tmp_path):
    with pytest.raises(cio.CassetteError, match="no such cassette"):
        cio.load(tmp_path / "nope.yaml")
    with pytest.raises(cio.CassetteError, match="is a directory"):
        cio.load(tmp_path)


def test_error_location_points_at_the_bad_line(tmp_path):
    p = tmp_path / "bad.yaml"
    write(p, 2)
    lines = p.read_text().splitlines(keepends=True)
    bad_at = lines.index("seq: 2\n")
    lines[bad_at] = "seq: [2\n"
    p.write_text("".join(lines))
    with pytest.raises(cio.CassetteError) as e:
        cio.load(p)
    assert e.value.line is not None and 0 <= e.value.line - (bad_at + 1) <= 2
    assert str(e.value).startswith(f"{p}:{e.value.line}:")


def test_alias_bomb_is_refused_quickly(tmp_path):
    bomb = ["---\nfc_cassette: 1\n...\n---\na: &a [x, x, x, x, x, x, x, x, x]\n"]
    for i in range(1, 12):
        bomb.append(
            f"{chr(97 + i)}: &{chr(97 + i)} [*{chr(96 + i)}, *{chr(96 + i)}, "
            f"*{chr(96 + i)}, *{chr(96 + i)}, *{chr(96 + i)}]\n"
        )
    p = tmp_path / "bomb.yaml"
    p.write_text("".join(bomb) + "...\n")
    with pytest.raises(cio.CassetteError, match="aliases"):
        cio.load(p)


def test_yaml_uses_libyaml_and_safe_loading():
    assert yamlio.LIBYAML
    with pytest.raises(yamlio.YamlError):
        yamlio.load("!!python/name:os.system")


def test_a_failed_append_leaves_the_file_as_it_was(tmp_path, monkeypatch):
    """A full disk mid-write: the torn bytes are cut off, later appends are clean."""
    import errno

    p = tmp_path / "c.yaml"
    w = cio.Writer(p)
    w.append(entry(0))
    real_write = os.write
    calls = {"n": 0}

    def flaky(fd, data):
        calls["n"] += 1
        if calls["n"] == 1:
            real_write(fd, bytes(data)[:50])  # half an entry reaches the file ...
            raise OSError(errno.ENOSPC, "No space left on device")  # ... then the disk is full
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", flaky)
    with pytest.raises(OSError):
        w.append(entry(1))
    w.append(entry(2))
    w.close()
    c = cio.load(p)
    assert c.warnings == []
    assert [i["seq"] for i in c.interactions] == [1, 2]
    assert c.interactions[1]["request"]["path"].endswith("fcsess_2")


def test_a_failed_first_write_leaves_no_half_made_cassette(tmp_path):
    target = tmp_path / "is_a_dir.yaml"
    target.mkdir()  # the rename over it fails
    w = cio.Writer(target)
    with pytest.raises(OSError):
        w.append(entry(0))
    with pytest.raises(OSError):  # still failing, and still nothing half-made
        w.append(entry(1))
    assert not [f for f in os.listdir(tmp_path) if f.endswith(".recording")]


def test_syncing_works_without_fdatasync(tmp_path, monkeypatch):
    """macOS and Windows have no os.fdatasync: fsync instead."""
    synced = []
    monkeypatch.delattr(os, "fdatasync", raising=False)
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: synced.append(fd) or real_fsync(fd))
    p = tmp_path / "c.yaml"
    w = cio.Writer(p)
    w.append(entry(0))
    w.append(entry(1))
    w.close()
    assert len(synced) >= 2  # each append (and the folder after the first)
    assert len(cio.load(p).interactions) == 2


def test_check_sees_the_header_of_a_new_cassette(tmp_path):
    seen = []
    w = cio.Writer(tmp_path / "c.yaml")
    w.append(entry(0), stripe_version="2026-10-28.endive", check=seen.append)
    w.append(entry(1), check=seen.append)
    w.close()
    assert seen[0].startswith("---\nfc_cassette: 1\n") and "stripe_version" in seen[0]
    assert "fc_cassette" not in seen[1]


@pytest.mark.parametrize("cut_tail", [False, True])
def test_appending_to_a_crlf_cassette_keeps_it_loadable(tmp_path, cut_tail):
    """A cassette checked out with CRLF line endings (git core.autocrlf), appended to."""
    p = tmp_path / "c.yaml"
    write(p, 2)
    raw = p.read_bytes().replace(b"\n", b"\r\n")
    p.write_bytes(raw[:-15] if cut_tail else raw)
    for round_ in range(2):
        existing = cio.load(p)
        w = cio.Writer(p, existing=existing)
        w.append(entry(10 + round_))
        w.close()
    data = p.read_bytes()
    assert b"\x00" not in data
    c = cio.load(p)
    assert c.warnings == []
    assert len(c.interactions) == (1 if cut_tail else 2) + 2
    assert [i["seq"] for i in c.interactions] == list(range(1, len(c.interactions) + 1))


@pytest.mark.parametrize(
    "response, words",
    [
        ('{status: 200, headers: {X-A: "1\\r\\nInjected: 1"}}', "response.headers"),
        ('{status: 200, reason: "OK\\r\\nX: 1"}', "response.reason"),
        ("{status: 99999}", "response.status"),
        ("{status: 42}", "response.status"),
        ('{status: 200, headers: {"Bad Name": x}}', "response.headers"),
    ],
)
def test_what_replay_would_write_badly_is_refused_at_load(tmp_path, response, words):
    p = tmp_path / "bad.yaml"
    p.write_text(
        f"---\nfc_cassette: 1\n...\n---\nseq: 1\nrequest: {{method: GET, path: /x}}\n"
        f"response: {response}\n...\n"
    )
    with pytest.raises(cio.CassetteError, match=words.replace(".", r"\.")):
        cio.load(p)


def test_a_boolean_is_not_format_version_1(tmp_path):
    p = tmp_path / "bool.yaml"
    p.write_text("---\nfc_cassette: true\n...\n")
    with pytest.raises(cio.CassetteError, match="unknown cassette format version 'True'"):
        cio.load(p)


def test_an_append_that_would_outgrow_the_loadable_size_is_refused(tmp_path, monkeypatch):
    """Replay refuses to load a cassette above MAX_CASSETTE_BYTES: record must not
    write one (nothing is written, the file stays loadable)."""
    p = tmp_path / "c.yaml"
    write(p, 1)
    size = p.stat().st_size
    monkeypatch.setattr(cformat, "MAX_CASSETTE_BYTES", size + 100)
    w = cio.Writer(p, existing=cio.load(p))
    with pytest.raises(cio.CassetteFull, match="would grow past"):
        w.append(entry(1))
    w.close()
    assert p.stat().st_size == size and len(cio.load(p).interactions) == 1
    fresh = cio.Writer(tmp_path / "new.yaml")
    monkeypatch.setattr(cformat, "MAX_CASSETTE_BYTES", 100)
    with pytest.raises(cio.CassetteFull):
        fresh.append(entry(0))
    assert not (tmp_path / "new.yaml").exists()

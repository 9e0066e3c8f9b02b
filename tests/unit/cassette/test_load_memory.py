"""Issue #16: replay's cassette load in bounded memory, with nothing else changed.

- the compact load reads the file in chunks (``cassette_stream``) and never holds it
  whole, yet fails exactly like the whole-file load (same one-line error, same
  file:line) at every chunk size, wherever a chunk boundary falls;
- what it keeps per interaction is what it kept before (the full load's seq, method,
  path, status, every other field; the same served bytes and match keys), with equal
  parts shared;
- its peak memory, measured, stays within the bench's bound (3x the file) and holds
  nothing the size of the file besides what it keeps.
"""

from __future__ import annotations

import os
import tracemalloc
from pathlib import Path

import pytest

from fc_cassette.cassette import format as cformat, store as cio, stream as cassette_stream
from fc_cassette.matching.closest import returned_ids
from fc_cassette.matching.matcher import prepare, upstream_of
from fc_cassette.mitm import mitm_compat
from fc_cassette.playback.shared import Sharer
from fc_cassette.playback.state import Compacted, Compactor, Playback, kept, wire
from fc_cassette.settings.config import Settings

ROOT = Path(__file__).resolve().parents[3]
CORPUS = sorted([*ROOT.glob("tests/data/**/*.yaml"), *ROOT.glob("cassettes/**/*.yaml")])
SESSIONS = "/v1/financial_connections/sessions"


def entry(i: int) -> dict:
    """An interaction shaped like the bench's (a create, or a retrieve of a session)."""
    create = i % 2 == 0
    sid = f"fcsess_1Test{i:010d}"
    req = {
        "method": "POST" if create else "GET",
        "scheme": "https",
        "host": "api.stripe.com",
        "port": 443,
        "path": SESSIONS if create else f"{SESSIONS}/{sid}",
        "query": {},
        "headers": {
            "User-Agent": "Stripe/v1 PythonBindings/16.1.0",
            "Stripe-Version": "2026-10-28.endive",
        },
        "body": {
            "form": {
                "account_holder": {"type": "customer", "customer": f"cus_Test{i:010d}"},
                "permissions": ["balances", "ownership"],
            }
        }
        if create
        else None,
    }
    accounts = [
        {
            "id": f"fca_{i}_{n}",
            "object": "financial_connections.account",
            "balance": {"cash": {"available": {"usd": 600012 + n}}},
            "display_name": "Checking",
            "institution_name": "StripeBank",
            "permissions": ["balances", "ownership"],
            "status": "active",
        }
        for n in range(3)
    ]
    resp = {
        "status": 200,
        "reason": "OK",
        "headers": {
            "Content-Type": "application/json",
            "Request-Id": f"req_{i}",
            "Cache-Control": "no-cache, no-store",
            "Server": "nginx",
        },
        "body": {
            "json": {
                "id": sid,
                "object": "financial_connections.session",
                "accounts": {"object": "list", "data": accounts},
                "livemode": False,
                "note": "é ✓",
            }
        },
    }
    verdict = {"valid": True, "errors": [], "drift": []}
    return {
        "request": req,
        "response": resp,
        "validation": {"request": dict(verdict), "response": dict(verdict)},
        "duration_ms": 312.4,
    }


def write(path: Path, n: int) -> Path:
    w = cio.Writer(path, fsync=False)
    for i in range(n):
        w.append(entry(i), stripe_version="2026-10-28.endive")
    w.close()
    return path


def loads(path: Path) -> tuple:
    """(full, compact) loads of ``path``: Cassettes, or the errors' one-line text."""
    out = []
    for compact in (None, Compactor(Settings().matching)):
        try:
            out.append(cio.load(path, compact))
        except cio.CassetteError as e:
            out.append(str(e))
        if compact is not None and not isinstance(out[-1], str):
            _DONE[id(out[-1])] = compact.done
    return tuple(out)


def loads_compact(path: Path) -> object:
    """The compact load of ``path``: a Cassette, or its error's one-line text."""
    try:
        return cio.load(path, Compactor(Settings().matching))
    except cio.CassetteError as e:
        return str(e)


_DONE: dict[int, Compacted] = {}  # a compact load's Compactor's results, by id(cassette)


@pytest.fixture(scope="module", autouse=True)
def _forget_the_compact_loads():
    """``_DONE`` is dropped with the module: the garbage collector would walk what it
    holds again in every later test's full collection."""
    yield
    _DONE.clear()


def projection(full: dict) -> dict:
    """What the compact load keeps of a full load's interaction (as it did before)."""
    out = {}
    for k, v in full.items():
        if k == "request":  # (and the upstream a miss's fix names)
            v = {
                "method": v["method"],
                "path": v["path"],
                **({"upstream": up} if (up := upstream_of(v)) else {}),
            }
        elif k == "response":
            v = {"status": v["status"]}
        out[k] = v
    return out


def assert_same(full, compact) -> None:
    if isinstance(full, str):
        assert compact == full  # the same one-line error, file:line:col included
        return
    assert not isinstance(compact, str), compact
    assert (compact.header, compact.warnings, compact.complete_bytes) == (
        full.header,
        full.warnings,
        full.complete_bytes,
    )
    assert compact.text == ""
    rules = Settings().matching
    assert len(compact.interactions) == len(full.interactions)
    done = _DONE[id(compact)]
    for a, b in zip(full.interactions, compact.interactions, strict=True):
        assert b == projection(a)  # nothing else is kept in the interaction itself
        assert done.wires[id(b)] == kept(wire(a["response"]))  # the same bytes served
        assert done.prepared[id(b)] == prepare(a["request"], rules)  # the same match key
        assert done.returned[id(b)] == returned_ids(a["response"].get("body"))  # its ids


# ------------------------------------------------------------------ the same results
@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 64, cassette_stream.CHUNK])
def test_every_corpus_cassette_loads_alike_at_every_chunk_size(monkeypatch, chunk):
    monkeypatch.setattr(cassette_stream, "CHUNK", chunk)
    assert len(CORPUS) >= 30
    for path in CORPUS:
        assert_same(*loads(path))


@pytest.fixture(scope="module")
def bad_bytes(tmp_path_factory) -> list[tuple[Path, str]]:
    """A good two-interaction cassette with one bad byte sequence put in it, for every
    third line (at its start and in its middle) and four kinds of bad bytes (invalid,
    cut, surrogate): each in a file of its own, with the whole load's error. Written
    and loaded whole once a module: the whole load reads the file at once (no chunks),
    so its error is the same for every chunk size; the tests load each compactly."""
    tmp = tmp_path_factory.mktemp("bad_bytes")
    raw = write(tmp / "good.yaml", 2).read_bytes()
    lines, out = raw.split(b"\n"), []
    for bad in (b"\xff", b"\xc3", b"\xe2\x9c", b"\xed\xa0\x80"):  # invalid, cut, surrogate
        for n in range(0, len(lines), 3):  # at the start and in the middle of lines
            for at in (0, len(lines[n]) // 2):
                broken = lines[:n] + [lines[n][:at] + bad + lines[n][at:]] + lines[n + 1 :]
                p = tmp / f"c{len(out)}.yaml"
                p.write_bytes(b"\n".join(broken))
                try:
                    cio.load(p)
                except cio.CassetteError as e:
                    out.append((p, str(e)))
                    continue
                raise AssertionError(f"{p} loaded whole")
    return out


@pytest.mark.parametrize("chunk", [1, 5, 13])
def test_a_bad_byte_anywhere_is_reported_at_the_same_byte_and_line(bad_bytes, monkeypatch, chunk):
    monkeypatch.setattr(cassette_stream, "CHUNK", chunk)
    for p, full in bad_bytes:
        assert "UTF-8" in full, full
        compact = loads_compact(p)
        assert compact == full


@pytest.mark.parametrize("chunk", [1, 4, 9])
def test_crlf_and_torn_tails_take_the_whole_file_way_alike(tmp_path, monkeypatch, chunk):
    monkeypatch.setattr(cassette_stream, "CHUNK", chunk)
    raw = write(tmp_path / "good.yaml", 3).read_bytes()
    p = tmp_path / "c.yaml"
    crlf = raw.replace(b"\n", b"\r\n")
    half = raw.replace(b"\n", b"\r\n", 40)  # partly CRLF (e.g. hand-edited on Windows)
    cases = [
        crlf,
        half,
        raw[:-1],
        raw[:-3],
        raw + b"---\nseq: 4\n",
        crlf[:-2],
        raw[: len(raw) // 2],
        b"",
        b"\n\n",
        b"...\n",
    ]
    for data in cases:
        p.write_bytes(data)
        assert_same(*loads(p))
    p.write_bytes(crlf)
    full, compact = loads(p)
    assert len(compact.interactions) == 3 and compact.complete_bytes == len(crlf)


def test_a_bad_entry_is_located_on_the_same_line(tmp_path):
    text = write(tmp_path / "good.yaml", 3).read_text()
    p = tmp_path / "c.yaml"
    for old, new in (
        ("  status: 200\n", "  status: two hundred\n"),
        ("  method: GET\n", "  method: 7\n"),
        ("reason: OK\n", "reason: OK\n  reason: OK\n"),
    ):  # duplicate key
        i = text.rindex(old)
        p.write_text(text[:i] + new + text[i + len(old) :])
        full, compact = loads(p)
        assert isinstance(full, str) and f"{p}:" in full, full
        at = text.count("\n", 0, i) + 1  # the changed line (a duplicate: the next one)
        assert full.split(":")[1] in (str(at), str(at + 1)), (full, at)
        assert compact == full


def test_file_errors_are_the_same(tmp_path, monkeypatch):
    good = write(tmp_path / "good.yaml", 2)
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)
    for path in (tmp_path / "missing.yaml", tmp_path, fifo):
        full, compact = loads(path)
        assert isinstance(full, str) and compact == full
    monkeypatch.setattr(cformat, "MAX_CASSETTE_BYTES", good.stat().st_size - 1)
    monkeypatch.setattr(cassette_stream, "CHUNK", 16)
    full, compact = loads(good)
    assert full == compact == f"{good}: larger than {good.stat().st_size - 1} bytes"


def test_bytes_appended_while_loading_are_not_read(tmp_path, monkeypatch):
    """The parse reads the bytes the checks saw (a recorder may append meanwhile)."""
    p = write(tmp_path / "c.yaml", 3)
    scan = cassette_stream.scan

    def scan_then_append(fh, limit):
        got = scan(fh, limit)
        with open(p, "ab") as out:
            out.write(b"---\nseq: 4\nrequest: [torn")
        return got

    monkeypatch.setattr(cassette_stream, "scan", scan_then_append)
    c = cio.load(p, Compactor(Settings().matching))
    assert [it["seq"] for it in c.interactions] == [1, 2, 3]
    assert c.warnings == [] and c.complete_bytes == len(p.read_bytes()) - 25


def test_what_replay_keeps_is_what_it_kept_with_equal_parts_shared(tmp_path):
    p = write(tmp_path / "c.yaml", 6)
    full, compact = loads(p)
    assert_same(full, compact)
    first, third = compact.interactions[0], compact.interactions[2]  # two creates
    assert first["validation"] is third["validation"]
    assert first["request"] is third["request"]  # same method and path
    assert first["response"] is compact.interactions[1]["response"]  # {"status": 200}
    done = _DONE[id(compact)]
    n1, n3 = done.prepared[id(first)][1], done.prepared[id(third)][1]
    assert n1["form"]["permissions"] is n3["form"]["permissions"]
    assert n1["form"]["account_holder"] is not n3["form"]["account_holder"]
    assert done.wires[id(first)][2][0] is done.wires[id(third)][2][0]  # the same header field
    # and replay serves them as the full load does, every time
    settings = Settings()
    pb_full, pb_compact = Playback(full, settings), Playback(compact, settings, compacted=done)
    for a, b in zip(full.interactions, compact.interactions, strict=True):
        for _ in range(2):
            # rb: as the Player serves it (mitm_compat.response, unchecked)
            ra, rb = pb_full.response_for(a), mitm_compat.response(*pb_compact.wire_for(b), 0.0)
            rb.timestamp_start, rb.timestamp_end = ra.timestamp_start, ra.timestamp_end
            assert rb.get_state() == ra.get_state()
            rb.headers["X-Changed"] = "by an addon"  # an answer's headers are its own
    assert all(b"X-Changed" not in f for w in done.wires.values() for f in w[2])


# ------------------------------------------------------------------------ the memory
def test_peak_memory_of_the_compact_load_stays_within_bounds(tmp_path, monkeypatch):
    """The bench's bound (peak <= 3x the file, issue #16) on Python's own allocations:
    the file's bytes are never held whole besides what replay keeps."""
    monkeypatch.setattr(cassette_stream, "CHUNK", 16 << 10)
    p = write(tmp_path / "c.yaml", 300)
    size = p.stat().st_size
    settings = Settings()
    tracemalloc.start()
    try:
        compactor = Compactor(settings.matching)
        loaded = cio.load(p, compactor)
        done = compactor.done
        del compactor  # as load_player does: its sharer is garbage once loaded
        after_load, peak_load = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        pb = Playback(loaded, settings, compacted=done)
        kept_bytes, peak_pb = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(pb.matcher.unused()) == 300
    assert max(peak_load, peak_pb) < 3 * size, (peak_load, peak_pb, size)
    # held besides the kept interactions while loading (the sharer's index, the
    # document being parsed, a chunk): well under a copy of the file
    assert peak_load - after_load < size / 2, (peak_load, after_load, size)


# ----------------------------------------------------------------------- the sharer
def test_the_sharer_shares_only_what_is_the_same():
    share = Sharer()
    a = share({"x": ["US", {"k": None}], "y": 1.0, "z": {}})
    b = share({"x": ["US", {"k": None}], "y": 2.0, "z": {}})
    assert a == {"x": ["US", {"k": None}], "y": 1.0, "z": {}}
    assert a["x"] is b["x"] and a["z"] is b["z"] and a is not b
    # equal but not the same: never stand in for each other
    assert share([0.0])[0] is not share([-0.0])[0] or share([-0.0]) == [-0.0]
    assert str(share({"v": -0.0})["v"]) == "-0.0" and share({"v": 0.0})["v"] == 0.0
    assert type(share([1])[0]) is int and type(share([True])[0]) is bool
    assert share([1]) is not share([True]) and share([True]) == [True]
    assert share({"a": 1, "b": 2}) is not share({"b": 2, "a": 1})  # order kept
    assert list(share({"b": 2, "a": 1})) == ["b", "a"]
    s1, s2 = "".join(["cus_", "1"]), "".join(["cus_", "1"])
    assert s1 is not s2 and share(s1) is share(s2)
    assert share(["a"]) is not share(("a",))  # a tuple is left as it is

"""The writer never acknowledges what the loader refuses (issue #27): every rule of the
loader (:mod:`fc_cassette.entries`, UTF-8) walked, each shown to be a loader rule (a
hand-written cassette breaking it is refused) and respected by the writer (the append
is refused, and the cassette still loads with every earlier interaction)."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest

from fc_cassette.cassette import entries, store as cio, yamlio

SESSIONS = "/v1/financial_connections/sessions"
GOOD = {
    "request": {
        "method": "GET",
        "path": f"{SESSIONS}/fcsess_fakeA",
        "query": {},
        "headers": {"Accept": "application/json"},
        "body": None,
    },
    "response": {
        "status": 200,
        "reason": "OK",
        "headers": {"Content-Type": "application/json"},
        "body": {"json": {"id": "fcsess_fakeA"}},
    },
}


def _set(where: str, value):
    """A change to GOOD: the value at the dotted path (``-`` deletes the key)."""

    def change(doc: dict) -> None:
        *parents, last = where.split(".")
        node = doc
        for key in parents:
            node = node[key]
        if value == "-":
            del node[last]
        else:
            node[last] = value

    return change


CONTROLS = ["\x00", "\x01", "\x1b", "\x7f", "\n", "\r", "\x85", "\u2028", "\u2029"]
# (id, change): one per loader rule (the entries module's validators and the model's
# types), each control character of the header/path/reason rules on its own
RULES = [
    ("request-missing", _set("request", "-")),
    ("response-missing", _set("response", "-")),
    ("method-missing", _set("request.method", "-")),
    ("method-not-a-string", _set("request.method", 1)),
    ("method-not-a-token", _set("request.method", "GE T")),
    ("method-control", _set("request.method", "GET\x01")),
    ("path-missing", _set("request.path", "-")),
    ("path-space", _set("request.path", "/v1/a b")),
    *((f"path-{ord(c):02x}", _set("request.path", f"/v1/a{c}b")) for c in CONTROLS),
    ("scheme-not-a-string", _set("request.scheme", 443)),
    ("port-not-an-int", _set("request.port", "443")),
    ("header-name-not-a-token", _set("request.headers", {"Bad Name": "x"})),
    ("header-name-control", _set("request.headers", {"X-\x01": "x"})),
    ("header-value-not-a-string", _set("request.headers", {"X-N": 1})),
    ("header-value-list-not-strings", _set("request.headers", {"X-N": ["a", 2]})),
    *(
        (f"request-header-{ord(c):02x}", _set("request.headers", {"X-Bad": f"a{c}b"}))
        for c in CONTROLS
    ),
    *(
        (f"response-header-{ord(c):02x}", _set("response.headers", {"X-Bad": [f"a{c}b"]}))
        for c in CONTROLS
    ),
    *((f"reason-{ord(c):02x}", _set("response.reason", f"O{c}K")) for c in CONTROLS),
    ("reason-not-a-string", _set("response.reason", 200)),
    ("status-missing", _set("response.status", "-")),
    ("status-not-an-int", _set("response.status", "200")),
    ("status-too-low", _set("response.status", 99)),
    ("status-too-high", _set("response.status", 600)),
    ("query-leaf-not-a-string", _set("request.query", {"n": 1})),
    ("query-not-a-mapping", _set("request.query", ["a"])),
    ("body-two-kinds", _set("response.body", {"json": {}, "text": "x"})),
    ("body-unknown-kind", _set("response.body", {"xml": "<a/>"})),
    ("body-text-not-a-string", _set("response.body", {"text": 1})),
    ("body-base64-not-a-string", _set("response.body", {"base64": ["x"]})),
    ("body-form-not-a-mapping", _set("request.body", {"form": "a=b"})),
    ("body-form-leaf-not-a-string", _set("request.body", {"form": {"a": {"b": 1}}})),
    ("body-not-a-mapping", _set("request.body", "a=b")),
    ("headers-not-a-mapping", _set("response.headers", ["a"])),
]


def _bad(change) -> dict:
    doc = copy.deepcopy(GOOD)
    change(doc)
    return doc


def _cassette(tmp_path: Path) -> tuple[Path, cio.Writer]:
    path = tmp_path / "c.yaml"
    w = cio.Writer(path, fsync=False)
    w.append(copy.deepcopy(GOOD))
    return path, w


@pytest.mark.parametrize("change", [c for _, c in RULES], ids=[i for i, _ in RULES])
def test_a_loader_rule_is_a_rule_the_writer_respects(change, tmp_path):
    bad = _bad(change)
    # a loader rule: a cassette holding this entry, written by hand, is refused
    by_hand = tmp_path / "by_hand.yaml"
    by_hand.write_text(cio.serialize(cio.new_header(None)) + cio.serialize({"seq": 1, **bad}))
    with pytest.raises(cio.CassetteError):
        cio.load(by_hand)
    # the writer refuses it, and the cassette keeps loading with the earlier entry
    path, w = _cassette(tmp_path)
    with pytest.raises(cio.Unloadable):
        w.append(bad)
    w.append(copy.deepcopy(GOOD))  # and it goes on recording
    w.close()
    loaded = cio.load(path)
    assert [i["seq"] for i in loaded.interactions] == [1, 2]


def test_text_that_is_not_utf8_is_refused_not_written(tmp_path):
    """A header byte that was not UTF-8 arrives as a lone surrogate (mitmproxy decodes
    with surrogateescape): it cannot be written as UTF-8, so it is refused."""
    path, w = _cassette(tmp_path)
    bad = _bad(_set("response.headers", {"X-Bad": "a\udc85b"}))
    with pytest.raises(cio.Unloadable):
        w.append(bad)
    w.close()
    assert len(cio.load(path).interactions) == 1


def test_every_validator_of_the_loader_is_walked():
    """The rules above cover each of the entries module's checks: a new check added
    there without a case here fails this test."""
    source = Path(entries.__file__).read_text()
    checks = set(re.findall(r"raise _fail\(f?\"([a-z {}_()'\[\]:]+)", source))
    hit = set()
    for _, change in RULES:
        problem = entries.check({"seq": 1, **_bad(change)})
        assert problem is not None
        hit.add(problem[1])
    for check in checks:
        words = check.split("{")[0].strip()
        assert any(words in message for message in hit), (check, sorted(hit))


def test_what_the_writer_writes_loads_back_equal(tmp_path):
    """The other half of the agreement: a good entry with every odd-but-legal value
    (a tab in a header, NEL and U+2028 in a body, non-ASCII text) loads back as written."""
    odd = _bad(_set("response.headers", {"X-Tab": "a\tb", "X-Utf8": "caf\u00e9"}))
    odd["response"]["body"] = {"text": "line\x85next\u2028sep\x00nul"}
    path = tmp_path / "odd.yaml"
    w = cio.Writer(path, fsync=False)
    w.append(copy.deepcopy(odd))
    w.close()
    got = cio.load(path).interactions[0]
    assert got["response"]["headers"] == odd["response"]["headers"]
    assert got["response"]["body"] == odd["response"]["body"]
    assert yamlio.load(yamlio.dump({"v": "a\x85b"})) == {"v": "a\x85b"}


@pytest.mark.parametrize("compact", [None, lambda doc: doc], ids=["whole", "compact"])
def test_a_tail_cut_inside_a_multibyte_character_keeps_the_complete_interactions(compact, tmp_path):
    """The docs promise a file cut at any byte keeps its complete interactions: a cut
    inside a UTF-8 character (here the 2nd byte of a 3-byte one) too."""
    path = tmp_path / "c.yaml"
    w = cio.Writer(path, fsync=False)
    for n in range(3):
        doc = copy.deepcopy(GOOD)
        doc["response"]["body"] = {"json": {"id": f"fcsess_{n}", "name": "caf\u00e9 \u20ac"}}
        w.append(doc)
    w.close()
    raw = path.read_bytes()
    euro = raw.rindex("\u20ac".encode())
    path.write_bytes(raw[: euro + 2])  # inside the last interaction's euro sign
    loaded = cio.load(path, compact=compact)
    assert [i["seq"] for i in loaded.interactions] == [1, 2]
    assert loaded.interactions[1]["response"]["body"]["json"]["name"] == "caf\u00e9 \u20ac"
    # a bad byte inside a complete interaction is still an error, with its place
    path.write_bytes(raw.replace("caf\u00e9".encode(), b"caf\xff", 1))
    with pytest.raises(cio.CassetteError, match="not valid UTF-8"):
        cio.load(path, compact=compact)


@pytest.mark.parametrize("compact", [None, lambda doc: doc], ids=["whole", "compact"])
def test_a_line_longer_than_the_bound_is_one_clear_error(compact, tmp_path, monkeypatch):
    """Lines are bounded (yamlio.MAX_LINE, 128 MiB; 4 KiB here) like the whole file, with
    one error naming where the line starts; the chunked scan gathers a long line in
    linear time (it used to copy it again with each chunk)."""
    monkeypatch.setattr(yamlio, "MAX_LINE", 4096)
    path = tmp_path / "c.yaml"
    w = cio.Writer(path, fsync=False)
    w.append(copy.deepcopy(GOOD))
    w.close()
    good = path.read_bytes()
    assert cio.load(path, compact=compact).interactions  # short lines: fine
    for tail in (b"x" * 300_000, b"---\nseq: 2\nnote: " + b"y" * 300_000 + b"\n...\n"):
        path.write_bytes(good + tail)  # one line of 300 KB: more than a chunk
        with pytest.raises(
            cio.CassetteError,
            match=f"line longer than 4096 bytes .from byte "
            f"{len(good) + tail.find(b'x' if b'x' in tail else b'note')}",
        ):
            cio.load(path, compact=compact)


def test_long_line_finds_the_first_long_line():
    data = b"a\n" + b"b" * 10 + b"\n" + b"c" * 30 + b"\nd"
    assert yamlio.long_line(data, max_line=29) == 13
    assert yamlio.long_line(data, max_line=30) is None
    assert yamlio.long_line(b"z" * 100, max_line=99) == 0
    assert yamlio.long_line(b"", max_line=1) is None

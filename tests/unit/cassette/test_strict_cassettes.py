"""Cassettes load strictly: plain JSON-model values of the expected types, nothing else.

No YAML tag (``!!binary``, even ``!!str``), no duplicate key, no NaN/Infinity, no
control character where HTTP cannot carry one (method, path, header names and values,
reason), no coerced type (``seq: '1'``). Each is one line ``file:line[:col]: problem``
from every command that loads a cassette: verify and show run the whole malformed
corpus in test_verify_show.py; here replay and ``record --record-mode none`` /
``new_episodes`` run the strict cases, as real processes.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from builders import examples
from corpus import CORPUS, LOCATED
from fc_cassette.cassette import store as cio, yamlio
from fc_cassette.exchange import interaction

STRICT_CASES = [
    "binary_method.yaml",
    "binary_path.yaml",
    "binary_query.yaml",
    "str_tag.yaml",
    "duplicate_key.yaml",
    "crlf_in_method.yaml",
    "crlf_in_path.yaml",
    "nul_in_header_value.yaml",
    "esc_in_header_value.yaml",
    "control_in_header_name.yaml",
    "nan_in_json_body.yaml",
    "infinity_in_json_body.yaml",
    "seq_as_string.yaml",
    "int_key_in_body.yaml",
]


def test_strict_cases_are_in_the_corpus():
    assert set(STRICT_CASES) <= set(CORPUS) and set(STRICT_CASES) <= set(LOCATED)


# record shares replay's loader: one case per kind of damage (each start costs ~1 s CPU)
# ------------------------------------------------------------------- the YAML side
@pytest.mark.parametrize(
    "text, where, words",
    [
        ("a: !!binary aGVsbG8=\n", "1:4", "YAML tag '!!binary' is not allowed"),
        ("a: !!str x\n", "1:4", "YAML tag '!!str' is not allowed"),
        ("a: !!int '1'\n", "1:4", "YAML tag '!!int' is not allowed"),
        ("a: !!timestamp 2026-01-01\n", "1:4", "YAML tag '!!timestamp' is not allowed"),
        ("!!set {a: null}\n", "1:1", "YAML tag '!!set' is not allowed"),
        ("a: !!omap [b: 1]\n", "1:4", "YAML tag '!!omap' is not allowed"),
        ("a: !fc/custom x\n", "1:4", "YAML tag '!fc/custom' is not allowed"),
        ("a: !<tag:example.com,2026:x> y\n", "1:4", "YAML tag 'tag:example.com,2026:x'"),
        ("a: 1\nb:\n  c: 2\n  c: 3\n", "4:3", "duplicate key 'c'"),
        ("a: 1\n'a': 2\n", "2:1", "duplicate key 'a'"),
        ("a: [.nan]\n", "1:5", "'.nan' is not a finite number"),
        ("a: .Inf\n", "1:4", "'.Inf' is not a finite number"),
        ("a: -.INF\n", "1:4", "'-.INF' is not a finite number"),
        ("a: 1.0e+999\n", "1:4", "'1.0e+999' is not a finite number"),
        ("404: x\n", "1:1", "key '404' is read as a number, not as a string (quote it)"),
        ("1.5: x\n", "1:1", "key '1.5' is read as a number"),
        ("true: x\n", "1:1", "key 'true' is read as a boolean"),
        ("~: x\n", "1:1", "key '~' is read as null"),
        ("? [a]\n: x\n", "1:3", "a key must be a string, not a collection"),
        ("? !!binary aGVsbG8=\n: x\n", "1:3", "YAML tag '!!binary' is not allowed"),
        ("a: &x [1]\nb: *x\n", "1:4", "aliases/anchors are not allowed"),
        ("a: &k x\n*k : 1\n", "1:4", "aliases/anchors are not allowed"),
        ("&k a: 1\nb: *k\n", "1:1", "aliases/anchors are not allowed"),
    ],
)
def test_strict_loader_refuses_with_position(text, where, words):
    with pytest.raises(yamlio.YamlError) as e:
        list(yamlio.load_all(text, strict=True))
    assert e.value.where() == where and words in e.value.message, (e.value.where(), e.value.message)


def test_strict_loader_keeps_plain_values_and_surprises_stay_strings():
    text = (
        "s: x\nq: 'on'\ni: [1, -2, 0, 12345678901234567890]\n"
        "f: [1.5, -0.25, 1.0e+3, 2.5E-7]\nb: [true, false, True, FALSE]\n"
        "n: [null, ~, Null]\n"
        "yaml11: [0x1f, 017, 1_000, +1, 190:20:30, .5, 1., 1_0.5, yes, no, on, off, Y, n]\n"
        "t: 2026-10-28\nts: 2026-10-28 10:00:00\nm: <<\ne: =\n'<<': {a: 1}\n"
        "on: country\nempty: {}\nlist: []\n"
    )
    assert list(yamlio.load_all(text, strict=True)) == [
        {
            "s": "x",
            "q": "on",
            "i": [1, -2, 0, 12345678901234567890],
            "f": [1.5, -0.25, 1000.0, 2.5e-7],
            "b": [True, False, True, False],
            "n": [None, None, None],
            "yaml11": [
                "0x1f",
                "017",
                "1_000",
                "+1",
                "190:20:30",
                ".5",
                "1.",
                "1_0.5",
                "yes",
                "no",
                "on",
                "off",
                "Y",
                "n",
            ],
            "t": "2026-10-28",
            "ts": "2026-10-28 10:00:00",
            "m": "<<",
            "e": "=",
            "<<": {"a": 1},
            "on": "country",
            "empty": {},
            "list": [],
        }
    ]
    # the relaxed loader (config files) is unchanged
    assert math.isnan(yamlio.load("a: .nan\n")["a"])


finite = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(),
    ),
    lambda c: st.one_of(st.lists(c, max_size=5), st.dictionaries(st.text(), c, max_size=5)),
    max_leaves=40,
)


# 150 derandomized documents (300 took 2-5 s of tests/unit, issue #25)
@settings(max_examples=examples(150), derandomize=True, deadline=None)
@given(finite)
def test_whatever_the_emitter_writes_loads_strictly(value):
    """Every cassette fc-cassette writes loads back under the strict rules."""
    assert list(yamlio.load_all(yamlio.dump({"v": value}), strict=True)) == [{"v": value}]


# ---------------------------------------------------------------- the model side
GOOD = {
    "seq": 1,
    "request": {"method": "GET", "path": "/v1/x", "query": {}, "headers": {}, "body": None},
    "response": {
        "status": 200,
        "reason": "OK",
        "headers": {"A": "b\tc"},
        "body": {"json": {"a": 1}},
    },
}


def _load(tmp_path: Path, entry: dict) -> cio.Cassette:
    p = tmp_path / "c.yaml"
    p.write_text(cio.serialize({"fc_cassette": 1}) + cio.serialize(entry))
    return cio.load(p)


def _with(path: tuple, value) -> dict:
    import copy

    entry = copy.deepcopy(GOOD)
    node = entry
    for k in path[:-1]:
        node = node[k]
    node[path[-1]] = value
    return entry


@pytest.mark.parametrize(
    "path, value, words",
    [
        (("seq",), True, "seq: Input should be a valid integer"),
        (("request", "port"), "443", "request.port: Input should be a valid integer"),
        (("request", "method"), "GET /", "method 'GET /' is not an HTTP token (a space)"),
        (("request", "path"), "/v1/x y", "request.path: a space in the path"),
        (("request", "path"), "/v1/\x7f", "control character U+007F in the path"),
        (("response", "reason"), "OK\r\nX: 1", "response.reason: control character U+000D"),
        (
            ("response", "headers"),
            {"A": ["ok", "b\x00"]},
            "response.headers.A: control character U+0000 in a header value",
        ),
        (("response", "headers"), {"A B": "x"}, "header name 'A B' is not an HTTP token"),
        (("request", "headers"), {"A": 1}, "a header value is a string"),
        (("request", "body"), {"form": {"amount": 100}}, "form values are strings, not int"),
        (("request", "query"), {"expand": [None]}, "query values are strings, not NoneType"),
        (("request", "body"), {"text": 5}, "a text body is a string, not int"),
        (("request", "body"), {"form": ["a"]}, "a form body is a mapping, not list"),
        (("response", "body"), {"json": {}, "text": "x"}, "a body has one kind, not 2"),
        (("response", "body"), {"xml": "<a/>"}, "unknown body kind 'xml'"),
    ],
)
def test_strict_types_and_characters(tmp_path, path, value, words):
    with pytest.raises(cio.CassetteError) as e:
        _load(tmp_path, _with(path, value))
    assert words in str(e.value) and "\n" not in str(e.value), str(e.value)
    assert e.value.line is not None


def test_a_valid_entry_loads_with_its_defaults(tmp_path):
    c = _load(tmp_path, GOOD)
    assert c.interactions[0]["response"]["headers"] == {"A": "b\tc"}  # a tab is fine


def test_an_upstream_nan_body_is_recorded_as_text_so_the_cassette_still_loads(tmp_path):
    for raw in (b'{"a": NaN}', b'{"a": -Infinity}', b'{"a": 1e999}'):
        body = interaction.decode_body(raw, "application/json")
        assert body == {"text": raw.decode()}
        entry = _with(("response", "body"), body)
        assert _load(tmp_path, entry).interactions[0]["response"]["body"] == body
    assert interaction.decode_body(b'{"a": 1.5e3}', "application/json") == {"json": {"a": 1500.0}}

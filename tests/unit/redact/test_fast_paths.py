"""The hot paths' shortcuts (issue #16) give exactly what the code they stand in for
gives: the optimizations change no behaviour.

Each fast path (``fc_cassette.redact.runs``, the ASCII shortcuts in ``patterns`` and
``fieldshapes``, the object-secret anchor bound, the one-search window filters of the
scanner and the redactor, the inlined base64 windows, the NUL count before wide-text
readings, ``interaction.split_path``) is compared with its plain form on generated input
built from the pieces that matter: class boundaries, line breaks and their escapes,
prefixes, case variants and non-ASCII look-alikes (the Kelvin sign and the long s fold
to ASCII under ``re``'s ignore-case).

Sized for CI (issue #25): an eighth of the examples they first ran with (half of the
quarter of the first sizing: 50-100 inputs a property, 2-3 ms of Hypothesis each), random
each run, so CI runs keep exploring: together they draw new inputs every run; a tenth of
that with ``scripts/test.sh --quick``."""

from __future__ import annotations

import base64

from hypothesis import given, settings, strategies as st

from builders import examples
from fc_cassette.redact import codecs, fieldshapes, patterns, runs, scanner

PIECES = [
    "a",
    "A",
    "f",
    "F",
    "0",
    "9",
    "2",
    "7",
    "z",
    "Z",
    "q",
    "+",
    "/",
    "_",
    "-",
    "=",
    "==",
    "\\",
    "\\n",
    "\\r\\n",
    "\n",
    "\r\n",
    " ",
    "\t",
    "  ",
    ":",
    ";",
    ",",
    ".",
    "&",
    "&amp;",
    "&#115;",
    "%",
    "%73",
    "%2F",
    "\\u0073",
    "\\\\u006b",
    "u",
    "r",
    "n",
    "é",
    "€",
    "\x00",
    "\x1f",
    "\x7f",
    "\xff",
    "K",
    "ſ",
    "\u0131",
    "abcdef0123456789",
    "ABCDEFGHIJKLMNOP",
    "abcdefghijklmnop",
    "2345672345672345",
    "abcd2345efgh6723",
    "ABCD2345EFGH6723",
    "===",
    "QUJD=",
    "QQ==QUJD",
    "QUJDREVGR0hJSktMTU5PUFFSU1RVVldY",
    "c2tfdGVzdF9hYmMxMjM0NTY3ODkw",
    "sk_test_",
    "rk_live_",
    "whsec_",
    "fcsess_client_secret_",
    "pi_3Abc",
    "_secret_",
    "REDACTED",
    "REDACTED_2",
    "bearer",
    "BeArEr",
    "Bearer ",
    "Authorization: ",
    "content-disposition",
    "Content-Disposition",
    "client_secret",
    "secret=",
]
TEXT = st.lists(st.sampled_from(PIECES), max_size=60).map("".join)
# long class runs too: the MIME bound (100) and the hex/base32 minimum (16)
RUNS = st.builds(lambda a, n, b: a + "QUJD" * n + b, TEXT, st.integers(0, 40), TEXT)
ANY = st.one_of(TEXT, RUNS)


def spans(matches) -> list[tuple[int, int]]:
    return [m.span() for m in matches]


@settings(max_examples=examples(50), deadline=None)
@given(ANY)
def test_hex_runs_are_the_hex_regex_matches(text: str) -> None:
    assert list(runs.hex_runs(runs.as_bytes(text))) == spans(codecs._HEX_RUN.finditer(text))


@settings(max_examples=examples(50), deadline=None)
@given(ANY)
def test_b64_runs_are_the_b64_regex_matches(text: str) -> None:
    assert list(runs.b64_runs(runs.as_bytes(text))) == spans(codecs._B64_RUN.finditer(text))


@settings(max_examples=examples(50), deadline=None)
@given(ANY)
def test_b32_probe_is_true_whenever_the_b32_regex_matches(text: str) -> None:
    assert runs.has_b32_run(runs.as_bytes(text)) == bool(codecs._B32_RUN.search(text))


@settings(max_examples=examples(75), deadline=None)
@given(ANY)
def test_mime_matches_from_the_starts_are_the_mime_regex_matches(text: str) -> None:
    fast = patterns._matches_from(codecs._MIME_RUN, text, runs.mime_starts(runs.as_bytes(text)))
    assert spans(fast) == spans(codecs._MIME_RUN.finditer(text))


def test_mime_starts_cover_wrapped_base64() -> None:
    """A real wrapped run (76-character lines, as MIME writes them) in YAML shapes."""
    blob = base64.encodebytes(b"sk_test_" + b"x" * 200).decode()
    for text in (
        blob,
        "body: |\n  " + blob.replace("\n", "\n  "),
        'body: "' + blob.replace("\n", "\\n") + '"',
        "k:\n" + blob,
        "k:\r\n" + blob.replace("\n", "\r\n"),
        "k:\\n" + blob.replace("\n", "\\n"),
    ):
        fast = patterns._matches_from(codecs._MIME_RUN, text, runs.mime_starts(runs.as_bytes(text)))
        assert spans(fast) == spans(codecs._MIME_RUN.finditer(text)) != []


@settings(max_examples=examples(75), deadline=None)
@given(ANY)
def test_secret_matches_are_the_secret_regex_matches(text: str) -> None:
    fast = [(m.span(), m.groupdict()) for m in patterns._secret_matches(text)]
    assert fast == [(m.span(), m.groupdict()) for m in patterns._SECRET.finditer(text)]


def test_object_secret_after_a_long_id_and_mid_word() -> None:
    for text in (
        "x" * 300 + "pi_3" + "A" * 95 + "_secret_abc",
        "xpi_3Abc_secret_abc pi_3Abc_secret_def",
        "-cs_test_a1B_secret_Z9",
    ):
        fast = [m.span() for m in patterns._secret_matches(text)]
        assert fast == spans(patterns._SECRET.finditer(text)) != []


@settings(max_examples=examples(50), deadline=None)
@given(ANY)
def test_bearer_probes_are_the_bearer_regex(text: str) -> None:
    assert patterns.has_bearer(text) == bool(patterns._BEARER_QUICK.search(text))
    assert list(patterns.bearer_at(text)) == [
        m.start() for m in patterns._BEARER_QUICK.finditer(text)
    ]


@settings(max_examples=examples(50), deadline=None)
@given(ANY)
def test_field_shape_probes_are_their_regexes(text: str) -> None:
    assert fieldshapes._has_disposition(text) == bool(fieldshapes._DISPOSITION.search(text))
    assert fieldshapes._has_binary_char(text) == bool(fieldshapes._BINARY_CHAR.search(text))


def test_field_shape_probes_fold_case_as_re_does() -> None:
    """Non-ASCII text takes the regex: re's ignore-case folds the long s to "s"."""
    assert fieldshapes._has_disposition("Content-Dispo\u017fition: form-data")
    assert patterns.has_bearer("BEARER") and not patterns.has_bearer("be arer")


def _windows_reference(run: str) -> tuple:
    """The window filter without its one-search shortcut (the code before it)."""
    out = []
    for k, dec, _ in codecs._b64_windows(run):
        if patterns._INTERESTING.search(dec) or "&" in dec:
            out.append((k, dec, "base64"))
        if (inf := codecs.inflated(dec)) is not None:
            out.append((k, inf, "base64+gzip"))
        if "\x00" in dec and (wide := scanner._wide_text(dec.encode("latin-1"))) is not None:
            out.append((k, wide, "base64"))
    return tuple(out)


B64ISH = st.one_of(
    st.binary(min_size=12, max_size=80).map(lambda b: base64.b64encode(b).decode()),
    st.lists(st.sampled_from(PIECES), max_size=30).map(
        lambda p: base64.urlsafe_b64encode("".join(p).encode("utf-8", "replace")).decode()
    ),
    st.text(
        alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/_-",
        min_size=16,
        max_size=80,
    ),
)


@settings(max_examples=examples(75), deadline=None)
@given(B64ISH)
def test_window_filter_keeps_every_interesting_window(run: str) -> None:
    assert scanner._b64_interesting(run) == _windows_reference(run)


def test_window_filter_sees_gzip_wide_text_and_entities() -> None:
    import gzip

    for raw in (
        gzip.compress(b"sk_test_fakeGzip123456"),
        "sk_test_fake1234".encode("utf-16-le"),
        b"&#115;k_test_abcdef123456",
        b"&#115;&#107;&#95;&#116;&#101;&#115;",
    ):
        run = base64.b64encode(raw).decode()
        assert scanner._b64_interesting(run) == _windows_reference(run) != ()


def _windows_decoded_one_by_one(run: str) -> list:
    """Each alignment through ``_b64_decode`` (what ``_b64_windows`` inlines)."""
    body, out = run.rstrip("="), []
    for k in range(4):
        if len(body) - k < 16:
            break
        if (dec := codecs._b64_decode(body[k:])) is not None:
            out.append((k, dec[0].decode("latin-1"), dec[1]))
    return out


@settings(max_examples=examples(75), deadline=None)
@given(st.text(alphabet="AZaz09+/_-=Q", max_size=40))
def test_b64_windows_are_each_alignment_decoded(run: str) -> None:
    assert codecs._b64_windows(run) == _windows_decoded_one_by_one(run)


def _wide_text_reference(raw: bytes) -> str | None:
    """Every wide reading tried (the code before its NUL-count shortcut)."""
    for codec, width in (("utf-16-le", 2), ("utf-16-be", 2), ("utf-32-le", 4), ("utf-32-be", 4)):
        for start in range(width):
            text = raw[start:].decode(codec, "ignore")
            if patterns._INTERESTING.search(text):
                return text
    return None


NUL_HEAVY = st.lists(
    st.sampled_from([b"\x00", b"%", b"4", b"1", b"A", b"\xd8", b"\xff", b"\x00\x00", b"s"]),
    max_size=24,
).map(b"".join)


@settings(max_examples=examples(100), deadline=None)
@given(NUL_HEAVY)
def test_wide_text_shortcut_keeps_every_reading(raw: bytes) -> None:
    assert scanner._wide_text(raw) == _wide_text_reference(raw)


def test_shortest_wide_secrets_are_read() -> None:
    for codec in ("utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"):
        for text in ("%41", "x%41", "secret"):
            raw = text.encode(codec)
            assert scanner._wide_text(raw) == _wide_text_reference(raw) is not None


TARGETS = st.lists(
    st.sampled_from(
        [
            "/",
            "//",
            "/v1",
            "?",
            "a=b",
            "&",
            "#",
            "\t",
            "\r",
            "\n",
            " ",
            ":",
            "x:y",
            "%2F",
            "http:",
            "\x00",
            "é",
            ";",
        ]
    ),
    max_size=12,
).map("".join)


@settings(max_examples=examples(75), deadline=None)
@given(TARGETS)
def test_split_path_is_urlsplits_path_and_query(path: str) -> None:
    from urllib.parse import urlsplit

    from fc_cassette.exchange.interaction import split_path

    parts = urlsplit(path)
    assert split_path(path) == (parts.path, parts.query)


def _form_reference(data: bytes) -> dict:
    """formcodec.decode as it was, on parse_qsl (its memoized pairs stand in for it)."""
    from urllib.parse import parse_qsl

    from fc_cassette.exchange import formcodec

    text = data.decode("utf-8")
    try:
        pairs = parse_qsl(
            text, keep_blank_values=True, encoding="utf-8", errors="strict", separator="&"
        )
    except UnicodeDecodeError as e:
        raise formcodec.FormDecodeError(
            f"form data is not valid UTF-8 once percent-decoded ({e.reason})"
        ) from None
    root: dict = {}
    for key, value in pairs:
        if key == "":
            raise formcodec.FormDecodeError("empty parameter name")
        formcodec._assign(root, key, tuple(formcodec.split_key(key)), value)
    return formcodec._finish(root)


FORMS = st.lists(
    st.sampled_from(
        [
            "a",
            "b",
            "=",
            "&",
            "&&",
            "+",
            "%2B",
            "%5B",
            "%5D",
            "[",
            "]",
            "[0]",
            "[]",
            "[x]",
            "%C3%A9",
            "%C3",
            "%ZZ",
            "%",
            "é",
            "cus_1",
            "==",
            " ",
        ]
    ),
    max_size=16,
).map("".join)


@settings(max_examples=examples(100), deadline=None)
@given(FORMS)
def test_form_decode_is_the_parse_qsl_decode(text: str) -> None:
    from fc_cassette.exchange import formcodec

    def outcome(fn):
        try:
            return fn(text.encode("utf-8"))
        except formcodec.FormDecodeError as e:
            return ("error", str(e))

    assert outcome(formcodec.decode) == outcome(_form_reference)


LONG = st.lists(st.one_of(st.sampled_from(PIECES), B64ISH), max_size=60).map(
    lambda parts: "z " * 130 + " ".join(parts)
)  # long enough for the marks


@settings(max_examples=examples(40), deadline=None)
@given(LONG)
def test_base64_runs_of_a_long_string_are_redacted_as_the_regex_finds_them(text: str) -> None:
    from fc_cassette.redact import Redactor, layers

    fast = layers.sub_b64_runs(text, 0, Redactor()._rewrite, patterns._INTERESTING)
    rewrite = Redactor()._rewrite  # (a fresh one: the same numbering)
    slow = codecs._B64_RUN.sub(
        lambda m: layers.sub_b64(m.group(0), 0, rewrite, patterns._INTERESTING), text
    )
    assert len(text) >= layers._MARKS_FROM and fast == slow


def test_a_base64_secret_in_a_long_string_is_redacted() -> None:
    from fc_cassette.redact import Redactor

    blob = base64.b64encode(b"key=sk_test_" + b"A1" * 20).decode()
    text = "x " * 200 + blob + " y"
    out = Redactor().redact_text(text)
    assert blob not in out and out.startswith("x " * 200)
    assert "sk_test_REDACTED_1" in base64.b64decode(out.split()[-2] + "==").decode("latin-1")


def test_the_memos_do_not_keep_long_names() -> None:
    """Hostile traffic with long keys or form names must not fill the process with them:
    only short names are memoized (and a long one decodes the same way)."""
    from fc_cassette.exchange import formcodec
    from fc_cassette.redact.patterns import _memo_key_role, key_role

    long_name = "k" * 5000
    before = (
        formcodec._memo_unquote.cache_info().currsize,
        formcodec._memo_segments.cache_info().currsize,
        _memo_key_role.cache_info().currsize,
    )
    body = f"{long_name}%5Bx%5D=1&{long_name}_client_secret=2".encode()
    assert formcodec.decode(body) == _form_reference(body)
    assert key_role(long_name + "-authorization") == key_role("authorization") != 0
    assert key_role("client_secret") != key_role(long_name)
    after = (
        formcodec._memo_unquote.cache_info().currsize,
        formcodec._memo_segments.cache_info().currsize,
        _memo_key_role.cache_info().currsize,
    )
    assert after[0] == before[0] and after[1] == before[1]
    assert after[2] <= before[2] + 2  # the two short names only

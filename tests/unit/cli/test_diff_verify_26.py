"""Issue #26, item 13: ``verify`` takes a folder; ``diff`` pairs ids consistently,
ignores volatile headers by default (``--keep-volatile`` keeps them, ``--ignore GLOB``
adds fields), and uses the one id-in-path rule the miss explanations use (issue #21)."""

from __future__ import annotations

from pathlib import Path

import pytest

from fc_cassette.cassette import store as cio
from fc_cassette.cli import diff, verify
from fc_cassette.matching import closest

ROOT = Path(__file__).resolve().parents[3]
SOURCE = (ROOT / "tests" / "data" / "sessions_v1.yaml").read_text()


@pytest.mark.parametrize(
    "path",
    [
        "/v1/financial_connections/sessions/fcsess_1Abc",
        "/v1/financial_connections/accounts/fca_2Def/refresh",
        "/v1/financial_connections/accounts/fca_2Def/owners",
        "/v1/customers/cus_fake1/payment_methods",
        "/v1/financial_connections/sessions",
        "/v1/financial_connections/sessions/fcsess_abc",  # no digit, no capital: not an id
    ],
)
def test_diff_and_the_miss_explanations_share_one_id_in_path_rule(path):
    it = {"request": {"method": "get", "path": path}}
    assert diff.shape(it) == f"GET {closest.shape(path)}"
    if "financial_connections" in path:  # never taken for an id
        assert "/financial_connections/" in closest.shape(path)


def _load(tmp_path: Path, name: str, text: str) -> cio.Cassette:
    (tmp_path / name).write_text(text)
    return cio.load(tmp_path / name)


def test_volatile_headers_are_ignored_unless_kept_and_globs_add_fields(tmp_path):
    # (a request id of Stripe's shape would pair like any id: this one has another)
    b = SOURCE.replace("Request-Id: req_9Wvgfygw2wMqZc", "Request-Id: other-format-7")
    assert b != SOURCE
    a, bb = _load(tmp_path, "a.yaml", SOURCE), _load(tmp_path, "b.yaml", b)
    assert not diff.compare(a, bb)["differ"]
    kept = diff.compare(a, bb, keep_volatile=True)
    fields = kept["changed"][0]["fields"]
    assert kept["differ"] and fields[0]["path"] == "response.headers.Request-Id"
    c = SOURCE.replace(
        "return_url: https://example.test/fc/return", "return_url: https://example.test/fc/other", 1
    )
    cc = _load(tmp_path, "c.yaml", c)
    assert diff.compare(a, cc)["differ"]
    assert not diff.compare(a, cc, ignore=("*.return_url",))["differ"]


def test_ids_pair_consistently():
    ids = diff.IdPairs()
    assert ids.same("/v1/x/fcsess_1A", "/v1/x/fcsess_2B")
    assert ids.same("fcsess_1A", "fcsess_2B")  # the same pair again
    assert not ids.same("fcsess_1A", "fcsess_3C")  # A's id now stands for another
    assert not ids.same("fca_9Z", "fcsess_4D")  # another kind of object
    assert not ids.same("/v1/x/fcsess_5E", "/v1/y/fcsess_6F")  # the text around differs
    assert not ids.same(1, "1") and ids.same(1, 1)


def test_verify_takes_a_folder(tmp_path, capsys):
    sub = tmp_path / "cassettes" / "test_x"
    sub.mkdir(parents=True)
    (sub / "a.yaml").write_text(SOURCE)
    (tmp_path / "cassettes" / "b.yml").write_text(SOURCE)
    (tmp_path / "cassettes" / "notes.txt").write_text("not a cassette")
    assert verify.main([str(tmp_path / "cassettes")]) == 0
    assert "verify: 2 cassette(s), 12 interaction(s), 0 problem(s)" in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.mkdir()
    assert verify.main([str(empty)]) == 2
    assert capsys.readouterr().err.startswith(
        f"fc-cassette: verify: no cassette (*.yaml, *.yml) under {empty}"
    )

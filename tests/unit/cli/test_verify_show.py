"""The malformed-cassette corpus used by the verify/show e2e tests is complete."""

from __future__ import annotations

from corpus import CORPUS, MALFORMED


def test_corpus_is_complete():
    on_disk = {p.name for p in MALFORMED.glob("*.yaml")}
    assert on_disk == set(CORPUS)
    assert len(CORPUS) >= 12

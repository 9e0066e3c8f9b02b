"""In-process checks of issue #24's pieces: re-redaction (numbering, byte-for-byte
documents, idempotence, encodings), the documents of a cassette, usage files, the
cassettes a folder holds, and audit's findings."""

from __future__ import annotations

import base64
import datetime as dt
import json
import os

import pytest

from fc_cassette.cassette import store as cio, usage
from fc_cassette.cassette.files import MissingPath, cassette_files
from fc_cassette.cassette.rewrite import documents, replace
from fc_cassette.cli import audit as audit_mod
from fc_cassette.cli.prune import pruned
from fc_cassette.cli.redact_cmd import reredact
from fc_cassette.redact import RedactionRules, scan

EK1 = "ek_test_" + "FakeEphemeralOne0123456789"
EK2 = "ek_test_" + "FakeEphemeralTwo0123456789"


def entry(form: dict | None = None, body: dict | None = None, headers=None) -> dict:
    return {
        "request": {
            "method": "POST",
            "path": "/v1/ephemeral_keys",
            "headers": {"Authorization": "Bearer sk_test_REDACTED_1"},
            "body": {"form": form} if form else None,
        },
        "response": {
            "status": 200,
            "headers": headers or {"Content-Type": "application/json"},
            "body": {"json": body} if body else None,
        },
    }


def write(path, *entries, header=None) -> cio.Cassette:
    docs = [header or {"fc_cassette": 1, "stripe_version": "2026-10-28.endive"}]
    docs += [{"seq": n, **e} for n, e in enumerate(entries, start=1)]
    path.write_text("".join(cio.serialize(d) for d in docs))
    return cio.load(path)


def test_one_secret_one_placeholder_continuing_the_cassettes_numbers(tmp_path):
    c = write(
        tmp_path / "c.yaml",
        entry(body={"secret_note": "ek_test_REDACTED_1"}),  # redacted before
        entry(form={"key": EK1}),
        entry(body={"echo": EK1, "other": EK2}),
    )
    out = reredact(c, RedactionRules())
    assert not scan(out.text) and out.left == 0 and out.changed == 2
    again = cio.parse(out.text, c.path)
    assert (
        again.interactions[0]["response"]["body"]["json"]["secret_note"] == "ek_test_REDACTED_1"
    )  # kept its number
    assert again.interactions[1]["request"]["body"]["form"]["key"] == "ek_test_REDACTED_2"
    assert again.interactions[2]["response"]["body"]["json"] == {
        "echo": "ek_test_REDACTED_2",
        "other": "ek_test_REDACTED_3",
    }
    assert reredact(again, RedactionRules()).text == out.text  # idempotent


def test_encoded_and_escaped_secrets_are_found_and_redacted(tmp_path):
    b64 = base64.b64encode(EK1.encode()).decode()
    path = tmp_path / "c.yaml"
    c = write(path, entry(body={"blob": b64}))
    # the same key written with a YAML escape: a text scan does not see it
    path.write_text(
        path.read_text().replace(b64, b64) + "---\nseq: 2\nrequest:\n  method: GET"
        '\n  path: /v1/x\nresponse:\n  status: 200\n  body:\n    text: "'
        '\\x65k_test_FakeEscapedKey0123456789"\n...\n'
    )
    c = cio.load(path)
    report = audit_mod.audit(c, audit_mod.Context(None, None, dt.datetime.now(dt.UTC)))
    kinds = [(f["category"], f["kind"]) for f in report["findings"]]
    assert kinds.count(("secret", "ek_test")) == 2, report["findings"]
    assert "Fake" not in json.dumps(report)
    out = reredact(c, RedactionRules())
    assert out.left == 0 and EK1 not in out.text and b64 not in out.text
    assert "FakeEscapedKey" not in out.text


def test_unchanged_documents_keep_their_text_and_a_torn_tail_is_dropped(tmp_path):
    path = tmp_path / "c.yaml"
    write(path, entry(body={"a": "1"}), entry(body={"b": "2"}))
    text = path.read_text().replace("---\nseq: 2", "# a reviewer's note\n---\nseq: 2")
    path.write_text(text + "---\nseq: 3\nrequest:\n  method: GE")  # torn
    c = cio.load(path)
    docs = documents(c)
    assert docs is not None and "".join(docs) == text and docs[2].startswith("# a reviewer")
    out = reredact(c, RedactionRules())
    assert out.text == text and out.torn and out.changed == 0
    kept, removed = pruned(cio.parse(text, path), {2})
    assert removed == [1] and kept == docs[0] + docs[2]


def test_replace_keeps_the_mode_and_leaves_no_temporary_file(tmp_path):
    path = tmp_path / "c.yaml"
    write(path, entry(body={"a": "one"}))
    path.chmod(0o640)
    replace(path, path.read_text().replace("one", "two"))
    assert oct(path.stat().st_mode & 0o777) == oct(0o640)
    assert cio.load(path).interactions[0]["response"]["body"]["json"] == {"a": "two"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.yaml"]


def test_usage_files_merge_and_refuse_what_is_not_one(tmp_path):
    target = tmp_path / "u.json"
    usage.write(target, {"/a.yaml": {1, 3}})
    usage.write(target, {"/a.yaml": {2}, "/b.yaml": set()})
    assert usage.read(target) == {"/a.yaml": {1, 2, 3}, "/b.yaml": set()}
    assert usage.read(target, relative=True) == {
        os.path.relpath("/a.yaml"): {1, 2, 3},
        os.path.relpath("/b.yaml"): set(),
    }
    target.write_text('{"mine": true}')
    with pytest.raises(usage.UsageError):  # not a usage file: never overwritten
        usage.write(target, {"/a.yaml": {1}})
    assert target.read_text() == '{"mine": true}'
    for text in ("[]", "{}", '{"fc_cassette_usage": 1, "cassettes": [{"cassette": 1}]}', "nope"):
        target.write_text(text)
        with pytest.raises(usage.UsageError, match=str(target)):
            usage.read(target)


def test_folders_contribute_only_cassettes(tmp_path):
    (tmp_path / "a").mkdir()
    write(tmp_path / "a" / "one.yaml", entry())
    (tmp_path / "a" / "config.yaml").write_text("scope: {}\n")
    (tmp_path / ".git").mkdir()
    write(tmp_path / ".git" / "hidden.yaml", entry())
    write(tmp_path / "b.yml", entry())
    (tmp_path / ".b.yml.1.rewrite").write_text((tmp_path / "b.yml").read_text())
    found = cassette_files([str(tmp_path), str(tmp_path / "b.yml")])
    assert [p.name for p in found] == ["b.yml", "one.yaml"]  # once each, a folder first
    with pytest.raises(MissingPath, match="nope.yaml: no such file or folder"):
        cassette_files([str(tmp_path / "nope.yaml")])


def test_audit_versions_and_age(tmp_path):
    c = write(
        tmp_path / "c.yaml",
        entry(headers={"Stripe-Version": "2024-06-20"}),
        header={
            "fc_cassette": 1,
            "stripe_version": "2026-10-28.endive",
            "created": "2025-01-01T00:00:00+00:00",
        },
    )
    assert audit_mod.api_versions(c) == ["2026-10-28.endive", "2024-06-20"]
    now = dt.datetime(2026, 12, 7, tzinfo=dt.UTC)
    report = audit_mod.audit(c, audit_mod.Context("2026-10-28.endive", 365, now))
    got = {(f["category"], f["kind"]): f["message"] for f in report["findings"]}
    assert (
        got[("api_version", "stripe_version")]
        == "recorded with Stripe API version 2024-06-20, not 2026-10-28.endive"
    )
    assert got[("age", "created")].startswith("recorded 705 day(s) ago")
    assert report["age_days"] == 705.0 and report["recorded_from"] == "created"


HEX = ("sk_test_" + "FakeHexKey0123456789").encode().hex()  # the scanner reads hex; the
# redactor cannot rewrite it: left for a human, and never imported


def test_a_secret_the_redactor_cannot_rewrite_is_reported_and_never_imported(tmp_path, capsys):
    from fc_cassette import cli

    path = tmp_path / "c.yaml"
    c = write(path, entry(body={"a": "clean"}), entry(body={"note": HEX}))
    assert reredact(c, RedactionRules()).left == 1
    assert cli.main(["redact", str(path)]) == 1
    out = capsys.readouterr().out
    assert "1 secret(s) the redactor cannot rewrite are left" in out and HEX not in out
    har = tmp_path / "c.har"
    (tmp_path / "raw.yaml").write_text(path.read_text().replace(HEX, "sk_test_" + "FakeRaw12345"))
    assert cli.main(["export", str(tmp_path / "raw.yaml"), "-o", str(har)]) == 1
    assert "nothing was written: run 'fc-cassette redact" in capsys.readouterr().err
    assert not har.exists()  # a cassette holding a raw key is never exported
    assert cli.main(["export", str(path), "-o", str(har)]) == 1  # nor a hex-encoded one
    capsys.readouterr()
    from fc_cassette.cli.har import har_of

    har.write_text(json.dumps(har_of(c)))  # written by hand, as a capture would be
    assert cli.main(["import", str(tmp_path / "c.har"), "-o", str(tmp_path / "in.yaml")]) == 1
    err = capsys.readouterr().err
    assert (
        "refused POST /v1/ephemeral_keys: the secret scanner found 1 secret(s) left "
        "after redaction (sk_test)"
        in err
        and HEX not in err
    )
    imported = cio.load(tmp_path / "in.yaml")
    assert [i["response"]["body"]["json"] for i in imported.interactions] == [{"a": "clean"}]
    assert HEX not in (tmp_path / "in.yaml").read_text()


def test_a_negative_age_is_bad_input(tmp_path, capsys):
    from fc_cassette import cli

    assert cli.main(["audit", "--max-age-days", "-1", str(tmp_path)]) == 2
    assert (
        capsys.readouterr().err.splitlines()[0]
        == "fc-cassette: audit: --max-age-days -1: use 0 or more days"
    )


def test_prune_finds_the_cassette_by_its_relative_path_in_another_checkout(tmp_path, monkeypatch):
    from fc_cassette.cli.prune import used_seqs

    monkeypatch.chdir(tmp_path)
    (tmp_path / "cassettes").mkdir()
    write(tmp_path / "cassettes" / "c.yaml", entry(), entry())
    ci = tmp_path / "ci.json"  # written by a run in /builds/app (CI's checkout)
    ci.write_text(
        json.dumps(
            {
                "fc_cassette_usage": 1,
                "cassettes": [
                    {
                        "cassette": "/builds/app/cassettes/c.yaml",
                        "relative": "cassettes/c.yaml",
                        "used": [2],
                    }
                ],
            }
        )
    )
    assert used_seqs("cassettes/c.yaml", [str(ci)]) == {2}
    with pytest.raises(usage.UsageError, match="no usage file names cassettes/x.yaml"):
        used_seqs("cassettes/x.yaml", [str(ci)])


def test_a_cassette_being_recorded_is_refused_in_one_line(tmp_path, capsys):
    from fc_cassette import cli
    from fc_cassette.cassette.lock import RecordingLock

    path = tmp_path / "c.yaml"
    write(path, entry(body={"note": EK1}))
    before = path.read_bytes()
    lock = RecordingLock.acquire(path)  # a recorder holds it
    try:
        assert cli.main(["redact", str(path)]) == 2
    finally:
        lock.release()
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith(f"fc-cassette: {path}: being recorded by another fc-cassette")
    assert path.read_bytes() == before


def test_import_skips_a_har_entry_that_got_no_response(tmp_path, capsys):
    from fc_cassette import cli
    from fc_cassette.cli.har import har_of

    path = tmp_path / "c.yaml"
    c = write(path, entry(body={"a": "one"}), entry(body={"b": "two"}))
    har = har_of(c)
    har["log"]["entries"][1]["response"]["status"] = 0  # a browser's cancelled request
    (tmp_path / "c.har").write_text(json.dumps(har))
    out = tmp_path / "in.yaml"
    assert cli.main(["import", str(tmp_path / "c.har"), "-o", str(out)]) == 0
    said = capsys.readouterr().out
    assert "imported 1 exchange(s)" in said and "skipped 1 without a response" in said
    assert [i["response"]["body"]["json"] for i in cio.load(out).interactions] == [{"a": "one"}]

"""mitmproxy's CA is created once, completely, even when proxies start together."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from mitmproxy.certs import CertStore

from fc_cassette.mitm import ca

CA_FILES = {
    "mitmproxy-ca.pem",
    "mitmproxy-ca.p12",
    "mitmproxy-ca-cert.pem",
    "mitmproxy-ca-cert.cer",
    "mitmproxy-ca-cert.p12",
    "mitmproxy-dhparam.pem",
}


def ca_files(confdir: Path) -> set[str]:
    return {p.name for p in confdir.iterdir() if not p.name.startswith(".")}


def test_creates_a_complete_ca_once(tmp_path):
    confdir = tmp_path / "a" / "conf"  # parents are created
    assert ca.ensure_ca(confdir, 1024) is True
    assert ca_files(confdir) == CA_FILES
    key = confdir / "mitmproxy-ca.pem"
    assert key.stat().st_mode & 0o077 == 0  # the private key is the owner's only
    before = key.read_bytes()
    assert ca.ensure_ca(confdir, 1024) is False
    assert key.read_bytes() == before
    store = CertStore.from_store(confdir, "mitmproxy", 1024)
    assert store.default_ca.cn == "mitmproxy"
    assert [p.name for p in confdir.iterdir() if p.name.startswith(".fc-cassette-ca-")] == []


def test_an_existing_ca_is_kept(tmp_path):
    CertStore.create_store(tmp_path, "mitmproxy", 1024)
    before = (tmp_path / "mitmproxy-ca.pem").read_bytes()
    assert ca.ensure_ca(tmp_path, 1024) is False
    assert (tmp_path / "mitmproxy-ca.pem").read_bytes() == before


def test_the_key_file_appears_only_when_the_ca_is_complete(tmp_path, monkeypatch):
    """mitmproxy loads the CA as soon as the key file exists, so it is published last."""
    seen: list[set[str]] = []
    real = CertStore.create_store

    def spy(path, basename, key_size, *a, **kw):
        real(path, basename, key_size, *a, **kw)
        seen.append(ca_files(tmp_path))  # everything is written, nothing published yet

    monkeypatch.setattr(CertStore, "create_store", staticmethod(spy))
    published: list[set[str]] = []
    real_replace = os.replace

    def replace_spy(src, dst):
        published.append(ca_files(tmp_path))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace_spy)

    assert ca.ensure_ca(tmp_path, 1024)
    assert seen == [set()]
    assert len(published) == len(CA_FILES) + 1  # (+ the note of its key's SHA-256)
    assert all("mitmproxy-ca.pem" not in names for names in published)
    assert (tmp_path / ca.TRUST_NAME).exists()
    assert published[-1] == CA_FILES - {"mitmproxy-ca.pem"}
    assert ca_files(tmp_path) == CA_FILES


def test_the_last_set_value_wins():
    from fc_cassette.cli.app import _set_value

    args = ["--set", "confdir=/a", "--set", "key_size=4096", "--set", "confdir=/b=c"]
    assert _set_value(args, "confdir") == "/b=c" and _set_value(args, "key_size") == "4096"
    assert _set_value([], "confdir") is None


def test_the_ca_made_here_is_loaded_unchecked_any_other_key_checked(tmp_path, monkeypatch):
    """A proxy's start loads the CA it has just created without cryptography's RSA key
    check (~0.1 s, issue #25): only a file holding the very bytes made then; an existing
    CA, or the file changed since, goes through mitmproxy's checked load."""
    from cryptography.hazmat.primitives.asymmetric import padding
    from mitmproxy import certs

    checked: list[bytes] = []
    original = certs.load_pem_private_key

    def counting(data, password):
        checked.append(data)
        return original(data, password)

    monkeypatch.setattr(certs, "load_pem_private_key", counting)
    monkeypatch.setattr(certs, "_fc_checked_key_load", counting, raising=False)
    fresh = tmp_path / "fresh"
    assert ca.ensure_ca(fresh, 2048) is True
    store = CertStore.from_store(fresh, "mitmproxy", 2048)
    assert checked == []
    # the key works: a leaf certificate it signs verifies against the CA's public key
    leaf = store.get_cert("api.stripe.com", [], None).cert._cert
    store.default_ca._cert.public_key().verify(
        leaf.signature,
        leaf.tbs_certificate_bytes,
        padding.PKCS1v15(),
        leaf.signature_hash_algorithm,
    )
    other = tmp_path / "other"
    CertStore.create_store(other, "mitmproxy", 2048)  # someone else's CA: checked
    CertStore.from_store(other, "mitmproxy", 2048)
    assert checked == [(other / "mitmproxy-ca.pem").read_bytes()]
    # the fresh confdir's key replaced by another one: checked too
    (fresh / "mitmproxy-ca.pem").write_bytes((other / "mitmproxy-ca.pem").read_bytes())
    CertStore.from_store(fresh, "mitmproxy", 2048)
    assert len(checked) == 2


def test_a_ca_created_here_is_loaded_unchecked_by_the_next_proxies_too(tmp_path, monkeypatch):
    """The next proxies on a confdir whose CA fc-cassette created (the pytest plugin's
    later proxies, a user's ~/.mitmproxy made by fc-cassette) load it unchecked too (its
    SHA-256 noted beside it: 60 ms, twice a start); a note that does not match the key
    (the key replaced, the note forged or garbled) leaves the checked load."""
    from mitmproxy import certs

    checked: list[bytes] = []
    original = certs.load_pem_private_key

    def counting(data, password):
        checked.append(data)
        return original(data, password)

    conf = tmp_path / "conf"
    assert ca.ensure_ca(conf, 2048) is True
    note = conf / ca.TRUST_NAME
    key = (conf / "mitmproxy-ca.pem").read_bytes()
    assert note.read_text().strip() == hashlib.sha256(key).hexdigest()
    for name in (ca.TRUST_NAME, ca.LOCK_NAME, "mitmproxy-ca.pem"):
        assert (conf / name).exists()

    def next_start() -> int:  # a fresh process: nothing trusted yet
        monkeypatch.setattr(certs, "load_pem_private_key", counting)
        monkeypatch.setattr(certs, "_fc_checked_key_load", counting, raising=False)
        before = len(checked)
        assert ca.ensure_ca(conf, 2048) is False
        CertStore.from_store(conf, "mitmproxy", 2048)
        return len(checked) - before

    assert next_start() == 0
    other = tmp_path / "other"
    CertStore.create_store(other, "mitmproxy", 2048)
    (conf / "mitmproxy-ca.pem").write_bytes((other / "mitmproxy-ca.pem").read_bytes())
    assert next_start() == 1  # the key replaced: the note no longer matches
    for forged in ("0" * 64, "not a digest", ""):
        note.write_text(forged)
        assert next_start() == 1
    note.write_bytes(b"\xff\xfe")
    assert next_start() == 1
    note.unlink()
    assert next_start() == 1

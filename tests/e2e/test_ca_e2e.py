"""The CA through the CLI and concurrent starts: real fc-cassette processes."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

from cryptography import x509
from mitmproxy.certs import CertStore

from fc_cassette.mitm import ca
from support import run_fc

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


def _race(confdir: str, barrier, results) -> None:
    barrier.wait()
    created = ca.ensure_ca(confdir, 1024)
    store = CertStore.from_store(confdir, "mitmproxy", 1024)  # what mitmproxy then does
    results.put((created, store.default_ca.serial))


def test_concurrent_starts_create_one_ca(tmp_path):
    """Processes released together on a fresh confdir: one creates, all load that CA."""
    n = 6
    mp = multiprocessing.get_context("fork")
    barrier, results = mp.Barrier(n), mp.Queue()
    procs = [
        mp.Process(target=_race, args=(str(tmp_path / "conf"), barrier, results)) for _ in range(n)
    ]
    for p in procs:
        p.start()
    outcomes = [results.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(30)
        assert p.exitcode == 0
    assert sorted(created for created, _ in outcomes) == [False] * (n - 1) + [True]
    assert len({serial for _, serial in outcomes}) == 1
    assert ca_files(tmp_path / "conf") == CA_FILES


def test_cli_reports_a_confdir_it_cannot_create(tmp_path):
    (tmp_path / "file").write_text("x")
    confdir = tmp_path / "file" / "conf"
    p = run_fc(["simulate", "--port", "0", "--set", f"confdir={confdir}"])
    assert p.returncode == 1 and p.stdout == ""
    assert p.stderr.splitlines() == [
        f"fc-cassette: cannot create mitmproxy's CA in confdir {confdir}: Not a directory"
    ]


def test_cli_reports_a_key_size_mitmproxy_refuses(tmp_path):
    confdir = tmp_path / "conf"
    p = run_fc(["simulate", "--port", "0", "--set", f"confdir={confdir}", "--set", "key_size=100"])
    assert p.returncode == 1 and p.stdout == ""
    assert p.stderr.splitlines() == [
        f"fc-cassette: cannot create mitmproxy's CA in confdir {confdir}: "
        "key_size must be at least 1024-bits."
    ]


def test_cli_creates_the_ca_with_the_chosen_key_size(tmp_path):
    """The CA exists before mitmproxy starts; a cassette error still stops the command
    (a cassette that exists but does not load: a missing one is said before the CA)."""
    confdir = tmp_path / "conf"
    (tmp_path / "broken.yaml").write_text("not: [a cassette\n")
    p = run_fc(
        [
            "replay",
            str(tmp_path / "broken.yaml"),
            "--port",
            "0",
            "--set",
            f"confdir={confdir}",
            "--set",
            "key_size=1024",
        ]
    )
    assert p.returncode == 1 and "broken.yaml" in p.stderr, p.stderr
    cert = x509.load_pem_x509_certificate((confdir / "mitmproxy-ca-cert.pem").read_bytes())
    assert cert.public_key().key_size == 1024

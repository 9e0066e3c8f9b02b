"""Issue #16's optimizations change no output: the redactor, the fail-closed scanner,
the cassette writer and the form decoder give, on a fixed corpus, exactly what the
code before them gave.

``tests/data/golden/hot_paths.json`` was written by this module's generator run
against the code before the optimizations (commit 6a47dcf)::

    PYTHONPATH=<checkout of 6a47dcf>/addons:tests python tests/unit/redact/test_golden_hot_paths.py

and written again once since, on purpose (issue #26, item 3): a secret's tail now runs
across single underscores (``ek_test_<base64>_00<tail>``), so 126 of the 800 texts
redact a longer run; the texts the scanner still flags after redaction are the same.

The corpus: every interaction of every cassette in tests/data and cassettes/ that
loads, and 800 texts built from secrets of every kind in every encoding the redactor
or the scanner reads (percent, ``\\u`` escapes, base64 of both alphabets and all
alignments, hex, base32, HTML references, gzip, UTF-16, MIME-wrapped lines, Basic and
Bearer credentials, secret fields in forms, JSON and multipart parts), mixed with ids,
paths and noise. One redactor numbers all the texts in order, so placeholder numbering
is compared too.
"""

from __future__ import annotations

import base64
import gzip
import json
import random
import sys
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[3]
GOLDEN = ROOT / "tests" / "data" / "golden" / "hot_paths.json"
# all made up for this test (each says Fake)
SECRETS = [
    "sk_test_51FakeGoldenKey0123456789abcdef",
    "rk_live_FakeGoldenRestricted99",
    "whsec_FakeGoldenSigning0123456789",
    "ek_test_FakeGoldenEphemeral42",
    "pi_3FakeGoldenIntent_secret_FakeZx9yW8",
    "fcsess_client_secret_FakeGoldenAbc123",
    "seti_1FakeGolden_secret_FakeQq77",
    "sk_test_1",
]
WORDS = [
    "fcsess_1Golden0000000042",
    "cus_Golden123",
    "/v1/financial_connections/sessions",
    "Access-Control-Allow-Credentials",
    "application/json",
    "permissions[0]",
    "balances",
    "return_url",
    "https://example.test/fc/return",
    "null",
    "true",
    "Stripe-Version: 2026-10-28.endive",
    "req_Golden77",
    "x",
    "  ",
    "\n",
    "\\n",
    "&",
    "%",
    "=",
    "é",
    "€",
    "secret",
    "client_secret",
    "Bearer",
    "Basic",
    ":",
]


def _encodings(secret: str, rng: random.Random) -> list[str]:
    raw = secret.encode()
    b64 = base64.b64encode(raw).decode()
    pad = base64.b64encode(rng.choice([b"", b"a", b"ab"]) + raw).decode()
    return [
        secret,
        quote(secret, safe=""),
        "".join(f"%{b:02X}" for b in raw),
        "".join(f"\\u{ord(c):04x}" for c in secret),
        b64,
        b64.rstrip("="),
        base64.urlsafe_b64encode(raw).decode().rstrip("="),
        pad,
        raw.hex(),
        base64.b32encode(raw).decode(),
        "".join(f"&#{ord(c)};" for c in secret),
        base64.b64encode(
            gzip.compress(raw, compresslevel=0, mtime=0)
        ).decode(),  # (stored: no zlib version in it)
        base64.b64encode(secret.encode("utf-16-le")).decode(),
        base64.encodebytes(raw * 4).decode().replace("\n", "\\n"),
        base64.encodebytes(raw * 4).decode(),
        f"Authorization: Bearer {secret}",
        f"Bearer {secret}",
        "Basic " + base64.b64encode(f"{secret}:".encode()).decode(),
        f"client_secret={secret}",
        f'{{"secret": "{secret}"}}',
        f'"client_secret": "{secret}"',
        f'Content-Disposition: form-data; name="client_secret"\r\n\r\n{secret}\r\n--b',
        f"{secret[:6]}****{secret[-4:]}",
    ]


def texts(n: int = 800) -> list[str]:
    rng = random.Random(16)
    out = []
    for _ in range(n):
        parts = []
        for _ in range(rng.randint(1, 8)):
            if rng.random() < 0.4:
                parts.append(rng.choice(_encodings(rng.choice(SECRETS), rng)))
            else:
                parts.append(rng.choice(WORDS))
        out.append(rng.choice(["", " ", "\n", "&", "="]).join(parts))
    return out


def forms(n: int = 300) -> list[str]:
    rng = random.Random(17)
    keys = [
        "a",
        "b[c]",
        "d[0]",
        "d[1]",
        "d[]",
        "e[f][g]",
        "account_holder%5Btype%5D",
        "x+y",
        "%C3%A9",
        "k%5B0%5D",
        "b[c][0]",
        "",
        "[",
    ]
    values = ["1", "", "cus_1", "a+b", "%2B", "%C3%A9", "x=y", "é", "%C3", "%ZZ"]
    out = []
    for _ in range(n):
        fields = [
            rng.choice(keys) + rng.choice(["=", "=", "=", ""]) + rng.choice(values)
            for _ in range(rng.randint(0, 6))
        ]
        out.append(rng.choice(["&", "&", "&&"]).join(fields))
    return out


def entries() -> list[tuple[str, list[dict]]]:
    from fc_cassette.cassette import store as cassette

    out = []
    for path in sorted([*ROOT.glob("tests/data/**/*.yaml"), *ROOT.glob("cassettes/**/*.yaml")]):
        if "golden" in path.parts:
            continue
        try:
            loaded = cassette.load(path)
        except Exception:  # noqa: BLE001 - the malformed corpus: not entries
            continue
        out.append((str(path.relative_to(ROOT)), loaded.interactions))
    return out


def outputs() -> dict:
    from fc_cassette.cassette import yamlio
    from fc_cassette.exchange import formcodec
    from fc_cassette.redact import Redactor, scan

    def findings(text: str) -> list:
        return [[f.kind, f.offset, f.excerpt, f.encoding] for f in scan(text)]

    def form(text: str):
        try:
            return formcodec.decode(text.encode("utf-8"))
        except formcodec.FormDecodeError as e:
            return {"error": str(e)}

    red = Redactor()
    out: dict = {"texts": [], "forms": [form(f) for f in forms()], "entries": {}}
    for t in texts():
        r = red.redact_text(t)
        out["texts"].append([r, findings(t), findings(r)])
    for name, its in entries():
        red = Redactor()
        rows = []
        for it in its:
            entry = red.redact_entry({k: v for k, v in it.items() if k != "seq"})
            text = yamlio.dump(entry)
            rows.append([text, findings(text)])
        out["entries"][name] = rows
    return json.loads(json.dumps(out))  # (tuples as lists, as in the file)


def test_the_hot_paths_give_what_the_code_before_them_gave():
    golden = json.loads(GOLDEN.read_text(encoding="utf-8"))
    now = outputs()
    assert len(now["texts"]) == len(golden["texts"]) == 800
    for i, (got, want) in enumerate(zip(now["texts"], golden["texts"], strict=True)):
        assert got == want, (i, texts()[i])
    assert now["forms"] == golden["forms"]
    assert now["entries"].keys() == golden["entries"].keys() and now["entries"]
    for name in golden["entries"]:
        assert now["entries"][name] == golden["entries"][name], name


if __name__ == "__main__":
    GOLDEN.parent.mkdir(parents=True, exist_ok=True)
    GOLDEN.write_text(json.dumps(outputs(), ensure_ascii=False, indent=0) + "\n", encoding="utf-8")
    print(f"wrote {GOLDEN}", file=sys.stderr)

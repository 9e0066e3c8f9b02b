"""The bench's in-process section: costs that unit tests used to assert with wall-clock
bounds (moved here, issue #25: a test's verdict must not depend on the machine's load;
the unit tests keep what they check about the results, and the bounded-work checks that
count operations).

Keys (medians; ``goal`` as the unit tests' former bounds):

- ``miss_40k_ms``, ``miss_100_ms``, ``miss_40k_vs_100``: one replay miss explained by the
  matcher at 40,000 and at 100 interactions of one shape (100 misses each);
- ``validate_session_us``: ``validate_session`` of the seed session (500 calls, warm);
- ``redact_entry_ms``: a typical session entry redacted by a fresh redactor (50 calls);
- ``redact_pathological_max_s``: the slowest of the pathological inputs (a 100,000
  character run of one escape, prefix or key word) through ``redact_text`` + ``scan``.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SESSIONS = "/v1/financial_connections/sessions"
GOALS = {
    "miss_40k_ms": ("<=", 20.0),
    "validate_session_us": ("<=", 1000.0),
    "redact_entry_ms": ("<=", 5.0),
    "redact_pathological_max_s": ("<=", 2.0),
}
PATHOLOGICAL = (
    "\\" * 100_000,
    "%" * 100_000,
    "%4" * 50_000,
    "A" * 200_000,
    "sk_test_" * 20_000,
    "Bearer " * 20_000,
    "Authorization: " * 10_000,
    "sk_test_" + "a" * 100_000 + "*",
    ("\\u005" + "f") * 20_000,
)
SK = "sk_test_" + "fakeBenchMicroKey1234567890abcdef"


def _builders():
    if str(ROOT / "tests") not in sys.path:
        sys.path.insert(0, str(ROOT / "tests"))
    import builders

    return builders


def _many(n: int) -> list[dict]:
    b = _builders()
    out = []
    for i in range(n):
        if i % 2:
            out.append(
                b.match_entry(i + 1, b.match_request("GET", f"{SESSIONS}/fcsess_{i:07d}Abc"))
            )
        else:
            form = {
                "account_holder": {"type": "customer", "customer": f"cus_{i}"},
                "permissions": ["balances", "payment_method"],
            }
            out.append(b.match_entry(i + 1, b.match_request(form=form)))
    return out


def _miss_ms(n: int) -> float:
    from fc_cassette.matching.matcher import Matcher, Miss
    from fc_cassette.settings.config import MatchRules

    b = _builders()
    m = Matcher(_many(n), MatchRules())
    times = []
    for i in range(1, 200, 2):
        request = b.match_request(
            "GET", f"{SESSIONS}/fcsess_{(i * 7919) % n:07d}Abc", query={"q": str(i)}
        )
        t = time.perf_counter()
        if not isinstance(m.take(request), Miss):
            raise RuntimeError("bench_micro: expected a miss")
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000


def _validate_us() -> float:
    from fc_cassette.stripe_api.models import validate_session

    seed = json.loads((ROOT / "tests" / "data" / "seed_session.json").read_text())
    for _ in range(50):
        validate_session(seed)
    n = 500
    t = time.perf_counter()
    for _ in range(n):
        validate_session(seed)
    return (time.perf_counter() - t) / n * 1e6


def _redact_entry_ms() -> float:
    from fc_cassette.redact import Redactor

    b = _builders()
    data = json.loads((ROOT / "tests" / "data" / "session_with_accounts.json").read_text())
    e = b.entry(
        {
            "headers": {
                "Stripe-Version": "2026-10-28.endive",
                "Authorization": f"Bearer {SK}",
                "Idempotency-Key": "k",
                "User-Agent": "Stripe/v1 PythonBindings/16.1.0",
            },
            "body": {
                "form": {
                    "account_holder": {"type": "customer", "customer": "cus_123"},
                    "permissions": ["balances", "ownership"],
                }
            },
        },
        {"body": {"json": data}},
        validation={},
        duration_ms=1.2,
    )
    n = 50
    t = time.perf_counter()
    for _ in range(n):
        Redactor().redact_entry(e)  # cold: a fresh redactor each time
    return (time.perf_counter() - t) / n * 1000


def _pathological_max_s() -> float:
    from fc_cassette.redact import Redactor, scan

    worst = 0.0
    for evil in PATHOLOGICAL:
        t = time.perf_counter()
        Redactor().redact_text(evil)
        scan(evil)
        worst = max(worst, time.perf_counter() - t)
    return worst


def bench_micro(smoke: bool = False) -> dict[str, Any]:
    """The figures (``smoke``: 4,000 interactions stand for the 40,000)."""
    small, large = _miss_ms(100), _miss_ms(4_000 if smoke else 40_000)
    return {
        "miss_100_ms": small,
        "miss_40k_ms": large,
        "miss_40k_vs_100": large / small,
        "validate_session_us": _validate_us(),
        "redact_entry_ms": _redact_entry_ms(),
        "redact_pathological_max_s": _pathological_max_s(),
    }


ROWS = (
    ("miss_40k_ms", "one miss explained, 40,000 interactions (ms)", "{:.3f}"),
    ("miss_40k_vs_100", "the same / at 100 interactions", "{:.2f}"),
    ("validate_session_us", "validate_session, seed session (us)", "{:.0f}"),
    ("redact_entry_ms", "a session entry redacted, fresh redactor (ms)", "{:.2f}"),
    ("redact_pathological_max_s", "slowest pathological input, redact + scan (s)", "{:.3f}"),
)

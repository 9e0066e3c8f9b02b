"""Deterministic generated data (balances, owners, transactions) and Stripe's pagination.

Every generator draws from the simulator's one ``random.Random(seed)`` and takes the
simulated time as an argument: no wall clock anywhere.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from fc_cassette.simulator.errors import invalid, no_such, only_one_of

DEFAULT_PAGE = 10
MAX_PAGE = 100
CREDIT_SUBCATEGORIES = ("credit_card", "line_of_credit", "mortgage")
OWNER_NAMES = (
    ("Jenny Rosen", "jenny.rosen"),
    ("Alex Smith", "alex.smith"),
    ("Sam Lee", "sam.lee"),
    ("Maria Garcia", "maria.garcia"),
)
STREETS = ("354 Oyster Point Blvd", "510 Townsend St", "1 Market St", "88 Colin P Kelly Jr St")
MERCHANTS = (
    "Rocket Rides",
    "Corner Coffee",
    "Grocery Mart",
    "City Utilities",
    "Payroll ACME Corp",
    "Book Nook",
    "Transit Card Reload",
    "Rent Payment",
)
REFRESH_INTERVAL = 3600  # seconds until another refresh of a feature is available
# Stripe's ACH test account numbers (docs: testing, "Test account numbers", routing
# 110000000): the code a debit from each fails with, None for success. The one table
# behind manual-entry PaymentMethods and the completion's ``failure=<code>``.
TEST_ACCOUNT_NUMBERS: dict[str, str | None] = {
    "000123456789": None,
    "000111111116": "no_account",
    "000111111113": "account_closed",
    "000222222227": "insufficient_funds",
    "000333333335": "debit_not_authorized",
    "000444444440": "invalid_currency",
}
FAILURE_LAST4 = {code: number[-4:] for number, code in TEST_ACCOUNT_NUMBERS.items() if code}
TEST_FAILURES = tuple(FAILURE_LAST4)


def balance(rng: random.Random, credit: bool, now: int) -> dict[str, Any]:
    if credit:
        used = rng.randint(1_000, 500_000)
        return {
            "as_of": now,
            "credit": {"used": {"usd": used}},
            "current": {"usd": -used},
            "type": "credit",
        }
    available = rng.randint(1_000, 5_000_000)
    pending = rng.randint(0, 50_000)
    return {
        "as_of": now,
        "cash": {"available": {"usd": available}},
        "current": {"usd": available + pending},
        "type": "cash",
    }


def owners(
    rng: random.Random, token: Callable[[], str], ownership: str, now: int
) -> list[dict[str, Any]]:
    """One or two owners of an ownership snapshot."""
    out = []
    for i in range(1 + rng.randint(0, 1)):
        name, handle = OWNER_NAMES[rng.randrange(len(OWNER_NAMES))]
        out.append(
            {
                "id": "fcaown_" + token(),
                "object": "financial_connections.account_owner",
                "email": f"{handle}{i or ''}@example.com",
                "name": name,
                "ownership": ownership,
                "phone": f"+1555{rng.randint(1000000, 9999999)}",
                "raw_address": f"{STREETS[rng.randrange(len(STREETS))]}, South San Francisco, "
                "CA 94080, US",
                "refreshed_at": now,
            }
        )
    return out


def transactions(
    rng: random.Random,
    token: Callable[[], str],
    account: str,
    refresh_id: str,
    now: int,
    count: int = 4,
) -> list[dict[str, Any]]:
    """``count`` transactions of the days before ``now``, newest first."""
    out = []
    for i in range(count):
        at = now - (i + 1) * 86_400 - rng.randint(0, 3_600)
        amount = rng.randint(100, 20_000) * (1 if rng.random() < 0.3 else -1)
        pending = i == 0
        out.append(
            {
                "id": "fctxn_" + token(),
                "object": "financial_connections.transaction",
                "account": account,
                "amount": amount,
                "currency": "usd",
                "description": MERCHANTS[rng.randrange(len(MERCHANTS))],
                "livemode": False,
                "status": "pending" if pending else "posted",
                "status_transitions": {
                    "posted_at": None if pending else at + 86_400,
                    "void_at": None,
                },
                "transacted_at": at,
                "transaction_refresh": refresh_id,
                "updated": now,
            }
        )
    return out


def page_limit(params: dict[str, Any]) -> int:
    if "limit" not in params:
        return DEFAULT_PAGE
    limit = int(params["limit"])
    if not 1 <= limit <= MAX_PAGE:
        raise invalid("limit", f"Invalid limit: must be between 1 and {MAX_PAGE}")
    return limit


def paginate(
    items: list[dict[str, Any]], params: dict[str, Any], url: str, kind: str
) -> dict[str, Any]:
    """Stripe's list envelope over ``items`` (already in list order), with ``limit``,
    ``starting_after`` and ``ending_before`` (a cursor must be an id in the list)."""
    limit = page_limit(params)
    after, before = params.get("starting_after"), params.get("ending_before")
    if after is not None and before is not None:
        raise only_one_of("ending_before", "starting_after")
    ids = [it["id"] for it in items]
    if after is not None:
        if after not in ids:
            raise no_such(kind, after, "starting_after")
        rest = items[ids.index(after) + 1 :]
        data, has_more = rest[:limit], len(rest) > limit
    elif before is not None:
        if before not in ids:
            raise no_such(kind, before, "ending_before")
        rest = items[: ids.index(before)]
        data, has_more = rest[-limit:], len(rest) > limit
    else:
        data, has_more = items[:limit], len(items) > limit
    return {"object": "list", "data": data, "has_more": has_more, "url": url}

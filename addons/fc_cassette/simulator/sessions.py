"""FC Sessions in the simulator: create, retrieve, and the simulator-only completion.

Shapes are checked by :func:`.errors.check_params` from the request models; what is
written here by hand is Stripe's cross-field rules (which account holder field goes
with which type, ``limits[accounts]`` range, expandable names) and its wording.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fc_cassette.simulator import data
from fc_cassette.simulator.errors import (
    StripeError,
    clip,
    invalid,
    missing,
    no_such,
    one_of,
    unknown,
)
from fc_cassette.simulator.expansion import check_expand as check_expand
from fc_cassette.simulator.host import Host
from fc_cassette.simulator.params import check_params
from fc_cassette.stripe_api.models.account import ACCOUNTS_URL
from fc_cassette.stripe_api.models.common import ID_PATTERNS
from fc_cassette.stripe_api.models.session import CreateParams, RetrieveParams

DEFAULT_LIMIT_ACCOUNTS = 100
MAX_LIMIT_ACCOUNTS = 100
DEFAULT_COMPLETE_ACCOUNTS = 2
SESSION_EXPANDABLE = (
    "account_holder",
    "accounts",
    "bank_account_token",
    "filters",
    "limits",
    "manual_entry",
)
_INT_DIGITS = frozenset("0123456789")


@dataclass
class StoredSession:
    obj: dict[str, Any]
    completed: bool = False


def _nonempty(holder: dict[str, Any], name: str) -> str | None:
    value = holder.get(name)
    return value or None


def _customer_holder(holder: dict[str, Any]) -> dict[str, Any]:
    if "account" in holder:
        raise invalid(
            "account_holder[account]",
            "You cannot set account_holder[account] when account_holder[type] is customer.",
        )
    customer = _nonempty(holder, "customer")
    customer_account = _nonempty(holder, "customer_account")
    if customer is None and customer_account is None:
        raise missing("account_holder[customer]")
    out: dict[str, Any] = {}
    if customer is not None:  # that it exists is checked by the mixin (404)
        out["customer"] = customer
    if customer_account is not None:
        out["customer_account"] = customer_account
    return out


def _account_holder(holder: dict[str, Any]) -> dict[str, Any]:
    if holder["type"] == "customer":
        out = _customer_holder(holder)
    else:
        for other in ("customer", "customer_account"):
            if other in holder:
                raise invalid(
                    f"account_holder[{other}]",
                    f"You cannot set account_holder[{other}] when account_holder[type] is account.",
                )
        account = _nonempty(holder, "account")
        if account is None:
            raise missing("account_holder[account]")
        if not ID_PATTERNS["stripe_account"].match(account):
            raise no_such("account", account, "account_holder[account]", 400)
        out = {"account": account}
    out["type"] = holder["type"]
    return out


def _limit(params: dict[str, Any]) -> int:
    raw = (params.get("limits") or {}).get("accounts", "")
    if raw == "":
        return DEFAULT_LIMIT_ACCOUNTS
    limit = int(raw)
    if not 1 <= limit <= MAX_LIMIT_ACCOUNTS:
        raise invalid(
            "limits[accounts]",
            f"Invalid limits[accounts]: must be between 1 and {MAX_LIMIT_ACCOUNTS}",
        )
    return limit


class SessionsMixin(Host):
    """``create``, ``retrieve`` and ``complete``; needs the Engine and AccountsMixin."""

    # the simulator-only completion of a session (the id: one path segment, as the
    # endpoint table's ``ID_SEGMENT``)
    ROUTES: tuple[tuple[str, str, str], ...] = (
        ("POST", r"^/_simulator/financial_connections/sessions/([^/?#]+)/complete$", "complete"),
    )

    def _init_sessions(self) -> None:
        self._sessions: dict[str, StoredSession] = {}

    def _validate_create(self, params: dict[str, Any]) -> dict[str, Any]:
        leftover = check_params(CreateParams, params)
        if not params["permissions"]:
            raise missing("permissions")
        holder = _account_holder(params["account_holder"])
        limit = _limit(params)
        check_expand(params, SESSION_EXPANDABLE)
        if "customer" in holder:  # Stripe: No such customer (404), whatever its shape
            self._customer_ref(holder["customer"], "account_holder[customer]")
        if leftover:  # a pattern the cross-field rules above did not already word
            raise invalid(None, "Invalid request")
        return {"account_holder": holder, "limit": limit}

    def _create(self, params: dict[str, Any]) -> dict[str, Any]:
        v = self._validate_create(params)
        self._tick()
        sid = "fcsess_" + self._token()
        session: dict[str, Any] = {
            "id": sid,
            "object": "financial_connections.session",
            "account_holder": v["account_holder"],
            "accounts": {"object": "list", "data": [], "has_more": False, "url": ACCOUNTS_URL},
            "client_secret": "fcsess_client_secret_" + self._token(),
        }
        if "filters" in params:
            session["filters"] = params["filters"]
        session["limits"] = {"accounts": v["limit"]}
        session["livemode"] = False
        if "manual_entry" in params:
            session["manual_entry"] = params["manual_entry"]
        session["permissions"] = list(params["permissions"])
        session["prefetch"] = list(params.get("prefetch") or [])  # [] as Stripe's fixtures
        if params.get("return_url"):
            session["return_url"] = params["return_url"]
        self._sessions[sid] = StoredSession(session)
        return session

    def _ep_create(self, _ident: str, params: dict[str, Any]) -> dict[str, Any]:
        return self._create(params)

    def _lookup(self, session_id: str) -> StoredSession:
        found = self._sessions.get(session_id) if ID_PATTERNS["session"].match(session_id) else None
        if found is None:
            raise no_such("financialconnections.session", session_id, "session")
        return found

    def _ep_retrieve(self, session_id: str, params: dict[str, Any]) -> dict[str, Any]:
        check_params(RetrieveParams, params)
        check_expand(params, SESSION_EXPANDABLE)
        return self._lookup(session_id).obj

    def _complete_failure(self, params: dict[str, Any]) -> str | None:
        """``failure=<code>``: debits from the linked cash accounts fail with that code."""
        failure = params.get("failure")
        if failure is None:
            return None
        if failure not in data.TEST_FAILURES:
            raise invalid(
                "failure", f"Invalid failure: must be one of {one_of(data.TEST_FAILURES)}"
            )
        return str(failure)

    def _complete_count(self, params: dict[str, Any]) -> int:
        for key in params:
            if key not in ("accounts", "failure"):
                raise unknown(key)
        raw = params.get("accounts", str(DEFAULT_COMPLETE_ACCOUNTS))
        if (
            not isinstance(raw, str)
            or not raw.lstrip("-")
            or not set(raw.lstrip("-")) <= _INT_DIGITS
            or len(raw) > 18
        ):
            raise invalid(
                "accounts", f"Invalid integer: {clip(str(raw))}", "parameter_invalid_integer"
            )
        if int(raw) < 1:
            raise invalid("accounts", "Invalid accounts: must be at least 1")
        return int(raw)

    def _mark_failing(self, linked: list[dict[str, Any]], failure: str) -> None:
        """Debits from these cash accounts fail with ``failure``; their last4 is that of
        Stripe's test account number for it."""
        for account in linked:
            if account["category"] == "cash":
                stored = self._accounts[account["id"]]
                stored.failure = failure
                account["last4"] = stored.obj["last4"] = data.FAILURE_LAST4[failure]

    def _ep_complete(self, session_id: str, params: dict[str, Any]) -> dict[str, Any]:
        wanted = self._complete_count(params)
        failure = self._complete_failure(params)
        stored = self._lookup(session_id)
        session = stored.obj
        if stored.completed:
            raise StripeError(
                400,
                f"The session {session_id} has already been completed: "
                "the simulator links accounts once per session.",
                param="session",
            )
        n = min(wanted, session.get("limits", {}).get("accounts", DEFAULT_LIMIT_ACCOUNTS))
        now = self._tick()
        subcats = (session.get("filters") or {}).get("account_subcategories") or [
            "checking",
            "credit_card",
        ]
        session["accounts"]["data"] = [
            self._link_account(session, subcats[i % len(subcats)], now) for i in range(n)
        ]
        stored.completed = True
        if failure is not None:
            self._mark_failing(session["accounts"]["data"], failure)
        for account in session["accounts"]["data"]:
            self.emit_event("financial_connections.account.created", account)
        return session

"""FC Accounts, owners and transactions in the simulator: stateful and deterministic.

Accounts are linked by the completion endpoint (:mod:`.sessions`). A refresh marks the
feature's refresh object ``pending`` and schedules its settling shortly after the
response (:data:`SETTLE_AFTER_S`); a request that touches the account first settles it
first (``succeeded``, fresh data as of the simulated clock). Either way one
``financial_connections.account.refreshed_<feature>`` event follows per feature.
Permissions chosen at session creation govern what an account exposes and which
refreshes it accepts. Disconnect emits ``.disconnected``; the simulator-only
``POST /_simulator/financial_connections/accounts/{id}/deactivate`` and ``/reactivate``
set ``status`` to ``inactive``/``active`` and emit ``.deactivated``/``.reactivated``.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from fc_cassette.simulator import data
from fc_cassette.simulator.errors import (
    StripeError,
    clip,
    invalid,
    missing,
    no_such,
    only_one_of,
    unknown,
)
from fc_cassette.simulator.expansion import check_expand
from fc_cassette.simulator.host import NO_REQUEST, Host
from fc_cassette.simulator.params import check_params
from fc_cassette.stripe_api.models.account import ACCOUNTS_URL, TRANSACTIONS_URL
from fc_cassette.stripe_api.models.params import (
    AccountDisconnectParams,
    AccountListParams,
    AccountOwnersParams,
    AccountRefreshParams,
    AccountRetrieveParams,
    AccountSubscribeParams,
    TransactionListParams,
    TransactionRetrieveParams,
)

DISPLAY_NAMES = {
    "checking": "Checking",
    "savings": "Savings",
    "credit_card": "Credit Card",
    "line_of_credit": "Line of Credit",
    "mortgage": "Mortgage",
}
FEATURE_PERMISSION = {
    "balance": "balances",
    "ownership": "ownership",
    "transactions": "transactions",
}
FEATURE_ORDER = ("balance", "ownership", "transactions")
ACCOUNT_KIND = "financialconnections.account"
INACTIVE = "financial_connections_account_inactive"
REFRESH_FIELD = {
    "balance": "balance_refresh",
    "ownership": "ownership_refresh",
    "transactions": "transaction_refresh",
}
EVENT = "financial_connections.account."
SETTLE_AFTER_S = 0.5  # a refresh settles by itself this long after it was asked for
_SIM_ACCOUNT = r"^/_simulator/financial_connections/accounts/([^/?#]+)/"


@dataclass
class StoredAccount:
    obj: dict[str, Any]
    session: str
    owners: list[dict[str, Any]] = field(default_factory=list)
    ownership_created: int = 0
    transactions: list[dict[str, Any]] = field(default_factory=list)  # newest first
    refresh_ids: list[str] = field(default_factory=list)  # transaction refreshes, in order
    pending: set[str] = field(default_factory=set)
    failure: str | None = None  # how a debit through a PaymentMethod of this account ends


def _refresh(now: int, status: str = "succeeded") -> dict[str, Any]:
    pending = status == "pending"
    return {
        "last_attempted_at": now,
        "next_refresh_available_at": None if pending else now + data.REFRESH_INTERVAL,
        "status": status,
    }


def _permission_error(feature: str, param: str, account: str) -> StripeError:
    perm = FEATURE_PERMISSION[feature]
    return invalid(
        param,
        f"The account {clip(account)} does not have the {perm} permission, "
        f"which {feature} requires. Request it in the Financial Connections "
        f"Session's permissions[] and have the user link the account again.",
    )


class AccountsMixin(Host):
    """The ``accounts.*`` and ``transactions.*`` endpoints; needs the Engine and the
    EventsMixin."""

    ROUTES: tuple[tuple[str, str, str], ...] = (
        ("POST", _SIM_ACCOUNT + "deactivate$", "sim_accounts.deactivate"),
        ("POST", _SIM_ACCOUNT + "reactivate$", "sim_accounts.reactivate"),
    )

    def _init_accounts(self) -> None:
        self._accounts: dict[str, StoredAccount] = {}
        self._transactions: dict[str, tuple[str, dict[str, Any]]] = {}

    # ------------------------------------------------------------------ linking
    def _link_account(self, session: dict[str, Any], subcategory: str, now: int) -> dict[str, Any]:
        permissions = list(session["permissions"])
        prefetch = session.get("prefetch") or []
        credit = subcategory in data.CREDIT_SUBCATEGORIES
        acc: dict[str, Any] = {
            "id": "fca_" + self._token(),
            "object": "financial_connections.account",
            "account_holder": dict(session["account_holder"]),
            "account_numbers": None,
            "balance": None,
            "balance_refresh": None,
            "category": "credit" if credit else "cash",
            "created": now,
            "display_name": DISPLAY_NAMES.get(subcategory, "Account"),
            "institution_name": "StripeBank",
            "last4": "".join(self._rng.choice("0123456789") for _ in range(4)),
            "livemode": False,
            "ownership": None,
            "ownership_refresh": None,
            "permissions": permissions,
            "status": "active",
            "subcategory": subcategory,
            "subscriptions": [],
            "supported_payment_method_types": (
                ["us_bank_account"] if "payment_method" in permissions and not credit else []
            ),
            "transaction_refresh": None,
        }
        stored = StoredAccount(acc, session["id"])
        self._accounts[acc["id"]] = stored
        if "ownership" in permissions:
            acc["ownership"] = "fcaowns_" + self._token()
            stored.ownership_created = now
        for feature in FEATURE_ORDER:
            if (
                FEATURE_PERMISSION[feature] in permissions
                and FEATURE_PERMISSION[feature] in prefetch
            ):
                self._start_refresh(stored, feature, now)
                self._settle_feature(stored, feature, now)
        return copy.deepcopy(acc)

    # ---------------------------------------------------------------- refreshes
    def _start_refresh(self, stored: StoredAccount, feature: str, now: int) -> None:
        obj = stored.obj
        if feature == "transactions":
            ref_id = "fctxnref_" + self._token()
            obj["transaction_refresh"] = {"id": ref_id, **_refresh(now, "pending")}
        else:
            obj[REFRESH_FIELD[feature]] = _refresh(now, "pending")
        stored.pending.add(feature)

    def _settle_feature(self, stored: StoredAccount, feature: str, now: int) -> None:
        obj = stored.obj
        attempted = obj[REFRESH_FIELD[feature]]["last_attempted_at"]
        if feature == "balance":
            obj["balance"] = data.balance(self._rng, obj["category"] == "credit", now)
        elif feature == "ownership":
            if stored.owners:  # a new snapshot: a new ownership object
                obj["ownership"] = "fcaowns_" + self._token()
            stored.ownership_created = now
            stored.owners = data.owners(self._rng, self._token, obj["ownership"], now)
        else:
            ref_id = obj["transaction_refresh"]["id"]
            fresh = data.transactions(self._rng, self._token, obj["id"], ref_id, now)
            stored.transactions = fresh + stored.transactions
            stored.refresh_ids.append(ref_id)
            for txn in fresh:
                self._transactions[txn["id"]] = (obj["id"], txn)
        obj[REFRESH_FIELD[feature]].update(_refresh(attempted))
        stored.pending.discard(feature)

    def _settle_pending(self, stored: StoredAccount) -> None:
        """Settle every pending refresh (in FEATURE_ORDER), then one event per feature."""
        settled = [f for f in FEATURE_ORDER if f in stored.pending]
        for feature in settled:
            self._settle_feature(stored, feature, self._clock)
        for feature in settled:
            self.emit_event(EVENT + "refreshed_" + feature, stored.obj, request=NO_REQUEST)

    def _schedule_settle(self, stored: StoredAccount) -> None:
        self.schedule(SETTLE_AFTER_S, lambda: self._settle_pending(stored), key=stored.obj["id"])

    def _account(self, account_id: str, param: str = "account") -> StoredAccount:
        """The stored account, its pending refreshes settled as of the simulated clock."""
        stored = self._accounts.get(account_id)
        if stored is None:
            raise no_such(ACCOUNT_KIND, account_id, param)
        self.settle(account_id)  # a request that touches it settles it first
        self._settle_pending(stored)
        return stored

    def _active(self, stored: StoredAccount, what: str) -> None:
        if stored.obj["status"] != "active":
            raise invalid(
                None,
                f"You cannot {what} the account {stored.obj['id']} because its "
                f"status is {stored.obj['status']}. Ask the user to link "
                "it again through a new Financial Connections Session.",
                INACTIVE,
            )

    def _render(self, stored: StoredAccount, expand: list[str], prefix: str = "") -> dict:
        obj = copy.deepcopy(stored.obj)
        if prefix + "ownership" in expand and obj["ownership"] is not None:
            obj["ownership"] = {
                "id": obj["ownership"],
                "object": "financial_connections.account_ownership",
                "created": stored.ownership_created,
                "owners": data.paginate(
                    stored.owners,
                    {},
                    self._owners_url(obj["id"]),
                    "financialconnections.account_owner",
                ),
            }
        return obj

    @staticmethod
    def _owners_url(account_id: str) -> str:
        return f"{ACCOUNTS_URL}/{account_id}/owners"

    # ---------------------------------------------------------------- endpoints
    def _ep_accounts_retrieve(self, account_id: str, params: dict[str, Any]) -> dict:
        check_params(AccountRetrieveParams, params)
        expand = check_expand(params, ("ownership",), exact=True)
        return self._render(self._account(account_id), expand)

    def _holder_filter(self, params: dict[str, Any]) -> tuple[str, str] | None:
        holder = params.get("account_holder")
        if holder is None:
            return None
        given = [k for k in ("account", "customer", "customer_account") if holder.get(k)]
        if len(given) > 1:
            raise only_one_of(*(f"account_holder[{k}]" for k in given))
        if not given:
            raise missing("account_holder[customer]")
        return given[0], holder[given[0]]

    def _ep_accounts_list(self, _ident: str, params: dict[str, Any]) -> dict[str, Any]:
        check_params(AccountListParams, params)
        expand = check_expand(params, ("data.ownership",), exact=True)
        holder = self._holder_filter(params)
        session = params.get("session")
        if session is not None:
            self._lookup_session_for_list(session)
        found = [
            s
            for s in self._accounts.values()
            if (session is None or s.session == session)
            and (holder is None or s.obj["account_holder"].get(holder[0]) == holder[1])
        ]
        items = [self._render(self._account(s.obj["id"]), expand, "data.") for s in found]
        return data.paginate(items, params, ACCOUNTS_URL, ACCOUNT_KIND)

    def _lookup_session_for_list(self, session_id: str) -> None:
        if session_id not in self._sessions:
            raise no_such("financialconnections.session", session_id, "session")

    def _features(self, model: type[BaseModel], params: dict[str, Any]) -> list[str]:
        check_params(model, params)
        check_expand(params, ("ownership",), exact=True)
        if not params["features"]:
            raise missing("features")
        return list(dict.fromkeys(params["features"]))

    def _ep_accounts_refresh(self, account_id: str, params: dict[str, Any]) -> dict:
        features = self._features(AccountRefreshParams, params)
        stored = self._account(account_id)
        self._active(stored, "refresh")
        for i, feature in enumerate(params["features"]):
            if FEATURE_PERMISSION[feature] not in stored.obj["permissions"]:
                raise _permission_error(feature, f"features[{i}]", account_id)
        now = self._tick()
        for feature in features:
            self._start_refresh(stored, feature, now)
        self._schedule_settle(stored)
        return self._render(stored, params.get("expand") or [])

    def _ep_accounts_disconnect(self, account_id: str, params: dict[str, Any]) -> dict:
        check_params(AccountDisconnectParams, params)
        expand = check_expand(params, ("ownership",), exact=True)
        stored = self._account(account_id)
        if stored.obj["status"] != "disconnected":
            self._tick()
            before = {
                "status": stored.obj["status"],
                "subscriptions": list(stored.obj["subscriptions"]),
            }
            stored.obj["status"] = "disconnected"
            stored.obj["subscriptions"] = []
            self.emit_event(EVENT + "disconnected", stored.obj, previous_attributes=before)
        return self._render(stored, expand)

    def _set_status(self, account_id: str, params: dict[str, Any], want: str) -> dict:
        """The simulator-only deactivate (``want`` inactive) and reactivate (active)."""
        for key in params:
            raise unknown(key)
        stored = self._account(account_id)
        status = stored.obj["status"]
        allowed = "active" if want == "inactive" else "inactive"
        if status != allowed:
            raise invalid(
                None,
                f"The simulator can only {'de' if want == 'inactive' else 're'}"
                f"activate an account whose status is {allowed}; "
                f"{clip(account_id)} is {status}.",
                INACTIVE,
            )
        self._tick()
        stored.obj["status"] = want
        if want == "inactive":
            stored.obj["subscriptions"] = []
        kind = "deactivated" if want == "inactive" else "reactivated"
        self.emit_event(EVENT + kind, stored.obj, previous_attributes={"status": status})
        return self._render(stored, [])

    def _ep_sim_accounts_deactivate(self, account_id: str, params: dict[str, Any]) -> dict:
        return self._set_status(account_id, params, "inactive")

    def _ep_sim_accounts_reactivate(self, account_id: str, params: dict[str, Any]) -> dict:
        return self._set_status(account_id, params, "active")

    def _subscription(self, account_id: str, params: dict[str, Any], on: bool) -> dict:
        self._features(AccountSubscribeParams, params)
        stored = self._account(account_id)
        self._active(stored, "subscribe" if on else "unsubscribe")
        if "transactions" not in stored.obj["permissions"]:
            raise _permission_error("transactions", "features[0]", account_id)
        now = self._tick()
        stored.obj["subscriptions"] = ["transactions"] if on else []
        if on and "transactions" not in stored.pending:
            self._start_refresh(stored, "transactions", now)  # Stripe refreshes on subscribe
            self._schedule_settle(stored)
        return self._render(stored, params.get("expand") or [])

    def _ep_accounts_subscribe(self, account_id: str, params: dict[str, Any]) -> dict:
        return self._subscription(account_id, params, True)

    def _ep_accounts_unsubscribe(self, account_id: str, params: dict[str, Any]) -> dict:
        return self._subscription(account_id, params, False)

    def _ep_accounts_owners(self, account_id: str, params: dict[str, Any]) -> dict:
        check_params(AccountOwnersParams, params)
        check_expand(params, ())
        stored = self._account(account_id)
        ownership = params["ownership"]
        if not ownership:
            raise missing("ownership")
        if ownership != stored.obj["ownership"]:
            raise no_such("financialconnections.account_ownership", ownership, "ownership")
        return data.paginate(
            stored.owners,
            params,
            self._owners_url(account_id),
            "financialconnections.account_owner",
        )

    def _ep_transactions_list(self, _ident: str, params: dict[str, Any]) -> dict:
        check_params(TransactionListParams, params)
        check_expand(params, ())
        if not params["account"]:
            raise missing("account")
        stored = self._account(params["account"])
        if "transactions" not in stored.obj["permissions"]:
            raise _permission_error("transactions", "account", params["account"])
        items = [t for t in stored.transactions if _transacted(t, params.get("transacted_at"))]
        after = (params.get("transaction_refresh") or {}).get("after")
        if after is not None:
            if after not in stored.refresh_ids:
                raise no_such(
                    "financialconnections.transaction_refresh", after, "transaction_refresh[after]"
                )
            later = set(stored.refresh_ids[stored.refresh_ids.index(after) + 1 :])
            items = [t for t in items if t["transaction_refresh"] in later]
        return data.paginate(items, params, TRANSACTIONS_URL, "financialconnections.transaction")

    def _ep_transactions_retrieve(self, txn_id: str, params: dict[str, Any]) -> dict:
        check_params(TransactionRetrieveParams, params)
        check_expand(params, ())
        found = self._transactions.get(txn_id)
        if found is None:
            raise no_such("financialconnections.transaction", txn_id, "transaction")
        return found[1]


def _transacted(txn: dict[str, Any], rule: Any) -> bool:
    """``transacted_at=N`` (exactly) or ``transacted_at[gt|gte|lt|lte]=N``."""
    if rule is None:
        return True
    at = txn["transacted_at"]
    if not isinstance(rule, dict):
        return at == int(rule)
    checks = {"gt": at.__gt__, "gte": at.__ge__, "lt": at.__lt__, "lte": at.__le__}
    return all(checks[k](int(v)) for k, v in rule.items())

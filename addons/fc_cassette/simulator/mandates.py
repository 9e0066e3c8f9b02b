"""Mandates in the simulator: created when an intent is confirmed with ``mandate_data``,
retrievable, made ``inactive`` when their payment method is detached or a debit fails
for a reason that ends the authorization (``mandate.updated`` each time).

``mandate_data[customer_acceptance]`` is required to confirm with a ``us_bank_account``
payment method (the simulator's rule: Stripe collects it client-side when a publishable
key confirms; a server-side confirm passes it); an ``online`` acceptance needs
``ip_address`` and ``user_agent``. ``mandate=<id>`` instead reuses an active mandate of
the same payment method.
"""

from __future__ import annotations

from typing import Any

from fc_cassette.simulator.errors import invalid, missing, no_such
from fc_cassette.simulator.expansion import MANDATE_EXPANDABLE, check_expand
from fc_cassette.simulator.host import Host
from fc_cassette.simulator.params import check_params
from fc_cassette.stripe_api.models.mandate import MandateRetrieveParams

MANDATE_KIND = "mandate"
# Debit failures that end the authorization (the mandate becomes inactive).
ENDS_MANDATE = frozenset({"account_closed", "debit_not_authorized", "no_account"})


class MandatesMixin(Host):
    """``mandates.retrieve`` and the mandates intents create; needs the Engine and the
    EventsMixin."""

    def _init_mandates(self) -> None:
        self._mandates: dict[str, dict[str, Any]] = {}

    def _acceptance(self, params: dict[str, Any]) -> dict[str, Any]:
        """``customer_acceptance`` of a new mandate from the confirm's ``mandate_data``."""
        given = params.get("mandate_data")
        if not given:
            raise missing("mandate_data")
        acc = given["customer_acceptance"]
        out: dict[str, Any] = {
            "accepted_at": int(acc.get("accepted_at", self._clock)),
            "type": acc["type"],
        }
        if acc["type"] == "online":
            online = acc.get("online")
            if not online:
                raise missing("mandate_data[customer_acceptance][online]")
            out["online"] = {"ip_address": online["ip_address"], "user_agent": online["user_agent"]}
        else:
            out["offline"] = {}
        return out

    def _mandate_for(
        self, params: dict[str, Any], pm: dict[str, Any], single_use: dict[str, Any] | None
    ) -> dict[str, Any]:
        """The mandate a confirm uses: ``mandate=<id>`` (active, same payment method) or a
        new one from ``mandate_data``."""
        if params.get("mandate"):
            found = self._mandate(params["mandate"], "mandate")
            if found["payment_method"] != pm["id"] or found["status"] != "active":
                raise invalid(
                    "mandate",
                    f"The mandate {found['id']} is not an active mandate "
                    f"of the PaymentMethod {pm['id']}.",
                )
            return found
        acceptance = self._acceptance(params)
        mandate: dict[str, Any] = {
            "id": "mandate_" + self._token(24),
            "object": "mandate",
            "customer_acceptance": acceptance,
            "livemode": False,
            "multi_use": {} if single_use is None else None,
            "payment_method": pm["id"],
            "payment_method_details": {"type": "us_bank_account", "us_bank_account": {}},
            "single_use": single_use,
            "status": "active",
            "type": "multi_use" if single_use is None else "single_use",
        }
        self._mandates[mandate["id"]] = mandate
        return mandate

    def _mandate(self, mandate_id: str | None, param: str, shown: str | None = None) -> dict:
        """The mandate ``mandate_id``, or Stripe's ``resource_missing`` naming ``param``
        (and ``shown``, what the request named, when not the id itself)."""
        found = self._mandates.get(mandate_id) if mandate_id else None
        if found is None:
            raise no_such(MANDATE_KIND, shown or str(mandate_id), param)
        return found

    def _debit_failed(self, pm_id: str, failure: str) -> None:
        """A debit from ``pm_id`` failed with ``failure``: the failures that end a
        mandate (:data:`ENDS_MANDATE`) deactivate its mandates."""
        if failure in ENDS_MANDATE:
            self._deactivate_mandates(pm_id)

    def _deactivate_mandates(self, pm_id: str) -> None:
        for mandate in self._mandates.values():
            if mandate["payment_method"] == pm_id and mandate["status"] == "active":
                mandate["status"] = "inactive"
                self.emit_event(
                    "mandate.updated", mandate, previous_attributes={"status": "active"}
                )

    def _ep_mandates_retrieve(self, mandate_id: str, params: dict[str, Any]) -> dict:
        check_params(MandateRetrieveParams, params)
        check_expand(params, MANDATE_EXPANDABLE, exact=True)
        return self._expanded(self._mandate(mandate_id, "mandate"), params, MANDATE_EXPANDABLE)

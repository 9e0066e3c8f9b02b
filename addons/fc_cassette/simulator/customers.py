"""Customers in the simulator: create, retrieve, update, list, delete, and their
payment methods.

A customer exists once created here: a session's ``account_holder[customer]``, an
intent's ``customer``, an attach's ``customer`` must name one (404 ``resource_missing``
otherwise), unless the simulator was started with ``accept_unknown_customers`` (then an
id of a customer's shape that was never created is taken as a customer made before the
simulator started; retrieving it is still a 404). ``customer.created`` is emitted on
create, ``customer.updated`` (with ``previous_attributes``) on update,
``customer.deleted`` on delete.
"""

from __future__ import annotations

import copy
from typing import Any

from fc_cassette.simulator import data
from fc_cassette.simulator.errors import clip, invalid, no_such
from fc_cassette.simulator.expansion import PM_EXPANDABLE, check_expand, listed
from fc_cassette.simulator.host import Host
from fc_cassette.simulator.params import check_params
from fc_cassette.stripe_api.models.common import ID_PATTERNS
from fc_cassette.stripe_api.models.customer import (
    CUSTOMERS_URL,
    CustomerCreateParams,
    CustomerDeleteParams,
    CustomerListParams,
    CustomerRetrieveParams,
    CustomerUpdateParams,
)
from fc_cassette.stripe_api.models.payment_method import CustomerPaymentMethodsParams

CUSTOMER_KIND = "customer"
# What an update may set, and how (Stripe: "" unsets a field).
_UPDATABLE = (
    "address",
    "balance",
    "business_name",
    "description",
    "email",
    "individual_name",
    "invoice_prefix",
    "name",
    "next_invoice_sequence",
    "phone",
    "preferred_locales",
    "shipping",
    "tax_exempt",
)
_INTS = ("balance", "next_invoice_sequence")
_EMPTY: dict[str, Any] = {"preferred_locales": [], "tax_exempt": "none"}


def _value(name: str, raw: Any) -> Any:
    if name in _INTS:
        return int(raw)
    if raw == "":
        return copy.deepcopy(_EMPTY.get(name))
    return raw


def merge_metadata(current: dict[str, str], given: Any) -> dict[str, str]:
    """Stripe's metadata update: keys merge, ``""`` for a key deletes it, ``metadata=""``
    clears all."""
    if given == "":
        return {}
    out = dict(current)
    for k, v in (given or {}).items():
        if v == "":
            out.pop(k, None)
        else:
            out[k] = str(v)
    return out


class CustomersMixin(Host):
    """The ``customers.*`` endpoints; needs the Engine and the EventsMixin."""

    accept_unknown_customers = False

    def _init_customers(self) -> None:
        self._customers: dict[str, dict[str, Any]] = {}  # in creation order

    # ------------------------------------------------------------------ lookups
    def _customer(self, customer_id: str, param: str = "customer") -> dict[str, Any]:
        found = self._customers.get(customer_id)
        if found is None:
            raise no_such(CUSTOMER_KIND, customer_id, param)
        return found

    def _customer_ref(self, customer_id: str, param: str) -> str:
        """A customer another object names: it must exist (404 otherwise), or with
        ``accept_unknown_customers`` merely have a customer's shape."""
        if customer_id in self._customers:
            return customer_id
        if self.accept_unknown_customers and ID_PATTERNS["customer"].match(customer_id):
            return customer_id
        raise no_such(CUSTOMER_KIND, customer_id, param)

    # ---------------------------------------------------------------- endpoints
    def _ep_customers_create(self, _ident: str, params: dict[str, Any]) -> dict[str, Any]:
        check_params(CustomerCreateParams, params)
        check_expand(params, ())
        for name in ("payment_method", "source", "test_clock", "tax_id_data", "cash_balance"):
            if params.get(name):
                raise invalid(
                    name,
                    f"The fc-cassette simulator does not support {name} "
                    "on customer create; attach a payment method after.",
                )
        now = self._tick()
        cid = "cus_" + self._token(14)
        customer: dict[str, Any] = {
            "id": cid,
            "object": "customer",
            "address": None,
            "balance": 0,
            "created": now,
            "currency": None,
            "default_source": None,
            "delinquent": False,
            "description": None,
            "discount": None,
            "email": None,
            "invoice_prefix": self._token(8).upper(),
            "invoice_settings": {
                "custom_fields": None,
                "default_payment_method": None,
                "footer": None,
                "rendering_options": None,
            },
            "livemode": False,
            "metadata": {},
            "name": None,
            "next_invoice_sequence": 1,
            "phone": None,
            "preferred_locales": [],
            "shipping": None,
            "tax_exempt": "none",
            "test_clock": None,
        }
        for name in _UPDATABLE:
            if name in params:
                customer[name] = _value(name, params[name])
        customer["metadata"] = merge_metadata({}, params.get("metadata"))
        self._customers[cid] = customer
        self.emit_event("customer.created", customer)
        return customer

    def _ep_customers_retrieve(self, customer_id: str, params: dict[str, Any]) -> dict:
        check_params(CustomerRetrieveParams, params)
        check_expand(params, ())
        return self._customer(customer_id, "id")

    def _ep_customers_update(self, customer_id: str, params: dict[str, Any]) -> dict:
        check_params(CustomerUpdateParams, params)
        check_expand(params, ())
        customer = self._customer(customer_id, "id")
        for name in ("source", "default_source", "cash_balance", "tax", "invoice_settings"):
            if params.get(name):
                raise invalid(
                    name, f"The fc-cassette simulator does not support updating {clip(name)}."
                )
        previous: dict[str, Any] = {}
        for name in _UPDATABLE:
            if name in params and customer[name] != _value(name, params[name]):
                previous[name] = customer[name]
                customer[name] = _value(name, params[name])
        if "metadata" in params:
            merged = merge_metadata(customer["metadata"], params["metadata"])
            if merged != customer["metadata"]:
                previous["metadata"] = customer["metadata"]
                customer["metadata"] = merged
        if previous:
            self._tick()
            self.emit_event("customer.updated", customer, previous_attributes=previous)
        return customer

    def _ep_customers_delete(self, customer_id: str, params: dict[str, Any]) -> dict:
        check_params(CustomerDeleteParams, params)
        customer = self._customer(customer_id, "id")
        self._tick()
        del self._customers[customer_id]
        for pm in self._payment_methods.values():
            if pm["customer"] == customer_id:
                pm["customer"] = None  # Stripe detaches a deleted customer's methods
        self.emit_event("customer.deleted", customer)
        return {"id": customer_id, "object": "customer", "deleted": True}

    def _ep_customers_list(self, _ident: str, params: dict[str, Any]) -> dict[str, Any]:
        check_params(CustomerListParams, params)
        check_expand(params, ())
        email = params.get("email")
        items = [
            c for c in reversed(self._customers.values()) if email is None or c["email"] == email
        ]
        return data.paginate(items, params, CUSTOMERS_URL, CUSTOMER_KIND)

    def _ep_customers_payment_methods(self, customer_id: str, params: dict[str, Any]) -> dict:
        check_params(CustomerPaymentMethodsParams, params)
        check_expand(params, listed(PM_EXPANDABLE), exact=True)
        self._customer(customer_id, "customer")
        items = self._payment_methods_of(customer_id, params.get("type"))
        page = data.paginate(
            items, params, f"{CUSTOMERS_URL}/{customer_id}/payment_methods", "paymentmethod"
        )
        return self._expanded_list(page, params, PM_EXPANDABLE)

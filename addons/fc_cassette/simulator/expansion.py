"""``expand[]`` for the objects around FC: an id field becomes the object it names.

What each object can expand (the rest is Stripe's 400 ``This property cannot be
expanded``): a PaymentIntent its ``customer`` and ``payment_method``; a SetupIntent
those and its ``mandate``; a PaymentMethod its ``customer``; a mandate its
``payment_method``. Lists take the same names under ``data.``. ``latest_charge`` cannot
be expanded: the simulator has no charges (docs/simulator.md).
"""

from __future__ import annotations

import copy
from typing import Any

from fc_cassette.simulator.errors import clip, invalid
from fc_cassette.simulator.host import Host

PI_EXPANDABLE = ("customer", "payment_method")
SI_EXPANDABLE = ("customer", "mandate", "payment_method")
PM_EXPANDABLE = ("customer",)
MANDATE_EXPANDABLE = ("payment_method",)
NONE: tuple[str, ...] = ()


def check_expand(
    params: dict[str, Any], expandable: tuple[str, ...], exact: bool = False
) -> list[str]:
    """``expand[]`` names, each of a field the object can expand (Stripe's wording);
    ``exact``: whole names (``data.ownership``), else their first part."""
    expand = params.get("expand") or []
    for i, item in enumerate(expand):
        if (item if exact else item.split(".")[0]) not in expandable:
            raise invalid(f"expand[{i}]", f"This property cannot be expanded ({clip(item)}).")
    return list(expand)


def listed(fields: tuple[str, ...]) -> tuple[str, ...]:
    """The names a list endpoint of such objects accepts: ``data.<field>``."""
    return tuple("data." + f for f in fields)


class ExpansionMixin(Host):
    """Expands ids into objects; needs the customers, payment methods and mandates."""

    def _store_of(self, field: str) -> dict[str, dict[str, Any]]:
        stores = {
            "customer": self._customers,
            "payment_method": self._payment_methods,
            "mandate": self._mandates,
        }
        return stores[field]

    def _expand_one(self, obj: dict[str, Any], fields: list[str]) -> dict[str, Any]:
        out = copy.deepcopy(obj)
        for field in fields:
            ref = out.get(field)
            found = self._store_of(field).get(ref) if isinstance(ref, str) else None
            if found is not None:
                out[field] = copy.deepcopy(found)
        return out

    def _expanded(
        self, obj: dict[str, Any], params: dict[str, Any], fields: tuple[str, ...]
    ) -> dict[str, Any]:
        """``obj`` with the ``expand[]`` of ``params`` applied (checked against ``fields``)."""
        names = check_expand(params, fields, exact=True)
        return self._expand_one(obj, names) if names else obj

    def _expanded_list(
        self, envelope: dict[str, Any], params: dict[str, Any], fields: tuple[str, ...]
    ) -> dict[str, Any]:
        names = [n.removeprefix("data.") for n in check_expand(params, listed(fields), exact=True)]
        if not names:
            return envelope
        return {**envelope, "data": [self._expand_one(o, names) for o in envelope["data"]]}

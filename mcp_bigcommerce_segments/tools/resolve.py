"""Turning what a merchant names into shopper profile IDs: customer numbers, through the customers API."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Annotated
from uuid import UUID

from pydantic import Field

from ..client import BigCommerceClient
from ..errors import ResponseShapeError
from ..models import Customer
from .common import first_few, plural

MAX_CUSTOMERS = 10_000

CustomerIds = Annotated[
    list[Annotated[int, Field(ge=1, strict=True)]],
    Field(
        min_length=1,
        max_length=MAX_CUSTOMERS,
        description="BigCommerce customer IDs (the numbers in the control panel's customer URLs), not profile UUIDs.",
    ),
]

_BETA_MISSING = (
    "BigCommerce answered without shopper_profile_id, an include its API marks as beta, so customer IDs cannot be "
    "turned into shopper profiles on this store. Use list_segment_profiles or ask for the shopper profile UUIDs."
)


@dataclass
class Resolution:
    """Customer IDs sorted by what the store has for them; each given ID is in exactly one place."""

    found: list[Customer] = field(default_factory=list)
    without_profile: list[int] = field(default_factory=list)
    not_found: list[int] = field(default_factory=list)

    @property
    def profiles(self) -> list[UUID]:
        return [c.shopper_profile_id for c in self.found if c.shopper_profile_id is not None]

    def describe(self) -> str:
        parts = [f"{plural(len(self.found), 'customer')} with a shopper profile"]
        if self.without_profile:
            parts.append(f"{len(self.without_profile):,} without one yet ({first_few(self.without_profile)})")
        if self.not_found:
            parts.append(f"{len(self.not_found):,} not in the store ({first_few(self.not_found)})")
        return ", ".join(parts) + "."


async def resolve_customers(client: BigCommerceClient, customer_ids: Sequence[int]) -> Resolution:
    """Look customers up (a page at a time) and sort them into found / without profile / not found.

    Raises:
        ResponseShapeError: the store does not return the beta `shopper_profile_id` include.
    """
    wanted = list(dict.fromkeys(customer_ids))
    return sort_customers(await client.customers(wanted), wanted)


def sort_customers(customers: Sequence[Customer], asked: Sequence[int]) -> Resolution:
    """Place each asked-for customer ID as found, without profile, or not found.

    Raises:
        ResponseShapeError: the store does not return the beta `shopper_profile_id` include.
    """
    if any("shopper_profile_id" not in c.model_fields_set for c in customers):
        raise ResponseShapeError(_BETA_MISSING)
    by_id = {c.id: c for c in customers}
    resolution = Resolution()
    for customer_id in asked:
        customer = by_id.get(customer_id)
        if customer is None:
            resolution.not_found.append(customer_id)
        elif customer.shopper_profile_id is None:
            resolution.without_profile.append(customer_id)
        else:
            resolution.found.append(customer)
    return resolution

"""Turning what a merchant names into shopper profile IDs: a write's one source (profile IDs, customer numbers,
another segment's members, customers by criteria, or all of this segment's), resolved by the server, paging as
needed."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from mcp.server.mcpserver.exceptions import ToolError

from ..client import BigCommerceClient, Collected
from ..criteria import CustomersWhere
from ..errors import ResponseShapeError
from ..models import Customer, ShopperProfile
from ..words import customers, first_few, plural
from .arguments import MAX_IDS
from .where import Matched, select_where

# BigCommerce's customer IDs are 32-bit integers.
MAX_CUSTOMER_ID = 2**31 - 1

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
    if too_large := [n for n in wanted if n > MAX_CUSTOMER_ID]:
        raise ToolError(
            f"customer_ids are BigCommerce customer numbers, at most {MAX_CUSTOMER_ID:,}; {len(too_large):,} given "
            "are larger. Nothing was read or changed."
        )
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


@dataclass
class Selection:
    """What one of a write's sources resolved to: the profiles, and what is known of them."""

    ids: list[UUID]
    source: str  # in the merchant's words: "customers 4812, 4813", "every member of segment ..."
    retry_args: dict[str, Any]  # the source argument, to repeat the call
    customer_of: dict[UUID, int] = field(default_factory=dict)
    customers: dict[int, Customer] = field(default_factory=dict)
    without_profile: list[int] = field(default_factory=list)
    not_found: list[int] = field(default_factory=list)
    criteria: str | None = None  # customers_where in words ("38 customers in group 'Wholesale' ...")
    members_of: UUID | None = None  # every profile is a member of this segment, as read just now

    @property
    def by_number(self) -> bool:
        """Whether the customers were given by number (the results then say what became of each)."""
        return bool(self.customers) and self.criteria is None


SOURCES = ("profile_ids", "customer_ids", "from_segment_id", "customers_where", "all_members")


def one_source(tool: str, given: dict[str, Any], allowed: Sequence[str]) -> str:
    """The one source given.

    Raises:
        ToolError: none or several were given (the message names them all).
    """
    named = [name for name in allowed if given.get(name) not in (None, False)]
    if len(named) == 1:
        return named[0]
    choices = ", ".join(allowed[:-1]) + f" or {allowed[-1]}"
    if not named:
        raise ToolError(f"{tool} needs one source of profiles: {choices}.")
    raise ToolError(f"{tool} takes one source of profiles, not {' and '.join(named)}: give just one of {choices}.")


async def members(client: BigCommerceClient, segment_id: UUID) -> "Collected[ShopperProfile]":
    """Every member of a segment, up to the per-call limit.

    Raises:
        ToolError: the segment has more members than one call moves, or its pages could not be read reliably.
    """
    collected = await client.segment_members(segment_id, max_items=MAX_IDS, only_if_whole=True)
    if collected.complete:
        return collected
    if collected.total is not None and collected.total > MAX_IDS:
        raise ToolError(
            f"Segment {segment_id} has {collected.total:,} members; one call moves at most {MAX_IDS:,}. Nothing was "
            f"changed. Pass profile_ids in calls of up to {MAX_IDS:,} instead (list_segment_profiles pages through "
            "the segment), or use BigCommerce's control panel for a segment this large."
        )
    raise ToolError(
        f"Segment {segment_id} could not be read reliably (BigCommerce's pages repeated or made no sense); nothing "
        "was changed. Retry in a minute."
    )


async def select(
    client: BigCommerceClient,
    source: str,
    *,
    profile_ids: Sequence[UUID] | None = None,
    customer_ids: Sequence[int] | None = None,
    from_segment_id: UUID | None = None,
    customers_where: CustomersWhere | None = None,
    segment_id: UUID | None = None,
    within: UUID | None = None,
) -> Selection:
    """Resolve the source the call names into shopper profiles (paging as needed, up to 10,000).

    Raises:
        ToolError: the source resolves to nothing usable, or to more than one call moves.
        BigCommerceError: BigCommerce failed while resolving.
    """
    if source == "profile_ids":
        ids = list(dict.fromkeys(profile_ids or []))
        return Selection(ids, "the profile IDs given", {"profile_ids": "<the same IDs>"})
    if source == "customer_ids":
        return by_customers(await resolve_customers(client, customer_ids or []))
    if source == "customers_where":
        assert customers_where is not None
        return by_criteria(await select_where(client, customers_where, within), customers_where, within)
    segment = from_segment_id if source == "from_segment_id" else segment_id
    assert segment is not None
    collected = await members(client, segment)
    # The write's own segment is named in the same read: its result names it (then from the cache).
    name = (await client.segment_names({segment} | ({segment_id} if segment_id else set()))).get(segment)
    return Selection(
        ids=[p.id for p in collected.items],
        source=f"every member of segment '{name}'" if name else f"every member of segment {segment}",
        retry_args={"from_segment_id": str(segment)} if source == "from_segment_id" else {"all_members": True},
        customer_of={p.id: p.customer_id for p in collected.items},
    )


def by_customers(resolution: Resolution) -> Selection:
    """The shopper profiles of resolved customers, and what became of each customer number.

    Raises:
        ToolError: none of the customers has a shopper profile.
    """
    if not resolution.profiles:
        raise ToolError(f"None of the customers has a shopper profile: {resolution.describe()}")
    found = [c.id for c in resolution.found]
    return Selection(
        ids=list(dict.fromkeys(resolution.profiles)),
        source=customers(found),
        retry_args={"customer_ids": "<the same numbers>"},
        customer_of={c.shopper_profile_id: c.id for c in resolution.found if c.shopper_profile_id},
        customers={c.id: c for c in resolution.found},
        without_profile=resolution.without_profile,
        not_found=resolution.not_found,
    )


def by_criteria(matched: Matched, where: CustomersWhere, within: UUID | None) -> Selection:
    """The shopper profiles of the customers a `customers_where` selected (all members of `within`, when given)."""
    return Selection(
        ids=list(dict.fromkeys(matched.profiles.values())),
        source=matched.sentence,
        retry_args={"customers_where": where.given()},
        customer_of={p: c for c, p in matched.profiles.items()},
        customers={c: matched.customers[c] for c in matched.profiles if c in matched.customers},
        without_profile=matched.without_profile,
        criteria=matched.sentence,
        members_of=within,
    )


# Membership of given profiles is looked up by reading a segment of up to this many members...
MEMBERSHIP_LIMIT = 1_000
# ...or, in a larger segment, by looking up at most this many profiles one by one.
MEMBERSHIP_LOOKUPS = 5


async def membership(
    client: BigCommerceClient, segment_id: UUID, ids: list[UUID], source: str
) -> tuple[set[UUID] | None, dict[UUID, int]]:
    """Which of `ids` are members (None: unknown), and the customers of the members read on the way.

    A segment is read whole when it is small enough (up to 10,000 members to intersect with another segment, 1,000
    otherwise); in a larger one, up to 5 profiles are looked up one by one.
    """
    limit = MAX_IDS if source == "from_segment_id" else MEMBERSHIP_LIMIT
    return await client.membership(segment_id, ids, read_up_to=limit, max_lookups=MEMBERSHIP_LOOKUPS)

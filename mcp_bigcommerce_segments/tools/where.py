"""Evaluating `customers_where` against the store: the fewest reads that answer it, BigCommerce's own filters pushed
wherever it has them, and the bounds checked before the long reads.

The positive fields each give a set of customers: the segments in `in_segments` (and, for a removal, the segment
itself: only its members can be removed), the customers the Customers API's filters select, and the customers with
the orders asked for. They are read in that order, each narrowed by the one before where that reads less (the
Customers API is asked by `id:in` for known candidates; orders are read per customer when there are fewer customers
than pages of orders). `not_in_segments` and `no_order_since` then take customers out. With no positive field, every
customer of the store is the start (at most 50,000).
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from uuid import UUID

from mcp.server.mcpserver.exceptions import ToolError

from ..client import MAX_PAGE_SIZE, BigCommerceClient
from ..criteria import CustomersWhere, describe, narrowing
from ..errors import ResponseShapeError
from ..models import Customer, CustomerGroup
from ..words import plural
from .arguments import MAX_IDS
from .tally import MAX_READ, OrderTally, tallies, within

#: Customer groups listed when a name matches none.
GROUPS_SHOWN = 20

_BETA_MISSING = (
    "BigCommerce answered without shopper_profile_id, an include its API marks as beta, so customers cannot be "
    "turned into shopper profiles on this store; nothing was changed."
)


@dataclass
class Matched:
    """The customers a `customers_where` selects: those with a shopper profile (in the order found), those without,
    what was read of them, and the criteria in words."""

    profiles: dict[int, UUID]
    without_profile: list[int]
    customers: dict[int, Customer]
    words: str

    @property
    def count(self) -> int:
        return len(self.profiles) + len(self.without_profile)

    within: bool = False  # selected among one segment's members (a removal)

    @property
    def sentence(self) -> str:
        """ "38 customers in group 'Wholesale' who spent at least 500.00 since 2026-09-01" ("members" for a
        removal, whose selection starts from the segment's members)."""
        return f"{plural(self.count, 'member' if self.within else 'customer')} {self.words}"


class Selector:
    """One evaluation of a `customers_where` (a new one per call)."""

    def __init__(self, client: BigCommerceClient, where: CustomersWhere, within: UUID | None = None) -> None:
        self.client, self.where, self.within = client, where, within
        self.candidates: dict[int, UUID | None] | None = None  # customer -> profile (None: not known yet)
        self.customers: dict[int, Customer] = {}
        self.group: CustomerGroup | None = None
        self.names: dict[UUID, str] = {}

    async def run(self) -> Matched:
        """The customers selected.

        Raises:
            ToolError: a bound, an unknown group or segment, or a missing scope (each a sentence to act on).
            BigCommerceError: BigCommerce failed.
        """
        await self._segment_names()
        await self._positives()
        if self.candidates is None:
            self._keep_rows(await self._read_customers({}))
        for segment in self.where.not_in_segments or ():
            self._drop(await self._members(segment))
        if self.where.no_order_since:
            self._drop(await self._tallies(self.where.no_order_since, None))
        return await self._matched()

    async def _positives(self) -> None:
        """The segments, then the customer fields, then the orders: each narrows the candidates."""
        where = self.where
        if where.customer_group:
            self.group = await self._group(where.customer_group)
        for segment in [*(where.in_segments or ()), *([self.within] if self.within else [])]:
            self._keep(await self._members(segment))
        if where.customer_fields:
            await self._keep_customers()
        if where.order_fields:
            tallies = await self._tallies(where.ordered_after, where.ordered_before)
            spent, many = where.spent or 0, where.min_orders or 1
            self._keep({c: None for c, t in tallies.items() if t.orders >= many and t.spent >= spent})

    # --- the sets ---------------------------------------------------------------------------------------------

    def _keep(self, found: dict[int, UUID | None]) -> None:
        """Narrow the candidates to `found` (a profile known from either side is kept)."""
        if self.candidates is None:
            self.candidates = dict(found)
        else:
            self.candidates = {c: p or found[c] for c, p in self.candidates.items() if c in found}

    def _keep_rows(self, rows: list[Customer]) -> None:
        self.customers.update({c.id: c for c in rows})
        self._keep({c.id: c.shopper_profile_id for c in rows})

    def _drop(self, gone: Iterable[int]) -> None:
        assert self.candidates is not None
        for customer in gone:
            self.candidates.pop(customer, None)

    def _described(self) -> str:
        return describe(self.where, group=self.group.name if self.group else None, segments=self.names)

    # --- segments and groups ----------------------------------------------------------------------------------

    async def _segment_names(self) -> None:
        named = {*(self.where.in_segments or ()), *(self.where.not_in_segments or ())}
        # A removal's own segment is named in the same read: its preview names it (then from the cache).
        self.names = await self.client.segment_names(named | ({self.within} if self.within else set()))
        if unknown := sorted(named - self.names.keys(), key=str):
            raise ToolError(
                f"customers_where names segment {unknown[0]}, which this store does not have; nothing was read or "
                "changed. list_segments(name_contains=...) finds a segment's ID by its name."
            )

    async def _group(self, wanted: str) -> CustomerGroup:
        groups = await self.client.customer_groups()
        text = wanted.strip()
        for group in groups:
            if (
                text.isascii() and text.isdigit() and group.id == int(text)
            ) or group.name.casefold() == text.casefold():
                return group
        shown = ", ".join(f"'{g.name}'" for g in groups[:GROUPS_SHOWN]) or "none"
        more = f" and {len(groups) - GROUPS_SHOWN} more" if len(groups) > GROUPS_SHOWN else ""
        raise ToolError(
            f"customers_where.customer_group: this store has no customer group {wanted!r}; nothing was read or "
            f"changed. Its groups are: {shown}{more}. Pass one of those names, or a group's number."
        )

    async def _members(self, segment: UUID) -> dict[int, UUID | None]:
        read = await self.client.segment_members(segment, max_items=MAX_READ, only_if_whole=True)
        name = self.names.get(segment) or (await self.client.segment_names({segment})).get(segment) or str(segment)
        if read.total is not None and read.total > MAX_READ:
            raise ToolError(
                f"Segment '{name}' has {read.total:,} members: customers_where reads a segment whole, at most "
                f"{MAX_READ:,} members; nothing was changed. Select in a smaller segment, or pass profile_ids or "
                "customer_ids in calls of up to 10,000."
            )
        if not read.complete:
            raise ToolError(
                f"Segment '{name}' could not be read reliably (BigCommerce's pages repeated or made no sense); "
                "nothing was changed. Retry in a minute."
            )
        return {p.customer_id: p.id for p in read.items}

    # --- customers --------------------------------------------------------------------------------------------

    def _params(self) -> dict[str, str]:
        """The Customers API's own filters for the customer fields (`company:in` and `name:like` take lists split at
        commas: a value with a comma in it is matched here instead)."""
        where, params = self.where, {}
        if self.group is not None:
            params["customer_group_id:in"] = str(self.group.id)
        if where.company and "," not in where.company:
            params["company:in"] = where.company
        if where.name_contains and "," not in where.name_contains:
            params["name:like"] = where.name_contains
        # A day wider than asked on each side (the API's own edges and time zone are not documented), then checked
        # exactly here (`_holds`).
        if where.signed_up_after:
            params["date_created:min"] = (where.signed_up_after - timedelta(days=1)).isoformat()
        if where.signed_up_before:
            params["date_created:max"] = (where.signed_up_before + timedelta(days=1)).isoformat()
        return params

    def _holds(self, customer: Customer) -> bool:
        """The customer fields BigCommerce cannot filter (or filters loosely at the edges), checked here."""
        where = self.where
        if where.email_domain and not customer.email.casefold().endswith("@" + where.email_domain):
            return False
        if where.company and "," in where.company and customer.company.casefold() != where.company.casefold():
            return False
        name = f"{customer.first_name} {customer.last_name}".casefold()
        if where.name_contains and "," in where.name_contains and where.name_contains.casefold() not in name:
            return False
        return within(customer.date_created, where.signed_up_after, where.signed_up_before)

    def _narrows_further(self) -> bool:
        """Whether fields the Customers API did not filter may still narrow what its filters selected."""
        where = self.where
        commas = "," in (where.company or "") + (where.name_contains or "")
        return bool(where.email_domain or where.order_fields or where.not_in_segments or where.no_order_since or commas)

    async def _read_customers(self, params: dict[str, str]) -> list[Customer]:
        """Customers by the API's filters, the bounds checked on the first page."""
        # Nothing else narrows what the filters select: more than one call takes is refused from the first page.
        read = await self.client.customers_matching(params, max_items=MAX_READ if self._narrows_further() else MAX_IDS)
        total = read.total or 0
        where = self.where
        # What the API's filters selected, in words: all the store's customers when nothing was pushed.
        counted = f"{total:,} customers match the API's filters" if params else f"The store has {total:,} customers"
        if total > MAX_READ:
            raise ToolError(
                f"{counted} ({self._described()}): a selection reads at most {MAX_READ:,} customers; nothing was "
                f"changed. {narrowing(where).capitalize()}."
            )
        if total > MAX_IDS and not self._narrows_further():
            raise ToolError(
                f"{total:,} customers {self._described()}: one call takes at most {MAX_IDS:,}; nothing was changed. "
                f"{narrowing(where).capitalize()}."
            )
        if not read.complete:
            raise ToolError(
                "The store's customers could not be read reliably (BigCommerce's pages repeated or made no sense); "
                "nothing was changed. Retry in a minute."
            )
        if any("shopper_profile_id" not in c.model_fields_set for c in read.items):
            raise ResponseShapeError(_BETA_MISSING)
        return [c for c in read.items if self._holds(c)]

    async def _keep_customers(self) -> None:
        params = self._params()
        known = self.candidates
        if known is not None and len(known) > MAX_PAGE_SIZE:
            # More candidates than one look-up by ID: the API's own filter may select fewer pages.
            read = await self.client.customers_matching(params, max_items=len(known))
            if read.complete:
                self._keep_rows([c for c in read.items if self._holds(c)])
                return
        if known is None:
            self._keep_rows(await self._read_customers(params))
            return
        rows: list[Customer] = []
        ids = list(known)
        for start in range(0, len(ids), MAX_PAGE_SIZE):
            batch = {**params, "id:in": ",".join(str(i) for i in ids[start : start + MAX_PAGE_SIZE])}
            read = await self.client.customers_matching(batch, max_items=MAX_PAGE_SIZE)
            if not read.complete:
                raise ToolError(
                    "The store's customers could not be read reliably (BigCommerce's pages repeated or made no "
                    "sense); nothing was changed. Retry in a minute."
                )
            rows += read.items
        self._keep_rows([c for c in rows if self._holds(c)])

    # --- orders ---------------------------------------------------------------------------------------------

    async def _tallies(self, after: date | None, before: date | None) -> dict[int, OrderTally]:
        """Each customer's counted orders in the window (see `tally.tallies`)."""
        return await tallies(self.client, after, before, among=self.candidates)

    # --- the answer -------------------------------------------------------------------------------------------

    async def _look_up(self, unknown: list[int]) -> None:
        """The profiles of candidates known only by number (from orders); those no longer in the store go."""
        if not unknown:
            return
        assert self.candidates is not None
        rows = await self.client.customers(unknown)
        if any("shopper_profile_id" not in c.model_fields_set for c in rows):
            raise ResponseShapeError(_BETA_MISSING)
        self.customers.update({c.id: c for c in rows})
        for row in rows:
            self.candidates[row.id] = row.shopper_profile_id
        self._drop(set(unknown) - {c.id for c in rows})  # ordered, then deleted: no longer a shopper

    async def _matched(self) -> Matched:
        assert self.candidates is not None
        if len(self.candidates) > MAX_READ:  # before looking them up: that is a long read
            raise self._too_many_profiles(len(self.candidates))
        await self._look_up([c for c, p in self.candidates.items() if p is None and c not in self.customers])
        profiles = {c: p for c, p in sorted(self.candidates.items()) if p is not None}
        if len(profiles) > MAX_IDS:
            raise self._too_many_profiles(len(profiles))
        without = sorted(c for c, p in self.candidates.items() if p is None)
        return Matched(profiles, without, self.customers, self._described(), within=self.within is not None)

    def _too_many_profiles(self, count: int) -> ToolError:
        return ToolError(
            f"{count:,} customers {self._described()}: one call takes at most {MAX_IDS:,} profiles; nothing was "
            f"changed. {narrowing(self.where).capitalize()}."
        )


async def select_where(client: BigCommerceClient, where: CustomersWhere, within: UUID | None = None) -> Matched:
    """The customers `where` selects (for a removal, among the members of `within`)."""
    return await Selector(client, where, within).run()

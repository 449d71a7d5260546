"""The typed BigCommerce operations: pages and whole collections, customers, segment names, and the two writes.

They are built on one abstract `_request` (which `BigCommerceClient`, the HTTP choke point, provides) and return
typed values or an `Answer` for the caller to read, never responses. No HTTP library is imported here.
"""

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic
from uuid import UUID

from .answer import Answer, parse_page
from .errors import NotFoundError, PayloadTooLargeError
from .models import Customer, CustomerPage, Page, Pagination, ProfilePage, Segment, SegmentPage, ShopperProfile, T
from .ratelimit import WaitReporter

# BigCommerce: "Limit of Shopper Profiles per request is 50." DELETE's `id:in` has no documented limit; the same
# 50 keeps URLs short (50 UUIDs are about 1.9 kB).
CHUNK_SIZE = 50
# BigCommerce's largest page (a larger `limit` answers 413 on v3 endpoints).
MAX_PAGE_SIZE = 250
# BigCommerce's documented default page, for a store that answers 413 to pages of 250.
SMALL_PAGE = 50
# Segment names read are reused this long within a process (a merchant renames a segment rarely; our own renames and
# deletions drop them at once).
NAMES_TTL_SECONDS = 60.0
# A shopper profile belongs to at most this many segments, and a store holds at most this many (BigCommerce's limits).
MAX_SEGMENTS_PER_PROFILE = 1_000
MAX_SEGMENTS = 1_000


@dataclass
class Names:
    """Segment names read lately: by ID (name, until when), and until when the first page's reading stands."""

    by_id: dict[UUID, tuple[str, float]] = field(default_factory=dict)
    first_page_until: float = 0.0


@dataclass(frozen=True)
class Collected(Generic[T]):
    """A collection read page by page: each item once, and whether the reading got to a trustworthy end."""

    items: list[T]
    complete: bool
    total: int | None


class Endpoints:
    """BigCommerce's segment, shopper-profile and customer endpoints, over `_request`."""

    #: Learnt from the first 413 to a page of 250: stores that cap pages lower are then read in pages of 50.
    page_size: int = MAX_PAGE_SIZE

    def _now(self) -> float:
        """The client's clock (see `BigCommerceClient`)."""
        raise NotImplementedError

    async def _request(
        self,
        method: str,
        path: str,
        *,
        what: str,
        params: Mapping[str, str | int] | None = None,
        body: bytes | None = None,
        accept: frozenset[int] = frozenset(),
        on_wait: WaitReporter | None = None,
    ) -> Answer:
        """Send one request (see `BigCommerceClient._request`)."""
        raise NotImplementedError

    async def _get_page(
        self,
        path: str,
        model: type[Page[T]],
        *,
        what: str,
        params: Mapping[str, str | int] | None = None,
        page: int = 1,
        limit: int = SMALL_PAGE,
    ) -> Page[T]:
        """GET one page of at most `limit` items and check it has the `{data, meta: {pagination}}` shape the spec
        promises.

        The one place a page size is chosen: `limit` is clamped to the store's page cap, which is learnt from its
        first 413 to a larger page (the page is then asked once more, in pages of 50). The answer's pagination says
        the size it was read in.
        """
        while True:
            size = min(limit, self.page_size)
            try:
                answer = await self._request(
                    "GET", path, what=what, params={**(params or {}), "page": page, "limit": size}
                )
            except PayloadTooLargeError:
                if size <= SMALL_PAGE:
                    raise
                self.page_size = SMALL_PAGE  # a store that caps pages lower: ask again in pages of 50
                continue
            return parse_page(answer, model, what)

    async def collect(
        self,
        path: str,
        model: type[Page[T]],
        *,
        what: str,
        max_items: int,
        params: Mapping[str, str | int] | None = None,
        only_if_whole: bool = False,
    ) -> "Collected[T]":
        """Read a whole collection of at most `max_items`, in the largest pages the store allows.

        Takes nothing for granted: each item is kept once (by `id`), and the reading stops, marked incomplete, once
        `max_items` are read (at once, with `only_if_whole`, when the first page says there are more), a page says it
        is not the page asked for, or a page brings nothing new (a server that ignores `page` repeats itself). When
        the store's page cap is learnt past the first page, the reading starts again in the smaller pages.
        """
        items: dict[Any, T] = {}
        page = 1
        while True:
            size = self.page_size
            fetched = await self._get_page(path, model, what=what, params=params, page=page, limit=size)
            if self.page_size < size and page > 1:
                items, page = {}, 1  # the pages read so far were numbered in the larger size
                continue
            p = fetched.pagination
            total = p.total if p.total >= 0 else None
            if _unusable(p, page, max_items if only_if_whole else None):
                return Collected(list(items.values()), complete=False, total=total)
            before = len(items)
            for item in fetched.data:
                items.setdefault(item.id, item)
            if page >= p.total_pages or not fetched.data:
                # The end, by the pages' word; trusted only if the count adds up (a page of data says there is one).
                whole = total is not None and len(items) >= total and (p.total_pages >= 1 or not items)
                return Collected(list(items.values()), complete=whole, total=total)
            if len(items) == before or len(items) >= max_items:
                return Collected(list(items.values()), complete=False, total=total)
            page += 1

    async def list_segment_profiles(self, segment_id: UUID, *, page: int = 1, limit: int = 50) -> ProfilePage:
        """GET one page of a segment's shopper profiles."""
        what = f"segment {segment_id}"
        path = f"segments/{segment_id}/shopper-profiles"
        return await self._get_page(path, ProfilePage, what=what, page=page, limit=limit)

    async def segment_members(
        self, segment_id: UUID, *, max_items: int, only_if_whole: bool = False
    ) -> "Collected[ShopperProfile]":
        """The shopper profiles of a segment, up to `max_items` (`complete` says whether that is all of them)."""
        return await self.collect(
            f"segments/{segment_id}/shopper-profiles",
            ProfilePage,
            what=f"segment {segment_id}",
            max_items=max_items,
            only_if_whole=only_if_whole,
        )

    async def list_segments(self, *, page: int = 1, limit: int = 50) -> SegmentPage:
        """GET one page of the store's segments."""
        return await self._get_page("segments", SegmentPage, what="segments", page=page, limit=limit)

    async def all_segments(self, *, max_items: int) -> "Collected[Segment]":
        """Every segment of the store (a store has at most 1,000); their names are remembered for `segment_names`."""
        read = await self.collect("segments", SegmentPage, what="segments", max_items=max_items)
        self._remember(read.items)
        return read

    @property
    def _names(self) -> Names:
        """The segment names this client remembers (made once, shared by its `within` views)."""
        names: Names = self.__dict__.setdefault("_names_memo", Names())
        return names

    def _remember(self, segments: Sequence[Segment]) -> None:
        """Keep segment names for `segment_names`, for `NAMES_TTL_SECONDS`."""
        self._names.by_id.update({s.id: (s.name, self._now() + NAMES_TTL_SECONDS) for s in segments})

    async def segments_by_id(self, ids: set[UUID]) -> dict[UUID, Segment]:
        """The segments, whole (name and description), by ID, a page of IDs per request (none for no IDs); a segment
        that does not exist has no entry. Their names are remembered for `segment_names`."""
        found: dict[UUID, Segment] = {}
        wanted = sorted(ids, key=str)
        for start in range(0, len(wanted), MAX_PAGE_SIZE):
            batch = wanted[start : start + MAX_PAGE_SIZE]
            params = {"id:in": ",".join(str(i) for i in batch)}
            read = await self.collect("segments", SegmentPage, what="segments", params=params, max_items=len(batch))
            found.update({s.id: s for s in read.items})
        self._remember(list(found.values()))
        return found

    async def segment_names(self, ids: set[UUID]) -> dict[UUID, str]:
        """The names of segments, by ID: from what this process read in the last `NAMES_TTL_SECONDS`, else read. A
        segment that does not exist has no entry.

        A read takes the store's first page of segments (250), which names every segment of most stores, so the next
        call's names are known too; only segments beyond that page are read by ID (`segments_by_id`).
        """
        now = self._now()
        names = self.known_names(ids)
        missing = ids - names.keys()
        if not missing:
            return names
        whole = False
        if self._names.first_page_until <= now:  # else the first page was read lately: not there
            first = await self.list_segments(page=1, limit=MAX_PAGE_SIZE)
            self._remember(first.data)
            self._names.first_page_until = now + NAMES_TTL_SECONDS
            names |= {s.id: s.name for s in first.data if s.id in missing}
            missing -= names.keys()
            whole = first.pagination.total_pages <= 1 and 0 <= first.pagination.total <= len(first.data)
        if missing and not whole:  # a store with more segments than one page (or a page that does not say)
            names |= {i: s.name for i, s in (await self.segments_by_id(missing)).items()}
        return names

    def known_names(self, ids: set[UUID]) -> dict[UUID, str]:
        """The names of segments this process read in the last `NAMES_TTL_SECONDS` (no request)."""
        cache, now = self._names.by_id, self._now()
        return {i: cache[i][0] for i in ids if i in cache and cache[i][1] > now}

    def forget_names(self, ids: set[UUID] | None = None) -> None:
        """Drop remembered segment names (all, or of `ids`): after this process renames or deletes a segment."""
        cache = self._names.by_id
        for i in list(cache) if ids is None else ids:
            cache.pop(i, None)
        self._names.first_page_until = 0.0  # a created segment may be on it now

    async def segment_exists(self, segment_id: UUID) -> bool:
        """Whether the segment exists (one small read)."""
        try:
            await self.list_segment_profiles(segment_id, limit=1)
        except NotFoundError:
            return False
        return True

    async def customers(self, ids: Sequence[int]) -> list[Customer]:
        """GET customers by ID, with their shopper profile and segments (beta includes), a page at a time."""
        wanted = list(dict.fromkeys(ids))
        found: list[Customer] = []
        for start in range(0, len(wanted), MAX_PAGE_SIZE):
            batch = wanted[start : start + MAX_PAGE_SIZE]
            params = {"id:in": ",".join(str(i) for i in batch), "include": "shopper_profile_id,segment_ids"}
            read = await self.collect("customers", CustomerPage, what="customers", params=params, max_items=len(batch))
            found += read.items
        return found

    async def search_customers(self, *, name_like: str | None = None, email: str | None = None) -> CustomerPage:
        """GET the first 50 customers whose name contains `name_like` or whose email is `email`."""
        params: dict[str, str | int] = {"include": "shopper_profile_id,segment_ids"}
        if name_like is not None:
            params["name:like"] = name_like
        if email is not None:
            params["email:in"] = email
        return await self._get_page("customers", CustomerPage, what="customers", params=params, limit=50)

    async def profile_segments(self, profile_id: UUID, *, page: int = 1, limit: int = 50) -> SegmentPage:
        """GET one page of the segments a shopper profile belongs to."""
        path = f"shopper-profiles/{profile_id}/segments"
        return await self._get_page(path, SegmentPage, what=f"shopper profile {profile_id}", page=page, limit=limit)

    async def is_member(self, segment_id: UUID, profile_id: UUID) -> bool:
        """Whether a profile is in a segment, from the profile's own segments (a shopper is in at most 1,000).

        An unknown profile is certainly not a member; pagination that makes no sense counts as a member, so that a
        removal is still sent rather than silently skipped.
        """
        try:
            read = await self.collect(
                f"shopper-profiles/{profile_id}/segments",
                SegmentPage,
                what=f"shopper profile {profile_id}",
                max_items=MAX_SEGMENTS_PER_PROFILE,
            )
        except NotFoundError:
            return False
        return any(s.id == segment_id for s in read.items) or not read.complete

    async def membership(
        self, segment_id: UUID, ids: Sequence[UUID], *, read_up_to: int, max_lookups: int
    ) -> tuple[set[UUID] | None, dict[UUID, int]]:
        """Which of `ids` are members of a segment (None: unknown), and the customers of the members read on the way.

        The segment is read whole when it has at most `read_up_to` members; in a larger one, up to `max_lookups`
        profiles are looked up one by one (`is_member`). Pagination that makes no sense leaves membership unknown,
        never "not a member".
        """
        try:
            read = await self.segment_members(segment_id, max_items=read_up_to, only_if_whole=True)
        except PayloadTooLargeError:
            return None, {}
        customer_of = {p.id: p.customer_id for p in read.items}
        if read.complete:
            return set(customer_of) & set(ids), customer_of
        if len(ids) > max_lookups or read.total is None or read.total <= read_up_to:
            return None, {}
        return {profile_id for profile_id in ids if await self.is_member(segment_id, profile_id)}, {}

    # --- writes: the answers are interpreted by `batch` -------------------------------------------------------

    async def post_profiles(
        self, segment_id: UUID, ids: Sequence[UUID], *, on_wait: WaitReporter | None = None
    ) -> Answer:
        """POST up to 50 IDs to a segment (a bare JSON array, as the spec says); 201, 404, 409 and 422 are returned.

        Not retried once it may have been sent (see `retry`): after a lost answer the caller re-reads membership.
        """
        if not ids or len(ids) > CHUNK_SIZE:  # BigCommerce: max 50 per POST; never an empty body
            raise ValueError("a POST takes 1 to 50 profile IDs")
        what = f"segment {segment_id}"
        body = json.dumps([str(i) for i in ids], separators=(",", ":")).encode()
        path = f"segments/{segment_id}/shopper-profiles"
        return await self._request(
            "POST", path, what=what, body=body, accept=frozenset({404, 409, 422}), on_wait=on_wait
        )

    async def delete_profiles(
        self, segment_id: UUID, ids: Sequence[UUID], *, on_wait: WaitReporter | None = None
    ) -> Answer:
        """DELETE up to 50 IDs from a segment by `id:in`; 204 and 404 are returned."""
        # Without `id:in`, BigCommerce empties the whole segment: this guard must never be removed.
        if not ids or len(ids) > CHUNK_SIZE:
            raise ValueError("a DELETE takes 1 to 50 profile IDs")
        what = f"segment {segment_id}"
        return await self._request(
            "DELETE",
            f"segments/{segment_id}/shopper-profiles",
            what=what,
            params={"id:in": ",".join(str(i) for i in ids)},
            accept=frozenset({404}),
            on_wait=on_wait,
        )


def _unusable(p: Pagination, asked: int, whole_up_to: int | None) -> bool:
    """A page to stop at, unread: not the page asked for, nonsense counts, or (`whole_up_to`) more than wanted."""
    total = p.total if p.total >= 0 else None
    return p.current_page != asked or p.total_pages < 0 or (whole_up_to is not None and (total or 0) > whole_up_to)

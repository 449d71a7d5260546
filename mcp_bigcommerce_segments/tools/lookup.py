"""Read-only tools that turn what a merchant says into the UUIDs the segment tools take.

`list_segments` finds a segment by name, `get_profile_segments` shows where a profile is a member, and
`find_shopper_profiles` turns customer numbers, names and emails into shopper profile IDs through
`GET /v3/customers?include=shopper_profile_id,segment_ids`.
"""

from typing import Annotated
from uuid import UUID

from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult
from pydantic import Field

from ..client import MAX_PAGE_SIZE, BigCommerceClient
from ..criteria import CustomersWhere
from ..endpoints import MAX_SEGMENTS
from ..models import Customer, Pagination, Segment
from ..promotions import gates, promotions_of, refs
from ..results import CustomerProfile, FindProfilesResult, ProfileSegmentsResult, SegmentEntry, SegmentsResult
from ..state import AppState
from ..words import plural
from .arguments import Limit, PageNumber, Where
from .context import Ctx, app_state, tool_errors
from .resolve import Resolution, resolve_customers, sort_customers
from .text import next_page, page_fields, tool_result
from .where import select_where


async def list_segments(
    ctx: Ctx,
    page: PageNumber = 1,
    limit: Limit = 50,
    name_contains: Annotated[
        str | None, Field(max_length=200, description="Only segments whose name contains this, any case.")
    ] = None,
) -> Annotated[CallToolResult, SegmentsResult]:
    """List the store's customer segments: id, name, description, timestamps, and `promotions` (those that name it;
    left out without the Marketing read scope).

    Use it to find a segment's ID from its name: `name_contains="vip"` matches "VIP customers" (any case) and reads
    all segments (a store has at most 1,000) in up to 4 requests. Without it, one page of `limit` segments (1 to 250,
    default 50); when `next_page` is not null, call again with `page` set to it.
    """
    app = app_state(ctx)
    with tool_errors():
        if name_contains is None:
            fetched = await app.client.list_segments(page=page, limit=limit)
            segments, p = fetched.data, fetched.pagination
            searched_all = True
        else:
            matches, searched_all = await _search_segments(app.client, name_contains)
            segments = matches[(page - 1) * limit : page * limit]
            p = Pagination(
                total=len(matches),
                count=len(segments),
                per_page=limit,
                current_page=page,
                total_pages=-(-len(matches) // limit),
            )
    total, total_pages, current = p.total, p.total_pages, p.current_page
    following = next_page(current, total_pages)
    what = plural(total, "segment") + (f" whose name contains {name_contains!r}" if name_contains else " in the store")
    if not segments:
        summary = f"{what.capitalize()}." if not total else f"{what}; page {current} is past the end, use page=1."
    else:
        first = (current - 1) * limit + 1
        summary = f"{what}; this is {first:,}-{first + len(segments) - 1:,} (page {current} of {total_pages})."
        summary += f" Call again with page={following} for more." if following else ""
    if not searched_all:
        summary += f" The search stopped after {MAX_SEGMENTS:,} segments; there may be more."
    entries, why = await _with_promotions(app, segments)
    return tool_result(
        SegmentsResult(
            summary=app.tag + summary + (f" {why}" if why and segments else ""),
            segments=entries,
            name_contains=name_contains,
            searched_all=searched_all,
            **page_fields(p, app.settings.sandbox),
        )
    )


async def _with_promotions(app: AppState, segments: list[Segment]) -> tuple[list[SegmentEntry], str]:
    """Each segment with the promotions that name it; without them, the sentence that says why."""
    promotions, why = await promotions_of(app.client) if segments else (None, "")
    return [
        SegmentEntry(**s.model_dump(), promotions=None if promotions is None else refs(gates(promotions, s.id)))
        for s in segments
    ], why


async def _search_segments(client: BigCommerceClient, needle: str) -> tuple[list[Segment], bool]:
    """Segments whose name contains `needle` (any case), and whether every segment was read."""
    wanted = needle.casefold()
    segments = await client.all_segments(max_items=MAX_SEGMENTS)
    return [s for s in segments.items if wanted in s.name.casefold()], segments.complete


async def get_profile_segments(
    ctx: Ctx,
    profile_id: Annotated[UUID | None, Field(description="The shopper profile's ID (a UUID).")] = None,
    customer_id: Annotated[
        int | None, Field(ge=1, strict=True, description="Or the customer's number; the server finds its profile.")
    ] = None,
    page: PageNumber = 1,
    limit: Limit = 50,
) -> Annotated[CallToolResult, ProfileSegmentsResult]:
    """List the segments one shopper belongs to (a shopper can be in up to 1,000), given `profile_id` or
    `customer_id`.

    One page of `limit` segments (1 to 250, default 50); when `next_page` is not null, call again with `page` set to
    it.
    """
    app = app_state(ctx)
    if (profile_id is None) == (customer_id is None):
        raise ToolError("get_profile_segments takes one of profile_id (a UUID) or customer_id (a number).")
    with tool_errors():
        if customer_id is not None:
            resolved = await resolve_customers(app.client, [customer_id])
            if not resolved.profiles:
                raise ToolError(f"Customer {customer_id}: {resolved.describe()} It is in no segment.")
            profile_id = resolved.profiles[0]
        assert profile_id is not None
        fetched = await app.client.profile_segments(profile_id, page=page, limit=limit)
    p = fetched.pagination
    following = next_page(p.current_page, p.total_pages)
    who = f"Customer {customer_id}'s shopper profile" if customer_id else "Shopper profile"
    summary = f"{who} {profile_id} is in {plural(p.total, 'segment')}"
    if fetched.data and p.total_pages > 1:
        summary += f"; page {p.current_page} of {p.total_pages}"
    summary += f". Call again with page={following} for more." if following else "."
    return tool_result(
        ProfileSegmentsResult(
            summary=app.tag + summary,
            profile_id=profile_id,
            customer_id=customer_id,
            segments=fetched.data,
            **page_fields(p, app.settings.sandbox),
        )
    )


async def find_shopper_profiles(
    ctx: Ctx,
    customer_ids: Annotated[
        list[Annotated[int, Field(ge=1, strict=True)]] | None,
        Field(min_length=1, max_length=MAX_PAGE_SIZE, description="BigCommerce customer IDs, 1 to 250."),
    ] = None,
    name_contains: Annotated[
        str | None,
        Field(min_length=2, max_length=100, description="Part of a customer's first and last name, e.g. 'smith'."),
    ] = None,
    email: Annotated[str | None, Field(min_length=3, max_length=254, description="A customer's exact email.")] = None,
    in_segment_id: Annotated[UUID | None, Field(description="Only customers in this segment.")] = None,
    customers_where: Where = None,
) -> Annotated[CallToolResult, FindProfilesResult]:
    """Find customers and their shopper profiles by customer numbers, part of a name, an email, or criteria.

    Give exactly one of `customer_ids` (1 to 250), `name_contains` (part of the first and last name, e.g. "smith";
    the first 50 matches), `email`, or `customers_where` (the first 50; `matched`
    is the total); `in_segment_id` keeps only customers in that segment. Each customer found
    has its `shopper_profile_id`, name, email, company and segments; customers without a shopper profile yet and
    unknown customer numbers are listed apart. When several match a name or email, ask the user which one is
    meant. The write tools take `customer_ids` and `customers_where` directly.
    """
    app = app_state(ctx)
    given = [value for value in (customer_ids, name_contains, email, customers_where) if value is not None]
    if len(given) != 1:
        raise ToolError(
            "find_shopper_profiles takes exactly one of customer_ids, name_contains, email or customers_where."
        )
    if customers_where is not None:
        return await _find_where(app, customers_where, in_segment_id)
    matches = None
    with tool_errors():
        if customer_ids is not None:
            resolved = await resolve_customers(app.client, customer_ids)
        else:
            page = await app.client.search_customers(name_like=name_contains, email=email)
            resolved = sort_customers(page.data, [c.id for c in page.data])
            matches = page.pagination.total
        customers = _in_segment(resolved.found, in_segment_id)
        wanted = {s for c in customers for s in c.segment_ids or []} | ({in_segment_id} if in_segment_id else set())
        names = await app.client.segment_names(wanted)
    found = [CustomerProfile.of(c, names, hide_email=app.settings.hide_emails) for c in customers]
    searched = _searched(name_contains, email) if matches is not None else None
    in_segment = None if in_segment_id is None else names.get(in_segment_id) or in_segment_id
    summary = _found_sentence(resolved, found, searched, matches, in_segment)
    return tool_result(
        FindProfilesResult(
            summary=app.tag + summary,
            found=found,
            without_profile=resolved.without_profile,
            not_found=resolved.not_found,
            sandbox=app.settings.sandbox,
        )
    )


def _searched(name_contains: str | None, email: str | None) -> str:
    return f"named like {name_contains!r}" if name_contains is not None else f"with email {email!r}"


#: Customers a search by criteria lists (the rest are counted in `matched`).
LISTED = 50


async def _find_where(app: AppState, where: CustomersWhere, in_segment_id: UUID | None) -> CallToolResult:
    """The first 50 customers a `customers_where` selects (`in_segment_id` joins its `in_segments`), with their
    profiles, and how many match."""
    if in_segment_id is not None:
        merged = [*(where.in_segments or []), in_segment_id]
        where = where.model_copy(update={"in_segments": list(dict.fromkeys(merged))})
    with tool_errors():
        matched = await select_where(app.client, where)
        first = list(matched.profiles)[:LISTED]
        missing = [c for c in first if c not in matched.customers]
        read = dict(matched.customers)
        if missing:
            read.update({c.id: c for c in await app.client.customers(missing)})
        # Without each one's segments: the criteria say what they share, and 50 lists of segments are long to read.
        customers = [read[c].model_copy(update={"segment_ids": None}) for c in first if c in read]
    found = [CustomerProfile.of(c, {}, hide_email=app.settings.hide_emails) for c in customers]
    summary = matched.sentence
    if matched.without_profile:
        summary += f" ({plural(len(matched.without_profile), 'has', 'have')} no shopper profile yet)"
    if len(matched.profiles) > len(found):
        summary += f"; the first {len(found)} with a shopper profile are listed"
    summary += (
        ". To act on all of them, pass the same customers_where to add_profiles_to_segment or "
        "remove_profiles_from_segment."
        if found
        else "."
    )
    return tool_result(
        FindProfilesResult(
            summary=app.tag + summary,
            found=found,
            without_profile=matched.without_profile[:20],
            not_found=[],
            matched=matched.count,
            sandbox=app.settings.sandbox,
        )
    )


def _in_segment(found: list[Customer], segment_id: UUID | None) -> list[Customer]:
    """The customers with a shopper profile, only those in `segment_id` when one is given.

    Raises:
        ToolError: the store does not return the beta `segment_ids` include, so membership cannot be told.
    """
    customers = [c for c in found if c.shopper_profile_id is not None]
    if segment_id is None:
        return customers
    if any(c.segment_ids is None for c in customers):
        raise ToolError(
            "BigCommerce answered without segment_ids (an include its API marks as beta), so in_segment_id "
            "cannot filter on this store. Search without it, then check with get_profile_segments."
        )
    return [c for c in customers if c.segment_ids is not None and segment_id in c.segment_ids]


def _found_sentence(
    resolved: Resolution,
    found: list[CustomerProfile],
    searched: str | None,
    matches: int | None,
    in_segment: UUID | str | None,
) -> str:
    """What a search found: how many matched, what is shown, and (for a search by name or email) the advice to ask
    the user which one is meant when several match. Customer numbers name their customers exactly: no such advice."""
    summary = "Found " + resolved.describe()
    if searched is not None and matches is not None:
        shown = len(resolved.found) + len(resolved.without_profile)
        more = f"; the first {shown} are here, narrow the search for the rest. " if matches > shown else ". "
        summary = f"{plural(matches, 'customer')} {searched}{more}{summary}"
    if in_segment is not None:
        where = f"'{in_segment}'" if isinstance(in_segment, str) else str(in_segment)
        summary += f" {plural(len(found), 'of them is', 'of them are')} in segment {where}."
    if searched is not None and len(found) > 1:
        summary += " Several match: ask the user which one is meant (show names and emails)."
    return summary

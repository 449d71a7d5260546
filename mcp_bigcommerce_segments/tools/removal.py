"""`remove_profiles_from_segment`: a pinned preview first, the human's approval, then an exact removal that never
sends a DELETE without `id:in`.

A removal resolves its source (profile IDs, customer numbers, another segment's members, or all members) into a
preview pinned under a `preview_id`: the store, the segment and the exact set, named as people. Approval is
`preview_id` with `confirm=true` (single use, within 15 minutes), or the human's yes when the client can ask
(elicitation). `confirm=true` without a preview_id gets the preview, unless the operator allowed removals without
one (`BIGCOMMERCE_CONFIRM_WITHOUT_PREVIEW`).
"""

from typing import Annotated, Any, Literal, cast
from uuid import UUID

from mcp.server.mcpserver import AcceptedElicitation, Elicit, ElicitationResult, Resolve
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult
from pydantic import BaseModel, Field

from ..bulk import BulkOutcome
from ..criteria import CustomersWhere
from ..errors import PreviewError
from ..people import and_more
from ..previews import TTL_SECONDS, Preview
from ..redact import redact
from ..results import RemoveResult, failure_groups
from ..state import AppState
from ..words import call, plural
from ..writes import SegmentWrite
from .approval import call_key, can_ask, set_digest, verdict
from .arguments import CustomerIds, FromSegmentId, ProfileIds, SegmentId, Where
from .context import Ctx, app_state, progress_reporter, tool_errors
from .plan import TOOL, Plan, customer_sentences, people_removed, pin_removal, preview_summary, removed_sentence
from .resolve import SOURCES, membership, one_source, select
from .text import tool_result

Confirm = Annotated[
    bool,
    Field(
        strict=True,  # a destructive approval is the JSON boolean true, never "yes", 1 or "true"
        description="true: approve preview_id, after the user approved it.",
    ),
]
PreviewId = Annotated[
    str | None,
    Field(
        pattern=r"^p[0-9a-f]{10}$",
        description="Step 1's preview_id, once the user approved it (no other source).",
    ),
]
AllMembers = Annotated[bool, Field(strict=True, description="true: every member of the segment (empties it).")]


class RemovalApproval(BaseModel):
    """The human's answer to "remove these profiles?"."""

    # Not ticked, or an empty answer, is no: only an explicit yes removes.
    approve: bool = Field(
        default=False, title="Remove these profiles", description="Check to remove them from the segment."
    )


class NotAsked(RemovalApproval):
    """No approval, and no question: the client cannot ask the human."""


class Confirmed(RemovalApproval):
    """Approved without a question: `confirm=true` with a preview_id, the MCP App view's click, the operator's leave."""


def _sources(
    profile_ids: list[UUID] | None,
    customer_ids: list[int] | None,
    from_segment_id: UUID | None,
    customers_where: CustomersWhere | None,
    all_members: bool,
) -> dict[str, Any]:
    """A call's source arguments by name (the resolver and the tool take the same ones)."""
    return {
        "profile_ids": profile_ids,
        "customer_ids": customer_ids,
        "from_segment_id": from_segment_id,
        "customers_where": customers_where,
        "all_members": all_members,
    }


async def plan_removal(
    segment_id: SegmentId,
    ctx: Ctx,
    profile_ids: ProfileIds | None = None,
    customer_ids: CustomerIds | None = None,
    from_segment_id: FromSegmentId = None,
    customers_where: Where = None,
    all_members: AllMembers = False,
    preview_id: PreviewId = None,
    confirm: Confirm = False,
) -> Plan:
    """Resolver: the pinned preview the call names, or a new one for its source."""
    sources = _sources(profile_ids, customer_ids, from_segment_id, customers_where, all_members)
    if preview_id and any(value not in (None, False) for value in sources.values()):
        raise ToolError(
            "preview_id already pins the profiles: pass segment_id, preview_id and confirm=true, and no "
            "profile_ids, customer_ids, from_segment_id, customers_where or all_members."
        )
    if confirm and not preview_id and not any(v not in (None, False) for v in sources.values()):
        raise ToolError(
            "confirm=true approves a preview: pass its preview_id too (segment_id, preview_id, confirm=true). Without "
            "one, call with a source (profile_ids, customer_ids, from_segment_id, customers_where or all_members) to "
            "get a preview."
        )
    app = app_state(ctx)
    if not preview_id and ctx.input_responses:  # the client answers the question this plan was shown in
        asked = app.asked.take(call_key(app.store_key, segment_id, sources), app.client.clock.now())
        if asked is not None:
            return cast(Plan, asked)
    return await _make_plan(app, segment_id, preview_id, sources)


async def ask_removal(
    ctx: Ctx,
    plan: Annotated[Plan, Resolve(plan_removal)],
    preview_id: PreviewId = None,
    confirm: Confirm = False,
) -> RemovalApproval | Elicit[RemovalApproval]:
    """Resolver: when the client can ask, the human's answer to a question about exactly `plan` (a preview_id with
    confirm=true too: an undo's preview, or one made in another session, is asked about like any removal); else
    `confirm` with a preview_id, or the operator's leave to confirm without one; else none."""
    app = app_state(ctx)
    if not plan.preview.profile_ids:
        return NotAsked(approve=False)
    if confirm and not preview_id and app.settings.confirm_without_preview:
        return Confirmed(approve=True)  # the operator's leave, for automation
    if confirm and plan.from_preview and plan.via_app:
        return Confirmed(approve=True)  # the human clicked Remove in the view, which showed every person
    if not can_ask(ctx):
        return Confirmed(approve=True) if confirm and preview_id else NotAsked(approve=False)
    total = len(plan.preview.profile_ids)
    digest = set_digest(plan.preview)
    if not plan.from_preview and not ctx.input_responses:  # for the round that brings the answer (2026-07-28)
        app.asked.keep(call_key(app.store_key, plan.preview.segment_id, plan.arguments), plan, app.client.clock.now())
    return Elicit(
        redact(
            f"Remove {plural(total, 'shopper profile')} from segment {plan.preview.segment_label} "
            f"({plan.preview.source})? {and_more(plan.preview.people, total)}. The profiles themselves are kept; "
            f"only their membership ends.{' ' + plan.promotions if plan.promotions else ''} (Set {digest}: a yes "
            "approves exactly this set.)"
        ),
        RemovalApproval,
    )


async def remove_profiles_from_segment(
    segment_id: SegmentId,
    ctx: Ctx,
    plan: Annotated[Plan, Resolve(plan_removal)],
    approval: Annotated[ElicitationResult[RemovalApproval], Resolve(ask_removal)],
    profile_ids: ProfileIds | None = None,
    customer_ids: CustomerIds | None = None,
    from_segment_id: FromSegmentId = None,
    customers_where: Where = None,
    all_members: AllMembers = False,
    preview_id: PreviewId = None,
    confirm: Confirm = False,
) -> Annotated[CallToolResult, RemoveResult]:
    """Remove shopper profiles from a BigCommerce customer segment (the profiles themselves are kept). DESTRUCTIVE.

    Two steps. 1) Call with one source: `profile_ids`, `customer_ids`, `from_segment_id` (take out of this segment
    everyone who is in that one), `customers_where` (the members who match it, e.g. `{"not_in_segments": [VIP's
    ID]}` for everyone not in VIP) or `all_members=true` (empty the segment); up to 10,000 profiles. Nothing is
    removed: the result is a preview with a `preview_id`, the count and the first 20 people by name. Show them to
    the user. 2) Only after the user approved, call with `segment_id`, that `preview_id` and `confirm=true`: exactly
    the previewed profiles still members are removed (single use, 15 minutes). Clients that can ask the user are
    asked in step 1. The result's `change_id`: undo_change puts them back.
    """
    app = app_state(ctx)
    accepted, asked, said = verdict(approval, NotAsked)
    questioned = asked and not (isinstance(approval, AcceptedElicitation) and isinstance(approval.data, Confirmed))
    if questioned and not plan.from_preview:  # answered in this round: no later one takes the plan
        app.asked.take(call_key(app.store_key, segment_id, plan.arguments), app.client.clock.now())
    label = plan.preview.segment_label
    if not plan.preview.profile_ids:
        nothing = f"Nothing to remove: none of them is a member of segment {label}.{customer_sentences(plan)}"
        return _answer(app, plan, "nothing_to_remove", nothing)
    if asked and not accepted:
        if plan.from_preview:
            await app.previews.discard(plan.preview.preview_id)
        return _answer(app, plan, "declined", f"The user {said}: nothing was removed from segment {label}.")
    if not accepted:
        if not plan.from_preview:
            with tool_errors():  # kept only now: a preview is what the model is handed to approve
                await app.previews.put(plan.preview)
        return _answer(app, plan, "preview", preview_summary(plan, confirm_without_id=confirm))
    with app.shutdown.running():  # the whole removal, so that its answer goes out before a shutdown exits
        return await _remove(app, ctx, plan, recheck=questioned)


async def _make_plan(app: AppState, segment_id: UUID, preview_id: str | None, sources: dict[str, Any]) -> Plan:
    """The pinned preview a call names, or a new one for its source.

    Raises:
        ToolError: the preview cannot be used, the source is missing, or BigCommerce failed.
    """
    if preview_id:
        with tool_errors():
            named = await app.previews.resolve(preview_id)  # the MCP App view's alias of a preview, or None
            preview = await app.previews.get(named or preview_id, store=app.store_key, segment_id=segment_id)
        count = len(preview.profile_ids)
        return Plan(preview, requested=count, not_members=0, from_preview=True, via_app=named is not None)
    source = one_source(TOOL, sources, SOURCES)
    with tool_errors():
        selection = await select(
            app.client,
            source,
            profile_ids=sources["profile_ids"],
            customer_ids=sources["customer_ids"],
            from_segment_id=sources["from_segment_id"],
            customers_where=sources["customers_where"],
            segment_id=segment_id,
            within=segment_id,
        )
    plan = await pin_removal(app, segment_id, selection, source, keep=False)
    plan.arguments = sources
    return plan


async def _remove(app: AppState, ctx: Ctx, plan: Plan, *, recheck: bool) -> CallToolResult:
    """Remove exactly the approved preview's profiles that are still members, recording it, and answer. `recheck`:
    the human was asked, so time has passed since the plan: membership is read again."""
    write = SegmentWrite(
        app, tool=TOOL, segment_id=plan.preview.segment_id, action="remove", progress=progress_reporter(ctx, "Removed")
    )
    with tool_errors():
        # A kept preview is taken (single use); one approved in this call by the user's answer was never kept.
        preview = await write.take(plan.preview.preview_id) if plan.from_preview else plan.preview
        targets = await _still_members(write, plan, preview, recheck=recheck)
        if not targets:
            plan.not_members += len(write.known_unchanged)
            gone = f"Nothing to remove: none of them is still a member of segment {preview.segment_label}."
            return _answer(app, plan, "nothing_to_remove", gone + customer_sentences(plan))
        outcome = await write.send(targets, source=preview.source, customer_of=preview.customer_of)
    plan.not_members += len(write.known_unchanged) + len(outcome.unchanged)
    retry = await _retry_handle(write, preview, outcome) if outcome.failed else None
    if not outcome.changed and outcome.failed:
        recorded = f" Change {write.change_id} records it." if write.change_id else ""
        raise ToolError(
            f"No profiles were removed from segment {preview.segment_label}: {outcome.failure_sentence()}.{recorded} "
            f"When the cause is fixed, {retry} retries exactly them (within 15 minutes; the user approved them "
            "already)."
        )
    count = await write.member_count()
    people = await people_removed(write, preview, outcome.changed)  # before the sentence: it may say they were not read
    summary = removed_sentence(write, plan, preview, outcome, count)
    return _answer(
        app,
        plan,
        "removed",
        summary,
        removed=len(outcome.changed),
        people=people,
        failed=failure_groups(outcome.failed),
        retry=retry,
        member_count=count,
        change_id=write.change_id,
    )


async def _still_members(write: SegmentWrite, plan: Plan, preview: Preview, *, recheck: bool) -> list[UUID]:
    """The preview's profiles that are still members: time has passed since a preview made in an earlier call, or
    since the question about it. Those that left meanwhile are counted as no longer members, and no request names
    them."""
    targets = list(preview.profile_ids)
    if not plan.from_preview and not recheck:  # planned in this very call, nobody asked
        write.unverified = [] if preview.membership_checked else targets
        write.members_before = plan.members_before
        return targets
    members, read = await membership(write.app.client, preview.segment_id, targets, "from_segment_id")
    if members is None:
        write.unverified = targets
        return targets
    if read:  # the segment was read whole: the count after the removal follows from it
        write.members_before = len(read)
    write.known_unchanged = [i for i in targets if i not in members]
    return [i for i in targets if i in members]


async def _retry_handle(write: SegmentWrite, preview: Preview, outcome: BulkOutcome) -> str:
    """The call that retries exactly what failed: the user approved these already, so a new pinned preview."""
    segment_id = preview.segment_id
    failed_ids = [i for ids in outcome.failed.values() for i in ids]
    try:
        again = await write.pin(
            failed_ids,
            source=f"the {len(failed_ids):,} that failed in change {write.change_id}",
            customer_of=preview.customer_of,
            segment_name=preview.segment_name,
        )
    except PreviewError:  # the removal happened; only the retry handle could not be kept
        return f"{TOOL}(segment_id={str(segment_id)!r}, profile_ids=<the IDs in failed>) for a new preview"
    return call(TOOL, segment_id=str(segment_id), preview_id=again.preview_id, confirm=True)


def _answer(
    app: AppState,
    plan: Plan,
    status: Literal["preview", "declined", "removed", "nothing_to_remove"],
    summary: str,
    **fields: Any,
) -> CallToolResult:
    preview = plan.preview
    pending = status == "preview"
    values: dict[str, Any] = {
        "would_remove": len(preview.profile_ids) if status != "removed" else 0,
        "people": list(preview.people),
        "customers_without_profile": list(preview.customers_without_profile[:20]),
        "customers_not_found": list(preview.customers_not_found[:20]),
        **fields,
    }
    return tool_result(
        RemoveResult(
            summary=app.tag + summary.rstrip(".") + ".",
            segment_id=preview.segment_id,
            status=status,
            preview_id=preview.preview_id if pending else None,
            expires_in_minutes=TTL_SECONDS // 60 if pending else None,
            requested=plan.requested,
            not_members=plan.not_members,
            membership_checked=preview.membership_checked,
            sandbox=app.settings.sandbox,
            **values,
        )
    )

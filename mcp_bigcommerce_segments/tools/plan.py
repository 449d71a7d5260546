"""A removal's plan: the pinned preview of exactly what would be removed (the profiles that are members now), what is
known of each customer given by number, and the preview's sentence. Removals, undos of adds and (later) deletions of
segments are planned here; `removal.py` asks and removes."""

from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from ..bulk import BulkOutcome
from ..people import SHOWN, name_profiles
from ..previews import Preview
from ..promotions import gates, promotions_of, removal_sentence
from ..results import customer_notes, customers_of
from ..state import AppState
from ..words import call, first_few, plural
from ..writes import SegmentWrite
from .context import tool_errors
from .resolve import Selection, membership

TOOL = "remove_profiles_from_segment"


@dataclass
class Plan:
    """A removal, resolved and pinned: what would be removed, and what is known of it.

    Made once per call (and once per round of a question) by the `plan_removal` resolver; the SDK hands the same
    object to `ask_removal` (which asks the human about exactly this preview) and to the tool body (which removes
    exactly this preview).
    """

    preview: Preview
    requested: int
    not_members: int
    from_preview: bool
    selection: Selection | None = None
    promotions: str = ""  # what the removal changes in the promotions that name the segment ("" when none or unknown)
    members_before: int | None = None  # the segment's member count as read whole for the plan (None: not read whole)
    via_app: bool = False  # approved with the alias only the MCP App view holds: the human clicked Remove
    arguments: dict[str, Any] = field(default_factory=dict)  # the call's source arguments (see `AskedPlans`)


async def pin_removal(
    app: AppState,
    segment_id: UUID,
    selection: Selection,
    source: str,
    *,
    undoes: str | None = None,
    keep: bool = True,
) -> Plan:
    """Pin a removal preview of the selection's profiles that are members now (all of them for `all_members`),
    named as people; customers given by number are accounted for each (removed, not a member, no profile, unknown).

    Raises:
        ToolError: BigCommerce failed, or the preview could not be kept.
    """
    with tool_errors():
        counted: int | None = None
        if source == "all_members" or selection.members_of == segment_id:
            targets, checked = selection.ids, True
            counted = len(selection.ids) if source == "all_members" else None
        else:
            members, customer_of = await membership(app.client, segment_id, selection.ids, source)
            selection.customer_of.update(customer_of)
            checked = members is not None
            targets = selection.ids if members is None else [i for i in selection.ids if i in members]
            counted = len(customer_of) if members is not None and customer_of else None
        people = await name_profiles(
            app.client, targets, selection.customer_of, hide_emails=app.settings.hide_emails, known=selection.customers
        )
        name = (await app.client.segment_names({segment_id})).get(segment_id, "")
        promotions, _ = await promotions_of(app.client) if targets else (None, "")
        preview = await SegmentWrite(app, tool=TOOL, segment_id=segment_id, action="remove", undoes=undoes).pin(
            targets,
            source=_source_of(selection, targets),
            customer_of=selection.customer_of,
            people=people,
            membership_checked=checked,
            segment_name=name,
            customers_without_profile=selection.without_profile,
            customers_not_found=selection.not_found,
            customers_not_members=_not_members(selection, targets),
            keep=keep and bool(targets),
        )
    sentence = (
        removal_sentence(gates(promotions, segment_id), preview.segment_label, len(targets)) if promotions else ""
    )
    return Plan(preview, len(selection.ids), len(selection.ids) - len(targets), False, selection, sentence, counted)


def _source_of(selection: Selection, targets: list[UUID]) -> str:
    """The source in the merchant's words; for customer numbers, only the customers whose profiles are removed."""
    if not selection.by_number:
        return selection.source
    return customers_of(selection.customer_of, targets) or "none of the customers given"


def _not_members(selection: Selection, targets: list[UUID]) -> list[int]:
    """Customers given by number whose profiles are not members (nothing to remove for them)."""
    if not selection.by_number:
        return []
    kept, chosen = set(targets), set(selection.ids)
    return sorted({c for p, c in selection.customer_of.items() if p in chosen and p not in kept})


def customer_sentences(plan: Plan) -> str:
    """Customers given by number that are not removed, each said once: not members, no profile, not in the store."""
    preview = plan.preview
    notes = []
    if outside := preview.customers_not_members:
        who = plural(len(outside), "customer is not a member", "customers are not members")
        notes.append(f"{who}: {first_few(outside)}")
    notes += customer_notes(preview.customers_without_profile, preview.customers_not_found)
    return "".join(f" {note[0].upper()}{note[1:]}." for note in notes)


def preview_summary(plan: Plan, *, confirm_without_id: bool) -> str:
    preview = plan.preview
    total = len(preview.profile_ids)
    by_customer = plan.selection is not None and plan.selection.by_number
    outside = plural(
        plan.not_members, "profile of the source is not a member", "profiles of the source are not members"
    )
    checked = f" {outside}." if plan.not_members and not by_customer else ""
    if not preview.membership_checked:
        checked = " Membership was not checked (the segment is too large to read, or its pages made no sense)."
    approval = call(TOOL, segment_id=str(preview.segment_id), preview_id=preview.preview_id, confirm=True)
    leading = (
        "confirm=true needs the preview_id of a preview the user approved; this is that preview. "
        if confirm_without_id
        else ""
    )
    retry = plan.selection.retry_args if plan.selection else {}
    whole = retry.get("all_members") or retry.get("from_segment_id") == str(preview.segment_id)
    empties = " This EMPTIES the segment." if whole else ""
    shown = "it is in `people`" if total == 1 else f"the first {min(total, SHOWN)} are in `people`"
    promotions = f" {plan.promotions}" if plan.promotions else ""
    return (
        f"{leading}PREVIEW, nothing removed: {plural(total, 'profile')} would be removed from segment "
        f"{preview.segment_label} ({preview.source}); {shown}.{empties}{checked}{customer_sentences(plan)}"
        f"{promotions} Show them to the user; if they approve, call {approval} within 15 minutes."
    )


async def people_removed(write: SegmentWrite, preview: Preview, removed: list[UUID]) -> list[str]:
    """The first 20 removed, as people: the preview named them already unless some it named did not go and others
    beyond its first 20 did (then they are named now)."""
    named = dict(zip(preview.profile_ids, preview.people, strict=False))
    gone = set(removed)
    first = [p for p in preview.profile_ids if p in gone][:SHOWN]
    if all(p in named for p in first):
        return [named[p] for p in first]
    return await write.people(removed)


def removed_sentence(write: SegmentWrite, plan: Plan, preview: Preview, outcome: BulkOutcome, count: int | None) -> str:
    """What a removal did: the customers (or source) removed, those no longer members, failures, the count now,
    the undo, and the customers given that took no part."""
    source = preview.source
    if preview.source.startswith("customer"):  # name the customers whose profiles were removed, no others
        source = customers_of(preview.customer_of, outcome.changed) or "none of the customers given"
    summary = f"Removed {plural(len(outcome.changed), 'profile')} from segment {preview.segment_label} ({source})"
    if plan.not_members:
        summary += f"; {plural(plan.not_members, 'was no longer a member', 'were no longer members')}"
    if outcome.failed_count:
        summary += f"; {outcome.failed_count:,} FAILED ({outcome.failure_sentence()}); `retry` retries exactly them"
    if count is not None:
        summary += f". The segment now has {plural(count, 'member')}"
    if write.change_id:
        summary += f". undo_change(change_id={write.change_id!r}) puts them back"
    if unread := write.unread_sentence():
        summary += f". {unread}"
    return (summary + "." + customer_sentences(plan)).rstrip(".")

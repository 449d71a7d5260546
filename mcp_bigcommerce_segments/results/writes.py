"""The results of writes: an add, a removal (preview, declined, done, nothing to remove) and an undo."""

from typing import TYPE_CHECKING, Literal
from uuid import UUID

from pydantic import Field

from ..words import plural, were
from .common import FailedIds, _Model, customer_notes, customers_of, failure_groups

if TYPE_CHECKING:
    from ..bulk import BulkOutcome
    from ..tools.resolve import Selection


class WriteResult(_Model):
    """What every add and removal result says."""

    summary: str = Field(description="What happened, the member count now, the next step.")
    segment_id: UUID
    change_id: str | None = Field(default=None, description="undo_change(change_id) reverses it.")
    failed: list[FailedIds] = Field(
        default=[], description="Not done, by reason (first 3 reasons; `retry` retries all)."
    )
    retry: str | None = Field(default=None, description="The exact call that retries what failed.")
    member_count: int | None = Field(default=None, description="Members of the segment after the change.")
    sandbox: bool = False


class AddResult(WriteResult):
    """Result of `add_profiles_to_segment`: counts, and the first 20 added profiles named."""

    requested: int = Field(description="Distinct profiles the source resolved to.")
    added: int
    already_members: int
    added_people: list[str] = Field(default=[], description="The first 20 added, as 'Name <email> (customer N)'.")
    customers_without_profile: list[int] = Field(
        default=[], description="Customers without a shopper profile yet (first 20)."
    )
    customers_not_found: list[int] = Field(default=[], description="customer_ids the store does not have (first 20).")

    @classmethod
    def of(
        cls,
        segment_id: UUID,
        name: str | None,
        *,
        selection: "Selection",
        outcome: "BulkOutcome",
        change_id: str | None,
        people: list[str],
        member_count: int | None,
        retry: str | None,
        tag: str,
        sandbox: bool,
        unread: str = "",
    ) -> "AddResult":
        """The result of an add: counts, the people added, and the sentence that says it all."""
        label = f"'{name}'" if name else str(segment_id)
        already = len(outcome.unchanged)
        source = selection.source
        members = "1 was already a member" if already == 1 else f"{already:,} were already members"
        if selection.by_number:  # name the customers by what happened to each
            source = customers_of(selection.customer_of, outcome.changed) or "none of the customers given"
            if already:
                members = customers_of(selection.customer_of, outcome.unchanged) + (
                    " was already a member" if already == 1 else " were already members"
                )
        parts = [f"Added {plural(len(outcome.changed), 'profile')} ({source}) to segment {label}; {members}"]
        if outcome.reread:
            parts.append(
                f"{were(len(outcome.reread))} found in the segment after BigCommerce's answer was lost, and are "
                "counted as added (any that were members before cannot be told apart)"
            )
        if outcome.failed_count:
            parts.append(
                f"{outcome.failed_count:,} FAILED ({outcome.failure_sentence()}); `retry` is the call that retries"
            )
        parts += customer_notes(selection.without_profile, selection.not_found)
        summary = "; ".join(parts)
        if member_count is not None:
            summary += f". The segment now has {plural(member_count, 'member')}"
        if change_id:
            summary += f". undo_change(change_id={change_id!r}) reverses this"
        if unread:
            summary += f". {unread}"
        return cls(
            summary=tag + summary + ".",
            segment_id=segment_id,
            change_id=change_id,
            requested=len(selection.ids),
            added=len(outcome.changed),
            already_members=already,
            added_people=people,
            failed=failure_groups(outcome.failed),
            retry=retry,
            member_count=member_count,
            customers_without_profile=selection.without_profile[:20],
            customers_not_found=selection.not_found[:20],
            sandbox=sandbox,
        )


class RemoveResult(WriteResult):
    """Result of `remove_profiles_from_segment`: a preview to approve, a declined request, or a done removal."""

    status: Literal["preview", "declined", "removed", "nothing_to_remove"] = Field(
        description="preview: nothing removed; approve with preview_id and confirm=true. declined: the user said "
        "no. removed: done. nothing_to_remove: none is a member."
    )
    preview_id: str | None = Field(
        default=None, description="preview: pass it back with confirm=true to remove exactly these profiles."
    )
    expires_in_minutes: int | None = None
    requested: int = Field(description="Distinct profiles the source resolved to.")
    would_remove: int = Field(default=0, description="preview/declined: how many would be removed.")
    removed: int = 0
    not_members: int = Field(default=0, description="Profiles that are not members (nothing to remove).")
    membership_checked: bool = Field(default=False, description="True: membership was read; counts are exact.")
    people: list[str] = Field(default=[], description="The first 20 to remove (or removed), named.")
    customers_without_profile: list[int] = Field(
        default=[], description="Customers without a shopper profile yet (first 20)."
    )
    customers_not_found: list[int] = Field(default=[], description="customer_ids the store does not have (first 20).")


class UndoResult(WriteResult):
    """Result of `undo_change`."""

    undoes: str = Field(description="The change_id this call undoes.")
    undone: str | None = Field(default=None, description="Set once the change is undone.")
    status: Literal["re-added", "preview", "nothing_to_undo", "deleted", "restored", "recreated"] = Field(
        description="re-added, deleted, restored, recreated: undone (recreated: a new segment_id). preview: approve "
        "as the summary says. nothing_to_undo: none it added is still a member."
    )
    preview_id: str | None = None
    count: int = Field(description="Profiles re-added, or in the removal preview.")
    people: list[str] = Field(default=[])

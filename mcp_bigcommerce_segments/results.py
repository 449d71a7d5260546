"""The results our tools return: pydantic models, so each tool publishes an output schema."""

from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from .models import Segment, ShopperProfile


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class FailedIds(_Model):
    """IDs that could not be processed, with the reason they share."""

    reason: str = Field(description="Why these IDs failed, and what to do.")
    ids: list[UUID]


class PagedResult(_Model):
    """What every one-page result says: a summary, and where this page is in the whole."""

    summary: str = Field(description="One sentence: what this page holds and how to get the next.")
    total: int = Field(description="Items in the whole collection.")
    count: int = Field(description="Items on this page.")
    per_page: int
    current_page: int
    total_pages: int
    next_page: int | None = Field(description="Pass as `page` to get the next page; null on the last page.")
    sandbox: bool = Field(default=False, description="True when this is the built-in sandbox store, not a real one.")


class ListResult(PagedResult):
    """Result of `list_segment_profiles`."""

    segment_id: UUID
    profiles: list[ShopperProfile]


class AddResult(_Model):
    """Result of `add_profiles_to_segment`: every requested ID appears in exactly one list."""

    summary: str = Field(description="One sentence: how many were added, already members, failed.")
    segment_id: UUID
    requested: int = Field(description="Distinct profile IDs asked for (duplicates removed).")
    added: list[UUID] = Field(description="Profiles that are now members and were not before.")
    already_members: list[UUID] = Field(description="Profiles that were members already; nothing changed.")
    failed: list[FailedIds] = Field(description="Profiles not added, grouped by reason; safe to retry.")
    customers_without_profile: list[int] = Field(
        default=[], description="customer_ids given that have no shopper profile yet, so cannot be in a segment."
    )
    customers_not_found: list[int] = Field(default=[], description="customer_ids given that the store does not have.")
    sandbox: bool = False


class RemoveResult(_Model):
    """Result of `remove_profiles_from_segment`: a preview, a declined request, or a done removal."""

    summary: str = Field(description="One sentence: what happened and what to do next.")
    segment_id: UUID
    status: Literal["preview", "declined", "removed"] = Field(
        description="preview: nothing removed, confirmation needed; declined: the user said no, nothing removed; "
        "removed: the removal was carried out."
    )
    requested: int = Field(description="Distinct profile IDs asked for (duplicates removed).")
    would_remove: list[UUID] = Field(default=[], description="preview/declined: the IDs that would be removed.")
    removed: list[UUID] = Field(default=[], description="removed: profiles that are no longer members.")
    not_members: list[UUID] = Field(
        default=[], description="Profiles found not to be members of the segment (nothing to remove)."
    )
    membership_checked: bool = Field(
        default=False, description="True when membership was looked up, so not_members is complete."
    )
    failed: list[FailedIds] = Field(default=[], description="Profiles not removed, grouped by reason; safe to retry.")
    sandbox: bool = False


class SegmentsResult(PagedResult):
    """Result of `list_segments`; with `name_contains`, the totals count the matching segments."""

    name_contains: str | None = None
    searched_all: bool = Field(
        default=True, description="False when the name search stopped before reading every segment."
    )
    segments: list[Segment]


class ProfileSegmentsResult(PagedResult):
    """Result of `get_profile_segments`."""

    profile_id: UUID
    segments: list[Segment]


class CustomerProfile(_Model):
    """A customer resolved to its shopper profile."""

    customer_id: int
    shopper_profile_id: UUID = Field(description="Pass this to add_profiles_to_segment / remove_profiles_from_segment.")
    name: str
    company: str = ""
    segment_ids: list[UUID] | None = Field(default=None, description="Segments the profile is in, when returned.")


class FindProfilesResult(_Model):
    """Result of `find_shopper_profiles`: every customer ID given is in exactly one list."""

    summary: str
    found: list[CustomerProfile]
    without_profile: list[int] = Field(description="Customers that exist but have no shopper profile yet.")
    not_found: list[int] = Field(description="Customer IDs the store does not have.")
    sandbox: bool = False

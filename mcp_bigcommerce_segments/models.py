"""Data as BigCommerce sends it, and the results our tools return."""

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


# Timestamps are passed through as BigCommerce wrote them (they are only shown, never computed with): exact, and
# not parsed and re-formatted on every page.
Timestamp = Annotated[str, Field(json_schema_extra={"format": "date-time"})] | None


class ShopperProfile(_Model):
    """A shopper profile as BigCommerce returns it."""

    id: UUID = Field(description="The shopper profile ID.")
    customer_id: int = Field(description="The registered customer this profile belongs to.")
    created_at: Timestamp = None
    updated_at: Timestamp = None


class Pagination(_Model):
    """BigCommerce's `meta.pagination`."""

    total: int = Field(description="Profiles in the whole segment.")
    count: int = Field(description="Profiles on this page.")
    per_page: int
    current_page: int
    total_pages: int


class CollectionMeta(_Model):
    pagination: Pagination


class ProfilePage(_Model):
    """One page of a segment's profiles: BigCommerce's `{data, meta: {pagination}}` envelope."""

    data: list[ShopperProfile]
    meta: CollectionMeta

    @property
    def pagination(self) -> Pagination:
        return self.meta.pagination


class Segment(_Model):
    """A customer segment as BigCommerce returns it."""

    id: UUID
    name: str = ""
    description: str = ""
    created_at: datetime | None = None
    updated_at: datetime | None = None


class SegmentPage(_Model):
    """One page of segments: BigCommerce's `{data, meta: {pagination}}` envelope."""

    data: list[Segment]
    meta: CollectionMeta

    @property
    def pagination(self) -> Pagination:
        return self.meta.pagination


class FailedIds(_Model):
    """IDs that could not be processed, with the reason they share."""

    reason: str = Field(description="Why these IDs failed, and what to do.")
    ids: list[UUID]


class ListResult(_Model):
    """Result of `list_segment_profiles`."""

    summary: str = Field(description="One sentence: what this page holds and how to get the next.")
    segment_id: UUID
    profiles: list[ShopperProfile]
    total: int = Field(description="Profiles in the whole segment.")
    count: int = Field(description="Profiles on this page.")
    per_page: int
    current_page: int
    total_pages: int
    next_page: int | None = Field(description="Pass as `page` to get the next page; null on the last page.")
    sandbox: bool = Field(default=False, description="True when this is the built-in sandbox store, not a real one.")


class AddResult(_Model):
    """Result of `add_profiles_to_segment`: every requested ID appears in exactly one list."""

    summary: str = Field(description="One sentence: how many were added, already members, failed.")
    segment_id: UUID
    requested: int = Field(description="Distinct profile IDs asked for (duplicates removed).")
    added: list[UUID] = Field(description="Profiles that are now members and were not before.")
    already_members: list[UUID] = Field(description="Profiles that were members already; nothing changed.")
    failed: list[FailedIds] = Field(description="Profiles not added, grouped by reason; safe to retry.")
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

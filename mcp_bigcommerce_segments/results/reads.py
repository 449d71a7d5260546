"""The results of reads: a page of members, segments, a profile's segments, customers found, the change record."""

from collections.abc import Mapping
from typing import Any, Literal
from uuid import UUID

from pydantic import Field, SerializerFunctionWrapHandler, model_serializer

from ..models import Customer, Segment, ShopperProfile
from ..promotions import PromotionRef
from .common import PagedResult, _Model


class ProfileEntry(_Model):
    """One member of a segment."""

    id: UUID = Field(description="The shopper profile ID.")
    customer_id: int
    name: str | None = None
    email: str | None = None
    company: str | None = None

    @model_serializer(mode="wrap")
    def _without_nulls(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """Fields the store did not give are left out, so that a page of IDs alone is the smallest form."""
        return {key: value for key, value in handler(self).items() if value is not None}

    @classmethod
    def named(cls, profile: ShopperProfile, customer: Customer | None, *, hide_emails: bool) -> "ProfileEntry":
        """A member with its customer's name, email (unless hidden) and company."""
        if customer is None:
            return cls(id=profile.id, customer_id=profile.customer_id)
        return cls(
            id=profile.id,
            customer_id=profile.customer_id,
            name=f"{customer.first_name} {customer.last_name}".strip(),
            email=None if hide_emails else customer.email or None,
            company=customer.company or None,
        )

    @classmethod
    def bare(cls, profile: ShopperProfile) -> "ProfileEntry":
        """A member by its IDs alone."""
        return cls(id=profile.id, customer_id=profile.customer_id)


class ListResult(PagedResult):
    """Result of `list_segment_profiles`."""

    segment_id: UUID
    segment_name: str | None = None
    profiles: list[ProfileEntry]


class SegmentEntry(Segment):
    """A segment, and the promotions whose customer condition names it (left out without the Marketing scope)."""

    promotions: list[PromotionRef] | None = None


class SegmentsResult(PagedResult):
    """Result of `list_segments`; with `name_contains`, the totals count the matching segments."""

    name_contains: str | None = None
    searched_all: bool = Field(default=True, description="False: the name search stopped before the last segment.")
    segments: list[SegmentEntry]


class SegmentRef(_Model):
    id: UUID
    name: str


class ProfileSegmentsResult(PagedResult):
    """Result of `get_profile_segments`."""

    profile_id: UUID
    customer_id: int | None = None
    segments: list[Segment]


class CustomerProfile(_Model):
    """A customer resolved to its shopper profile."""

    customer_id: int
    shopper_profile_id: UUID = Field(description="What the segment tools take as profile_ids.")
    name: str
    email: str | None = None
    company: str | None = None
    segments: list[SegmentRef] | None = Field(default=None, description="Segments the profile is in, when returned.")

    @classmethod
    def of(cls, customer: Customer, segment_names: Mapping[UUID, str], *, hide_email: bool) -> "CustomerProfile":
        """A customer with a shopper profile, its segments named from `segment_names`."""
        assert customer.shopper_profile_id is not None
        return cls(
            customer_id=customer.id,
            shopper_profile_id=customer.shopper_profile_id,
            name=f"{customer.first_name} {customer.last_name}".strip(),
            email=None if hide_email or not customer.email else customer.email,
            company=customer.company or None,
            segments=None
            if customer.segment_ids is None
            else [SegmentRef(id=s, name=segment_names.get(s, "(unknown segment)")) for s in customer.segment_ids],
        )


class FindProfilesResult(_Model):
    """Result of `find_shopper_profiles`: every customer ID given is in exactly one list."""

    summary: str
    found: list[CustomerProfile]
    without_profile: list[int] = Field(description="Customers that exist but have no shopper profile yet.")
    not_found: list[int] = Field(description="Customer IDs the store does not have.")
    matched: int | None = Field(default=None, description="customers_where: how many match (`found` has 50).")
    sandbox: bool = False


class Change(_Model):
    """One write, as the audit log recorded it."""

    change_id: str
    time: str
    tool: str
    segment_id: UUID | None = None
    segment_name: str | None = None
    note: str | None = Field(default=None, description="A segment created, renamed or deleted, in words.")
    status: Literal["done", "cancelled", "interrupted", "failed", "unknown"] = Field(
        description="interrupted: no outcome recorded (in progress, or stopped mid-call)."
    )
    added: int = 0
    removed: int = 0
    unchanged: int = Field(default=0, description="Already members (adds), not members (removals).")
    failed: int = 0
    undoes: str | None = Field(default=None, description="The change this one undid.")
    undone_by: str | None = None


class ChangesResult(_Model):
    """Result of `list_recent_changes`."""

    summary: str
    changes: list[Change]
    sandbox: bool = False

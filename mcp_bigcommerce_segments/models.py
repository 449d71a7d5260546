"""Data as BigCommerce sends it: profiles, segments, customers, and the page envelope around each list."""

from decimal import Decimal
from typing import Annotated, Any, Generic, TypeVar
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field


def _readable(text: str) -> str:
    """Store text that is not valid Unicode (lone surrogates) shown escaped instead of failing the whole answer."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


#: Text written by the store's users (names, descriptions): shown as it is, escaped where it is not valid Unicode.
StoreText = Annotated[str, AfterValidator(_readable)]

# Timestamps are passed through as BigCommerce wrote them (they are only shown, never computed with): exact, and
# not parsed and re-formatted on every page; escaped like store text where they are not valid Unicode.
Timestamp = Annotated[str, AfterValidator(_readable), Field(json_schema_extra={"format": "date-time"})] | None


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", defer_build=True)  # built on first use, not at start


class ShopperProfile(_Model):
    """A shopper profile as BigCommerce returns it."""

    id: UUID = Field(description="The shopper profile ID.")
    customer_id: int = Field(description="The registered customer this profile belongs to.")
    created_at: Timestamp = None
    updated_at: Timestamp = None


class Pagination(_Model):
    """BigCommerce's `meta.pagination`."""

    total: int = Field(description="Items in the whole collection.")
    count: int = Field(description="Items on this page.")
    per_page: int
    current_page: int
    total_pages: int


class CollectionMeta(_Model):
    pagination: Pagination


class Segment(_Model):
    """A customer segment as BigCommerce returns it."""

    id: UUID
    name: StoreText = ""
    description: StoreText = ""
    created_at: Timestamp = None
    updated_at: Timestamp = None


class Customer(_Model):
    """A customer as `GET /v3/customers?include=shopper_profile_id,segment_ids` returns it (the fields used here)."""

    id: int
    first_name: StoreText = ""
    last_name: StoreText = ""
    email: StoreText = ""
    company: StoreText = ""
    customer_group_id: int | None = None
    date_created: Timestamp = None
    # Both are "(Beta)" includes: absent when the store does not return them, None when there is no profile.
    shopper_profile_id: UUID | None = None
    segment_ids: list[UUID] | None = None


class CustomerGroup(_Model):
    """A customer group as `GET /v2/customer_groups` returns it (the fields used here)."""

    id: int
    name: StoreText = ""


class Order(_Model):
    """An order as `GET /v2/orders` returns it (the fields the criteria use); V2 writes dates in RFC-2822 and money
    as decimal strings."""

    id: int
    customer_id: int = 0
    date_created: str = ""
    status_id: int = -1
    total_inc_tax: Decimal = Decimal(0)


class PromotionCustomer(_Model):
    """A promotion's customer requirements; `segments` is a `CustomerSegmentLimitation` (`id`, `not`, `and`, `or`)."""

    segments: Any = None


class Promotion(_Model):
    """A promotion as `GET /v3/promotions` returns it (the fields used here)."""

    id: int
    name: StoreText = ""
    status: str = ""
    customer: PromotionCustomer | None = None


T = TypeVar("T", ShopperProfile, Segment, Customer, Promotion)


class Page(_Model, Generic[T]):
    """One page of a collection: BigCommerce's `{data, meta: {pagination}}` envelope."""

    data: list[T]
    meta: CollectionMeta

    @property
    def pagination(self) -> Pagination:
        return self.meta.pagination


ProfilePage = Page[ShopperProfile]
SegmentPage = Page[Segment]
PromotionPage = Page[Promotion]
CustomerPage = Page[Customer]

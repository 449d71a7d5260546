"""The store's records: segments, shopper profiles and customers, as the fake holds them."""

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

#: When a customer record made without a date was created (the fake's epoch).
EPOCH = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@dataclass
class Customer:
    """A customer (`/v3/customers`); at most one shopper profile belongs to one."""

    id: int
    first_name: str
    last_name: str
    email: str
    company: str = ""
    customer_group_id: int = 0
    date_created: datetime = EPOCH


@dataclass
class CustomerGroup:
    """A customer group (`/v2/customer_groups`)."""

    id: int
    name: str
    is_default: bool = False


@dataclass
class Order:
    """An order (`/v2/orders`); `customer_id` 0 is a guest's."""

    id: int
    customer_id: int
    date_created: datetime
    status_id: int
    total_inc_tax: Decimal


@dataclass
class Segment:
    """A customer segment and its members."""

    id: uuid.UUID
    name: str
    description: str
    created_at: datetime
    updated_at: datetime
    members: dict[uuid.UUID, None] = field(default_factory=dict)  # insertion-ordered set


@dataclass
class Profile:
    """A shopper profile: the thing a segment holds."""

    id: uuid.UUID
    customer_id: int
    created_at: datetime
    updated_at: datetime
    rendered: dict[str, Any] = field(default_factory=dict)  # the JSON form, made once (benchmarks count the fake)

    def __post_init__(self) -> None:
        self.rendered = {
            "id": str(self.id),
            "customer_id": self.customer_id,
            "created_at": iso(self.created_at),
            "updated_at": iso(self.updated_at),
        }


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def rfc2822(moment: datetime) -> str:
    """A v2 timestamp, as the Orders API writes it: `Wed, 10 Jan 2018 21:05:30 +0000`."""
    return moment.strftime("%a, %d %b %Y %H:%M:%S +0000")


def parse_moment(raw: str) -> datetime | None:
    """A date filter's value, as BigCommerce takes them (ISO-8601 date or date-time, or RFC-2822); naive is UTC.
    None when it is neither."""
    from email.utils import parsedate_to_datetime

    try:
        moment = datetime.fromisoformat(raw.strip())
    except ValueError:
        try:
            moment = parsedate_to_datetime(raw)
        except (TypeError, ValueError, IndexError):
            return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)

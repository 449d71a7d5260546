"""The store's records: segments, shopper profiles and customers, as the fake holds them."""

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass
class Customer:
    """A customer (`/v3/customers`); at most one shopper profile belongs to one."""

    id: int
    first_name: str
    last_name: str
    email: str
    company: str = ""


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

"""`customers_where`: a selection of shoppers by what they are and did, as the tools take it, and said back in words.

Every field is optional, at least one is given, and all given fields must hold. The fields map onto BigCommerce's own
filters wherever it has them (`tools/where.py` reads them); this module only checks the object and says it in words.
"""

import re
from datetime import date, timedelta
from decimal import Decimal
from typing import Annotated, Any, Self
from uuid import UUID

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

#: Orders that count: paid for and not taken back. Shipped, Partially Shipped, Awaiting Pickup, Awaiting Shipment,
#: Completed, Awaiting Fulfillment, Partially Refunded. Not: Incomplete (0), Pending (1), Refunded (4), Cancelled (5),
#: Declined (6), Awaiting Payment (7), Manual Verification Required (12), Disputed (13).
COUNTED_STATUSES = frozenset({2, 3, 8, 9, 10, 11, 14})

_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _day(value: Any) -> Any:
    """A date written `YYYY-MM-DD`, nothing else (no times, no other orders of day and month)."""
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not _DAY.match(value.strip()):
        raise ValueError("takes a date written YYYY-MM-DD, e.g. 2026-09-01")
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise ValueError("takes a real calendar day written YYYY-MM-DD (that month has no such day)") from None


def _short(value: str) -> str:
    if len(value) > 200:
        raise ValueError("takes at most 200 characters")
    return value


def _domain(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    text = value.strip().lstrip("@").casefold()
    if not re.fullmatch(r"[a-z0-9-]+(\.[a-z0-9-]+)+", text):
        raise ValueError("takes the part of an email after @, e.g. acme.com")
    return text


Day = Annotated[date, BeforeValidator(_day)]
#: Store text: at most 200 characters, checked without a word in the schema.
Text = Annotated[str, AfterValidator(_short)]
SegmentList = Annotated[list[UUID], Field(min_length=1, max_length=10)]

CUSTOMER_FIELDS = ("customer_group", "company", "name_contains", "email_domain", "signed_up_after", "signed_up_before")
ORDER_FIELDS = ("ordered_after", "ordered_before", "min_orders", "min_spent")


def _no_description(schema: dict[str, Any]) -> None:
    schema.pop("description", None)  # the argument that takes it describes it


class CustomersWhere(BaseModel):
    """Customers by what they are and did: every field given must hold (AND); at least one is given."""

    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra=_no_description)

    # The meaning of each field is in the argument's description (`tools/arguments.Where`): said once, read once.
    customer_group: Text | None = Field(None, min_length=1)
    company: Text | None = Field(None, min_length=1)
    name_contains: Text | None = Field(None, min_length=2)
    email_domain: Annotated[Text | None, BeforeValidator(_domain)] = None
    signed_up_after: Day | None = None
    signed_up_before: Day | None = None
    ordered_after: Day | None = None
    ordered_before: Day | None = None
    min_orders: int | None = Field(None, ge=1, strict=True)
    min_spent: Annotated[float | None, Field(ge=0, allow_inf_nan=False)] = None
    no_order_since: Day | None = None
    in_segments: SegmentList | None = None
    not_in_segments: SegmentList | None = None

    @model_validator(mode="after")
    def _coherent(self) -> Self:
        given = self.model_dump(exclude_none=True)
        if not given:
            raise ValueError(f"give at least one field: {', '.join(type(self).model_fields)}")
        for start, end in (("signed_up_after", "signed_up_before"), ("ordered_after", "ordered_before")):
            low, high = getattr(self, start), getattr(self, end)
            if low is not None and high is not None and low >= high:
                raise ValueError(f"{start} {low} is not before {end} {high}: no day is in that window")
        if self.ordered_after and self.no_order_since and self.ordered_after >= self.no_order_since:
            raise ValueError(
                f"ordered_after {self.ordered_after} is on or after no_order_since {self.no_order_since}: no one "
                "can match both"
            )
        if both := set(self.in_segments or ()) & set(self.not_in_segments or ()):
            raise ValueError(f"segment {sorted(both, key=str)[0]} is in both in_segments and not_in_segments")
        return self

    @property
    def spent(self) -> Decimal | None:
        """`min_spent` as money (a float's shortest decimal form)."""
        return None if self.min_spent is None else Decimal(str(self.min_spent))

    @property
    def customer_fields(self) -> bool:
        return any(getattr(self, name) is not None for name in CUSTOMER_FIELDS)

    @property
    def order_fields(self) -> bool:
        return any(getattr(self, name) is not None for name in ORDER_FIELDS)

    def given(self) -> dict[str, Any]:
        """The fields given, as JSON (to repeat the call)."""
        return self.model_dump(mode="json", exclude_none=True)


def _window(after: date | None, before: date | None) -> str:
    if after and before:
        return f"between {after} and {before - timedelta(days=1)}"
    if after:
        return f"since {after}"
    return f"before {before}" if before else ""


def _clip(name: str) -> str:
    """A store's name as a sentence quotes it: one line, at most 60 characters."""
    name = " ".join(name.split())
    return name if len(name) <= 60 else name[:59] + "\u2026"


def _quoted(names: list[str]) -> str:
    quoted = [f"'{n}'" for n in names]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]


def _orders_words(where: CustomersWhere) -> str:
    if not where.order_fields:
        return ""
    window = _window(where.ordered_after, where.ordered_before)
    many = where.min_orders or 1
    orders = f"at least {many} orders" if many > 1 else ""
    if where.spent is not None:
        spent = f"who spent at least {where.spent:,.2f}" + (f" in {orders}" if orders else "")
    else:
        spent = f"who placed {orders}" if orders else "who ordered"
    return " ".join(part for part in (spent, window) if part)


def describe(where: CustomersWhere, *, group: str | None, segments: dict[UUID, str]) -> str:
    """The criteria in words, to follow a count: "in group 'Wholesale' who spent at least 500.00 since 2026-09-01"."""

    def label(ids: list[UUID] | None) -> str:
        names = [_clip(segments.get(i) or str(i)) for i in ids or ()]
        return ("segment " if len(names) == 1 else "segments ") + _quoted(names)

    parts = [
        f"in group '{_clip(group)}'" if group else "",
        f"at company '{_clip(where.company)}'" if where.company else "",
        f"named like '{_clip(where.name_contains)}'" if where.name_contains else "",
        f"with an email at {where.email_domain}" if where.email_domain else "",
        ("who signed up " + _window(where.signed_up_after, where.signed_up_before))
        if where.signed_up_after or where.signed_up_before
        else "",
        f"in {label(where.in_segments)}" if where.in_segments else "",
        f"not in {label(where.not_in_segments)}" if where.not_in_segments else "",
        _orders_words(where),
        f"with no order since {where.no_order_since}" if where.no_order_since else "",
    ]
    return " ".join(part for part in parts if part) or "matching"


def narrowing(where: CustomersWhere) -> str:
    """Which fields would narrow a selection that is too large, in a clause: the ones not given yet."""
    order = ("customer_group", "signed_up_after", "company", "ordered_after", "min_spent", "in_segments")
    free = [name for name in order if getattr(where, name) is None][:3]
    return "add " + (" or ".join(free) if free else "a narrower value") + " to narrow it"

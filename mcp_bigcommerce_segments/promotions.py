"""What a segment unlocks: the promotions whose `customer.segments` condition names it (`promotions.v3.yml`,
`CustomerSegmentLimitation`: `{id: [...]}`, `{not: ...}`, `{and: [...]}`, `{or: [...]}`, nested), and the sentences
that say so in a removal or deletion preview.

A segment named under an odd number of `not`s is excluded by the promotion (its members do not get it); otherwise
the promotion targets it (its members may get it). Without the Marketing read scope the promotions are unknown, and
the sentence says why once.
"""

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from pydantic import BaseModel, Field

from .errors import BigCommerceError, PermissionDeniedError
from .models import Promotion

MARKETING_SCOPE = (
    "Promotions are left out: the API account lacks the Marketing read scope (store_v2_marketing_read_only); grant "
    "Marketing 'read-only' to see which promotions each segment gates."
)
#: Promotions named in one sentence (the rest are counted).
NAMED = 3
_MAX_DEPTH = 8


class PromotionRef(BaseModel):
    """A promotion that names a segment in its customer condition."""

    id: int
    name: str
    status: str = Field(description="ENABLED, DISABLED or INVALID.")


@dataclass(frozen=True)
class Gate:
    """A promotion that names one segment: `excludes` when the segment is named under a `not`."""

    promotion: Promotion
    excludes: bool

    @property
    def label(self) -> str:
        name = " ".join(self.promotion.name.split())[:80].replace("'", "\u2019")
        return f"'{name}' ({self.promotion.status.lower() or 'status unknown'})"


def named_segments(condition: Any, negated: bool = False, depth: int = 0) -> dict[UUID, bool]:
    """The segments a condition names, each with whether it is under a `not` (odd depth of negation)."""
    found: dict[UUID, bool] = {}
    if depth > _MAX_DEPTH or not isinstance(condition, dict):
        return found
    for raw in condition.get("id") or []:
        with contextlib.suppress(ValueError, TypeError, AttributeError):
            found.setdefault(UUID(str(raw)), negated)
    if "not" in condition:
        found.update(
            {k: v for k, v in named_segments(condition["not"], not negated, depth + 1).items() if k not in found}
        )
    for key in ("and", "or"):
        for child in condition.get(key) or []:
            found.update({k: v for k, v in named_segments(child, negated, depth + 1).items() if k not in found})
    return found


def gates(promotions: Sequence[Promotion], segment_id: UUID) -> list[Gate]:
    """The promotions that name the segment, in the store's order."""
    found = []
    for promotion in promotions:
        condition = promotion.customer.segments if promotion.customer else None
        named = named_segments(condition)
        if segment_id in named:
            found.append(Gate(promotion, named[segment_id]))
    return found


def refs(found: Sequence[Gate]) -> list[PromotionRef]:
    return [PromotionRef(id=g.promotion.id, name=g.promotion.name, status=g.promotion.status) for g in found]


def _labels(found: Sequence[Gate]) -> str:
    labels = [g.label for g in found[:NAMED]]
    more = f" and {len(found) - NAMED} more" if len(found) > NAMED else ""
    if more:
        return ", ".join(labels) + more
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]


def removal_sentence(found: Sequence[Gate], segment_label: str, count: int) -> str:
    """What a removal of `count` members changes in the promotions that name the segment ("" for none)."""
    given = [g for g in found if not g.excludes]
    excluded = [g for g in found if g.excludes]
    parts = []
    who, lose, are = ("the one removed", "loses", "is") if count == 1 else (f"the {count:,} removed", "lose", "are")
    if given:
        parts.append(f"members of {segment_label} get {_labels(given)}: {who} {lose} it")
    if excluded:
        verb = "excludes" if len(excluded) == 1 else "exclude"
        parts.append(f"{_labels(excluded)} {verb} members of {segment_label}: {who} {are} no longer excluded")
    text = "; ".join(parts)
    return text[:1].upper() + text[1:] + "." if text else ""


def deletion_sentence(found: Sequence[Gate], segment_label: str) -> str:
    """What deleting the segment breaks in the promotions that name it ("" for none)."""
    given = [g for g in found if not g.excludes]
    excluded = [g for g in found if g.excludes]
    parts = []
    if given:
        parts.append(f"{_labels(given)} select{'s' if len(given) == 1 else ''} members of {segment_label}")
    if excluded:
        parts.append(f"{_labels(excluded)} exclude{'s' if len(excluded) == 1 else ''} them")
    if not parts:
        return ""
    return (
        "; ".join(parts)[:1].upper() + "; ".join(parts)[1:] + ": once the segment is deleted, no longer; point "
        "them at another segment in the control panel (Marketing > Promotions)."
    )


async def promotions_of(client: Any) -> tuple[list[Promotion] | None, str]:
    """Every promotion, or None and the one sentence that says why not (no Marketing read scope, or BigCommerce
    failed): promotions are a courtesy, never a reason for a call to fail."""
    try:
        read = await client.promotions()
    except PermissionDeniedError:
        return None, MARKETING_SCOPE
    except BigCommerceError:
        return None, "Promotions are left out: BigCommerce did not answer for them just now; ask again later."
    if not read.complete:
        return None, "Promotions are left out: BigCommerce's pages of promotions made no sense; ask again later."
    return list(read.items), ""

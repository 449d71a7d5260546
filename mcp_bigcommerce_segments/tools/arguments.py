"""The tools' arguments: their types (each with the description the model reads), and argument errors rewritten
into sentences that name the argument and the fix (at most three lines).

The SDK validates a call's arguments against the tool's input schema before the tool runs; pydantic's own message
has a line per bad item and a link to its docs. A model acts better on "profile_ids takes shopper profile UUIDs;
4812 looks like a customer number: pass customer_ids=[4812]".
"""

from collections import defaultdict
from typing import Annotated, Any
from uuid import UUID

from pydantic import Field, ValidationError

from ..endpoints import MAX_PAGE_SIZE

#: The most profiles (or customers) one write call moves.
MAX_IDS = 10_000
MAX_CUSTOMERS = 10_000

SegmentId = Annotated[
    UUID,
    Field(description="The segment's ID, a UUID such as 5e9a1c00-0000-4000-8000-000000000001 (not its name)."),
]
ProfileIds = Annotated[
    list[UUID],
    Field(
        min_length=1,
        max_length=MAX_IDS,
        description=f"Shopper profile IDs (UUIDs, not customer IDs), 1 to {MAX_IDS:,}. Duplicates are ignored.",
    ),
]
CustomerIds = Annotated[
    list[Annotated[int, Field(ge=1, strict=True)]],
    Field(
        min_length=1,
        max_length=MAX_CUSTOMERS,
        description="BigCommerce customer IDs (the numbers in the control panel's customer URLs), not profile UUIDs.",
    ),
]
FromSegmentId = Annotated[
    UUID | None,
    Field(description="Another segment's UUID: its current members are the profiles (the server reads them)."),
]
PageNumber = Annotated[int, Field(ge=1, description="Page number, from 1. Use `next_page` from the last result.")]
Limit = Annotated[int, Field(ge=1, le=MAX_PAGE_SIZE, description="Items per page, 1 to 250.")]
ProfileLimit = Annotated[int, Field(ge=1, le=MAX_PAGE_SIZE, description="Profiles per page, 1 to 250.")]

_MAX_LINES = 3


def explain(error: ValidationError, arguments: dict[str, Any]) -> str:
    """One sentence per argument that is wrong (the first three), saying what it takes and what to do."""
    by_argument: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for item in error.errors(include_url=False):
        location = item.get("loc") or ("arguments",)
        by_argument[str(location[0])].append(dict(item))
    lines = [_sentence(name, problems, arguments.get(name)) for name, problems in by_argument.items()]
    if len(lines) > _MAX_LINES:
        lines = [*lines[: _MAX_LINES - 1], f"{len(lines) - _MAX_LINES + 1} more arguments are wrong as well."]
    return "\n".join(lines)


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:39] + "…"


def _sentence(name: str, problems: list[dict[str, Any]], value: Any) -> str:
    first = problems[0]
    kind = str(first.get("type", ""))
    if kind == "missing":
        return f"{name} is required."
    if name == "confirm":
        return (
            f"confirm must be the JSON boolean true or false, not {_shown(first.get('input'))}; set confirm=true "
            "only after the user approved the preview."
        )
    if name in ("segment_id", "from_segment_id") and kind.startswith("uuid"):
        return (
            f"{name} takes a segment's UUID, not {_shown(first.get('input'))}; to find a segment by name call "
            "list_segments(name_contains=...)."
        )
    if name == "profile_id" and kind.startswith("uuid"):
        return (
            f"profile_id takes a shopper profile's UUID, not {_shown(first.get('input'))}; find_shopper_profiles "
            "turns a customer number, name or email into one."
        )
    if kind in ("too_long", "too_short") and isinstance(value, list):
        context = first.get("ctx") or {}
        low, high = context.get("min_length", 1), context.get("max_length")
        limit = f"{low:,} to {high:,}" if high is not None else f"at least {low:,}"
        return f"{name} takes {limit} items; it has {len(value):,}." + (
            f" Split it into calls of at most {high:,}." if high is not None and len(value) > high else ""
        )
    items = [p for p in problems if len(p.get("loc") or ()) > 1 and isinstance(p["loc"][1], int)]
    if name == "profile_ids" and items:
        numbers = [int(p["input"]) for p in items if _looks_like_customer_number(p.get("input"))]
        count = f"{len(items):,} of its items are not UUIDs" if len(items) > 1 else "one item is not a UUID"
        if numbers:
            hint = ", ".join(str(n) for n in numbers[:3])
            return (
                f"profile_ids takes shopper profile UUIDs; {hint} looks like a customer number ({count}): pass "
                f"customer_ids=[{hint}] instead."
            )
        example = f"item {items[0]['loc'][1]}: {_shown(items[0].get('input'))}"
        return f"profile_ids takes shopper profile UUIDs; {count}, e.g. {example}."
    if name == "customer_ids" and items:
        bad = items[0]
        count = f"{len(items):,} items are" if len(items) > 1 else "one item is"
        return (
            f"customer_ids takes whole numbers (customer IDs) written as JSON numbers; {count} not, e.g. item "
            f"{bad['loc'][1]}: {_shown(bad.get('input'))}."
        )
    message = str(first.get("msg", "is not valid"))
    return f"{name}: {message} (got {_shown(first.get('input'))})."


def _looks_like_customer_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return value > 0
    return isinstance(value, str) and value.strip().isascii() and value.strip().isdigit()

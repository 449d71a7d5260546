"""The tools' arguments: their types (each with the description the model reads), and argument errors rewritten
into sentences that name the argument and the fix (at most three lines).

The SDK validates a call's arguments against the tool's input schema before the tool runs; pydantic's own message
has a line per bad item and a link to its docs. A model acts better on "profile_ids takes shopper profile UUIDs;
4812 looks like a customer number: pass customer_ids=[4812]".
"""

import difflib
from collections import defaultdict
from typing import Annotated, Any
from uuid import UUID

from pydantic import Field, ValidationError

from ..criteria import CustomersWhere
from ..endpoints import MAX_PAGE_SIZE

#: The most profiles (or customers) one write call moves.
MAX_IDS = 10_000
MAX_CUSTOMERS = 10_000

SegmentId = Annotated[
    UUID,
    Field(description="The segment's UUID, not its name (list_segments finds it by name)."),
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
        description="Customer numbers (as in the control panel), not profile UUIDs.",
    ),
]
FromSegmentId = Annotated[
    UUID | None,
    Field(description="Another segment's UUID: its members are the source (the server reads them)."),
]
Where = Annotated[
    CustomersWhere | None,
    Field(
        description="Customers by what they are and did (all must hold). customer_group: name or number; company; "
        "name_contains; email_domain; signed_up_after/_before, ordered_after/_before, no_order_since: YYYY-MM-DD "
        "UTC, after = on or after; min_orders (default 1), min_spent: paid, not refunded orders in that window; "
        "no_order_since: none since, or never; in_segments, not_in_segments: segment UUIDs."
    ),
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
    """The one sentence for an argument: the first rule that speaks to its problem, else pydantic's own words."""
    for rule in _RULES:
        if (sentence := rule(name, problems, value)) is not None:
            return sentence
    first = problems[0]
    return f"{name}: {first.get('msg', 'is not valid')} (got {_shown(first.get('input'))})."


Problems = list[dict[str, Any]]


def _missing(name: str, problems: Problems, value: Any) -> str | None:
    return f"{name} is required." if problems[0].get("type") == "missing" else None


def _confirm(name: str, problems: Problems, value: Any) -> str | None:
    if name != "confirm":
        return None
    return (
        f"confirm must be the JSON boolean true or false, not {_shown(problems[0].get('input'))}; set confirm=true "
        "only after the user approved the preview."
    )


_UUID_HINTS = {
    "segment_id": "takes a segment's UUID, not {}; to find a segment by name call list_segments(name_contains=...).",
    "from_segment_id": (
        "takes a segment's UUID, not {}; to find a segment by name call list_segments(name_contains=...)."
    ),
    "in_segment_id": (
        "takes a segment's UUID, not {}; to find a segment by name call list_segments(name_contains=...)."
    ),
    "profile_id": (
        "takes a shopper profile's UUID, not {}; find_shopper_profiles turns a customer number, name or email into one."
    ),
}


def _not_a_uuid(name: str, problems: Problems, value: Any) -> str | None:
    if name not in _UUID_HINTS or not str(problems[0].get("type", "")).startswith("uuid"):
        return None
    return f"{name} " + _UUID_HINTS[name].format(_shown(problems[0].get("input")))


def _list_length(name: str, problems: Problems, value: Any) -> str | None:
    first = problems[0]
    if first.get("type") not in ("too_long", "too_short") or not isinstance(value, list):
        return None
    context = first.get("ctx") or {}
    low, high = context.get("min_length", 1), context.get("max_length")
    limit = f"{low:,} to {high:,}" if high is not None else f"at least {low:,}"
    return f"{name} takes {limit} items; it has {len(value):,}." + (
        f" Split it into calls of at most {high:,}." if high is not None and len(value) > high else ""
    )


def _bad_items(problems: Problems) -> Problems:
    return [p for p in problems if len(p.get("loc") or ()) > 1 and isinstance(p["loc"][1], int)]


def _profile_items(name: str, problems: Problems, value: Any) -> str | None:
    items = _bad_items(problems)
    if name != "profile_ids" or not items:
        return None
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


def _customer_items(name: str, problems: Problems, value: Any) -> str | None:
    items = _bad_items(problems)
    if name != "customer_ids" or not items:
        return None
    count = f"{len(items):,} items are" if len(items) > 1 else "one item is"
    return (
        f"customer_ids takes whole numbers (customer IDs) written as JSON numbers; {count} not, e.g. item "
        f"{items[0]['loc'][1]}: {_shown(items[0].get('input'))}."
    )


_HANDLES = {
    "preview_id": "the preview_id a removal preview gave (like p0123456789), not {}; call the removal with a source "
    "(profile_ids, customer_ids, from_segment_id or all_members) to get one.",
    "change_id": "a change_id from a write's result or list_recent_changes (like c0123456789), not {}.",
}


def _handle(name: str, problems: Problems, value: Any) -> str | None:
    if name not in _HANDLES or problems[0].get("type") != "string_pattern_mismatch":
        return None
    return f"{name} takes " + _HANDLES[name].format(_shown(problems[0].get("input")))


def _where_problem(problem: dict[str, Any]) -> str:
    """One problem of `customers_where`, named by its field."""
    path = [str(part) for part in (problem.get("loc") or ())[1:] if not isinstance(part, int)]
    field, kind = ".".join(path), str(problem.get("type", ""))
    message = str(problem.get("msg", "is not valid")).removeprefix("Value error, ")
    got = f" (got {_shown(problem.get('input'))})"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return 'customers_where takes an object of fields, e.g. {"customer_group": "Wholesale"}' + got + "."
    if not field:
        return f"customers_where: {message}; nothing was read or changed."
    if kind.startswith("uuid"):
        return f"customers_where.{field} takes segment UUIDs{got}; list_segments(name_contains=...) finds them."
    if kind in ("too_short", "string_too_short"):
        unit = "items" if isinstance(problem.get("input"), list) else "characters"
        return f"customers_where.{field} takes at least {problem.get('ctx', {}).get('min_length', 1)} {unit}{got}."
    if kind in ("greater_than_equal", "greater_than"):
        return f"customers_where.{field} must be {problem.get('ctx', {}).get('ge', 0):g} or more{got}."
    return (
        f"customers_where.{field} {message}{got}."
        if kind == "value_error"
        else f"customers_where.{field}: {message}{got}."
    )


def _where(name: str, problems: Problems, value: Any) -> str | None:
    if name != "customers_where":
        return None
    known = list(CustomersWhere.model_fields)
    extra = [str(p["loc"][1]) for p in problems if p.get("type") == "extra_forbidden" and len(p.get("loc") or ()) > 1]
    lines = []
    if extra:
        named = []
        for field in extra[:3]:
            close = difflib.get_close_matches(field, known, n=1, cutoff=0.8)
            named.append(f"{field!r} (did you mean {close[0]!r}?)" if close else repr(field))
        lines.append(
            f"customers_where does not take {', '.join(named)}; nothing was read or changed. Its fields are: "
            f"{', '.join(known)}."
        )
    lines += [_where_problem(p) for p in problems if p.get("type") != "extra_forbidden"]
    return "\n".join(lines[:_MAX_LINES])


_RULES = (_missing, _confirm, _not_a_uuid, _handle, _where, _list_length, _profile_items, _customer_items)


def _looks_like_customer_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return 0 < value < 2**31
    text = value.strip() if isinstance(value, str) else ""
    return text.isascii() and text.isdigit() and len(text) <= 10 and int(text) > 0


def unknown_arguments(tool: Any, unknown: list[str]) -> str:
    """The refusal of arguments a tool does not take: each named (with the closest real one, when there is one),
    then the tool's arguments. Nothing was read or written: an ignored argument could change what a write does."""
    known = list(tool.parameters.get("properties", {}))
    parts = []
    for name in unknown[:3]:
        shown = name if len(name) <= 40 else name[:39] + "\u2026"
        close = difflib.get_close_matches(
            name, known, n=1, cutoff=0.85
        )  # a near spelling only: a far one may mean the opposite
        parts.append(f"{shown!r} (did you mean {close[0]!r}?)" if close else repr(shown))
    more = f" and {len(unknown) - 3} more" if len(unknown) > 3 else ""
    return (
        f"{tool.name} does not take {', '.join(parts)}{more}; nothing was read or changed. Its arguments are: "
        f"{', '.join(known)}. Call again with only those."
    )

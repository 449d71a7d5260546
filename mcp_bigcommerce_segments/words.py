"""The small words of English the server's sentences share: plurals, the first few of a list, a tool call written
out as the model would write it."""

from collections.abc import Sequence
from typing import Any

import pydantic_core

# Lists longer than this are cut in summaries (the structured result always holds them all).
_SHOWN = 5


def call(tool: str, **arguments: Any) -> str:
    """A tool call as the model would write it: `tool(name=value, ...)`."""
    return f"{tool}(" + ", ".join(f"{k}={pydantic_core.to_json(v).decode()}" for k, v in arguments.items()) + ")"


def first_few(ids: Sequence[object]) -> str:
    """The first few IDs, and how many more."""
    head = ", ".join(str(i) for i in ids[:_SHOWN])
    return head + (f" and {len(ids) - _SHOWN} more" if len(ids) > _SHOWN else "")


def customers(numbers: Sequence[int]) -> str:
    """'customer 7', or 'customers 7, 9, 12 and 2 more'."""
    return f"customer {numbers[0]}" if len(numbers) == 1 else f"customers {first_few(numbers)}"


def plural(n: int, word: str, many: str | None = None) -> str:
    """'1 profile', '2 profiles' (or `many` for an irregular plural)."""
    return f"{n:,} {word}" if n == 1 else f"{n:,} {many or word + 's'}"


def were(n: int) -> str:
    """'1 was', '2 were'."""
    return f"{n:,} {'was' if n == 1 else 'were'}"

"""What the model reads: a result's structured content and its compact text copy, and the page fields of a one-page
result."""

from typing import Any

import pydantic_core
from mcp.types import CallToolResult, TextContent
from pydantic import BaseModel

from ..models import Pagination


def tool_result(model: BaseModel) -> CallToolResult:
    """Structured content plus a compact text copy: the summary line first, then the data without it (and without
    empty fields). The text copy is what many clients show the model, so it is kept small."""
    structured = model.model_dump(mode="json")
    rest = _compact({key: value for key, value in structured.items() if key != "summary"})
    text = structured.get("summary", "") + "\n" + pydantic_core.to_json(rest).decode()
    return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=structured)


def _compact(value: Any) -> Any:
    """A JSON value without empty fields (None, [], ""), at every depth."""
    if isinstance(value, dict):
        return {k: _compact(v) for k, v in value.items() if v not in (None, [], "")}
    if isinstance(value, list):
        return [_compact(item) for item in value]
    return value


def next_page(current: int, total_pages: int) -> int | None:
    """The page after `current`, or None on the last page."""
    return current + 1 if current < total_pages else None


def page_fields(p: Pagination, sandbox: bool) -> dict[str, Any]:
    """The page fields of a one-page result."""
    return {
        "total": p.total,
        "count": p.count,
        "per_page": p.per_page,
        "current_page": p.current_page,
        "total_pages": p.total_pages,
        "next_page": next_page(p.current_page, p.total_pages),
        "sandbox": sandbox,
    }

"""A tool's schemas as a model reads them: the docstring unwrapped, descriptions on the properties themselves, and no
generated titles (they repeat the names, and a model pays for every character of `tools/list`)."""

import inspect
from collections.abc import Callable
from typing import Any


def description(fn: Callable[..., object]) -> str:
    """The docstring as the client shows it: paragraphs kept, the source's line wrapping undone."""
    paragraphs = (inspect.getdoc(fn) or "").split("\n\n")
    return "\n\n".join(" ".join(line.strip() for line in paragraph.splitlines()) for paragraph in paragraphs)


def hoist_descriptions(schema: dict[str, Any]) -> None:
    """An optional argument's description sits in its `anyOf` branch (`list[UUID] | None`); move it to the property
    itself, where clients that read only the property look."""
    for prop in schema.get("properties", {}).values():
        for branch in prop.get("anyOf") or []:
            if isinstance(branch, dict) and "description" in branch and "description" not in prop:
                prop["description"] = branch.pop("description")


def drop_titles(schema: Any) -> None:
    """Remove the generated `title` of every schema node, in place (property names stay, even one named title)."""
    if isinstance(schema, dict):
        if isinstance(schema.get("title"), str):
            del schema["title"]
        for key, value in schema.items():
            if key in ("properties", "$defs") and isinstance(value, dict):
                for sub in value.values():
                    drop_titles(sub)
            elif key != "default":
                drop_titles(value)
    elif isinstance(schema, list):
        for item in schema:
            drop_titles(item)

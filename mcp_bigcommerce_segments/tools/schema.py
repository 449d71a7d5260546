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


def _merge_nullable(schema: dict[str, Any], *, output: bool) -> None:
    """`anyOf: [X, {type: null}]` as X: nullable (`type: [X's type, "null"]`), or, for an input whose default is
    null, just X (omitting it is the same as null). A result's nulls are kept: they are sent."""
    branches = schema.get("anyOf")
    if not (isinstance(branches, list) and len(branches) == 2 and {"type": "null"} in branches):
        return
    other = next(b for b in branches if b != {"type": "null"})
    optional = not output and schema.get("default", ...) is None
    if not isinstance(other, dict) or not (optional or (isinstance(other.get("type"), str) and "$ref" not in other)):
        return
    del schema["anyOf"]
    schema.update({k: v for k, v in other.items() if k not in schema})
    if not optional:
        schema["type"] = [other["type"], "null"]


def compact(schema: Any, *, output: bool = False) -> None:
    """Shorter JSON Schema for the same calls and results, in place: nullable values as `type` lists, optional
    arguments without their null (`_merge_nullable`), no `default: null`, and no defaults at all in an output schema
    (a result always carries its fields)."""
    if isinstance(schema, list):
        for item in schema:
            compact(item, output=output)
        return
    if not isinstance(schema, dict):
        return
    _merge_nullable(schema, output=output)
    if "default" in schema and (output or schema["default"] is None):
        del schema["default"]
    for key, value in schema.items():
        if key in ("properties", "$defs") and isinstance(value, dict):
            for sub in value.values():
                if output and key == "$defs" and isinstance(sub, dict):
                    sub.pop("description", None)  # a result model's docstring: the field that holds it says it
                compact(sub, output=output)
        elif key not in ("default", "enum", "const", "required"):
            compact(value, output=output)

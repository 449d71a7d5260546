"""Making the SDK's `Tool` for one of our functions, with the schemas a model reads (see `schema.py`).

The published schemas are generated from the functions' type hints and our result models, then shortened. Generating
them costs ~30 ms of pydantic work at every start, for JSON that only changes with the code: `schemas.json` holds them,
made by `python -m mcp_bigcommerce_segments.tools.making` (the tests fail when it differs from what the code would
generate, and say that command). A function it does not hold is generated as the SDK does.
"""

import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from mcp.server.mcpserver.resolve import build_resolver_plans, find_resolved_parameters
from mcp.server.mcpserver.tools import Tool
from mcp.server.mcpserver.utilities.context_injection import find_context_parameter
from mcp.server.mcpserver.utilities.func_metadata import func_metadata
from mcp.types import CallToolResult, ToolAnnotations

from .schema import compact, description, drop_titles, hoist_descriptions

CACHE = Path(__file__).with_name("schemas.json")
ToolT = TypeVar("ToolT", bound=Tool)
ToolFn = Callable[..., Awaitable[CallToolResult]]


def _cached() -> dict[str, Any]:
    try:
        return dict(json.loads(CACHE.read_text()))
    except (OSError, ValueError):
        return {}


SCHEMAS = _cached()


def generated(cls: type[ToolT], fn: ToolFn, **fields: Any) -> ToolT:
    """The tool as the SDK makes it, its schemas then shortened: titles dropped, descriptions hoisted, nullables
    merged, and no argument it does not take (`additionalProperties: false`)."""
    tool = cls.from_function(fn, description=description(fn), **fields)
    assert isinstance(tool, cls)
    # Every result is built from our pydantic result models, which validate it as they are made; the SDK would
    # validate the same content against the same schema again (~0.1 ms a page, ~15 ms for 10,000 IDs).
    # `FuncMetadata` reads its fields live, and a schema without a model is published and not re-checked.
    tool.fn_metadata.output_model = None
    drop_titles(tool.parameters)
    tool.parameters["additionalProperties"] = False
    hoist_descriptions(tool.parameters)
    compact(tool.parameters)
    if tool.output_schema is not None:
        drop_titles(tool.output_schema)
        compact(tool.output_schema, output=True)
        tool.output_schema.pop("description", None)  # the result model's docstring: the tool's description says it
    return tool


def make_tool(
    cls: type[ToolT], fn: ToolFn, *, title: str, annotations: ToolAnnotations, meta: dict[str, Any] | None
) -> ToolT:
    """The tool for `fn`, its schemas from `schemas.json` when it holds them (else `generated`)."""
    cached = SCHEMAS.get(fn.__name__)
    if cached is None:
        return generated(cls, fn, title=title, annotations=annotations, meta=meta)
    context_kwarg = find_context_parameter(fn)
    resolved = find_resolved_parameters(fn)
    skip = [*([context_kwarg] if context_kwarg else []), *resolved]
    metadata = func_metadata(fn, skip_names=skip, structured_output=False)  # the argument model; no schema made
    metadata.output_schema = cached["output"]
    names = {field.alias or name for name, field in metadata.arg_model.model_fields.items()}
    return cls(
        fn=fn,
        name=fn.__name__,
        title=title,
        description=description(fn),
        parameters=cached["input"],
        fn_metadata=metadata,
        is_async=True,
        context_kwarg=context_kwarg,
        resolved_params=dict(resolved),
        resolver_plans=build_resolver_plans(resolved, names),
        annotations=annotations,
        meta=meta,
    )


def dumped(tools: list[Tool]) -> str:
    """What `schemas.json` holds for these tools (each schema's keys in the order the code makes them)."""
    schemas = {t.name: {"input": t.parameters, "output": t.output_schema} for t in tools}
    return json.dumps(schemas, indent=1) + "\n"


def main() -> int:
    """Write `schemas.json` from the code (every tool of a full, writing server)."""
    from ..server import every_tool

    CACHE.write_text(dumped(every_tool(cached=False)))
    sys.stdout.write(f"wrote {CACHE}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

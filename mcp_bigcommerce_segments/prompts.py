"""MCP prompts for the common merchant workflows, offered in a host's prompt menu (Claude Desktop's, for one).

Each prompt's text uses only the tools the server offers in its mode: read-only mode offers the review alone.
"""

from collections.abc import Callable
from typing import Annotated

from mcp.server.mcpserver.prompts import Prompt
from pydantic import Field

Segment = Annotated[str, Field(description="The segment's name (or part of it), as the merchant says it.")]


def review_segment(segment: Segment) -> str:
    """Who is in a segment, by name, and what changed in it lately."""
    return (
        f"Review the BigCommerce customer segment named like '{segment}'. Find it with "
        f"list_segments(name_contains='{segment}'), then show who is in it with list_segment_profiles (names, emails, "
        "companies; page through with next_page if there are more), and summarise: how many members, notable "
        "companies. Finish with the latest changes to it from list_recent_changes. Change nothing."
    )


def clean_up_segment(segment: Segment, remove_who: Annotated[str, Field(description="Who should go.")]) -> str:
    """Take people out of a segment, with a preview the merchant approves by name."""
    return (
        f"Clean up the BigCommerce customer segment named like '{segment}': remove {remove_who}. Find the segment "
        f"with list_segments(name_contains='{segment}'). Describe who should go as one source: customers_where for "
        "who they are or did (e.g. {'not_in_segments': [<VIP's ID>]} for everyone not in VIP, {'customer_group': "
        "'Wholesale'}, {'no_order_since': '2026-03-01'}: only the segment's members who match are taken out), "
        "from_segment_id to take out everyone who IS in another segment, or customer_ids for named people "
        "(find_shopper_profiles finds them). Then call remove_profiles_from_segment with that source to get a "
        "preview, show me the names in it, and only after I say yes approve it with its preview_id and "
        "confirm=true. Tell me the change_id so it can be undone."
    )


def copy_segment(
    source: Annotated[str, Field(description="The segment to copy from.")],
    target: Annotated[str, Field(description="The segment to copy into.")],
) -> str:
    """Put everyone in one segment into another as well."""
    return (
        f"Copy everyone in the BigCommerce segment named like '{source}' into the segment named like '{target}'. "
        "Find both with list_segments(name_contains=...), then call add_profiles_to_segment(segment_id=<target>, "
        "from_segment_id=<source>): the server reads the source's members itself. Report how many were added, how "
        "many were members already, and the change_id (undo_change reverses it)."
    )


#: The prompts that change nothing: all a read-only server or a read-scoped caller is offered.
READ_PROMPTS = ("review_segment",)


def prompts(read_only: bool) -> list[Prompt]:
    """The prompts for the server's mode."""
    chosen: list[tuple[Callable[..., str], str]] = [(review_segment, "Review a segment")]
    if not read_only:
        chosen += [(clean_up_segment, "Clean up a segment"), (copy_segment, "Copy a segment")]
    return [Prompt.from_function(fn, title=title, description=fn.__doc__) for fn, title in chosen]

"""The results our tools return: pydantic models, so each tool publishes an output schema.

Results are read by a model, so they are small: counts, up to 20 profiles named as people, and a handle to
server-side state (`change_id`, `preview_id`) instead of long lists of IDs. The full per-ID record of every write is
in the audit log (see `list_recent_changes`). `common` holds what they share, `reads` and `writes` the results.
"""

from .common import (
    SHOWN_FAILED_IDS,
    SHOWN_REASONS,
    FailedIds,
    PagedResult,
    customer_notes,
    customers_of,
    failure_groups,
    page_sentence,
)
from .reads import (
    Change,
    ChangesResult,
    CustomerProfile,
    FindProfilesResult,
    ListResult,
    ProfileEntry,
    ProfileSegmentsResult,
    SegmentEntry,
    SegmentRef,
    SegmentsResult,
)
from .segments import DeleteResult, SegmentResult
from .writes import AddResult, RemoveResult, UndoResult, WriteResult

__all__ = [
    "SHOWN_FAILED_IDS",
    "SHOWN_REASONS",
    "AddResult",
    "Change",
    "ChangesResult",
    "CustomerProfile",
    "DeleteResult",
    "FailedIds",
    "FindProfilesResult",
    "ListResult",
    "PagedResult",
    "ProfileEntry",
    "ProfileSegmentsResult",
    "RemoveResult",
    "SegmentEntry",
    "SegmentRef",
    "SegmentResult",
    "SegmentsResult",
    "UndoResult",
    "WriteResult",
    "customer_notes",
    "customers_of",
    "failure_groups",
    "page_sentence",
]

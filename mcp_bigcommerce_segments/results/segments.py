"""The results of a segment's life: created or updated, and a deletion (preview, declined, done)."""

from typing import Literal
from uuid import UUID

from pydantic import Field

from ..promotions import PromotionRef
from .common import _Model


class SegmentResult(_Model):
    """Result of `create_segment` and `update_segment`."""

    summary: str
    segment_id: UUID
    name: str
    change_id: str | None = Field(default=None, description="undo_change(change_id) reverses it.")
    sandbox: bool = False


class DeleteResult(_Model):
    """Result of `delete_segment`."""

    summary: str
    segment_id: UUID
    name: str
    status: Literal["preview", "declined", "deleted"] = Field(
        description="preview: nothing deleted; approve with preview_id and confirm=true."
    )
    preview_id: str | None = None
    members: int = 0
    people: list[str] = Field(default=[], description="The first 20 members, named.")
    promotions: list[PromotionRef] | None = Field(default=None, description="Promotions that name it (first 10).")
    change_id: str | None = None
    sandbox: bool = False

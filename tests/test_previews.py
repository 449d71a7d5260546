"""Pinned previews: one made for another store is refused by naming the store, not as a segment mismatch."""

import uuid

import pytest

from mcp_bigcommerce_segments.errors import PreviewError
from mcp_bigcommerce_segments.previews import Preview, check_owner


def test_a_preview_from_another_store_names_the_store() -> None:
    """A preview pinned for another store is refused with a sentence about the store, never 'segment X, not X'."""
    segment = uuid.uuid4()
    preview = Preview("p0123456789", "otherstore", segment, (uuid.uuid4(),), {}, (), True, 900.0, "the IDs given")

    with pytest.raises(PreviewError) as refused:
        check_owner(preview, "abc123", segment)

    assert "was made for another store than this server's (abc123)" in str(refused.value)
    assert str(segment) not in str(refused.value)

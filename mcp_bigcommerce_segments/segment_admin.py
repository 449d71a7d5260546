"""A segment's whole life: create, update and delete it (`POST`, `PUT`, `DELETE /v3/segments`), read it whole (name
and description), and the promotions that name segments (`GET /v3/promotions`, Marketing read).

`DELETE /v3/segments` without `id:in` deletes every segment of the store (undocumented in the spec: assumed, as
for shopper profiles). `delete_segment` takes exactly one UUID and always sends it as `id:in`; the client's
`_request` refuses any DELETE without `id:in` besides.
"""

import json
from uuid import UUID

from pydantic import ValidationError

from .endpoints import MAX_SEGMENTS, NAMES_TTL_SECONDS, Collected
from .errors import PermissionDeniedError, ResponseShapeError
from .models import Promotion, PromotionPage, Segment, _Model
from .shoppers import ShopperReads

#: The most promotions read (a store rarely has more than a few hundred).
MAX_PROMOTIONS = 5_000


class _Created(_Model):
    data: list[Segment]


def _one_segment(body: bytes) -> Segment | None:
    """The one segment a POST or PUT answer lists, or None when it lists none, several, or is not that shape."""
    try:
        created = _Created.model_validate_json(body)
    except ValidationError:
        return None
    return created.data[0] if len(created.data) == 1 else None


class SegmentAdmin(ShopperReads):
    """Segments created, updated, deleted and read whole; promotions read (cached like segment names)."""

    async def _segment_answer(self, method: str, payload: list[dict[str, str]], what: str) -> Segment:
        """Send one segment and answer it as the store has it now. The spec's answer is `{data: [segment]}` (PUT says
        201 where 200 would be usual; its body is not relied on): when the body does not say, the segment is read
        back (by its ID for an update, by its name for a creation).

        Raises:
            ResponseShapeError: the store accepted the request but the segment cannot be found afterwards.
        """
        body = json.dumps(payload, separators=(",", ":")).encode()
        answer = await self._request(method, "segments", what=what, body=body)
        segment = _one_segment(answer.body)
        if segment is None:
            wanted = payload[0]
            if "id" in wanted:
                segment = (await self.segments_by_id({UUID(wanted["id"])})).get(UUID(wanted["id"]))
            else:
                every = await self.all_segments(max_items=MAX_SEGMENTS)
                segment = next((s for s in every.items if s.name == wanted["name"]), None)
        if segment is None:
            raise ResponseShapeError(
                f"BigCommerce accepted {what} but its answer names no segment, and none could be read back; "
                "list_segments shows whether it happened."
            )
        self.forget_names({segment.id})
        return segment

    async def create_segment(self, name: str, description: str) -> Segment:
        """POST one segment; the created segment.

        Raises:
            ConflictError: BigCommerce has a segment of that name (409; see `errors`).
        """
        return await self._segment_answer(
            "POST", [{"name": name, "description": description}], what=f"the new segment {name!r}"
        )

    async def update_segment(self, segment_id: UUID, *, name: str, description: str) -> Segment:
        """PUT one segment's name and description; the updated segment.

        Raises:
            ConflictError: another segment has that name (409).
        """
        payload = [{"id": str(segment_id), "name": name, "description": description}]
        return await self._segment_answer("PUT", payload, what=f"segment {segment_id}")

    async def delete_segment(self, segment_id: UUID) -> None:
        """DELETE exactly one segment, by `id:in` (without it, BigCommerce would delete every segment)."""
        if not isinstance(segment_id, UUID):
            raise TypeError("delete_segment takes one segment UUID")
        await self._request("DELETE", "segments", what=f"segment {segment_id}", params={"id:in": str(segment_id)})
        self.forget_names({segment_id})

    async def promotions(self) -> "Collected[Promotion]":
        """Every promotion of the store (all pages, up to 5,000), reused for `NAMES_TTL_SECONDS` (a missing scope
        too).

        Raises:
            PermissionDeniedError: the token lacks the Marketing read scope.
        """
        cached: tuple[Collected[Promotion] | PermissionDeniedError, float] | None = self.__dict__.get("_promotions")
        now = self._now()
        if cached is not None and cached[1] > now:
            if isinstance(cached[0], PermissionDeniedError):  # a missing scope is not asked about again at once
                raise cached[0]
            return cached[0]
        try:
            read = await self.collect("promotions", PromotionPage, what="promotions", max_items=MAX_PROMOTIONS)
        except PermissionDeniedError as exc:
            self.__dict__["_promotions"] = (exc, now + NAMES_TTL_SECONDS)
            raise
        self.__dict__["_promotions"] = (read, now + NAMES_TTL_SECONDS)
        return read

"""A segment's whole life: create, update and delete it (`POST`, `PUT`, `DELETE /v3/segments`), read it whole (name
and description), and the promotions that name segments (`GET /v3/promotions`, Marketing read).

`DELETE /v3/segments` without `id:in` deletes every segment of the store (undocumented in the spec: assumed, as
for shopper profiles). `delete_segment` takes exactly one UUID and always sends it as `id:in`; the client's
`_request` refuses any DELETE without `id:in` besides.
"""

import json
from uuid import UUID

from pydantic import ValidationError

from .endpoints import MAX_PAGE_SIZE, NAMES_TTL_SECONDS, Collected
from .errors import PermissionDeniedError, ResponseShapeError
from .models import Promotion, PromotionPage, Segment, SegmentPage, _Model
from .shoppers import ShopperReads

#: The most promotions read (a store rarely has more than a few hundred).
MAX_PROMOTIONS = 5_000


class _Created(_Model):
    data: list[Segment]


class SegmentAdmin(ShopperReads):
    """Segments created, updated, deleted and read whole; promotions read (cached like segment names)."""

    async def segments_by_id(self, ids: set[UUID]) -> dict[UUID, Segment]:
        """The segments, whole (name and description), by ID; a segment that does not exist has no entry."""
        found: dict[UUID, Segment] = {}
        wanted = sorted(ids, key=str)
        for start in range(0, len(wanted), MAX_PAGE_SIZE):
            params = {"id:in": ",".join(str(i) for i in wanted[start : start + MAX_PAGE_SIZE])}
            read = await self.collect("segments", SegmentPage, what="segments", params=params, max_items=len(wanted))
            found.update({s.id: s for s in read.items})
        return found

    async def _segment_answer(self, method: str, payload: list[dict[str, str]], what: str) -> Segment:
        body = json.dumps(payload, separators=(",", ":")).encode()
        answer = await self._request(method, "segments", what=what, body=body)
        try:
            created = _Created.model_validate_json(answer.body)
        except ValidationError as exc:
            raise ResponseShapeError(
                f"BigCommerce's answer for {what} is not the segment the API promises; list_segments shows whether "
                "it happened."
            ) from exc
        if len(created.data) != 1:
            raise ResponseShapeError(f"BigCommerce answered {what} with {len(created.data)} segments, not one.")
        segment = created.data[0]
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

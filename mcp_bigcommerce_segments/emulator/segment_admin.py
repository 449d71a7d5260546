"""Creating, updating and deleting segments (`POST`, `PUT`, `DELETE /v3/segments`), as `segments.v3.yml` describes
them, hazard included: a DELETE without `id:in` deletes every segment of the store.

Where the spec is silent the fake picks the least convenient plausible answer: a duplicate name is refused only when
it is exactly the same (so a client must compare names without case itself), an unknown ID in a PUT is 422 by
index, and a store holds at most 1,000 segments (more is 422).
"""

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from .base import STATUS_DOC, StoreBase, run_sync
from .records import Segment

MAX_SEGMENTS = 1_000


class SegmentAdminAPI(StoreBase):
    """`POST`, `PUT` and `DELETE /v3/segments`."""

    #: "spec": 201 with `{data: [segment], meta: {}}`; "bare": 200 with `{}` (a store whose answers say nothing).
    segment_answers: str = "spec"

    def _written(self, segments: list[Segment]) -> Response:
        if self.segment_answers == "bare":
            return self._json(200, {})
        return self._json(201, {"data": [self._segment_json(s) for s in segments], "meta": {}})

    def _segment_json(self, s: Segment) -> dict[str, Any]:
        raise NotImplementedError  # SegmentsAPI's

    async def _segments(self, request: Request) -> Response:
        raise NotImplementedError  # SegmentsAPI's (GET)

    async def _segments_route(self, request: Request) -> Response:
        if request.method == "GET":
            return await self._segments(request)
        body = {"POST": self._create, "PUT": self._update, "DELETE": self._delete}[request.method]
        return await self._handle(request, "modify", run_sync(lambda: body(request)))

    def _items(self, request: Request) -> list[dict[str, Any]] | Response:
        try:
            items = json.loads(request.state.body or b"null")
        except ValueError:
            return self._error(400, "The request body is not valid JSON.")
        if not isinstance(items, list) or not items or not all(isinstance(i, dict) for i in items):
            return self._error(400, "The request body must be a non-empty array of segments.")
        return items

    def _conflict(self, total: int) -> Response:
        return self._json(
            409,
            {
                "data": [],
                "errors": [
                    {
                        "status": 409,
                        "title": "Cannot have multiple segments with the same name.",
                        "type": STATUS_DOC,
                        "errors": {},
                    }
                ],
                "meta": {"total": total, "success": 0, "failed": total},
            },
        )

    def _create(self, request: Request) -> Response:
        items = self._items(request)
        if isinstance(items, Response):
            return items
        names = [i.get("name") for i in items]
        if not all(isinstance(n, str) and n.strip() for n in names):
            return self._error(400, "The segment was not valid.", {"name": "A name is required."})
        taken = {s.name for s in self.segments.values()}
        if len(set(names)) < len(names) or taken & set(names):
            return self._conflict(len(items))
        if len(self.segments) + len(items) > MAX_SEGMENTS:
            return self._error(422, f"Max total segments allowed per store is {MAX_SEGMENTS}.")
        moment = datetime.now(UTC)
        created = []
        for item in items:
            segment = Segment(uuid.uuid4(), str(item["name"]), str(item.get("description") or ""), moment, moment)
            self.segments[segment.id] = segment
            created.append(segment)
        return self._written(created)

    def _update(self, request: Request) -> Response:
        items = self._items(request)
        if isinstance(items, Response):
            return items
        unknown = {str(n): why for n, item in enumerate(items) if (why := self._unknown(item.get("id")))}
        if unknown:
            return self._error(422, "The segment was not valid.", unknown)
        changing = {uuid.UUID(str(i["id"])): i for i in items}
        for sid, item in changing.items():
            name = item.get("name")
            if isinstance(name, str) and any(s.name == name and s.id != sid for s in self.segments.values()):
                return self._conflict(len(items))
        for sid, item in changing.items():
            segment = self.segments[sid]
            if isinstance(item.get("name"), str):
                segment.name = item["name"]
            if isinstance(item.get("description"), str):
                segment.description = item["description"]
            segment.updated_at = datetime.now(UTC)
        return self._written([self.segments[s] for s in changing])

    def _unknown(self, raw: Any) -> str:
        """Why a PUT's segment ID is refused ("" when it names a segment)."""
        try:
            return "" if uuid.UUID(str(raw)) in self.segments else "Segment not found."
        except ValueError:
            return "The segment ID is not a valid UUID."

    def _delete(self, request: Request) -> Response:
        raw = request.query_params.get("id:in")
        if raw is None:
            self.stats.unfiltered_deletes += 1  # the hazard: every segment of the store goes
            self.segments.clear()
            return Response(status_code=204, headers=self._rate_headers())
        for part in raw.split(","):
            try:
                self.segments.pop(uuid.UUID(part.strip()), None)
            except ValueError:
                continue
        return Response(status_code=204, headers=self._rate_headers())

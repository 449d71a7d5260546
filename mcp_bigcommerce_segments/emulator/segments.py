"""The Segments API's endpoints: segments, a segment's shopper profiles (GET, POST, DELETE with its hazard) and a
profile's segments, as `segments.v3.yml` and CONTRACT.md describe them."""

import json
import uuid
from typing import Any, Literal

from starlette.requests import Request
from starlette.responses import Response

from .base import STATUS_DOC, StoreBase, run_sync
from .records import Segment, iso

MAX_ADD = 50


class SegmentsAPI(StoreBase):
    """`/v3/segments`, `/v3/segments/{id}/shopper-profiles` and `/v3/shopper-profiles/{id}/segments`."""

    conflict_mode: Literal["partial", "atomic"]
    unknown_profile_status: Literal[404, 422]
    strict_delete: bool

    def _profile_json(self, pid: uuid.UUID) -> dict[str, Any]:
        return self.profiles[pid].rendered

    def _segment_json(self, s: Segment) -> dict[str, Any]:
        return {
            "id": str(s.id),
            "name": s.name,
            "description": s.description,
            "created_at": iso(s.created_at),
            "updated_at": iso(s.updated_at),
        }

    def _find_segment(self, raw: str) -> Segment | Response:
        try:
            sid = uuid.UUID(raw)
        except ValueError:
            return self._error(422, "The segment ID is not a valid UUID.", {"segmentId": raw[:60]})
        segment = self.segments.get(sid)
        if segment is None:
            return self._error(404, "The requested segment was not found.")
        return segment

    async def _segment_profiles(self, request: Request) -> Response:
        needs: Literal["read", "modify"] = "modify"  # all three need the modify scope
        return await self._handle(request, needs, lambda: self._segment_profiles_body(request))

    async def _segment_profiles_body(self, request: Request) -> Response:
        segment = self._find_segment(request.path_params["segment_id"])
        if isinstance(segment, Response):
            return segment
        if request.method == "GET":
            args = self._page_args(request)
            if isinstance(args, Response):
                return args
            page, limit = args
            return self._json(200, self._paged(list(segment.members), page, limit, self._profile_json))
        if request.method == "DELETE":
            raw_ids = request.query_params.get("id:in")
            if raw_ids is None:
                # The documented hazard: no filter empties the segment.
                self.stats.unfiltered_deletes += 1
                segment.members.clear()
                return Response(status_code=204, headers=self._rate_headers())
            named = []
            for raw in raw_ids.split(","):
                try:
                    named.append(uuid.UUID(raw.strip()))
                except ValueError:
                    continue
            if self.strict_delete and any(pid not in segment.members for pid in named):
                return self._error(404, "Shopper profile not found in segment.")
            for pid in named:
                segment.members.pop(pid, None)
            return Response(status_code=204, headers=self._rate_headers())
        return self._add(segment, request.state.body)

    def _add(self, segment: Segment, raw: bytes) -> Response:
        parsed = self._add_body(raw)
        if isinstance(parsed, Response):
            return parsed
        conflicts = {
            str(n): f"Shopper profile `{pid}` already exists for segment `{segment.id}`."
            for n, pid in enumerate(parsed)
            if pid in segment.members
        }
        fresh = [pid for pid in dict.fromkeys(parsed) if pid not in segment.members]
        if not conflicts:
            segment.members.update(dict.fromkeys(fresh))
            return self._json(201, {"data": [self._profile_json(p) for p in fresh]})
        added = fresh if self.conflict_mode == "partial" else []
        segment.members.update(dict.fromkeys(added))
        return self._json(
            409,
            {
                "data": [self._profile_json(p) for p in added],
                "errors": [
                    {
                        "status": 409,
                        "title": "Unable to add shopper profiles to segment due to conflicts.",
                        "type": STATUS_DOC,
                        "errors": conflicts,
                    }
                ],
                "meta": {"total": len(parsed), "success": len(added), "failed": len(conflicts)},
            },
        )

    def _add_body(self, raw: bytes) -> list[uuid.UUID] | Response:
        """A POST's profile IDs, or the error the store answers for the body: 400, 422 (by index) or 404."""
        try:
            ids = json.loads(raw) if raw else None
        except ValueError:
            return self._error(400, "The request body is not valid JSON.")
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            return self._error(422, "The request body must be an array of shopper profile IDs.")
        if not ids:
            return self._error(422, "At least one shopper profile ID is required.")
        if len(ids) > MAX_ADD:
            return self._error(422, f"Limit of shopper profiles per request is {MAX_ADD}.")
        invalid: dict[str, str] = {}
        parsed: list[uuid.UUID] = []
        for n, raw_id in enumerate(ids):
            try:
                pid = uuid.UUID(raw_id)
            except ValueError:
                invalid[str(n)] = f"`{raw_id[:60]}` is not a valid shopper profile ID."
                continue
            if pid not in self.profiles:
                invalid[str(n)] = f"Shopper profile `{pid}` does not exist."
            parsed.append(pid)
        if invalid and self.unknown_profile_status == 404:
            return self._error(404, "Shopper profile not found.")
        if invalid:
            return self._error(422, "Unable to add shopper profiles to segment.", invalid)
        return parsed

    async def _segments(self, request: Request) -> Response:
        def body() -> Response:
            args = self._page_args(request)
            if isinstance(args, Response):
                return args
            page, limit = args
            items = list(self.segments.values())
            id_filter = request.query_params.get("id:in")
            if id_filter:
                wanted = {part.strip() for part in id_filter.split(",")}
                items = [s for s in items if str(s.id) in wanted]
            return self._json(200, self._paged(items, page, limit, self._segment_json))

        return await self._handle(request, "read", run_sync(body))

    async def _profile_segments(self, request: Request) -> Response:
        def body() -> Response:
            try:
                pid = uuid.UUID(request.path_params["profile_id"])
            except ValueError:
                return self._error(422, "The shopper profile ID is not a valid UUID.")
            if pid not in self.profiles:
                return self._error(404, "The requested shopper profile was not found.")
            args = self._page_args(request)
            if isinstance(args, Response):
                return args
            items = [s for s in self.segments.values() if pid in s.members]
            return self._json(200, self._paged(items, *args, self._segment_json))

        return await self._handle(request, "read", run_sync(body))

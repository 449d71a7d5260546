"""What BigCommerce did with one chunk of up to 50 IDs: the answers of POST and DELETE, read per ID.

The spec documents 201 for an add and 409 (a batch envelope keyed by the index of each conflicting ID) for profiles
already in the segment, and 204 for a removal. Everything else is left open, so nothing is taken for granted:
- a 409 that neither confirms nor rejects some IDs: those are sent once more on their own (adding is safe to
  repeat), and reported as failed if the second answer says nothing either;
- a bare 404 to a write while the segment exists: the store rejects some IDs without saying which, so the chunk is
  halved until each unknown profile (POST) or non-member (DELETE) stands alone; a missing segment stops the call.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from .client import CHUNK_SIZE, Answer, BigCommerceClient
from .errors import NotFoundError, error_from_response


@dataclass
class Outcome:
    """Where each ID of a chunk (or a whole call) ended up; every ID is in exactly one place.

    `changed`: added (POST) or removed (DELETE). `unchanged`: membership already as asked, i.e. already a member
    (POST) or not a member (DELETE). `failed`: not done, grouped by reason.
    """

    changed: list[UUID] = field(default_factory=list)
    unchanged: list[UUID] = field(default_factory=list)
    failed: dict[str, list[UUID]] = field(default_factory=dict)

    def fail(self, reason: str, ids: Sequence[UUID]) -> None:
        if ids:
            self.failed.setdefault(reason, []).extend(ids)

    def merge(self, other: "Outcome") -> None:
        self.changed.extend(other.changed)
        self.unchanged.extend(other.unchanged)
        for reason, ids in other.failed.items():
            self.fail(reason, ids)


async def add_chunk(client: BigCommerceClient, segment_id: UUID, ids: Sequence[UUID]) -> Outcome:
    """POST up to 50 IDs and sort them into added, already members and failed."""
    if not ids or len(ids) > CHUNK_SIZE:
        raise ValueError("a POST takes 1 to 50 profile IDs")
    outcome = Outcome()
    await _add_into(outcome, client, segment_id, list(ids), rounds=2)
    return outcome


async def _add_into(
    outcome: Outcome, client: BigCommerceClient, segment_id: UUID, ids: list[UUID], *, rounds: int
) -> None:
    answer = await client.post_profiles(segment_id, ids)
    if answer.status == 404:
        await _require_segment(client, segment_id, answer)
        payload = answer.lenient_json()
        if not _indexed_errors(payload, ids):
            # The segment exists, so BigCommerce rejects some of the profiles without saying which: halve.
            if len(ids) == 1:
                outcome.fail(f"BigCommerce does not know this shopper profile (404){_said(answer)}", ids)
                return
            for half in (ids[: len(ids) // 2], ids[len(ids) // 2 :]):
                await _add_into(outcome, client, segment_id, half, rounds=rounds)
            return
    else:
        payload = answer.json()
    if answer.status < 300 and not (isinstance(payload, dict) and payload.get("errors")):
        outcome.changed.extend(ids)  # 201: BigCommerce added the whole batch
        return
    confirmed = _ids_in_data(payload) & set(ids)
    indexed = _indexed_errors(payload, ids)
    if answer.status in (404, 422) and not indexed:
        outcome.fail(f"BigCommerce rejected these profiles ({answer.status}){_said(answer)}", ids)
        return
    unresolved: list[UUID] = []
    for position, profile_id in enumerate(ids):
        if profile_id in confirmed:
            outcome.changed.append(profile_id)
        elif position in indexed:
            status, message = indexed[position]
            if status == 409:
                outcome.unchanged.append(profile_id)
            else:
                outcome.fail(f"BigCommerce rejected it: {message}", [profile_id])
        else:
            unresolved.append(profile_id)
    if not unresolved:
        return
    meta = payload.get("meta") if isinstance(payload, dict) else None
    success = meta.get("success") if isinstance(meta, dict) else None
    if answer.status < 300 or (isinstance(success, int | float) and success >= len(confirmed) + len(unresolved)):
        outcome.changed.extend(unresolved)
    elif rounds > 1:
        await _add_into(outcome, client, segment_id, unresolved, rounds=rounds - 1)
    else:
        outcome.fail("BigCommerce neither added nor rejected it; adding again is safe", unresolved)


async def remove_chunk(client: BigCommerceClient, segment_id: UUID, ids: Sequence[UUID]) -> Outcome:
    """DELETE up to 50 IDs by `id:in`. BigCommerce answers 204 and says nothing about non-members."""
    answer = await client.delete_profiles(segment_id, ids)
    outcome = Outcome()
    if answer.status != 404:
        outcome.changed.extend(ids)
        return outcome
    # BigCommerce documents only 204. A 404 while the segment exists means some IDs are not members: halve until
    # each is placed; a lone ID that still gets 404 was not a member.
    await _require_segment(client, segment_id, answer)
    if len(ids) == 1:
        outcome.unchanged.extend(ids)
        return outcome
    for half in (ids[: len(ids) // 2], ids[len(ids) // 2 :]):
        outcome.merge(await remove_chunk(client, segment_id, half))
    return outcome


async def _require_segment(client: BigCommerceClient, segment_id: UUID, answer: Answer) -> None:
    """After a 404 on a write, tell a missing segment (which stops the call) from IDs the store rejects.

    Raises:
        NotFoundError: the segment does not exist.
    """
    if not await client.segment_exists(segment_id):
        error = error_from_response(404, answer.body, {}, what=f"segment {segment_id}")
        raise NotFoundError(str(error), status=404, detail=error.detail)


def _said(answer: Answer) -> str:
    """BigCommerce's words from an error body, as a parenthesis; empty when it said nothing."""
    said = answer.detail
    return f" (BigCommerce said: {said})" if said else ""


def _ids_in_data(payload: Any) -> set[UUID]:
    """The profile IDs listed in a batch answer's `data` (entries that are not profiles are skipped)."""
    found: set[UUID] = set()
    data = payload.get("data") if isinstance(payload, dict) else None
    if isinstance(data, list):
        for item in data:
            raw = item.get("id") if isinstance(item, dict) else None
            if isinstance(raw, str):
                try:
                    found.add(UUID(raw))
                except ValueError:
                    continue
    return found


def _indexed_errors(payload: Any, ids: Sequence[UUID]) -> dict[int, tuple[int, str]]:
    """Per-ID errors of a batch answer: position in the request -> (status, message).

    Accepts both shapes BigCommerce uses: the batch envelope (`errors` is a list of `{status, errors: {index: msg}}`)
    and the plain error body (`errors` is `{index: msg}`). A key that is not an index is matched by the UUID the
    message names.
    """
    found: dict[int, tuple[int, str]] = {}
    if not isinstance(payload, dict):
        return found
    top_status = payload.get("status")
    groups: list[tuple[Any, Any]] = []
    errors = payload.get("errors")
    if isinstance(errors, list):
        groups = [(g.get("status"), g.get("errors")) for g in errors if isinstance(g, dict)]
    elif isinstance(errors, dict):
        groups = [(top_status, errors)]
    positions = {str(profile_id): n for n, profile_id in enumerate(ids)}
    for status, items in groups:
        if not isinstance(items, dict):
            continue
        code = int(status) if isinstance(status, int | float) else 0
        for key, message in items.items():
            text = str(message)
            position: int | None = None
            if str(key).isdigit() and int(key) < len(ids):
                position = int(key)
            else:
                position = next((n for uid, n in positions.items() if uid in text), None)
            if position is not None:
                found[position] = (code, text)
    return found

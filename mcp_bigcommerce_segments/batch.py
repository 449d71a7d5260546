"""What BigCommerce did with one chunk of up to 50 IDs: the answers of POST and DELETE, read per ID.

The spec documents 201 for an add (listing the profiles added) and 409 (a batch envelope keyed by the index of each
conflicting ID) for profiles already in the segment, and 204 for a removal. Everything else is left open, so
nothing is taken for granted:
- an ID that an answer (201 or 409) neither confirms nor rejects is sent once more on its own (adding is safe to
  repeat), and reported as unconfirmed, never as added, if the second answer says nothing of it either;
- a bare 404 to a write while the segment exists: the store rejects some IDs without saying which, so the chunk is
  halved until each unknown profile (POST) or non-member (DELETE) stands alone, within a bounded number of
  requests; a missing segment stops the call.
"""

import math
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from .client import CHUNK_SIZE, Answer, BigCommerceClient
from .errors import NotFoundError, error_from_response, quote_store_text


@dataclass
class Outcome:
    """Where each ID of a chunk (or a whole call) ended up; every ID is in exactly one place.

    `changed`: added (POST) or removed (DELETE). `unchanged`: membership already as asked, i.e. already a member
    (POST) or not a member (DELETE). `failed`: not done, grouped by reason.
    """

    changed: list[UUID] = field(default_factory=list)
    unchanged: list[UUID] = field(default_factory=list)
    failed: dict[str, list[UUID]] = field(default_factory=dict)
    customer_of: dict[UUID, int] = field(default_factory=dict)  # what answers said of the profiles' customers

    def fail(self, reason: str, ids: Sequence[UUID]) -> None:
        if ids:
            self.failed.setdefault(reason, []).extend(ids)

    def merge(self, other: "Outcome") -> None:
        self.changed.extend(other.changed)
        self.unchanged.extend(other.unchanged)
        self.customer_of.update(other.customer_of)
        for reason, ids in other.failed.items():
            self.fail(reason, ids)


# Requests one chunk may spend singling out the IDs a bare 404 is about (50 IDs, one unknown: 12 are needed).
BISECT_BUDGET = 16
_UNCONFIRMED = (
    "BigCommerce answered 201 but its answer does not list this profile, twice; it may or may not be a member now. "
    "Check with list_segment_profiles; adding again is safe"
)


async def add_chunk(client: BigCommerceClient, segment_id: UUID, ids: Sequence[UUID]) -> Outcome:
    """POST up to 50 IDs and sort them into added, already members and failed, by what the answers say per ID."""
    if not ids or len(ids) > CHUNK_SIZE:
        raise ValueError("a POST takes 1 to 50 profile IDs")
    outcome = Outcome()
    await _isolating(outcome, client, segment_id, list(ids), _read_add, "POST")
    return outcome


async def remove_chunk(client: BigCommerceClient, segment_id: UUID, ids: Sequence[UUID]) -> Outcome:
    """DELETE up to 50 IDs by `id:in`. BigCommerce answers 204 and says nothing about non-members."""
    outcome = Outcome()
    await _isolating(outcome, client, segment_id, list(ids), _read_remove, "DELETE")
    return outcome


Reader = Callable[[Outcome, BigCommerceClient, UUID, list[UUID], Answer], Awaitable[None]]


async def _send(client: BigCommerceClient, segment_id: UUID, ids: list[UUID], method: str) -> Answer:
    if method == "POST":
        return await client.post_profiles(segment_id, ids)
    return await client.delete_profiles(segment_id, ids)


def _bare_404(answer: Answer, ids: Sequence[UUID]) -> bool:
    """A 404 that does not say which IDs it is about."""
    return answer.status == 404 and not _indexed_errors(answer.lenient_json(), ids)


async def _isolating(
    outcome: Outcome, client: BigCommerceClient, segment_id: UUID, ids: list[UUID], read: Reader, method: str
) -> None:
    """Send `ids`; after a bare 404 (while the segment exists), halve until each rejected ID stands alone.

    The halving is bounded: at most `BISECT_BUDGET` requests a chunk, and none at all once both halves of the first
    split fail alike (a store that answers 404 to everything would otherwise cost two requests per ID).
    """
    answer = await _send(client, segment_id, ids, method)
    if not _bare_404(answer, ids):
        await read(outcome, client, segment_id, ids, answer)
        return
    await _require_segment(client, segment_id, answer)
    budget = BISECT_BUDGET
    pending = [ids]
    first_split = True
    while pending:
        part = pending.pop()
        if len(part) == 1:
            _lone_404(outcome, part, answer, method)
            continue
        if budget < 2:
            outcome.fail(
                f"BigCommerce rejected some of these with a bare 404 without saying which{_said(answer)}; send them "
                "again in smaller groups",
                part,
            )
            continue
        halves = [part[: len(part) // 2], part[len(part) // 2 :]]
        answers = [await _send(client, segment_id, half, method) for half in halves]
        budget -= 2
        if first_split and all(_bare_404(a, h) for a, h in zip(answers, halves, strict=True)):
            outcome.fail(
                f"BigCommerce answered 404 for every part of this batch although the segment exists{_said(answer)}; "
                + ("these profiles may not exist" if method == "POST" else "they may not be members"),
                part,
            )
            return
        first_split = False
        for half, half_answer in zip(halves, answers, strict=True):
            if _bare_404(half_answer, half):
                pending.append(half)
            else:
                await read(outcome, client, segment_id, half, half_answer)


def _lone_404(outcome: Outcome, ids: list[UUID], answer: Answer, method: str) -> None:
    if method == "POST":
        outcome.fail(f"BigCommerce does not know this shopper profile (404){_said(answer)}", ids)
    else:
        outcome.unchanged.extend(ids)  # a lone ID that gets 404 from a DELETE is not a member


async def _read_remove(
    outcome: Outcome, client: BigCommerceClient, segment_id: UUID, ids: list[UUID], answer: Answer
) -> None:
    """Place each ID of a DELETE: 204 (the documented answer) removed them all; an answer naming IDs is read per ID."""
    if answer.status == 204 or not answer.body:
        outcome.changed.extend(ids)
        return
    indexed = _indexed_errors(answer.lenient_json(), ids)
    for position, profile_id in enumerate(ids):
        if position not in indexed:
            if answer.status < 300:
                outcome.changed.append(profile_id)
            else:
                outcome.fail(
                    f"Unknown: BigCommerce answered {answer.status} without naming it{_said(answer)}", [profile_id]
                )
            continue
        status, message = indexed[position]
        if status == 404 or (status == 0 and answer.status == 404):
            outcome.unchanged.append(profile_id)  # not a member
        else:
            outcome.fail(f"BigCommerce did not remove it: {quote_store_text(message)}", [profile_id])


async def _read_add(
    outcome: Outcome, client: BigCommerceClient, segment_id: UUID, ids: list[UUID], answer: Answer, rounds: int = 2
) -> None:
    """Place each ID of a POST by what the answer says of it; IDs it says nothing of are sent once more alone."""
    payload = answer.json() if answer.status != 404 else answer.lenient_json()
    listed = _ids_in_data(payload)
    outcome.customer_of.update(listed)
    confirmed = listed.keys() & set(ids)
    indexed = _indexed_errors(payload, ids)
    if answer.status in (404, 422) and not indexed and not confirmed:
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
                outcome.fail(f"BigCommerce rejected it: {quote_store_text(message)}", [profile_id])
        else:
            unresolved.append(profile_id)
    if not unresolved:
        return
    meta = payload.get("meta") if isinstance(payload, dict) else None
    success = meta.get("success") if isinstance(meta, dict) else None
    if answer.status == 409 and isinstance(success, int | float) and success >= len(confirmed) + len(unresolved):
        outcome.changed.extend(unresolved)  # the 409's own count says the others were added
    elif rounds > 1:
        # Not confirmed and not rejected: ask once more. A 201 listing them means added; a 409 for them means they
        # were members already (a mixed batch answered 201 for the new ones only).
        again = await client.post_profiles(segment_id, unresolved)
        await _read_add(outcome, client, segment_id, unresolved, again, rounds - 1)
    elif answer.status < 300:
        outcome.fail(_UNCONFIRMED, unresolved)
    else:
        outcome.fail("BigCommerce neither added nor rejected it; adding again is safe", unresolved)


async def _require_segment(client: BigCommerceClient, segment_id: UUID, answer: Answer) -> None:
    """After a 404 on a write, tell a missing segment (which stops the call) from IDs the store rejects.

    Raises:
        NotFoundError: the segment does not exist.
    """
    if not await client.segment_exists(segment_id):
        error = error_from_response(404, answer.body, {}, what=f"segment {segment_id}")
        raise NotFoundError(str(error), status=404, detail=error.detail)


def _said(answer: Answer) -> str:
    """BigCommerce's words from an error body (quoted), as a parenthesis; empty when it said nothing."""
    said = answer.detail
    return f" (BigCommerce said: {said})" if said else ""


def _ids_in_data(payload: Any) -> dict[UUID, int]:
    """The profiles listed in a batch answer's `data`, with their customer ID (-1 when not given); entries that are
    not profiles are skipped."""
    found: dict[UUID, int] = {}
    data = payload.get("data") if isinstance(payload, dict) else None
    if isinstance(data, list):
        for item in data:
            raw = item.get("id") if isinstance(item, dict) else None
            if isinstance(raw, str):
                try:
                    profile_id = UUID(raw)
                except ValueError:
                    continue
                customer = item.get("customer_id")
                found[profile_id] = customer if isinstance(customer, int) and not isinstance(customer, bool) else -1
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
        code = int(status) if isinstance(status, int | float) and math.isfinite(status) else 0
        for key, message in items.items():
            text = str(message)
            position: int | None = None
            if str(key).isascii() and str(key).isdigit() and int(key) < len(ids):
                position = int(key)
            else:
                position = next((n for uid, n in positions.items() if uid in text), None)
            if position is not None:
                found[position] = (code, text)
    return found

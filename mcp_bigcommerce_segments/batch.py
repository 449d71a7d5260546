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

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from .client import CHUNK_SIZE, Answer, BigCommerceClient
from .errors import BigCommerceError, NotFoundError, error_from_response, quote_store_text
from .ratelimit import WaitReporter
from .retry import may_have_landed


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
    # Of `changed`: added by a POST whose answer was lost, found members when read back (they may have been members
    # already; nothing can tell).
    reread: list[UUID] = field(default_factory=list)

    def placed(self) -> set[UUID]:
        """Every ID placed so far."""
        return {*self.changed, *self.unchanged, *(i for ids in self.failed.values() for i in ids)}

    def fail(self, reason: str, ids: Sequence[UUID]) -> None:
        if ids:
            self.failed.setdefault(reason, []).extend(ids)

    def merge(self, other: "Outcome") -> None:
        self.changed.extend(other.changed)
        self.unchanged.extend(other.unchanged)
        self.customer_of.update(other.customer_of)
        self.reread.extend(other.reread)
        for reason, ids in other.failed.items():
            self.fail(reason, ids)


# Requests one chunk may spend singling out the IDs a bare 404 is about (50 IDs, one unknown: 12 are needed).
BISECT_BUDGET = 16
_ALL_404 = "BigCommerce answered 404 for every part of this batch although the segment exists"
_MAYBE = {"POST": "these profiles may not exist", "DELETE": "they may not be members"}
_UNCONFIRMED = (
    "BigCommerce answered 201 but its answer does not list this profile, twice; it may or may not be a member now. "
    "Check with list_segment_profiles; adding again is safe"
)


async def add_chunk(
    client: BigCommerceClient, segment_id: UUID, ids: Sequence[UUID], on_wait: WaitReporter | None = None
) -> Outcome:
    """POST up to 50 IDs and sort them into added, already members and failed, by what the answers say per ID.

    A POST is never sent again blindly after an answer that was lost (a timeout, a dropped connection, a 5xx, an
    unreadable body): it may have been carried out. The segment's membership of the IDs not yet placed is read
    instead; those now members are added (`Outcome.reread` names them), the others are sent once more.
    """
    if not ids or len(ids) > CHUNK_SIZE:
        raise ValueError("a POST takes 1 to 50 profile IDs")
    chunk = _Chunk(client, segment_id, "POST", on_wait)
    try:
        await chunk.isolating(list(ids))
    except BigCommerceError as exc:
        if not may_have_landed(exc):
            raise
        await chunk.after_lost_answer(list(ids), exc)
    return chunk.outcome


async def remove_chunk(
    client: BigCommerceClient, segment_id: UUID, ids: Sequence[UUID], on_wait: WaitReporter | None = None
) -> Outcome:
    """DELETE up to 50 IDs by `id:in`. BigCommerce answers 204 and says nothing about non-members."""
    chunk = _Chunk(client, segment_id, "DELETE", on_wait)
    await chunk.isolating(list(ids))
    return chunk.outcome


# The segment is read whole to learn what a lost POST did when it has at most this many members (4 pages); in a
# larger one, each ID of the chunk is looked up on its own.
REREAD_LIMIT = 1_000


@dataclass
class _Chunk:
    """One chunk's requests, and where each of its IDs ended up."""

    client: BigCommerceClient
    segment_id: UUID
    method: str
    on_wait: WaitReporter | None
    outcome: Outcome = field(default_factory=Outcome)

    async def send(self, ids: list[UUID]) -> Answer:
        if self.method == "POST":
            return await self.client.post_profiles(self.segment_id, ids, on_wait=self.on_wait)
        return await self.client.delete_profiles(self.segment_id, ids, on_wait=self.on_wait)

    async def read(self, ids: list[UUID], answer: Answer) -> None:
        if self.method == "POST":
            await self.read_add(ids, answer)
        else:
            self.read_remove(ids, answer)

    async def isolating(self, ids: list[UUID]) -> None:
        """Send `ids`; after a bare 404 (while the segment exists), halve until each rejected ID stands alone.

        The halving is bounded: at most `BISECT_BUDGET` requests a chunk, and none at all once both halves of the
        first split fail alike (a store that answers 404 to everything would otherwise cost two requests per ID).
        """
        answer = await self.send(ids)
        if not _bare_404(answer, ids):
            await self.read(ids, answer)
            return
        await _require_segment(self.client, self.segment_id, answer)
        budget, pending, first_split = BISECT_BUDGET, [ids], True
        while pending:
            part = pending.pop()
            if len(part) == 1:
                self.lone_404(part, answer)
            elif budget < 2:
                self.outcome.fail(
                    f"BigCommerce rejected some of these with a bare 404 without saying which{_said(answer)}; send "
                    "them again in smaller groups",
                    part,
                )
            else:
                halves = [part[: len(part) // 2], part[len(part) // 2 :]]
                answers = [await self.send(half) for half in halves]
                budget -= 2
                if first_split and all(_bare_404(a, h) for a, h in zip(answers, halves, strict=True)):
                    self.outcome.fail(f"{_ALL_404}{_said(answer)}; {_MAYBE[self.method]}", part)
                    return
                first_split = False
                for half, half_answer in zip(halves, answers, strict=True):
                    if _bare_404(half_answer, half):
                        pending.append(half)
                    else:
                        await self.read(half, half_answer)

    def lone_404(self, ids: list[UUID], answer: Answer) -> None:
        if self.method == "POST":
            self.outcome.fail(f"BigCommerce does not know this shopper profile (404){_said(answer)}", ids)
        else:
            self.outcome.unchanged.extend(ids)  # a lone ID that gets 404 from a DELETE is not a member

    def read_remove(self, ids: list[UUID], answer: Answer) -> None:
        """Place each ID of a DELETE: 204 (the documented answer) removed them all; an answer naming IDs is read per
        ID."""
        if answer.status == 204 or not answer.body:
            self.outcome.changed.extend(ids)
            return
        indexed = _indexed_errors(answer.lenient_json(), ids)
        for position, profile_id in enumerate(ids):
            if position not in indexed:
                if answer.status < 300:
                    self.outcome.changed.append(profile_id)
                else:
                    reason = f"Unknown: BigCommerce answered {answer.status} without naming it{_said(answer)}"
                    self.outcome.fail(reason, [profile_id])
                continue
            status, message = indexed[position]
            if status == 404 or (status == 0 and answer.status == 404):
                self.outcome.unchanged.append(profile_id)  # not a member
            else:
                self.outcome.fail(f"BigCommerce did not remove it: {quote_store_text(message)}", [profile_id])

    async def read_add(self, ids: list[UUID], answer: Answer, rounds: int = 2) -> None:
        """Place each ID of a POST by what the answer says of it; IDs it says nothing of are sent once more alone."""
        payload = answer.json() if answer.status != 404 else answer.lenient_json()
        listed = _ids_in_data(payload, ids)
        self.outcome.customer_of.update(listed)
        confirmed = listed.keys() & set(ids)
        indexed = _indexed_errors(payload, ids)
        if answer.status in (404, 422) and not indexed and not confirmed:
            self.outcome.fail(f"BigCommerce rejected these profiles ({answer.status}){_said(answer)}", ids)
            return
        unresolved = self.place_added(ids, confirmed, indexed)
        if not unresolved:
            return
        if answer.status == 409 and _success_count(payload) >= len(confirmed) + len(unresolved):
            self.outcome.changed.extend(unresolved)  # the 409's own count says the others were added
        elif rounds > 1:
            # Not confirmed and not rejected: ask once more. A 201 listing them means added; a 409 for them means
            # they were members already (a mixed batch answered 201 for the new ones only).
            await self.read_add(unresolved, await self.send(unresolved), rounds - 1)
        elif answer.status < 300:
            self.outcome.fail(_UNCONFIRMED, unresolved)
        else:
            self.outcome.fail("BigCommerce neither added nor rejected it; adding again is safe", unresolved)

    def place_added(self, ids: list[UUID], confirmed: set[UUID], indexed: dict[int, tuple[int, str]]) -> list[UUID]:
        """Place the IDs an add's answer confirms or rejects; returns those it says nothing of."""
        unresolved: list[UUID] = []
        for position, profile_id in enumerate(ids):
            if profile_id in confirmed:
                self.outcome.changed.append(profile_id)
            elif position not in indexed:
                unresolved.append(profile_id)
            elif indexed[position][0] == 409:
                self.outcome.unchanged.append(profile_id)
            else:
                self.outcome.fail(f"BigCommerce rejected it: {quote_store_text(indexed[position][1])}", [profile_id])
        return unresolved

    async def after_lost_answer(self, ids: list[UUID], error: BigCommerceError) -> None:
        """A POST's answer was lost: what it did is read back, never guessed (see `add_chunk`).

        Raises:
            BigCommerceError: `error`, when membership cannot be read back, or the second POST's answer is lost too.
        """
        unplaced = [i for i in ids if i not in self.outcome.placed()]
        members, _ = await self.client.membership(
            self.segment_id, unplaced, read_up_to=REREAD_LIMIT, max_lookups=CHUNK_SIZE
        )
        if members is None:
            raise error
        landed = [i for i in unplaced if i in members]
        self.outcome.changed.extend(landed)
        self.outcome.reread.extend(landed)
        rest = [i for i in unplaced if i not in members]
        if rest:  # certainly not members now: a POST of them is safe, and its answer is the truth
            await self.isolating(rest)


def _success_count(payload: Any) -> float:
    """A 409 batch answer's `meta.success` (-1 when it does not say)."""
    meta = payload.get("meta") if isinstance(payload, dict) else None
    success = meta.get("success") if isinstance(meta, dict) else None
    return float(success) if isinstance(success, int | float) and not isinstance(success, bool) else -1.0


def _bare_404(answer: Answer, ids: Sequence[UUID]) -> bool:
    """A 404 that does not say which IDs it is about."""
    return answer.status == 404 and not _indexed_errors(answer.lenient_json(), ids)


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


def _ids_in_data(payload: Any, sent: Sequence[UUID] = ()) -> dict[UUID, int]:
    """The profiles listed in a batch answer's `data`, with their customer ID (-1 when not given); entries that are
    not profiles are skipped. An ID written as it was sent (`sent`) is matched without being parsed again."""
    found: dict[UUID, int] = {}
    data = payload.get("data") if isinstance(payload, dict) else None
    if isinstance(data, list):
        as_sent = {str(i): i for i in sent}
        for item in data:
            raw = item.get("id") if isinstance(item, dict) else None
            if isinstance(raw, str):
                try:
                    profile_id = as_sent.get(raw) or UUID(raw)
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
    groups = _error_groups(payload)
    positions = {str(profile_id): n for n, profile_id in enumerate(ids)} if groups else {}
    for code, items in groups:
        for key, message in items.items():
            text = str(message)
            if str(key).isascii() and str(key).isdigit() and int(key) < len(ids):
                found[int(key)] = (code, text)
            elif (position := next((n for uid, n in positions.items() if uid in text), None)) is not None:
                found[position] = (code, text)
    return found


def _error_groups(payload: Any) -> list[tuple[int, dict[Any, Any]]]:
    """The (status, {key: message}) groups of an error answer, in either shape; status 0 when it is not a number."""
    if not isinstance(payload, dict):
        return []
    errors = payload.get("errors")
    groups: list[tuple[Any, Any]] = []
    if isinstance(errors, list):
        # Either batch envelopes ({status, errors: {index: msg}}) or one error object per ID ({id, status, title}).
        groups = [
            (g.get("status"), g.get("errors") if isinstance(g.get("errors"), dict) else {f"error {n}": json.dumps(g)})
            for n, g in enumerate(errors)
            if isinstance(g, dict)
        ]
    elif isinstance(errors, dict):
        groups = [(payload.get("status"), errors)]
    return [
        (int(status) if isinstance(status, int | float) and math.isfinite(status) else 0, items)
        for status, items in groups
        if isinstance(items, dict)
    ]

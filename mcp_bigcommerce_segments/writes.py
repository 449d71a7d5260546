"""`SegmentWrite`: one write call, from start to end, as one object.

Every write tool (add, remove, undo) is a thin adapter over it. A write:
1. pins a removal preview (`pin`), or takes the one the human approved (`take`): an approval carries its
   `preview_id`, so exactly the set the human saw is removed;
2. records its intent in the audit log before the first request (no record, no request);
3. sends its chunks (`bulk.ChunkRun`), passing progress and rate-limit waits down explicitly;
4. records its outcome whatever happens (shielded from cancellation), every ID in exactly one place;
5. hands the tool what it needs for the result: the outcome, the change_id, the people, the member count.
"""

import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal
from uuid import UUID

import anyio

from .audit import new_change_id
from .batch import Outcome, add_chunk, remove_chunk
from .bulk import BulkOutcome, ChunkRun, ProgressFn
from .errors import BigCommerceError, RateLimitWaitTooLong
from .models import Customer
from .people import name_profiles
from .previews import TTL_SECONDS, Preview
from .ratelimit import WaitReporter
from .results import failure_groups
from .state import AppState

if TYPE_CHECKING:
    from .client import BigCommerceClient

# The reads after a write that only complete its result (names, the member count) wait at most this long for the
# quota: past it, the result goes without them (a write that spent a 30 s window answers now, not 30 s later). And
# they leave the last third of a window to writes (another replica's, another app's): a write needs it more.
AFTER_WRITE_WAIT_SECONDS = 1.0
AFTER_WRITE_RESERVE = 1 / 3

logger = logging.getLogger(__name__)

Action = Literal["add", "remove"]

#: The audit outcome's names for the IDs changed and left as they were, by action.
_FIELDS: dict[Action, tuple[str, str]] = {"add": ("added", "already_members"), "remove": ("removed", "not_members")}


class SegmentWrite:
    """One add or removal of shopper profiles in one segment, by one tool call.

    State lives on the instance: `change_id` once the intent is recorded, `outcome` once the chunks are sent (also
    when the call was cancelled or the process asked to stop).
    """

    def __init__(
        self,
        app: AppState,
        *,
        tool: str,
        segment_id: UUID,
        action: Action,
        progress: ProgressFn | None = None,
        undoes: str | None = None,
    ) -> None:
        self.app = app
        self.tool = tool
        self.segment_id = segment_id
        self.action = action
        self.progress = progress
        self.undoes = undoes
        # Of a removal's targets, those never known to be members (a segment too large to check): BigCommerce's 204
        # says nothing of non-members, so an undo must not re-add them as if they had been removed.
        self.unverified: list[UUID] = []
        self.change_id: str | None = None
        self.outcome = BulkOutcome()
        self.customer_of: dict[UUID, int] = {}
        self.known_unchanged: list[UUID] = []  # placed before any request: e.g. no longer members at approval
        # The segment's member count just before the write, when the write read it whole anyway: the count after is
        # then computed, not read again.
        self.members_before: int | None = None
        # Reads after the write that the quota stopped (see `_after`): what each reads -> seconds the quota is spent.
        self.unread: dict[str, float] = {}
        # The write waited for the quota: it is scarce now, and the reads after the write are not made at all (each
        # would take a request the store's next writes need, here, on another replica, or in another app).
        self.paced = False

    # --- previews ---------------------------------------------------------------------------------------------

    async def pin(
        self,
        profile_ids: Sequence[UUID],
        *,
        source: str,
        customer_of: Mapping[UUID, int],
        people: Sequence[str] = (),
        membership_checked: bool = False,
        segment_name: str = "",
        customers_without_profile: Sequence[int] = (),
        customers_not_found: Sequence[int] = (),
        customers_not_members: Sequence[int] = (),
        keep: bool = True,
    ) -> Preview:
        """A new removal preview of exactly `profile_ids`, kept for approval (single use, 15 minutes); with
        `keep=False` only made (a removal plan keeps it only when it answers a preview: a question to the user needs
        none, so the rounds of a question leave no previews behind).

        Raises:
            PreviewError: it could not be kept (hosted mode: the shared store is unavailable).
        """
        app = self.app
        preview = Preview(
            preview_id=app.previews.new_id(),
            store=app.store_key,
            segment_id=self.segment_id,
            profile_ids=tuple(profile_ids),
            customer_of={i: customer_of[i] for i in profile_ids if i in customer_of},
            people=tuple(people),
            membership_checked=membership_checked,
            expires_at=app.client.clock.now() + TTL_SECONDS,
            source=source,
            segment_name=segment_name,
            undoes=self.undoes or "",
            customers_without_profile=tuple(customers_without_profile),
            customers_not_found=tuple(customers_not_found),
            customers_not_members=tuple(customers_not_members),
        )
        if keep:
            await app.previews.put(preview)
        return preview

    async def take(self, preview_id: str) -> Preview:
        """The approved preview, taken so that it cannot be approved twice.

        Raises:
            PreviewError: it is unknown, expired, used, or made for another segment or store.
        """
        preview = await self.app.previews.take(preview_id, store=self.app.store_key, segment_id=self.segment_id)
        self.undoes = self.undoes or preview.undoes or None  # approving an undo's preview records what it undoes
        return preview

    # --- the write --------------------------------------------------------------------------------------------

    async def send(
        self, ids: Sequence[UUID], *, source: str, customer_of: Mapping[UUID, int] | None = None
    ) -> BulkOutcome:
        """Record the intent, send `ids` in chunks, and record the outcome whatever happens.

        Raises:
            AuditLogError: the intent could not be recorded; nothing was sent.
            Cancellation: the call was cancelled; the outcome is recorded first.
        """
        self.customer_of.update(customer_of or {})
        self.change_id = await self._record_intent(ids, source)
        run = ChunkRun(
            ids,
            self._chunk,
            workers=self.app.settings.max_concurrency,
            progress=self.progress,
            shutdown=self.app.shutdown,
        )
        try:
            self.outcome = await run.run()
        finally:
            self.outcome, self.paced = run.outcome, run.waited
            with anyio.CancelScope(shield=True):
                await self._record_outcome()
        self.customer_of.update(self.outcome.customer_of)
        return self.outcome

    async def _chunk(self, ids: list[UUID], on_wait: WaitReporter) -> Outcome:
        send = add_chunk if self.action == "add" else remove_chunk
        return await send(self.app.client, self.segment_id, ids, on_wait)

    async def _record_intent(self, ids: Sequence[UUID], source: str) -> str | None:
        """The intent record, on disk before the first request; its change_id (None: the log is off).

        Raises:
            AuditLogError: the log cannot be written, so nothing may be sent.
        """
        if not self.app.audit.on:
            return None
        change_id = new_change_id()
        await self.app.audit.write("intent", **self._identity(change_id), ids=ids, source=source, **self._undoes())
        return change_id

    async def _record_outcome(self) -> None:
        """The outcome record: every ID in one place. A failure here is logged (the write has happened)."""
        if not self.app.audit.on:
            return
        changed, unchanged = _FIELDS[self.action]
        outcome = self.outcome
        fields: dict[str, Any] = {
            changed: outcome.changed,
            unchanged: self.known_unchanged + outcome.unchanged,
            "failed": failure_groups(outcome.failed, every_id=True),
            "cancelled": outcome.cancelled,
            **self._undoes(),
        }
        if outcome.reread:
            fields["reread"] = outcome.reread
        if self.unverified:
            fields["unverified"] = self.unverified
        if self.action == "add":
            known = {**self.customer_of, **outcome.customer_of}
            fields["customer_of"] = {str(k): v for k, v in known.items() if v > 0}
        try:
            await self.app.audit.write("outcome", **self._identity(self.change_id), **fields)
        except BigCommerceError as exc:
            logger.error("%s", exc)

    def _identity(self, change_id: str | None) -> dict[str, Any]:
        return {
            "change_id": change_id,
            "tool": self.tool,
            "store": self.app.store_key,
            "segment_id": self.segment_id,
        }

    def _undoes(self) -> dict[str, str]:
        return {"undoes": self.undoes} if self.undoes else {}

    # --- after the write: what the result needs ---------------------------------------------------------------

    @property
    def _after(self) -> "BigCommerceClient":
        """The client for the reads that complete a result after the write (names, the member count): they wait at
        most `AFTER_WRITE_WAIT_SECONDS` for the quota, so a write that spent the window answers now, without them,
        instead of a window later."""
        return self.app.client.within(AFTER_WRITE_WAIT_SECONDS, reserve=AFTER_WRITE_RESERVE)

    async def people(self, ids: Sequence[UUID], known: Mapping[int, Customer] | None = None) -> list[str]:
        """The first 20 of `ids` named as people (never fails: names are a courtesy)."""
        spent: list[float] = []
        client = None if self.paced else self._after
        named = await name_profiles(
            client, ids, self.customer_of, hide_emails=self.app.settings.hide_emails, known=known, unread=spent
        )
        if spent:
            self.unread["the people's names"] = spent[0]
        return named

    async def member_count(self) -> int | None:
        """How many members the segment has now: computed when the write read the segment whole and knows every ID's
        fate, else one small read; None if BigCommerce does not say, or the process is stopping (the answer matters
        more than the count)."""
        if self.app.shutdown.requested.is_set():
            return None
        if self.members_before is not None and not self.outcome.failed:  # exact: every ID's fate is known
            return self.members_before + len(self.outcome.changed) * (-1 if self.action == "remove" else 1)
        if self.paced:
            self.unread["the member count"] = 0.0
            return None
        try:
            page = await self._after.list_segment_profiles(self.segment_id, limit=1)
        except RateLimitWaitTooLong as exc:
            self.unread["the member count"] = exc.retry_after or 0.0
            return None
        except BigCommerceError:
            return None
        return page.pagination.total

    def unread_sentence(self) -> str:
        """What the result lacks because its reads were not sent, why, and where to look; else empty."""
        what = [w for w in ("the segment's name", "the people's names", "the member count") if w in self.unread]
        if not what:
            return ""
        listed = what[0] if len(what) == 1 else ", ".join(what[:-1]) + " and " + what[-1]
        one = what == ["the segment's name"] or what == ["the member count"]
        was, it = ("was", "it") if one else ("were", "them")
        if self.paced:
            return (
                f"This write had to wait for BigCommerce, so {listed} {was} not read (each read would take a request "
                f"the store's next writes need); list_segment_profiles shows {it}"
            )
        return (
            f"BigCommerce's rate-limit window for this store has too little left for reads (the rest is kept for "
            f"writes) and turns in {max(self.unread.values()):.0f} s, so {listed} {was} not read; "
            f"list_segment_profiles shows {it} after that"
        )

    async def segment_name(self) -> str | None:
        """The segment's name, or None when it cannot be read now (the write is done: a read must not fail it)."""
        if self.app.shutdown.requested.is_set():
            return None
        if self.paced:
            known = self.app.client.known_names({self.segment_id})
            if self.segment_id not in known:
                self.unread["the segment's name"] = 0.0
            return known.get(self.segment_id)
        try:
            return (await self._after.segment_names({self.segment_id})).get(self.segment_id)
        except RateLimitWaitTooLong as exc:
            self.unread["the segment's name"] = exc.retry_after or 0.0
        except BigCommerceError:
            pass
        return None

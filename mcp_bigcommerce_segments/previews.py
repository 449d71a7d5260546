"""Pinned removal previews: what the human was shown is exactly what an approval removes.

A preview pins the store, the segment and the resolved set of profiles under a short opaque ID. It is single use
and expires after 15 minutes. Approving it (`preview_id=..., confirm=true`) takes it out of the store atomically, so
two approvals of one preview cannot both remove.
"""

import secrets
from dataclasses import dataclass, field
from typing import Any, Protocol
from uuid import UUID

from .clock import Clock
from .errors import PreviewError

TTL_SECONDS = 15 * 60


@dataclass(frozen=True)
class Preview:
    """One pinned removal preview."""

    preview_id: str
    store: str
    segment_id: UUID
    profile_ids: tuple[UUID, ...]
    customer_of: dict[UUID, int] = field(hash=False)
    people: tuple[str, ...]
    membership_checked: bool
    expires_at: float
    source: str
    segment_name: str = ""
    # The change this removal undoes (an undo of an add), recorded with the removal when it is approved.
    undoes: str = ""
    # What became of customer numbers given as the source: no shopper profile yet, or not in the store.
    customers_without_profile: tuple[int, ...] = ()
    customers_not_found: tuple[int, ...] = ()
    customers_not_members: tuple[int, ...] = ()
    # "remove": a removal of `profile_ids`; "delete": a deletion of the segment, `profile_ids` its members then.
    action: str = "remove"
    segment_description: str = ""

    @property
    def segment_label(self) -> str:
        """How a person knows the segment: its name, else its ID."""
        name = " ".join(self.segment_name.split())[:80].replace("'", "\u2019")
        return f"'{name}'" if name else str(self.segment_id)


def unusable(preview_id: str, *, used: bool, expired: bool) -> PreviewError:
    """The error for a preview_id that is not (or no longer) pending."""
    again = (
        "Call the tool that made it (remove_profiles_from_segment with a source, or delete_segment) again without "
        "preview_id for a new preview, show it to the user, then approve that one."
    )
    if used:
        return PreviewError(f"Preview {preview_id} was already approved and used; a preview is used once. {again}")
    why = "expired (previews last 15 minutes)" if expired else "unknown (or expired)"
    return PreviewError(f"Preview {preview_id} is {why}. {again}")


def check_owner(preview: Preview, store: str, segment_id: UUID | None, action: str | None = "remove") -> Preview:
    """The preview, if it was made for this store, segment and action (a removal's cannot approve a deletion).

    Raises:
        PreviewError: it was made for another.
    """
    if action is not None and preview.action != action:
        kinds = {"delete": ("a deletion of the segment", "delete_segment")}
        kind, approve = kinds.get(preview.action, ("a removal of profiles", "remove_profiles_from_segment"))
        raise PreviewError(
            f"Preview {preview.preview_id} is {kind}; nothing was changed. Approve it with {approve}, or make a new "
            "preview with the tool you mean."
        )
    if preview.store != store:
        raise PreviewError(
            f"Preview {preview.preview_id} was made for another store than this server's ({store}); nothing was "
            "removed. Make a new preview here and show it to the user."
        )
    if segment_id is not None and preview.segment_id != segment_id:
        raise PreviewError(
            f"Preview {preview.preview_id} was made for segment {preview.segment_id}, not {segment_id}. Pass the "
            "segment_id the preview was made for, or make a new preview for this segment."
        )
    return preview


class Previews(Protocol):
    """Where pinned previews are kept: this process (`PreviewStore`) or Redis, shared by replicas."""

    def new_id(self) -> str: ...

    async def put(self, preview: Preview) -> None: ...

    async def get(
        self, preview_id: str, *, store: str, segment_id: UUID | None, action: str | None = "remove"
    ) -> Preview: ...

    async def take(
        self, preview_id: str, *, store: str, segment_id: UUID | None, action: str | None = "remove"
    ) -> Preview: ...

    async def discard(self, preview_id: str) -> None: ...

    async def point(self, alias: str, preview_id: str, expires_at: float) -> None:
        """Keep `alias` as another name of the preview (until it expires): the MCP App view approves with it."""
        ...

    async def resolve(self, alias: str) -> str | None:
        """The preview an alias names (None: `alias` is not one). The preview itself is the one record: taking or
        discarding it ends every alias of it too."""
        ...


class PreviewStore:
    """Previews in this process's memory (hosted replicas share theirs through Redis)."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._previews: dict[str, Preview] = {}
        self._used: set[str] = set()
        self._aliases: dict[str, tuple[str, float]] = {}

    def new_id(self) -> str:
        return "p" + secrets.token_hex(5)

    async def put(self, preview: Preview) -> None:
        self._forget_expired()
        self._previews[preview.preview_id] = preview

    async def get(
        self, preview_id: str, *, store: str, segment_id: UUID | None, action: str | None = "remove"
    ) -> Preview:
        """The preview, still pending.

        Raises:
            PreviewError: it cannot be approved (the message says why and what to do).
        """
        preview = self._previews.get(preview_id)
        expired = preview is not None and preview.expires_at <= self._clock.now()
        if preview is None or expired:
            self._previews.pop(preview_id, None)
            raise unusable(preview_id, used=preview_id in self._used, expired=expired)
        return check_owner(preview, store, segment_id, action)

    async def take(
        self, preview_id: str, *, store: str, segment_id: UUID | None, action: str | None = "remove"
    ) -> Preview:
        """The preview, taken out so that it cannot be approved twice.

        Raises:
            PreviewError: it cannot be approved.
        """
        preview = await self.get(preview_id, store=store, segment_id=segment_id, action=action)
        del self._previews[preview_id]
        self._used.add(preview_id)
        return preview

    async def discard(self, preview_id: str) -> None:
        """Forget a preview the user declined."""
        self._previews.pop(preview_id, None)

    async def point(self, alias: str, preview_id: str, expires_at: float) -> None:
        self._aliases[alias] = (preview_id, expires_at)

    async def resolve(self, alias: str) -> str | None:
        named = self._aliases.get(alias)
        if named is None or named[1] <= self._clock.now():
            self._aliases.pop(alias, None)
            return None
        return named[0]

    def _forget_expired(self) -> None:
        now = self._clock.now()
        self._aliases = {a: named for a, named in self._aliases.items() if named[1] > now}
        for key in [k for k, p in self._previews.items() if p.expires_at <= now]:
            del self._previews[key]


class AskedPlans:
    """Plans a question was asked about, kept until the client answers (at most `LIMIT`, each `TTL_SECONDS`).

    With protocol 2026-07-28 the client answers a question by calling the tool again, and the call's resolvers run
    again: without this, the answer's round would read again every selection and name the question's round read.
    The answer's round takes the plan its question showed (the same set, so the same question and digest) and
    re-reads only current membership before removing. Per process: a replica that did not ask plans afresh.
    """

    LIMIT = 64
    TTL_SECONDS = float(TTL_SECONDS)

    def __init__(self) -> None:
        self._plans: dict[str, tuple[Any, float]] = {}

    def keep(self, key: str, plan: Any, now: float) -> None:
        self._plans = {k: v for k, v in self._plans.items() if v[1] > now}
        if len(self._plans) >= self.LIMIT:
            self._plans.pop(next(iter(self._plans)))
        self._plans[key] = (plan, now + self.TTL_SECONDS)

    def take(self, key: str, now: float) -> Any | None:
        plan, until = self._plans.pop(key, (None, 0.0))
        return plan if until > now else None

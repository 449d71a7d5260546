"""Requests per merchant request: what a result needs is read once per call chain (issue 23). The approval of a
removal re-reads membership (no correctness trade) and then sends only its DELETEs: the member count follows from the
segment it read whole, and the people were named by the preview."""

import uuid
from typing import Any, cast

import pytest
from mcp import Client
from mcp.client.context import ClientRequestContext
from mcp.types import ElicitRequestParams, ElicitResult

from bench.tasks import QUOTA, session
from mcp_bigcommerce_segments.clock import VirtualClock
from mcp_bigcommerce_segments.config import Settings
from mcp_bigcommerce_segments.emulator.faults import FaultyStore
from mcp_bigcommerce_segments.emulator.store import Customer
from mcp_bigcommerce_segments.endpoints import NAMES_TTL_SECONDS
from mcp_bigcommerce_segments.previews import AskedPlans
from mcp_bigcommerce_segments.server import build_server
from mcp_bigcommerce_segments.state import compose
from mcp_bigcommerce_segments.tools.approval import call_key

from .conftest import BoundedClient, MakeClient, approve, preview_removal, strs, structured, text_of

pytestmark = pytest.mark.anyio

#: The source arguments of "empty the segment", as the removal tool keys its plans.
SOURCES_ALL = {
    "profile_ids": None,
    "customer_ids": None,
    "from_segment_id": None,
    "customers_where": None,
    "all_members": True,
}


@pytest.fixture
def wholesale(store: FaultyStore) -> uuid.UUID:
    segment = store.add_segment("Wholesale")
    for n in range(1, 31):
        store.customers[n] = Customer(n, f"Ada{n}", "Smith", f"ada{n}@example.com")
        store.add_members(segment, [store.add_profile(customer_id=n)])
    return segment


async def test_approving_a_removal_reads_membership_once_and_nothing_else(
    mcp: Client, store: FaultyStore, wholesale: uuid.UUID
) -> None:
    """ "Empty Wholesale": at approval one membership read and the DELETEs; the count (0) is computed, the names are
    the preview's."""
    preview = await preview_removal(mcp, wholesale, all_members=True)
    before = len(store.stats.requests)

    done = structured(await approve(mcp, wholesale, preview["preview_id"]))

    sent = [(method, path.rsplit("/", 1)[-1]) for method, path, _ in store.stats.requests[before:]]
    assert sent == [("GET", "shopper-profiles"), ("DELETE", "shopper-profiles")]
    assert done["member_count"] == 0
    assert done["people"] == preview["people"]
    assert store.members(wholesale) == []


async def test_a_partial_removal_counts_what_is_left(mcp: Client, store: FaultyStore, wholesale: uuid.UUID) -> None:
    """Removing 2 of 30 answers 28 members without reading the count again."""
    preview = await preview_removal(mcp, wholesale, customer_ids=[1, 2])

    done = structured(await approve(mcp, wholesale, preview["preview_id"]))

    assert done["member_count"] == 28 == len(store.members(wholesale))
    assert not [q for _, _, q in store.stats.requests if q == "page=1&limit=1"]


async def test_a_copy_names_both_segments_in_one_read(mcp: Client, store: FaultyStore, wholesale: uuid.UUID) -> None:
    """Copying a segment reads both segments' names in one request (the store's first page of segments)."""
    target = store.add_segment("Black Friday")

    data = structured(
        await mcp.call_tool("add_profiles_to_segment", {"segment_id": str(target), "from_segment_id": str(wholesale)})
    )

    name_reads = [q for m, p, q in store.stats.requests if p.endswith("/segments")]
    assert len(name_reads) == 1
    assert "to segment 'Black Friday'" in data["summary"]
    assert data["member_count"] == 30


async def test_segment_names_are_read_once_per_minute_and_beyond_the_first_page_by_id(
    mcp: Client, store: FaultyStore, clock: VirtualClock, wholesale: uuid.UUID
) -> None:
    """Names come from one read of the first page of segments, reused by the next calls; a segment past that page is
    read by ID; a rename made here is not hidden by what was remembered."""
    for n in range(300):
        store.add_segment(f"Filler {n}")
    last = store.add_segment("Zeta")  # on page 2 of 250
    for segment in (wholesale, wholesale, last, last):
        await mcp.call_tool("list_segment_profiles", {"segment_id": str(segment), "include_names": False})
    reads = [q for _, p, q in store.stats.requests if p.endswith("/segments")]
    assert len(reads) == 2
    assert "id%3Ain" in reads[1]

    clock.advance(NAMES_TTL_SECONDS + 1)  # a minute on: read again (a rename elsewhere shows)
    await mcp.call_tool("list_segment_profiles", {"segment_id": str(wholesale), "include_names": False})
    assert len([q for _, p, q in store.stats.requests if p.endswith("/segments")]) == 3

    await mcp.call_tool("update_segment", {"segment_id": str(wholesale), "name": "Trade"})
    page = structured(
        await mcp.call_tool("list_segment_profiles", {"segment_id": str(wholesale), "include_names": False})
    )
    assert "'Trade'" in page["summary"]


@pytest.mark.parametrize("asks", [False, True], ids=["confirm", "elicitation"])
async def test_issue_23s_five_requests_cost_the_fewest_store_requests(asks: bool) -> None:
    """The five requests of issue 23 in one session spend exactly the store requests the documented API needs for
    the same answers, whether the approval is a second call or the client's own question."""
    spent = await session(asks_the_user=asks)
    assert [(name, used) for name, used, _ in spent] == [(name, fewest) for name, (_, fewest) in QUOTA.items()]


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_the_answer_to_a_question_re_reads_membership_only(
    make_client: MakeClient, store: FaultyStore, wholesale: uuid.UUID, mode: str
) -> None:
    """With a client that asks, the removal after the answer uses the plan its question showed and reads only the
    segment's membership again (2026-07-28 resumes the call, 2025-11-25 asks inside it): a member who left while the
    human read the question is not sent."""
    asked: list[str] = []
    first = store.members(wholesale)[-1]  # past the 20 the question names

    async def leave_then_yes(context: ClientRequestContext, request: ElicitRequestParams) -> ElicitResult:
        asked.append(request.message)
        store.segments[wholesale].members.pop(first)  # someone else takes one out meanwhile
        return ElicitResult(action="accept", content={"approve": True})

    async with make_client(mode=mode, elicitation_callback=leave_then_yes) as client:
        before = len(store.stats.requests)
        done = structured(
            await client.call_tool("remove_profiles_from_segment", {"segment_id": str(wholesale), "all_members": True})
        )
    sent = [(m, p.rsplit("/", 1)[-1]) for m, p, _ in store.stats.requests[before:]]
    assert len(asked) == 1
    assert sent.count(("GET", "shopper-profiles")) == 2  # the plan's read, and membership again after the answer
    assert sent.count(("GET", "customers")) == 1  # the names, once
    assert sent[-1][0] == "DELETE"
    assert str(first) not in store.stats.requests[-1][2]
    assert done["removed"] == 29
    assert done["not_members"] == 1
    assert done["member_count"] == 0


def test_asked_plans_are_single_use_bounded_and_expire() -> None:
    """A plan kept for the answer's round is taken once, forgotten after 15 minutes, and at most 64 are kept."""
    plans = AskedPlans()
    plans.keep("a", "plan a", now=0.0)
    assert plans.take("a", now=1.0) == "plan a"
    assert plans.take("a", now=1.0) is None
    plans.keep("b", "plan b", now=0.0)
    assert plans.take("b", now=AskedPlans.TTL_SECONDS + 1) is None
    for n in range(AskedPlans.LIMIT + 1):
        plans.keep(str(n), n, now=0.0)
    assert plans.take("0", now=1.0) is None  # the oldest made room
    assert plans.take(str(AskedPlans.LIMIT), now=1.0) == AskedPlans.LIMIT


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_an_add_that_spends_the_window_answers_without_waiting_for_the_next(
    make_client: MakeClient, store: FaultyStore, clock: VirtualClock, segment: uuid.UUID, mode: str
) -> None:
    """The reads that only complete an add's result (names, the member count, the segment's name) wait at most a
    second for the quota: an add whose POSTs spend the store's window answers at once, without them, not 30 s
    later; no 429 is earned."""
    store.quota, store.window_seconds = 4, 30.0
    ids = store.add_profiles(200)  # exactly 4 POSTs: the window is spent
    async with make_client(mode=mode) as client:
        started = clock.now()
        done = structured(
            await client.call_tool("add_profiles_to_segment", {"segment_id": str(segment), "profile_ids": strs(ids)})
        )
    assert done["added"] == 200
    assert clock.now() - started < 2.0
    assert store.stats.rate_limited == 0
    assert store.stats.count("GET") == 0  # no read was sent into a spent window
    assert done["member_count"] is None
    assert f"to segment {segment}" in done["summary"]  # named by ID: its name was not read
    assert (
        "rate-limit window for this store has too little left for reads (the rest is kept for writes) and turns in "
        "30 s, so the segment's name, the people's names and the member count were not read; list_segment_profiles "
        "shows them after that" in done["summary"]
    )


async def test_the_operators_leave_reads_membership_once(
    make_client: MakeClient, settings: Settings, store: FaultyStore, wholesale: uuid.UUID
) -> None:
    """With BIGCOMMERCE_CONFIRM_WITHOUT_PREVIEW, confirm=true with a source removes in one call that reads the
    segment once: nobody was asked, so no time passed to read it again for."""
    leave = settings.model_copy(update={"confirm_without_preview": True})
    async with make_client(settings_=leave) as client:
        done = structured(
            await client.call_tool(
                "remove_profiles_from_segment", {"segment_id": str(wholesale), "all_members": True, "confirm": True}
            )
        )
    assert done["removed"] == 30
    assert [m for m, p, _ in store.stats.requests if p.endswith("shopper-profiles")] == ["GET", "DELETE"]


@pytest.mark.parametrize("mode", ["auto", "legacy"])
@pytest.mark.parametrize("action", ["accept", "decline"])
async def test_no_plan_outlives_its_answer(
    settings: Settings, store: FaultyStore, clock: VirtualClock, wholesale: uuid.UUID, mode: str, action: str
) -> None:
    """A plan kept for the round that brings the answer is gone once the answer came, whether yes or no."""
    state = compose(settings, transport=store.transport(), clock=clock)
    asked: list[str] = []

    async def answer(context: ClientRequestContext, request: ElicitRequestParams) -> ElicitResult:
        asked.append(request.message)
        return ElicitResult(action=action, content={"approve": True} if action == "accept" else None)

    server, callback = build_server(settings, state=state), cast(Any, answer)
    async with state.client, BoundedClient(server, mode=mode, elicitation_callback=callback) as client:
        done = structured(
            await client.call_tool("remove_profiles_from_segment", {"segment_id": str(wholesale), "all_members": True})
        )
    assert len(asked) == 1
    assert done["status"] == ("removed" if action == "accept" else "declined")
    assert state.asked.take(call_key(state.store_key, wholesale, SOURCES_ALL), clock.now()) is None
    assert not state.asked._plans


async def test_a_write_the_quota_paced_is_not_followed_by_reads(
    make_client: MakeClient, store: FaultyStore, clock: VirtualClock, segment: uuid.UUID
) -> None:
    """A write that had to wait for the store's quota sends no read after it (the quota is scarce: the next writes,
    here or on another replica, need it), and says what it did not read."""
    store.quota, store.window_seconds = 3, 30.0
    ids = store.add_profiles(200)  # 4 POSTs: the fourth waits for the second window, which then has 2 left
    async with make_client() as client:
        done = structured(
            await client.call_tool("add_profiles_to_segment", {"segment_id": str(segment), "profile_ids": strs(ids)})
        )
    assert done["added"] == 200
    assert store.stats.count("GET") == 0
    assert store.stats.rate_limited == 0
    assert done["member_count"] is None
    assert done["added_people"][0].startswith("shopper profile ")
    assert (
        "This write had to wait for BigCommerce, so the segment's name, the people's names and the member count "
        "were not read (each read would take a request the store's next writes need); list_segment_profiles shows "
        "them" in done["summary"]
    )


async def test_reads_after_a_write_leave_the_end_of_the_window_to_writes(
    make_client: MakeClient, store: FaultyStore, clock: VirtualClock, segment: uuid.UUID
) -> None:
    """With a third of the window or less left, the reads after an add are not sent (the rest is kept for writes),
    and the result says so without claiming the quota is used up."""
    store.quota, store.window_seconds = 9, 30.0
    ids = store.add_profiles(300)  # 6 POSTs: 3 left, a third of 9
    async with make_client() as client:
        done = structured(
            await client.call_tool("add_profiles_to_segment", {"segment_id": str(segment), "profile_ids": strs(ids)})
        )
    assert store.stats.count("GET") == 0
    assert done["member_count"] is None
    assert "has too little left for reads (the rest is kept for writes) and turns in 30 s" in done["summary"]


async def test_a_paced_add_by_customer_says_only_what_it_did_not_read(
    make_client: MakeClient, store: FaultyStore, segment: uuid.UUID
) -> None:
    """A paced add of customers named by number already knows their names: only the member count (and the segment's
    name, never read in this process) go unread, and the sentence says exactly those."""
    store.quota, store.window_seconds = 3, 30.0
    for n in range(1, 201):
        store.customers[n] = Customer(n, f"Ada{n}", "Smith", f"ada{n}@example.com")
        store.add_profile(customer_id=n)
    async with make_client() as client:
        done = structured(
            await client.call_tool(
                "add_profiles_to_segment", {"segment_id": str(segment), "customer_ids": list(range(1, 201))}
            )
        )
    assert done["added"] == 200
    assert done["added_people"][0].startswith("Ada1 Smith")
    assert "so the segment's name and the member count were not read" in done["summary"]
    assert "people's names" not in done["summary"]


async def test_names_read_after_a_write_serve_the_next_call(
    mcp: Client, store: FaultyStore, segment: uuid.UUID
) -> None:
    """The segment's name read for an add's result (the process's first call) is remembered for the next call."""
    ids = store.add_profiles(3)
    await mcp.call_tool("add_profiles_to_segment", {"segment_id": str(segment), "profile_ids": strs(ids)})
    await mcp.call_tool("list_segment_profiles", {"segment_id": str(segment), "include_names": False})
    assert len([q for _, p, q in store.stats.requests if p.endswith("/segments")]) == 1


@pytest.mark.parametrize("mode", ["auto", "legacy"])
@pytest.mark.parametrize("change", [False, True], ids=["unchanged", "joined-while-asked"])
async def test_a_deletion_asked_about_reads_the_segment_once_more_and_refuses_a_change(
    make_client: MakeClient, store: FaultyStore, wholesale: uuid.UUID, mode: str, change: bool
) -> None:
    """With a client that asks, a deletion plans once (2026-07-28's answer round takes the plan its question showed),
    reads the segment once more before the DELETE, and refuses a segment someone joined while the human was asked."""

    async def answer(context: ClientRequestContext, request: ElicitRequestParams) -> ElicitResult:
        if change:
            store.add_members(wholesale, [store.add_profile(customer_id=99)])
        return ElicitResult(action="accept", content={"approve": True})

    async with make_client(mode=mode, elicitation_callback=answer) as client:
        result = await client.call_tool("delete_segment", {"segment_id": str(wholesale)})
    reads = [(m, p.rsplit("/", 1)[-1]) for m, p, _ in store.stats.requests if m == "GET"]
    assert reads.count(("GET", "shopper-profiles")) == 2  # the plan's read, and the one before the DELETE
    assert reads.count(("GET", "customers")) == 1
    if change:
        assert result.is_error
        assert "changed since the preview (1 joined and 0 left); nothing was deleted" in text_of(result)
        assert wholesale in store.segments
    else:
        assert structured(result)["status"] == "deleted"
        assert wholesale not in store.segments

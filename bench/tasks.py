"""Merchant requests, replayed as an agent makes them: calls, result characters and argument characters per request.

Each request runs against the built-in sandbox store (the emulator) through the real server in process, with only
what the server's instructions and `tools/list` say: the sandbox's instructions name its segments' IDs, so no call
is spent finding them. "Before" is the table issue 12 measured on the previous interface (same sandbox, same
requests); "after" is measured here, now. A request that removes counts the preview and the approval; with a
client that can ask the user (elicitation), the approval happens inside the removing call.
"""

import json
import re
from collections.abc import Awaitable, Callable
from typing import Any

from mcp import Client
from mcp.client.context import ClientRequestContext
from mcp.types import ElicitRequestParams, ElicitResult
from pydantic import SecretStr

from mcp_bigcommerce_segments import sandbox
from mcp_bigcommerce_segments.config import Settings
from mcp_bigcommerce_segments.server import build_server

VIP, NEWSLETTER, FRIDAY, WHOLESALE = (str(segment[0]) for segment in sandbox.SEGMENTS)
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")

#: Issue 12's measurements of the previous interface: (calls, largest result's characters, argument characters).
BEFORE: dict[str, tuple[str, int, int]] = {
    "Who is in our VIP segment? (names)": ("2", 4_942, 111),
    "Take everyone in Wholesale out of Newsletter": ("3", 7_424, 2_627),
    "Copy Newsletter (120) into Black Friday": ("2-4", 20_700, 4_800),
    "Empty the Wholesale segment": ("3", 7_424, 2_627),
    "Remove the Smith account from VIP": ("3", 5_317, 265),
}


class Agent:
    """Counts what an agent spends: calls, the characters it reads, and the characters it writes."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.calls = 0
        self.largest = 0
        self.written = 0
        self.uuid_lists = 0
        self.store = 0  # requests the store received

    async def __call__(self, tool: str, **arguments: Any) -> dict[str, Any]:
        self.calls += 1
        self.written += len(json.dumps(arguments))
        self.uuid_lists += sum(
            1 for v in arguments.values() if isinstance(v, list) and any(UUID.fullmatch(str(i)) for i in v)
        )
        result = await self.client.call_tool(tool, arguments)
        text = "".join(block.text for block in result.content if block.type == "text")
        self.largest = max(self.largest, len(text))
        assert not result.is_error, text
        return dict(result.structured_content or {})


async def approve(agent: Agent, segment: str, preview: dict[str, Any]) -> None:
    """The user approved the names in the preview: step 2."""
    await agent("remove_profiles_from_segment", segment_id=segment, preview_id=preview["preview_id"], confirm=True)


async def who_is_in_vip(agent: Agent) -> None:
    page = await agent("list_segment_profiles", segment_id=VIP)
    assert all(p["name"] for p in page["profiles"])


async def wholesale_out_of_newsletter(agent: Agent) -> None:
    preview = await agent("remove_profiles_from_segment", segment_id=NEWSLETTER, from_segment_id=WHOLESALE)
    if preview["status"] == "preview":
        await approve(agent, NEWSLETTER, preview)


async def copy_newsletter(agent: Agent) -> None:
    added = await agent("add_profiles_to_segment", segment_id=FRIDAY, from_segment_id=NEWSLETTER)
    assert added["added"] == 120


async def empty_wholesale(agent: Agent) -> None:
    preview = await agent("remove_profiles_from_segment", segment_id=WHOLESALE, all_members=True)
    if preview["status"] == "preview":
        await approve(agent, WHOLESALE, preview)


async def smith_out_of_vip(agent: Agent) -> None:
    found = await agent("find_shopper_profiles", name_contains="smith", in_segment_id=VIP)
    assert len(found["found"]) == 1  # five Kemi Smiths in the store; one in VIP
    customer = found["found"][0]["customer_id"]
    preview = await agent("remove_profiles_from_segment", segment_id=VIP, customer_ids=[customer])
    if preview["status"] == "preview":
        await approve(agent, VIP, preview)


REQUESTS: dict[str, Callable[[Agent], Awaitable[None]]] = {
    "Who is in our VIP segment? (names)": who_is_in_vip,
    "Take everyone in Wholesale out of Newsletter": wholesale_out_of_newsletter,
    "Copy Newsletter (120) into Black Friday": copy_newsletter,
    "Empty the Wholesale segment": empty_wholesale,
    "Remove the Smith account from VIP": smith_out_of_vip,
}


async def wholesale_group_into_friday(agent: Agent) -> None:
    added = await agent("add_profiles_to_segment", segment_id=FRIDAY, customers_where={"customer_group": "Wholesale"})
    assert added["added"] == 41


async def big_spenders_into_vip(agent: Agent) -> None:
    where = {"min_spent": 500, "ordered_after": "2026-09-01"}
    added = await agent("add_profiles_to_segment", segment_id=VIP, customers_where=where)
    assert added["added"] + added["already_members"] == added["requested"] > 0


async def newsletter_not_vip_out(agent: Agent) -> None:
    where = {"not_in_segments": [VIP]}
    preview = await agent("remove_profiles_from_segment", segment_id=NEWSLETTER, customers_where=where)
    if preview["status"] == "preview":
        assert preview["would_remove"] == 108
        await approve(agent, NEWSLETTER, preview)


async def in_vip_and_wholesale(agent: Agent) -> None:
    found = await agent("find_shopper_profiles", customers_where={"in_segments": [VIP, WHOLESALE]})
    assert found["matched"] == 12


async def lapsed_out_of_vip(agent: Agent) -> None:
    preview = await agent(
        "remove_profiles_from_segment", segment_id=VIP, customers_where={"no_order_since": "2026-06-01"}
    )
    if preview["status"] == "preview":
        await approve(agent, VIP, preview)


#: "Selecting shoppers": the five merchant sentences of the README, and the fewest store requests the documented API
#: needs for each (the selection's reads, the names shown, the writes; a removal re-reads membership at approval).
SELECTING: dict[str, tuple[Callable[[Agent], Awaitable[None]], int]] = {
    # groups, customers of the group (one page), one POST of 41
    "Add the Wholesale customer group to Black Friday": (wholesale_group_into_friday, 3),
    # the orders since September (one page), their customers' profiles (one look-up), one POST
    "Add who spent over $500 since September to VIP": (big_spenders_into_vip, 3),
    # Newsletter's and VIP's members, the first 20 names; at approval: membership again, three DELETEs of <= 50
    "Remove from Newsletter everyone not in VIP": (newsletter_not_vip_out, 7),
    # both segments' members, the names of the 12
    "Who is in both VIP and Wholesale?": (in_vip_and_wholesale, 3),
    # VIP's members, the orders since June (two pages), the names; at approval: membership again, one DELETE
    "Take VIP members with no order since June out of VIP": (lapsed_out_of_vip, 6),
}


async def fifteen_into_vip(agent: Agent) -> None:
    added = await agent("add_profiles_to_segment", segment_id=VIP, customer_ids=list(range(101, 116)))
    assert added["added"] == 15


#: Issue 23's five merchant requests, made one after another in one session (one server process), and the fewest
#: store requests the documented API needs for the same answers. The answers name the segment (its name is read once
#: per session: one page of the store's segments names them all), the people (one customer read per 250), the member
#: count after the change (computed where it follows from a read, else read), and for a removal the promotions that
#: name the segment (read once per session); a removal's approval re-reads the segment's membership.
QUOTA: dict[str, tuple[Callable[[Agent], Awaitable[None]], int]] = {
    # VIP's members, the segment's name, the 12 customers' names
    "Who is in our VIP segment? (names)": (who_is_in_vip, 3),
    # Newsletter's 120 members (one page), 3 POSTs of <= 50, the names of those added, Black Friday's count after
    "Copy Newsletter (120) into Black Friday": (copy_newsletter, 6),
    # Wholesale's and Newsletter's members, the names, the promotions; at approval: Newsletter again, one DELETE
    "Take everyone in Wholesale (30) out of Newsletter": (wholesale_out_of_newsletter, 6),
    # Wholesale's members, the names; at approval: the members again, one DELETE (the count, 0, follows)
    "Empty the Wholesale segment": (empty_wholesale, 4),
    # the 15 customers' profiles (and names), one POST, VIP's count after
    "Add 15 customers to VIP": (fifteen_into_vip, 3),
}


async def session(*, asks_the_user: bool) -> list[tuple[str, int, int]]:
    """Issue 23's five requests in one session: (request, store requests, fewest) for each."""
    settings = Settings(store_hash="sandbox", access_token=SecretStr("sandbox-token"), sandbox=True, audit_log=None)
    store = sandbox.build_store()
    server = build_server(settings, transport=store.transport())
    spent: list[tuple[str, int, int]] = []
    callback: Any = yes if asks_the_user else None
    async with Client(server, elicitation_callback=callback) as client:
        agent = Agent(client)
        for name, (request, fewest) in QUOTA.items():
            before = len(store.stats.requests)
            await request(agent)
            spent.append((name, len(store.stats.requests) - before, fewest))
    return spent


async def quota(report: dict[str, Any]) -> str:
    """Issue 23's figure: store requests for its five requests in one session against the fewest."""
    lines = [f"{'request (one session)':<54} {'store requests / fewest':>24} {'when the client asks':>21}"]
    plain, asking = await session(asks_the_user=False), await session(asks_the_user=True)
    for (name, spent, fewest), (_, asked, _) in zip(plain, asking, strict=True):
        lines.append(f"{name:<54} {f'{spent} / {fewest}':>24} {f'{asked} / {fewest}':>21}")
    spent_total, fewest_total = sum(row[1] for row in plain), sum(row[2] for row in plain)
    asked_total = sum(row[1] for row in asking)
    lines.append(
        f"{'all five':<54} {f'{spent_total} / {fewest_total} ({spent_total / fewest_total:.2f}x)':>24} "
        f"{f'{asked_total} / {fewest_total} ({asked_total / fewest_total:.2f}x)':>21}"
    )
    report["quota"] = {
        "requests": {name: {"store_requests": spent, "fewest": fewest} for name, spent, fewest in plain},
        "store_requests": spent_total,
        "store_requests_when_the_client_asks": asked_total,
        "fewest": fewest_total,
        "ratio": spent_total / fewest_total,
    }
    return "\n".join(lines)


async def yes(context: ClientRequestContext, request: ElicitRequestParams) -> ElicitResult:
    return ElicitResult(action="accept", content={"approve": True})


async def measure(request: Callable[[Agent], Awaitable[None]], *, asks_the_user: bool) -> Agent:
    """One merchant request on a fresh sandbox; the agent's counts, and the store requests it cost (`agent.store`)."""
    settings = Settings(store_hash="sandbox", access_token=SecretStr("sandbox-token"), sandbox=True, audit_log=None)
    store = sandbox.build_store()
    server = build_server(settings, transport=store.transport())
    callback: Any = yes if asks_the_user else None
    async with Client(server, elicitation_callback=callback) as client:
        agent = Agent(client)
        await request(agent)
    agent.store = len(store.stats.requests)
    return agent


async def suite() -> tuple[list[str], dict[str, Any]]:
    lines = [
        f"{'request':<46} {'calls':>11} {'largest result':>15} {'arguments':>11} {'UUID lists':>10}",
        f"{'':<46} {'before/now':>11} {'before/now':>15} {'before/now':>11} {'now':>10}",
    ]
    report: dict[str, Any] = {}
    for name, request in REQUESTS.items():
        plain = await measure(request, asks_the_user=False)
        asking = await measure(request, asks_the_user=True)
        calls, largest, written = BEFORE[name]
        now_calls = f"{plain.calls}" + (f" ({asking.calls})" if asking.calls != plain.calls else "")
        lines.append(
            f"{name:<46} {calls + '/' + now_calls:>11} {f'{largest:,}/{plain.largest:,}':>15} "
            f"{f'{written:,}/{plain.written:,}':>11} {plain.uuid_lists:>10}"
        )
        report[name] = {
            "calls": plain.calls,
            "calls_when_the_client_asks_the_user": asking.calls,
            "largest_result_chars": plain.largest,
            "argument_chars": plain.written,
            "uuid_lists_written": plain.uuid_lists,
            "before": {"calls": calls, "largest_result_chars": largest, "argument_chars": written},
        }
    lines.append("(n): calls with a client that asks the user itself (elicitation); the approval is inside the call.")
    lines += ["", "Selecting shoppers (customers_where):", await selecting(report)]
    lines += ["", "Store requests, issue 23's five requests in one session:", await quota(report)]
    return lines, report


async def selecting(report: dict[str, Any]) -> str:
    """The five sentences of "Selecting shoppers": calls, largest result, arguments, and store requests against the
    fewest the documented API needs."""
    lines = [
        f"{'request':<54} {'calls':>5} {'largest':>8} {'args':>5} {'store requests / fewest':>24}",
    ]
    spent = fewest_total = 0
    for name, (request, fewest) in SELECTING.items():
        agent = await measure(request, asks_the_user=False)
        spent, fewest_total = spent + agent.store, fewest_total + fewest
        lines.append(
            f"{name:<54} {agent.calls:>5} {agent.largest:>8,} {agent.written:>5} "
            f"{f'{agent.store} / {fewest} ({agent.store / fewest:.2f}x)':>24}"
        )
        report[name] = {
            "calls": agent.calls,
            "largest_result_chars": agent.largest,
            "argument_chars": agent.written,
            "uuid_lists_written": agent.uuid_lists,
            "store_requests": agent.store,
            "fewest_store_requests": fewest,
        }
    lines.append(
        f"{'all five':<54} {'':>5} {'':>8} {'':>5} {f'{spent} / {fewest_total} ({spent / fewest_total:.2f}x)':>24}"
    )
    return "\n".join(lines)

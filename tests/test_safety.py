"""Safety: confirmation and elicitation, read-only mode, the audit log, input hardening, and the token kept secret."""

import logging
import os
import re
import uuid
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from mcp import Client
from mcp.client.context import ClientRequestContext
from mcp.types import ElicitRequestParams, ElicitResult
from pydantic import SecretStr, TypeAdapter, ValidationError

from mcp_bigcommerce_segments.client import BigCommerceClient
from mcp_bigcommerce_segments.clock import VirtualClock
from mcp_bigcommerce_segments.config import Settings
from mcp_bigcommerce_segments.emulator.faults import Fault, FaultyStore
from mcp_bigcommerce_segments.errors import APIStatusError
from mcp_bigcommerce_segments.retry import RetryPolicy
from mcp_bigcommerce_segments.server import build_server

from .conftest import (
    READ_TOOLS,
    BoundedClient,
    MakeClient,
    approve,
    audit_lines,
    preview_removal,
    remove,
    strs,
    structured,
    text_of,
)
from .support.stdio import STORE, TOKEN

pytestmark = pytest.mark.anyio


def answering(action: str, content: dict[str, Any] | None = None, seen: list[str] | None = None) -> Any:
    async def callback(context: ClientRequestContext, params: ElicitRequestParams) -> ElicitResult:
        if seen is not None:
            seen.append(params.message)
        return ElicitResult(action=action, content=content)

    return callback


# --- confirmation and elicitation -------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_elicitation_accept_removes(
    make_client: MakeClient, store: FaultyStore, segment: uuid.UUID, mode: str
) -> None:
    """When the user accepts the confirmation prompt, the removal goes ahead after one clear question."""
    ids = store.add_profiles(12)
    store.add_members(segment, ids)
    asked: list[str] = []

    async with make_client(mode=mode, elicitation_callback=answering("accept", {"approve": True}, asked)) as mcp:
        data = structured(
            await mcp.call_tool(
                "remove_profiles_from_segment", {"segment_id": str(segment), "profile_ids": [str(i) for i in ids]}
            )
        )

    assert data["status"] == "removed"
    assert store.members(segment) == []
    assert len(asked) == 1
    assert asked[0].startswith("Remove 12 shopper profiles from segment 'VIP' (the profile IDs given)? ")
    assert re.search(
        r"The profiles themselves are kept; only their membership ends. \(Set [0-9a-f]{8}: a yes approves exactly "
        r"this set\.\)$",
        asked[0],
    )


@pytest.mark.parametrize("mode", ["auto", "legacy"])
@pytest.mark.parametrize(("action", "content"), [("decline", None), ("cancel", None), ("accept", {"approve": False})])
async def test_elicitation_decline_cancel_or_unchecked_removes_nothing(
    make_client: MakeClient,
    store: FaultyStore,
    segment: uuid.UUID,
    mode: str,
    action: str,
    content: dict[str, Any] | None,
) -> None:
    """Declining, cancelling or not ticking approve in the prompt removes nothing and says so."""
    ids = store.add_profiles(2)
    store.add_members(segment, ids)

    async with make_client(mode=mode, elicitation_callback=answering(action, content)) as mcp:
        data = structured(
            await mcp.call_tool(
                "remove_profiles_from_segment", {"segment_id": str(segment), "profile_ids": [str(i) for i in ids]}
            )
        )

    assert data["status"] == "declined"
    assert "nothing was removed" in data["summary"]
    assert store.stats.count("DELETE") == 0
    assert store.members(segment) == ids


async def test_without_elicitation_capability_it_never_elicits_and_previews(
    mcp: Client, store: FaultyStore, segment: uuid.UUID
) -> None:
    """A client that cannot answer prompts gets a removal preview and nothing is deleted."""
    ids = store.add_profiles(2)
    store.add_members(segment, ids)

    result = await mcp.call_tool(
        "remove_profiles_from_segment", {"segment_id": str(segment), "profile_ids": [str(i) for i in ids]}
    )

    assert structured(result)["status"] == "preview"
    assert store.stats.count("DELETE") == 0


async def test_confirm_true_without_a_preview_id_asks_and_removes_nothing_on_no(
    make_client: MakeClient, store: FaultyStore, segment: uuid.UUID
) -> None:
    """confirm=true without a preview ID still asks the user once, and removes nothing when they decline."""
    ids = store.add_profiles(1)
    store.add_members(segment, ids)
    asked: list[str] = []

    async with make_client(elicitation_callback=answering("decline", seen=asked)) as mcp:
        data = structured(
            await mcp.call_tool(
                "remove_profiles_from_segment",
                {"segment_id": str(segment), "profile_ids": [str(ids[0])], "confirm": True},
            )
        )

    assert data["status"] == "declined"
    assert len(asked) == 1
    assert store.members(segment) == ids


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_undoing_an_add_asks_the_user_like_any_removal(
    make_client: MakeClient, store: FaultyStore, segment: uuid.UUID, mode: str
) -> None:
    """In a client that can ask, approving an undo's removal preview asks the user; a no removes nothing."""
    ids = store.add_profiles(2)
    asked: list[str] = []

    async with make_client(mode=mode, elicitation_callback=answering("decline", seen=asked)) as mcp:
        added = structured(
            await mcp.call_tool("add_profiles_to_segment", {"segment_id": str(segment), "profile_ids": strs(ids)})
        )
        undo = structured(await mcp.call_tool("undo_change", {"change_id": added["change_id"]}))
        data = structured(await approve(mcp, segment, undo["preview_id"]))

    assert undo["status"] == "preview"
    assert undo["undone"] is None
    assert undo["undoes"] == added["change_id"]
    assert data["status"] == "declined"
    assert len(asked) == 1
    assert asked[0].startswith("Remove 2 shopper profiles from segment 'VIP'")
    assert store.members(segment) == ids
    assert store.stats.count("DELETE") == 0


async def test_preview_in_a_large_segment_checks_few_ids_one_by_one(
    mcp: Client, store: FaultyStore, segment: uuid.UUID
) -> None:
    """A preview of a few IDs in a large segment checks each one's membership individually."""
    members = store.add_profiles(1_100)  # 5 pages of 250: too many to read whole
    store.add_members(segment, members)
    stranger = store.add_profile()

    data = structured(
        await mcp.call_tool(
            "remove_profiles_from_segment",
            {"segment_id": str(segment), "profile_ids": [str(members[-1]), str(stranger)]},
        )
    )

    assert (data["would_remove"], data["not_members"]) == (1, 1)
    assert data["membership_checked"] is True
    looked_up = [path for method, path, _ in store.stats.requests if method == "GET" and "/shopper-profiles/" in path]
    assert len(looked_up) == 2  # one by one, through each profile's segments


async def test_preview_of_many_ids_in_a_large_segment_lists_them_all_unchecked(
    mcp: Client, store: FaultyStore, segment: uuid.UUID
) -> None:
    """A preview of many IDs in a large segment counts them all as to be removed, saying membership was not checked."""
    members = store.add_profiles(1_100)
    store.add_members(segment, members)

    data = structured(
        await mcp.call_tool(
            "remove_profiles_from_segment", {"segment_id": str(segment), "profile_ids": [str(i) for i in members[:20]]}
        )
    )

    assert data["would_remove"] == 20
    assert data["membership_checked"] is False
    assert "not checked" in data["summary"]
    assert [q for m, p, q in store.stats.requests if m == "GET" and p.endswith("/shopper-profiles")] == [
        "page=1&limit=250"
    ]


# --- read-only --------------------------------------------------------------------------------------------------


async def test_read_only_registers_only_the_read_tool(
    make_client: MakeClient, settings: Settings, store: FaultyStore, segment: uuid.UUID
) -> None:
    """Read-only mode offers only the read tools and refuses a write without any request."""
    async with make_client(settings_=settings.model_copy(update=dict(read_only=True))) as mcp:
        names = [t.name for t in (await mcp.list_tools()).tools]
        refused = await mcp.call_tool(
            "add_profiles_to_segment", {"segment_id": str(segment), "profile_ids": [str(uuid.uuid4())]}
        )

    assert sorted(names) == sorted(READ_TOOLS)
    assert refused.is_error
    assert store.stats.requests == []


# --- audit log --------------------------------------------------------------------------------------------------


async def test_unwritable_audit_log_refuses_writes_before_sending(
    make_client: MakeClient, settings: Settings, store: FaultyStore, segment: uuid.UUID, tmp_path: Path
) -> None:
    """With an unwritable audit log, adds and removals are refused before anything is sent to BigCommerce."""
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    ids = store.add_profiles(2)
    store.add_members(segment, ids[:1])

    async with make_client(settings_=settings.model_copy(update=dict(audit_log=blocker / "audit.jsonl"))) as mcp:
        add = await mcp.call_tool("add_profiles_to_segment", {"segment_id": str(segment), "profile_ids": [str(ids[1])]})
        preview = await preview_removal(mcp, segment, profile_ids=[str(ids[0])])
        remove = await approve(mcp, segment, preview["preview_id"])

    for result in (add, remove):
        assert result.is_error
        assert "audit log" in text_of(result)
        assert "nothing was sent" in text_of(result)
    assert store.stats.count("POST") == 0
    assert store.stats.count("DELETE") == 0


async def test_audit_log_records_intent_and_per_id_outcome(
    mcp: Client, store: FaultyStore, segment: uuid.UUID, audit_path: Path
) -> None:
    """The audit log records the intent with every ID and store, then each ID's outcome."""
    old, new = store.add_profile(), store.add_profile()
    store.add_members(segment, [old])

    await mcp.call_tool("add_profiles_to_segment", {"segment_id": str(segment), "profile_ids": [str(old), str(new)]})

    intent, outcome = audit_lines(audit_path)
    assert intent["event"] == "intent"
    assert intent["ids"] == [str(old), str(new)]
    assert intent["segment_id"] == str(segment)
    assert intent["store"] == STORE
    assert outcome["added"] == [str(new)]
    assert outcome["already_members"] == [str(old)]
    assert "time" in outcome


class CrashOnDelete(httpx2.AsyncBaseTransport):
    """The store's transport, except that a DELETE brings the process down mid-call."""

    def __init__(self, inner: httpx2.AsyncBaseTransport) -> None:
        self.inner = inner

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        if request.method == "DELETE":
            raise RuntimeError("power cut")
        return await self.inner.handle_async_request(request)


async def test_unexpected_error_mid_removal_still_records_the_ids_as_unknown(
    settings: Settings, store: FaultyStore, segment: uuid.UUID, audit_path: Path, clock: VirtualClock
) -> None:
    """An unexpected crash mid-removal answers a vague error and audits every ID with an unknown outcome."""
    ids = store.add_profiles(3)
    store.add_members(segment, ids)
    server = build_server(settings, transport=CrashOnDelete(store.transport()), clock=clock)

    async with BoundedClient(server) as mcp:
        preview = await preview_removal(mcp, segment, profile_ids=strs(ids))
        result = await approve(mcp, segment, preview["preview_id"])

    assert result.is_error
    assert "power cut" not in text_of(result)  # an unexpected crash's details stay in the server's log
    assert "may or may not" in text_of(result)
    intent, outcome = audit_lines(audit_path)
    assert intent["ids"] == [str(i) for i in ids]
    assert outcome["event"] == "outcome"
    assert outcome["removed"] == []
    assert [group["ids"] for group in outcome["failed"]] == [[str(i) for i in ids]]
    assert outcome["failed"][0]["reason"].startswith("Unknown")


# --- input hardening --------------------------------------------------------------------------------------------

_UUID = TypeAdapter(uuid.UUID)


def _is_uuid(text: str) -> bool:
    try:
        _UUID.validate_python(text)
    except ValidationError:
        return False
    return True


id_strings = st.one_of(
    st.uuids().map(str),
    st.text(max_size=60),
    st.sampled_from(["", " ", "a,b", "../..", "?id:in=", "%2C", "/", "\x00", "x" * 300]),
    st.uuids().map(lambda u: f"{u},{u}"),
)


@hsettings(
    max_examples=int(os.environ.get("SIM_EXAMPLES", "20")) * 3 // 2,  # 30 in the edit-test loop, 60 in scripts/check
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(ids=st.lists(id_strings, min_size=0, max_size=8), confirm=st.booleans(), tool=st.sampled_from(["add", "remove"]))
async def test_only_valid_uuids_ever_reach_http_and_no_delete_lacks_its_filter(
    ids: list[str], confirm: bool, tool: str, settings: Settings
) -> None:
    """Only canonical UUIDs are ever sent to BigCommerce and every DELETE carries a non-empty id filter."""
    clock = VirtualClock()
    store = FaultyStore(store_hash=STORE, token=TOKEN, clock=clock, quota=None)
    segment = store.add_segment("S")
    for raw in ids:
        if _is_uuid(raw):
            store.add_profile(profile_id=_UUID.validate_python(raw))
    store.add_members(segment, list(store.profiles)[::2])
    server = build_server(settings.model_copy(update=dict(audit_log=None)), transport=store.transport(), clock=clock)
    name = "add_profiles_to_segment" if tool == "add" else "remove_profiles_from_segment"
    args: dict[str, Any] = {"segment_id": str(segment), "profile_ids": ids}
    if tool == "remove":
        args["confirm"] = confirm

    async with BoundedClient(server) as mcp:
        result = await mcp.call_tool(name, args)

    if not ids or not all(_is_uuid(i) for i in ids):
        assert result.is_error
        assert store.stats.requests == []
    for method, _, query in store.stats.requests:
        if method == "DELETE":
            assert query.startswith("id%3Ain=")
            assert len(query) > len("id%3Ain=")
    assert store.stats.unfiltered_deletes == 0
    for body in store.stats.bodies:
        if body:
            assert all(
                _is_uuid(item) and str(uuid.UUID(item)) == item for item in httpx2.Response(200, content=body).json()
            )


async def test_redirects_are_not_followed_so_the_token_stays_home(clock: VirtualClock) -> None:
    """A redirect is never followed, so the token is not sent elsewhere, and the error names BIGCOMMERCE_API_URL."""
    seen: list[str] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(str(request.url))
        return httpx2.Response(302, headers={"Location": "https://evil.example/steal"})

    client = BigCommerceClient(
        base_url="https://api.bigcommerce.com/stores/abc/v3",
        access_token=SecretStr(TOKEN),
        user_agent="t",
        transport=httpx2.MockTransport(handler),
        clock=clock,
    )
    async with client:
        with pytest.raises(APIStatusError, match=r"redirect \(302\).*BIGCOMMERCE_API_URL"):
            await client.list_segment_profiles(uuid.uuid4())

    assert len(seen) == 1
    assert seen[0].startswith("https://api.bigcommerce.com/")


# --- the token never leaks --------------------------------------------------------------------------------------

CANARY = "canary-tok-3b9f1e7a"


async def test_canary_token_appears_in_no_result_log_or_audit_line(
    settings: Settings, clock: VirtualClock, caplog: pytest.LogCaptureFixture, audit_path: Path
) -> None:
    """Across every error and write path, the access token never appears in results, logs or the audit log."""
    caplog.set_level(logging.DEBUG)
    store = FaultyStore(store_hash=STORE, token=CANARY, clock=clock, quota=2, window_seconds=30.0)
    segment = store.add_segment("S")
    ids = store.add_profiles(3)
    canary_settings = settings.model_copy(update=dict(access_token=SecretStr(CANARY)))
    texts: list[str] = []

    async def run(args: dict[str, Any], name: str = "list_segment_profiles") -> None:
        async with Client(
            build_server(
                canary_settings, transport=store.transport(), clock=clock, retry=RetryPolicy(max_attempts=2, jitter=0.0)
            )
        ) as mcp:
            result = await mcp.call_tool(name, args)
            texts.append(text_of(result))
            texts.append(str(result.structured_content))

    seg = {"segment_id": str(segment)}
    add = {"segment_id": str(segment), "profile_ids": [str(i) for i in ids]}
    store.token = "different"
    await run(seg)  # 401
    store.token = CANARY
    store.scope = "read_only"
    await run(seg)  # 403
    await run(add, "add_profiles_to_segment")  # 403 on a write
    store.scope = "modify"
    await run({"segment_id": str(uuid.uuid4())})  # 404
    for kind in ("500", "429-no-headers", "drop", "drop-after", "malformed-json", "html"):
        store.inject(Fault(kind, times=5))
        await run(seg)
        store.faults.clear()
    store.use_quota(2)
    await run(seg)  # 429 with headers, then a wait
    await run({"segment_id": "not-a-uuid"})  # bad input
    await run(add, "add_profiles_to_segment")
    await run({**add, "confirm": True}, "remove_profiles_from_segment")

    assert len(texts) == 2 * 14  # text and structured content of each of the 14 calls
    assert {h["x-auth-token"] for h in store.stats.headers} == {CANARY}  # the canary really was sent
    assert len([t for t in texts if "Error" in t or "error" in t]) >= 8
    assert all(CANARY not in t for t in texts)
    assert "segments/" in caplog.text  # the log was captured at DEBUG, one line per request
    assert CANARY not in caplog.text
    assert CANARY not in await anyio.Path(audit_path).read_text()


# --- removal outcomes -------------------------------------------------------------------------------------------


async def test_removal_that_fails_midway_reports_removed_and_failed_exactly(
    make_client: MakeClient, settings: Settings, store: FaultyStore, segment: uuid.UUID, audit_path: Path
) -> None:
    """A removal failing midway reports exactly which were removed and failed, with a retry that removes the rest."""
    members = store.add_profiles(150)
    store.add_members(segment, members)
    store.inject(Fault("500", method="DELETE", skip=1, times=100))  # the first chunk goes through, then an outage

    async with make_client(settings_=settings.model_copy(update=dict(max_concurrency=1))) as mcp:
        data = await remove(mcp, segment, profile_ids=strs(members))
        store.faults.clear()  # the outage is over: the retry handle removes exactly the 100 that failed
        retry_preview = re.search(r'preview_id="(p[0-9a-f]+)"', data["retry"])
        assert retry_preview is not None
        retried = structured(await approve(mcp, segment, retry_preview.group(1)))

    assert data["removed"] == 50
    assert sum(group["count"] for group in data["failed"]) == 100
    assert "100 FAILED" in data["summary"]
    assert data["retry"].startswith(f'remove_profiles_from_segment(segment_id="{segment}", preview_id="p')
    assert retried["removed"] == 100
    assert store.members(segment) == []
    first, second = [line for line in audit_lines(audit_path) if line["event"] == "outcome"]
    assert (len(first["removed"]), sum(len(g["ids"]) for g in first["failed"])) == (50, 100)
    assert sorted(second["removed"]) == sorted(strs(members[50:]))


async def test_removal_that_removes_nothing_is_an_error_naming_the_reason(
    mcp: Client, store: FaultyStore, segment: uuid.UUID
) -> None:
    """A removal that removes nothing is an error naming the 503 and the exact call that retries them."""
    members = store.add_profiles(3)
    store.add_members(segment, members)
    store.inject(Fault("503", method="DELETE", times=100))

    preview = await preview_removal(mcp, segment, profile_ids=strs(members))
    result = await approve(mcp, segment, preview["preview_id"])

    assert result.is_error
    assert "No profiles were removed" in text_of(result)
    assert 'remove_profiles_from_segment(segment_id="' in text_of(result)  # the exact call that retries them
    assert "retries exactly them" in text_of(result)
    assert "503" in text_of(result)
    assert store.members(segment) == members


async def test_membership_is_read_across_pages_of_a_mid_sized_segment(
    mcp: Client, store: FaultyStore, segment: uuid.UUID
) -> None:
    """A removal preview in a mid-sized segment reads every page to check membership."""
    members = store.add_profiles(700)  # 3 pages of 250
    store.add_members(segment, members)

    data = structured(
        await mcp.call_tool(
            "remove_profiles_from_segment", {"segment_id": str(segment), "profile_ids": [str(members[650])]}
        )
    )

    assert data["would_remove"] == 1
    assert data["membership_checked"] is True
    assert [q for m, p, q in store.stats.requests if m == "GET" and p.endswith("/shopper-profiles")] == [
        "page=1&limit=250",
        "page=2&limit=250",
        "page=3&limit=250",
    ]


async def test_an_unknown_profile_in_a_large_segment_is_not_a_member(
    mcp: Client, store: FaultyStore, segment: uuid.UUID
) -> None:
    """An unknown profile in a large segment's removal preview counts as not a member."""
    store.add_members(segment, store.add_profiles(1_100))
    ghost = uuid.uuid4()

    data = structured(
        await mcp.call_tool("remove_profiles_from_segment", {"segment_id": str(segment), "profile_ids": [str(ghost)]})
    )

    assert (data["not_members"], data["would_remove"]) == (1, 0)

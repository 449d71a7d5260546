"""The MCP App, protocol side: the resource, the tools' `_meta.ui`, the app-only `get_preview_people` (listed only to
clients that declare the extension), and the view's approval path (one click, no second question)."""

import re
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from mcp import Client
from mcp.client.context import ClientRequestContext
from mcp.client.extension import ClientExtension
from mcp.types import ElicitRequestParams, ElicitResult

from mcp_bigcommerce_segments.clock import VirtualClock
from mcp_bigcommerce_segments.config import Settings
from mcp_bigcommerce_segments.emulator.faults import FaultyStore
from mcp_bigcommerce_segments.emulator.store import Customer
from mcp_bigcommerce_segments.server import build_server
from mcp_bigcommerce_segments.state import compose
from mcp_bigcommerce_segments.tools import view

from .conftest import BoundedClient, MakeClient, preview_removal, structured, text_of

pytestmark = pytest.mark.anyio


class Apps(ClientExtension):
    """A host that renders MCP Apps."""

    identifier = view.EXTENSION

    def settings(self) -> dict[str, Any]:
        return {"mimeTypes": [view.MIME]}


@pytest.fixture
def crowd(store: FaultyStore) -> uuid.UUID:
    """A segment of 300 named members."""
    segment = store.add_segment("Newsletter")
    for n in range(1, 301):
        store.customers[n] = Customer(n, f"First{n}", f"Last{n}", f"c{n}@example.com")
        store.add_members(segment, [store.add_profile(customer_id=n)])
    return segment


def clients(settings: Settings, store: FaultyStore, clock: VirtualClock) -> Callable[..., Client]:
    """Clients of one server state (its previews), as a host's view and a model's client are."""
    state = compose(settings, transport=store.transport(), clock=clock)
    server = build_server(settings, state=state)

    def connect(**options: Any) -> Client:
        return BoundedClient(server, mode="auto", **options)

    return connect


@pytest.fixture
async def host(make_client: MakeClient) -> AsyncIterator[Client]:
    async with make_client(mode="auto", extensions=[Apps()]) as client:
        yield client


async def test_the_view_is_one_self_contained_resource(mcp: Client) -> None:
    """resources/list names the view with the MCP App mimeType; resources/read serves one HTML5 document under
    200 kB that loads nothing from any origin."""
    listed = {str(r.uri): r for r in (await mcp.list_resources()).resources}
    read = await mcp.read_resource(view.URI)

    assert listed[view.URI].mime_type == view.MIME
    content = read.contents[0]
    assert content.mime_type == view.MIME
    page = getattr(content, "text", "")
    assert page.startswith("<!doctype html>")
    assert len(page.encode()) < 200_000
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert "@import" not in page
    assert "ui/initialize" in page
    assert "ui/notifications/size-changed" in page


async def test_the_tools_link_the_view_and_the_app_only_tool_is_hidden_from_plain_clients(
    mcp: Client, host: Client
) -> None:
    """The result tools carry _meta.ui.resourceUri; get_preview_people is app-only and listed only to a host that
    declares the extension."""
    plain = {t.name: t for t in (await mcp.list_tools()).tools}
    rendering = {t.name: t for t in (await host.list_tools()).tools}

    for name in view.LINKED:
        assert (plain[name].meta or {})["ui"]["resourceUri"] == view.URI
    assert "get_preview_people" not in plain
    assert (rendering["get_preview_people"].meta or {})["ui"] == {"resourceUri": view.URI, "visibility": ["app"]}
    assert set(rendering) - set(plain) == {"get_preview_people"}


async def test_every_person_of_a_preview_a_page_at_a_time(host: Client, crowd: uuid.UUID) -> None:
    """A 300-person removal preview names 20 for the model; the view reads all 300 in pages of 100."""
    preview = await preview_removal(host, crowd, all_members=True)
    assert len(preview["people"]) == 20

    people: list[dict[str, Any]] = []
    page: int | None = 1
    while page:
        data = structured(
            await host.call_tool("get_preview_people", {"preview_id": preview["preview_id"], "page": page})
        )
        people += data["people"]
        page = data["next_page"]

    assert len(people) == 300
    assert people[0] == {
        "name": "First1 Last1",
        "email": "c1@example.com",
        "customer_id": 1,
        "profile_id": people[0]["profile_id"],
    }
    assert data["total"] == 300
    assert re.fullmatch(r"p[0-9a-f]{10}", data["approval_id"])
    assert data["approval_id"] != preview["preview_id"]


async def test_the_views_approval_removes_without_a_second_question_and_only_once(
    settings: Settings, store: FaultyStore, clock: VirtualClock, crowd: uuid.UUID
) -> None:
    """In a client that can also ask, the view's Remove (approval_id, confirm=true) removes without asking again;
    the preview is then used up under both IDs."""
    asked: list[str] = []

    async def ask(context: ClientRequestContext, request: ElicitRequestParams) -> ElicitResult:
        asked.append(request.message)
        return ElicitResult(action="decline")

    connect = clients(settings, store, clock)
    async with connect(extensions=[Apps()]) as client:
        kept = await preview_removal(client, crowd, customer_ids=[1, 2])
        people = structured(await client.call_tool("get_preview_people", {"preview_id": kept["preview_id"]}))
    async with connect(extensions=[Apps()], elicitation_callback=ask) as client:
        done = structured(
            await client.call_tool(
                "remove_profiles_from_segment",
                {"segment_id": str(crowd), "preview_id": people["approval_id"], "confirm": True},
            )
        )
        again = await client.call_tool(
            "remove_profiles_from_segment",
            {"segment_id": str(crowd), "preview_id": kept["preview_id"], "confirm": True},
        )

    assert asked == []
    assert done["status"] == "removed"
    assert done["removed"] == 2
    assert len(store.members(crowd)) == 298
    assert again.is_error
    assert "already approved and used" in text_of(again)  # one record: the alias used it up


async def test_the_model_cannot_skip_the_question_with_the_plain_preview_id(
    settings: Settings, store: FaultyStore, clock: VirtualClock, crowd: uuid.UUID
) -> None:
    """Even after the view fetched the people (and an alias exists), the preview_id the model reads still asks the
    human; their no discards the preview, so the view's alias approves nothing afterwards either."""
    asked: list[str] = []

    async def ask(context: ClientRequestContext, request: ElicitRequestParams) -> ElicitResult:
        asked.append(request.message)
        return ElicitResult(action="accept", content={"approve": False})

    connect = clients(settings, store, clock)
    async with connect(extensions=[Apps()]) as client:
        kept = await preview_removal(client, crowd, customer_ids=[5])
        people = structured(await client.call_tool("get_preview_people", {"preview_id": kept["preview_id"]}))
    async with connect(extensions=[Apps()], elicitation_callback=ask) as client:
        data = structured(
            await client.call_tool(
                "remove_profiles_from_segment",
                {"segment_id": str(crowd), "preview_id": kept["preview_id"], "confirm": True},
            )
        )
        late = await client.call_tool(
            "remove_profiles_from_segment",
            {"segment_id": str(crowd), "preview_id": people["approval_id"], "confirm": True},
        )

    assert len(asked) == 1
    assert data["status"] == "declined"
    assert late.is_error
    assert len(store.members(crowd)) == 300


async def test_the_alias_stays_out_of_the_text_and_plain_clients_cannot_fetch_it(
    mcp: Client, host: Client, crowd: uuid.UUID
) -> None:
    """get_preview_people's text is its summary alone (the people and approval_id are for the view); a client that
    did not declare the extension gets the people but no approval_id (nothing that skips the question)."""
    preview = await preview_removal(host, crowd, customer_ids=[1])
    result = await host.call_tool("get_preview_people", {"preview_id": preview["preview_id"]})

    assert "approval_id" not in text_of(result)
    assert "c1@example.com" not in text_of(result)
    assert structured(result)["approval_id"]


async def test_a_client_without_the_extension_gets_no_approval_id(
    settings: Settings, store: FaultyStore, clock: VirtualClock, crowd: uuid.UUID
) -> None:
    """A plain client that calls get_preview_people by name reads the people, but gets no approval_id: its approval
    of the preview is asked like any."""
    connect = clients(settings, store, clock)
    async with connect() as client:
        preview = await preview_removal(client, crowd, customer_ids=[1])
        data = structured(await client.call_tool("get_preview_people", {"preview_id": preview["preview_id"]}))

    assert data["approval_id"] is None
    assert data["people"][0]["customer_id"] == 1


async def test_hidden_emails_stay_hidden_in_the_view(make_client: MakeClient, settings: Any, crowd: uuid.UUID) -> None:
    """With BIGCOMMERCE_HIDE_EMAILS, the view's people have no email either."""
    hidden = settings.model_copy(update={"hide_emails": True})
    async with make_client(mode="auto", settings_=hidden, extensions=[Apps()]) as client:
        kept = await preview_removal(client, crowd, customer_ids=[7])
        data = structured(await client.call_tool("get_preview_people", {"preview_id": kept["preview_id"]}))

    assert data["people"][0]["email"] is None
    assert data["people"][0]["name"] == "First7 Last7"

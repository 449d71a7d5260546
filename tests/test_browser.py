"""The MCP App in a real browser: headless Chromium (Debian's package, driven by playwright) renders the view inside
a test host page that speaks the host side of the spec and forwards the view's `tools/call` to the real server,
`python -m mcp_bigcommerce_segments` over stdio, against the fake store served on loopback.

Screenshots of the preview, the result and the member list are saved in tests/screenshots/latest/ (not committed;
the README shows the copy in tests/screenshots/).
"""

import shutil
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, StdioServerParameters
from mcp.types import CallToolResult

from mcp_bigcommerce_segments.emulator.serve import serve
from mcp_bigcommerce_segments.emulator.store import Customer, FakeBigCommerce
from mcp_bigcommerce_segments.tools import view

from .support.apphost import host_page
from .support.stdio import STORE, TOKEN, server_env
from .test_view import Apps

playwright = pytest.importorskip("playwright.async_api")

pytestmark = [pytest.mark.anyio, pytest.mark.browser, pytest.mark.subprocess]

SHOTS = Path(__file__).parent / "screenshots" / "latest"  # the README shows a copy kept in tests/screenshots/
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture
def shop() -> FakeBigCommerce:
    """A store with a Newsletter segment of 300 named members, and a VIP promotion."""
    store = FakeBigCommerce(store_hash=STORE, token=TOKEN, quota=None)
    newsletter = store.add_segment("Newsletter subscribers", "Opted in")
    for n in range(1, 301):
        store.customers[n] = Customer(n, f"Ada{n}", f"Lovelace{n}", f"ada{n}@example.com")
        store.add_members(newsletter, [store.add_profile(customer_id=n)])
    store.add_promotion("Newsletter free shipping", {"id": [str(newsletter)]})
    return store


@pytest.fixture
async def server(shop: FakeBigCommerce, tmp_path: Path) -> AsyncIterator[Client]:
    """The real server, over stdio, as a host that renders MCP Apps connects to it."""
    with serve(shop) as url:
        params = StdioServerParameters(
            command=sys.executable,
            args=["-m", "mcp_bigcommerce_segments"],
            env=server_env(url, tmp_path / "audit.jsonl"),
        )
        async with Client(params, extensions=[Apps()]) as client:
            yield client


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    SHOTS.mkdir(parents=True, exist_ok=True)
    if CHROMIUM is None:
        pytest.fail("chromium is missing: scripts/install installs Debian's package (apt-get install chromium)")
    async with playwright.async_playwright() as driver:
        launched = await driver.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        await launched.close()


def as_json(result: CallToolResult) -> dict[str, Any]:
    return result.model_dump(mode="json", by_alias=True, exclude_none=True)


async def open_view(
    browser: Any, server: Client, result: CallToolResult, arguments: dict[str, Any], *, theme: str = "light"
) -> tuple[Any, list[str]]:
    """A page of the test host rendering the view for one result; the view's tool calls reach `server`. Also every
    URL the page asked for."""
    page = await browser.new_page(viewport={"width": 920, "height": 900})
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))

    async def call_tool(name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        return as_json(await server.call_tool(name, arguments))

    await page.expose_function("callTool", call_tool)
    app = (await server.read_resource(view.URI)).contents[0]
    await page.set_content(host_page(getattr(app, "text", ""), as_json(result), arguments, theme=theme))
    await page.wait_for_function("window.__initialized === true")
    return page, asked


def frame_of(page: Any) -> Any:
    return page.frame_locator("#view")


async def test_a_300_person_preview_shows_everyone_and_remove_then_undo(
    browser: Any, server: Client, shop: FakeBigCommerce
) -> None:
    """The handshake happens; the preview lists all 300 people (paged through get_preview_people) under the
    promotions line; Remove removes exactly those and shows the result; Undo puts them back."""
    segment = next(iter(shop.segments))
    arguments = {"segment_id": str(segment), "all_members": True}
    result = await server.call_tool("remove_profiles_from_segment", arguments)
    page, asked = await open_view(browser, server, result, arguments)
    view_frame = frame_of(page)

    await view_frame.get_by_text("300 shown of 300").wait_for()
    assert await view_frame.locator("tbody tr").count() == 300
    assert await view_frame.get_by_text("Newsletter free shipping").count() == 1
    log = await page.evaluate("window.__log")
    assert log[:2] == ["ui/initialize", "ui/notifications/initialized"]
    assert "ui/notifications/size-changed" in log
    await page.screenshot(path=str(SHOTS / "preview.png"), full_page=True)

    tall = (await page.evaluate("window.__sizes"))[-1]["height"]
    await view_frame.get_by_role("button", name="Remove 300 profiles").click()
    await view_frame.get_by_role("heading", name="Removed").wait_for()
    assert shop.members(segment) == []
    await page.wait_for_function(f"window.__sizes[window.__sizes.length - 1].height < {tall}")  # the view shrinks
    await page.screenshot(path=str(SHOTS / "result.png"), full_page=True)

    await view_frame.get_by_role("button", name="Undo").click()
    await view_frame.get_by_role("heading", name="Undone").wait_for()
    assert len(shop.members(segment)) == 300
    told = [u["content"][0]["text"] for u in await page.evaluate("window.__context_updates")]
    assert told[0].startswith("In the view, the user approved and removed: Removed 300 profiles")
    assert told[1].startswith("In the view, the user pressed Undo")
    assert {url.split(":")[0] for url in asked} <= {"about", "data"}  # nothing outside the document


async def test_filter_and_cancel_removes_nothing_and_tells_the_conversation(
    browser: Any, server: Client, shop: FakeBigCommerce
) -> None:
    """The filter box narrows the table; Cancel removes nothing and adds a message to the conversation."""
    segment = next(iter(shop.segments))
    arguments = {"segment_id": str(segment), "customer_ids": [1, 2, 3, 150]}
    page, _ = await open_view(
        browser, server, await server.call_tool("remove_profiles_from_segment", arguments), arguments
    )
    view_frame = frame_of(page)
    await view_frame.get_by_text("4 shown of 4").wait_for()

    await view_frame.get_by_role("searchbox").fill("ada150")
    await view_frame.get_by_text("1 shown of 4").wait_for()
    await view_frame.get_by_role("button", name="Cancel").click()
    await view_frame.get_by_role("heading", name="Cancelled").wait_for()

    assert len(shop.members(segment)) == 300
    messages = await page.evaluate("window.__messages")
    assert messages[0]["role"] == "user"
    assert "I did not approve preview" in messages[0]["content"][0]["text"]


async def test_an_error_result_is_shown_in_words(browser: Any, server: Client) -> None:
    """A tool error reaches the view as words, never a blank view."""
    arguments = {"segment_id": str(uuid.uuid4()), "all_members": True}
    result = await server.call_tool("remove_profiles_from_segment", arguments)
    assert result.is_error
    page, _ = await open_view(browser, server, result, arguments)

    alert = frame_of(page).get_by_role("alert")
    await alert.wait_for()
    assert "BigCommerce found no" in await alert.inner_text()


@pytest.mark.parametrize("theme", ["light", "dark"])
async def test_the_member_list_pages_in_the_hosts_theme(
    browser: Any, server: Client, shop: FakeBigCommerce, theme: str
) -> None:
    """The member list shows a page of people with next/previous, in the host's colours (light and dark)."""
    segment = next(iter(shop.segments))
    arguments = {"segment_id": str(segment), "limit": 10}
    page, _ = await open_view(
        browser, server, await server.call_tool("list_segment_profiles", arguments), arguments, theme=theme
    )
    view_frame = frame_of(page)
    await view_frame.get_by_text("Ada1 Lovelace1").wait_for()

    await view_frame.get_by_role("button", name="Next").click()
    await view_frame.get_by_text("Ada11 Lovelace11").wait_for()
    background = await view_frame.locator("body").evaluate("node => getComputedStyle(node).backgroundColor")

    assert background == ("rgb(21, 23, 26)" if theme == "dark" else "rgb(255, 255, 255)")
    await page.screenshot(path=str(SHOTS / f"members-{theme}.png"), full_page=True)

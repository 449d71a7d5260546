"""Every API failure reaches the model as an actionable tool error, and the server keeps serving."""

import uuid
from typing import Any

import httpx2
import pytest
from mcp import Client

from mcp_bigcommerce_segments.emulator.faults import Fault, FaultyStore
from mcp_bigcommerce_segments.errors import body_detail, error_from_response
from mcp_bigcommerce_segments.quota import RateHeaders

from .conftest import MakeClient, structured, text_of

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (400, "malformed"),
        (401, "BIGCOMMERCE_ACCESS_TOKEN"),
        (403, "modify"),
        (404, "Check the ID"),
        (409, "conflict"),
        (413, "too large"),
        (422, "rejected the data"),
        (429, "Retry in 2.5 s"),
        (500, "retry in a minute"),
        (503, "retry in a minute"),
    ],
)
def test_each_status_maps_to_an_actionable_sentence(status: int, expected: str) -> None:
    """Each HTTP error status becomes an error carrying the status and a sentence saying what to do."""
    body = b'{"status":0,"title":"Something specific","errors":{"0":"detail here"}}'

    error = error_from_response(status, body, {"x-rate-limit-time-reset-ms": "2500"}, what="segment X")

    assert error.status == status
    assert expected in str(error)


@pytest.mark.parametrize("status", [413, 422])
def test_413_and_422_echo_bigcommerce_message(status: int) -> None:
    """A 413 or 422 error repeats BigCommerce's own title and field errors."""
    body = b'{"status":422,"title":"The limit is too high","errors":{"limit":"max 250"}}'

    assert "The limit is too high; limit: max 250" in str(error_from_response(status, body, {}, what="x"))


def test_body_detail_survives_any_body() -> None:
    """Error detail is drawn from any response body without crashing, quoted, and capped at 300 characters."""
    assert body_detail(b"<html>oops</html>") == ""
    assert body_detail(b"[1,2]") == ""
    assert body_detail(b'{"errors":[{"title":"T","errors":{"0":"m"}}]}') == '"T; 0: m"'  # quoted: the store's words
    assert len(body_detail(b'{"title":"' + b"x" * 5000 + b'"}')) <= 300


def test_retry_after_reads_any_case_and_falls_back() -> None:
    """Retry-after is read from reset or retry headers in any case, and left unknown when not a number."""
    assert RateHeaders.parse(httpx2.Headers({"X-Rate-Limit-Time-Reset-Ms": "1500"})).retry_after == 1.5
    assert RateHeaders.parse(httpx2.Headers({"x-retry-after": "3"})).retry_after == 3.0
    assert RateHeaders.parse(httpx2.Headers({"x-rate-limit-time-reset-ms": "soon"})).retry_after is None


async def test_wrong_token_becomes_a_tool_error_and_the_server_keeps_serving(
    make_client: MakeClient, store: FaultyStore, segment: uuid.UUID
) -> None:
    """A wrong token gives a tool error naming 401 and the server serves the next call once the token is right."""
    store.token = "another-token"
    async with make_client() as mcp:
        failed = await mcp.call_tool("list_segment_profiles", {"segment_id": str(segment)})
        store.token = "test-token-5f2b9c"
        worked = await mcp.call_tool("list_segment_profiles", {"segment_id": str(segment)})

    assert failed.is_error
    assert "401" in text_of(failed)
    assert structured(worked)["total"] == 0


async def test_missing_scope_names_the_scope_for_every_tool(
    mcp: Client, store: FaultyStore, segment: uuid.UUID
) -> None:
    """Every tool called without the modify scope answers an error naming the store_v2_customers scope."""
    store.scope = "read_only"
    profile = store.add_profile()
    calls: list[tuple[str, dict[str, Any]]] = [
        ("list_segment_profiles", {"segment_id": str(segment)}),
        ("add_profiles_to_segment", {"segment_id": str(segment), "profile_ids": [str(profile)]}),
        ("remove_profiles_from_segment", {"segment_id": str(segment), "profile_ids": [str(profile)], "confirm": True}),
    ]
    for name, args in calls:
        result = await mcp.call_tool(name, args)
        assert result.is_error, name
        assert "store_v2_customers" in text_of(result), name


async def test_unknown_segment_on_add_stops_after_the_first_chunks(mcp: Client, store: FaultyStore) -> None:
    """Adding to an unknown segment stops after the first chunks with a 404 error saying none were added."""
    ids = store.add_profiles(1_000)

    result = await mcp.call_tool(
        "add_profiles_to_segment", {"segment_id": str(uuid.uuid4()), "profile_ids": [str(i) for i in ids]}
    )

    assert result.is_error
    assert "No profiles were added" in text_of(result)
    assert "404" in text_of(result)
    assert store.stats.count("POST") <= 10


async def test_html_error_page_is_reported_not_crashed(mcp: Client, store: FaultyStore, segment: uuid.UUID) -> None:
    """An HTML error page from BigCommerce is reported as a 502 tool error rather than crashing."""
    store.inject(Fault("html", times=10))

    result = await mcp.call_tool("list_segment_profiles", {"segment_id": str(segment)})

    assert result.is_error
    assert "502" in text_of(result)


async def test_malformed_answer_to_a_list_is_a_clear_error(mcp: Client, store: FaultyStore, segment: uuid.UUID) -> None:
    """A malformed JSON answer to a listing gives a tool error saying it was not JSON."""
    store.inject(Fault("malformed-json"))

    result = await mcp.call_tool("list_segment_profiles", {"segment_id": str(segment)})

    assert result.is_error
    assert "not JSON" in text_of(result)


async def test_unreadable_answer_to_an_add_is_read_back_not_guessed(
    mcp: Client, store: FaultyStore, segment: uuid.UUID
) -> None:
    """An add answered with a body that is not JSON is neither success nor failure: membership is read back."""
    ids = store.add_profiles(60)
    store.inject(Fault("malformed-json", method="POST"))

    data = structured(
        await mcp.call_tool(
            "add_profiles_to_segment", {"segment_id": str(segment), "profile_ids": [str(i) for i in ids]}
        )
    )

    # The unreadable answer's chunk did nothing (this fake fails before the work): read back, then sent once more.
    assert (data["added"], data["failed"]) == (60, [])
    assert set(store.members(segment)) == set(ids)
    assert store.stats.count("POST") == 3

"""`--check` in process: what it says of a store hash that BigCommerce does not know."""

import io

import pytest
from pydantic import SecretStr

from mcp_bigcommerce_segments.check import run_check
from mcp_bigcommerce_segments.config import Settings
from mcp_bigcommerce_segments.emulator.store import FakeBigCommerce

from .support.stdio import STORE, TOKEN

pytestmark = pytest.mark.anyio


async def test_an_unknown_store_hash_is_said_to_be_unknown_not_unreachable() -> None:
    """A 404 for the store hash means the store answered: --check says the hash is unknown and names the variable."""
    store = FakeBigCommerce(store_hash=STORE, token=TOKEN)
    settings = Settings(
        store_hash="nosuch1", access_token=SecretStr(TOKEN), api_url="http://127.0.0.1:9", audit_log=None
    )
    out = io.StringIO()

    code = await run_check(settings, out, store.transport())

    assert code == 1
    assert "Store: UNKNOWN. BigCommerce answered 404 for store hash 'nosuch1'" in out.getvalue()
    assert "BIGCOMMERCE_STORE_HASH" in out.getvalue()
    assert "NOT REACHABLE" not in out.getvalue()


@pytest.mark.parametrize("missing", [set(), {"orders"}, {"orders", "marketing"}])
async def test_the_optional_scopes_are_listed_with_what_each_unlocks(missing: set[str]) -> None:
    """--check says of Orders read and Marketing read whether each is granted and what it unlocks; a missing one
    is not a failure."""
    store = FakeBigCommerce(store_hash=STORE, token=TOKEN, missing_scopes=missing)
    store.add_segment("VIP")
    settings = Settings(store_hash=STORE, access_token=SecretStr(TOKEN), api_url="http://127.0.0.1:9", audit_log=None)
    out = io.StringIO()

    code = await run_check(settings, out, store.transport())

    said = out.getvalue()
    assert code == 0
    for name, scope, what in (
        ("Orders read", "orders", "customers_where's order fields"),
        ("Marketing read", "marketing", "the promotions each segment gates"),
    ):
        state = "MISSING" if scope in missing else "granted"
        assert f"{name} scope (optional): {state}" in said
        assert what in said
    assert ("store_v2_orders_read_only" in said) == ("orders" in missing)

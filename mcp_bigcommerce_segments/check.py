"""`--check`: is the configuration good, the store reachable, the token valid, the modify scope granted?"""

import sys
from typing import TextIO

import anyio

from .audit import check_writable
from .client import BigCommerceClient, Transport
from .config import Settings
from .errors import AuditLogError, AuthenticationError, BigCommerceError, NotFoundError, PermissionDeniedError
from .retry import RetryPolicy


async def run_check(settings: Settings, out: TextIO = sys.stdout, transport: Transport | None = None) -> int:
    """Make two cheap read requests and say in plain words what works; 0 when all is well, else 1."""
    where = "the built-in sandbox store" if settings.sandbox else f"store {settings.store_hash} at {settings.api_url}"
    out.write(f"Configuration: OK ({where}, read-only: {'yes' if settings.read_only else 'no'}).\n")
    if settings.confirm_without_preview:
        out.write(
            "Removals: WITHOUT PREVIEW (BIGCOMMERCE_CONFIRM_WITHOUT_PREVIEW=true): confirm=true with a source removes "
            "at once, with no preview for a person to approve.\n"
        )
    if not _check_audit(settings, out):
        return 1
    if settings.redis_url is not None and not await _check_redis(settings, out):
        return 1
    client = BigCommerceClient.for_settings(
        settings,
        transport=transport,
        timeout_seconds=min(settings.timeout_seconds, 15.0),
        retry=RetryPolicy(max_attempts=2, max_seconds=10.0),
    )
    async with client:
        try:
            segments = await client.list_segments(limit=1)
        except AuthenticationError:
            out.write("Token: REJECTED (401). Check BIGCOMMERCE_ACCESS_TOKEN and BIGCOMMERCE_STORE_HASH.\n")
            return 1
        except PermissionDeniedError as exc:
            out.write(f"Store reachable and token accepted, but access is refused: {exc}\n")
            return 1
        except NotFoundError:  # BigCommerce answered: it has no store by that hash
            out.write(
                f"Store: UNKNOWN. BigCommerce answered 404 for store hash {settings.store_hash!r}: no store has it. "
                "Check BIGCOMMERCE_STORE_HASH (the 'stores/<hash>' part of your API path).\n"
            )
            return 1
        except BigCommerceError as exc:
            out.write(f"Store: NOT REACHABLE. {exc}\n")
            return 1
        out.write(f"Store: reachable. Token: valid. Segments in the store: {segments.pagination.total}.\n")
        if not segments.data:
            out.write(
                "Customers modify scope: NOT VERIFIED, the store has no segment to test it on. The tools need the "
                "Customers scope set to 'modify'.\n"
            )
            await _optional_scopes(client, out)
            return 0
        try:
            await client.list_segment_profiles(segments.data[0].id, limit=1)
        except PermissionDeniedError as exc:
            out.write(f"Customers modify scope: MISSING. {exc}\n")
            return 1
        except BigCommerceError as exc:
            out.write(f"Customers modify scope: could not be checked. {exc}\n")
            return 1
        out.write("Customers modify scope: granted. All set.\n")
        await _optional_scopes(client, out)
    return 0


#: The optional scopes: (name, its parameter, a cheap read that needs it, what it unlocks).
OPTIONAL_SCOPES = (
    (
        "Orders read",
        "store_v2_orders_read_only",
        "/v2/orders/count",
        "customers_where's order fields (ordered_after, ordered_before, min_orders, min_spent, no_order_since)",
    ),
    (
        "Marketing read",
        "store_v2_marketing_read_only",
        "promotions",
        "the promotions each segment gates, in list_segments and in removal previews",
    ),
)


async def _optional_scopes(client: BigCommerceClient, out: TextIO) -> None:
    """One line per optional scope: granted or missing, and what it unlocks (a missing one is not a failure)."""
    for name, parameter, path, unlocks in OPTIONAL_SCOPES:
        try:
            await client.probe(path)
        except PermissionDeniedError:
            out.write(
                f"{name} scope (optional): MISSING ({parameter}); it unlocks {unlocks}. Grant it in the control panel "
                "(Settings > API > Store-level API accounts) to use them; everything else works without it.\n"
            )
            continue
        except BigCommerceError as exc:
            out.write(f"{name} scope (optional): could not be checked. {exc}\n")
            continue
        out.write(f"{name} scope (optional): granted; it unlocks {unlocks}.\n")


def _check_audit(settings: Settings, out: TextIO) -> bool:
    """Whether records can be appended to the audit log (or it is off), said in one line."""
    if settings.audit_log is None:
        out.write("Audit log: off (BIGCOMMERCE_AUDIT_LOG=off); writes are not recorded.\n")
        return True
    try:
        check_writable(settings.audit_log)
    except AuditLogError as exc:
        out.write(f"Audit log: NOT WRITABLE. {exc}\n")
        return False
    out.write(f"Audit log: {settings.audit_log} (appendable).\n")
    return True


async def _check_redis(settings: Settings, out: TextIO) -> bool:
    """Whether the shared state (BIGCOMMERCE_REDIS_URL) answers, said in one line (never the URL's password)."""
    assert settings.redis_url is not None
    try:
        from .hosted.shared import connect
    except ImportError:
        out.write("Redis: the 'hosted' extra is not installed (pip install -e '.[hosted]' from a clone).\n")
        return False
    client = connect(settings.redis_url.get_secret_value())
    try:
        with anyio.fail_after(3):
            await client.ping()
    except Exception as exc:
        out.write(f"Redis: NOT REACHABLE ({type(exc).__name__}). Check BIGCOMMERCE_REDIS_URL and its password.\n")
        return False
    finally:
        await client.aclose()
    out.write("Redis: reachable (shared rate limit, previews and change record).\n")
    return True

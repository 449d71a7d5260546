"""`--check`: is the configuration good, the store reachable, the token valid, the modify scope granted?"""

import sys
from typing import TextIO

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
    if settings.audit_log is None:
        out.write("Audit log: off (BIGCOMMERCE_AUDIT_LOG=off); writes are not recorded.\n")
    else:
        try:
            check_writable(settings.audit_log)
        except AuditLogError as exc:
            out.write(f"Audit log: NOT WRITABLE. {exc}\n")
            return 1
        out.write(f"Audit log: {settings.audit_log} (appendable).\n")
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
    return 0

"""The Customers API's list endpoint (`GET /v3/customers`) with the filters the server uses: `id:in`, `name:like`,
`email:in`, `company:in`, `customer_group_id:in`, `date_created:min`/`:max`, and the `shopper_profile_id` and
`segment_ids` includes."""

from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from .base import StoreBase, run_sync
from .records import Customer, iso, parse_moment

Filter = Callable[[list[Customer], str], list[Customer] | str]


def _integers(name: str, attribute: str) -> Filter:
    """A filter on a list of integers (`id:in`, `customer_group_id:in`)."""

    def keep(customers: list[Customer], raw: str) -> list[Customer] | str:
        try:
            wanted = {int(part) for part in raw.split(",") if part.strip()}
        except ValueError:
            return f"{name} must be a list of integers."
        return [c for c in customers if getattr(c, attribute) in wanted]

    return keep


def _names(customers: list[Customer], raw: str) -> list[Customer]:
    needles = [n.strip().casefold() for n in raw.split(",") if n.strip()]  # a substring of "first last", any value
    return [c for c in customers if any(n in f"{c.first_name} {c.last_name}".casefold() for n in needles)]


def _emails(customers: list[Customer], raw: str) -> list[Customer]:
    wanted = {e.strip().casefold() for e in raw.split(",")}
    return [c for c in customers if c.email.casefold() in wanted]


def _companies(customers: list[Customer], raw: str) -> list[Customer]:
    wanted = {e.strip().casefold() for e in raw.split(",") if e.strip()}
    return [c for c in customers if c.company.casefold() in wanted]


def _created(after: bool) -> Filter:
    def keep(customers: list[Customer], raw: str) -> list[Customer] | str:
        moment = parse_moment(raw)
        if moment is None:
            return f"date_created:{'min' if after else 'max'} must be a date such as 2024-05-14 or 2024-05-14T09:34:00."
        return [c for c in customers if (c.date_created >= moment if after else c.date_created <= moment)]

    return keep


_FILTERS: dict[str, Filter] = {
    "id:in": _integers("id:in", "id"),
    "customer_group_id:in": _integers("customer_group_id:in", "customer_group_id"),
    "company:in": _companies,
    "name:like": _names,
    "email:in": _emails,
    "date_created:min": _created(after=True),
    "date_created:max": _created(after=False),
}


class CustomersAPI(StoreBase):
    """`GET /v3/customers`."""

    async def _customers(self, request: Request) -> Response:
        def body() -> Response:
            args = self._page_args(request)
            if isinstance(args, Response):
                return args
            customers = list(self.customers.values())
            for name, keep in _FILTERS.items():
                raw = request.query_params.get(name)
                if raw:
                    kept = keep(customers, raw)
                    if isinstance(kept, str):
                        return self._error(422, kept)
                    customers = kept
            includes = set(request.query_params.get("include", "").split(","))
            by_customer = {p.customer_id: p.id for p in self.profiles.values()}

            def render(c: Customer) -> dict[str, Any]:
                row: dict[str, Any] = {
                    "id": c.id,
                    "first_name": c.first_name,
                    "last_name": c.last_name,
                    "email": c.email,
                    "company": c.company,
                    "customer_group_id": c.customer_group_id,
                    "date_created": iso(c.date_created),
                    "date_modified": iso(c.date_created),
                }
                pid = by_customer.get(c.id)
                if self.include_shopper_profile and "shopper_profile_id" in includes:
                    row["shopper_profile_id"] = str(pid) if pid else None
                if self.include_shopper_profile and "segment_ids" in includes:
                    row["segment_ids"] = [str(s.id) for s in self.segments.values() if pid in s.members]
                return row

            return self._json(200, self._paged(customers, *args, render))

        return await self._handle(request, "read", run_sync(body))

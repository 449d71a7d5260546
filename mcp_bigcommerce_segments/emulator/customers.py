"""The Customers API's list endpoint (`GET /v3/customers`) with the filters the server uses: `id:in`, `name:like`,
`email:in`, and the `shopper_profile_id` and `segment_ids` includes."""

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from .base import StoreBase, run_sync


class CustomersAPI(StoreBase):
    """`GET /v3/customers`."""

    async def _customers(self, request: Request) -> Response:
        def body() -> Response:
            args = self._page_args(request)
            if isinstance(args, Response):
                return args
            customers = list(self.customers.values())
            raw_ids = request.query_params.get("id:in")
            if raw_ids:
                try:
                    wanted = {int(part) for part in raw_ids.split(",") if part.strip()}
                except ValueError:
                    return self._error(422, "id:in must be a list of integers.")
                customers = [c for c in customers if c.id in wanted]
            name_like = request.query_params.get("name:like")
            if name_like:  # a substring of "first last", any of the comma-separated values
                needles = [n.strip().casefold() for n in name_like.split(",") if n.strip()]
                customers = [
                    c for c in customers if any(n in f"{c.first_name} {c.last_name}".casefold() for n in needles)
                ]
            emails = request.query_params.get("email:in")
            if emails:
                wanted_emails = {e.strip().casefold() for e in emails.split(",")}
                customers = [c for c in customers if c.email.casefold() in wanted_emails]
            includes = set(request.query_params.get("include", "").split(","))
            by_customer = {p.customer_id: p.id for p in self.profiles.values()}
            rows: list[dict[str, Any]] = []
            for c in customers:
                row: dict[str, Any] = {
                    "id": c.id,
                    "first_name": c.first_name,
                    "last_name": c.last_name,
                    "email": c.email,
                    "company": c.company,
                }
                pid = by_customer.get(c.id)
                if self.include_shopper_profile and "shopper_profile_id" in includes:
                    row["shopper_profile_id"] = str(pid) if pid else None
                if self.include_shopper_profile and "segment_ids" in includes:
                    row["segment_ids"] = [str(s.id) for s in self.segments.values() if pid in s.members]
                rows.append(row)
            return self._json(200, self._paged(rows, *args, lambda row: row))

        return await self._handle(request, "read", run_sync(body))

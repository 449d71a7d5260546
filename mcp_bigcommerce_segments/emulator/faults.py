"""Scripted misbehaviour for tests and benchmarks: a store that answers 500s, 429s without headers, bodies that are
not JSON, and connections that drop before or after the store did the work."""

from collections import deque
from dataclasses import dataclass
from typing import Literal

import httpx2

from .base import HttpFault
from .store import FakeBigCommerce

FaultKind = Literal["500", "503", "429-no-headers", "drop", "drop-after", "malformed-json", "html"]
_TRANSPORT_FAULTS = ("drop", "drop-after")


@dataclass
class Fault:
    """One scripted misbehaviour, used by the next `times` matching requests after the first `skip`."""

    kind: FaultKind
    method: str | None = None
    times: int = 1
    skip: int = 0


class FaultyStore(FakeBigCommerce):
    """The fake store, plus a queue of scripted faults (`inject`) and a transport that can drop connections."""

    def __init__(self, **options: object) -> None:
        super().__init__(**options)  # type: ignore[arg-type]
        self.faults: deque[Fault] = deque()

    def inject(self, *faults: Fault) -> None:
        self.faults.extend(faults)

    def take(self, method: str, kinds: tuple[str, ...]) -> Fault | None:
        """The first scripted fault of one of `kinds` for `method`, used up once."""
        for fault in self.faults:
            if fault.kind in kinds and fault.method in (None, method):
                if fault.skip > 0:
                    fault.skip -= 1
                    return None
                fault.times -= 1
                if fault.times <= 0:
                    self.faults.remove(fault)
                return fault
        return None

    def fault_for(self, method: str) -> HttpFault | None:
        fault = self.take(method, ("500", "503", "429-no-headers", "malformed-json", "html"))
        return None if fault is None else fault.kind  # type: ignore[return-value]

    def transport(self) -> httpx2.AsyncBaseTransport:
        """An in-process transport that also shows the faults only a transport can: dropped connections."""
        return _FaultingTransport(self)


class _FaultingTransport(httpx2.AsyncBaseTransport):
    def __init__(self, store: FaultyStore) -> None:
        self._store = store
        self._inner = httpx2.ASGITransport(app=store.app)

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        fault = self._store.take(request.method, _TRANSPORT_FAULTS)
        if fault is not None and fault.kind == "drop":
            self._store.stats.requests.append((request.method, request.url.path, request.url.query.decode()))
            raise httpx2.RemoteProtocolError("Server disconnected without sending a response.", request=request)
        response = await self._inner.handle_async_request(request)
        if fault is not None:  # drop-after: the store did the work, the answer is lost
            await response.aclose()
            raise httpx2.ReadTimeout("The read operation timed out", request=request)
        return response

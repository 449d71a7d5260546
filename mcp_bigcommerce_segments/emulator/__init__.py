"""A fake BigCommerce that follows the Segments API spec: `store` (the sandbox and the tests' fake), `faults`
(scripted misbehaviour, tests only) and `serve` (real HTTP on loopback, tests and benchmarks only)."""

from .store import Customer, FakeBigCommerce

__all__ = ["Customer", "FakeBigCommerce"]

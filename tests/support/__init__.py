"""Helpers shared by the tests and the benchmarks: the raw stdio driver and the server's environment."""

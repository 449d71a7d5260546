"""Hosted mode (`serve-http`): Streamable HTTP with bearer-token auth, and state shared by replicas through Redis.

Nothing here is imported by the stdio server.
"""

"""The MCP tools, one module per family: membership (list, add), removal, lookup (names to IDs)."""

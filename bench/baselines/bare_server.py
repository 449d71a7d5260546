"""Baseline: a bare MCPServer with three trivial tools, served over stdio."""

from mcp.server import MCPServer

server: MCPServer = MCPServer("bare")


@server.tool()
def echo(text: str) -> str:
    """Return the text."""
    return text


@server.tool()
def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


@server.tool()
def ping() -> str:
    """Answer pong."""
    return "pong"


if __name__ == "__main__":
    server.run()

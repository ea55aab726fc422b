"""The agent's tools, behind a real MCP server: ``python -m examples.mcp_agent.server`` serves
them over stdio (the agent starts it as a subprocess)."""

from __future__ import annotations

import logging

from mcp.server.mcpserver import MCPServer

server = MCPServer("docs")

PAGES = {
    "retries": "Retry idempotent calls with backoff and a budget; honour Retry-After.",
    "timeouts": "Give every remote call a deadline; a call without one can hang forever.",
    "fallbacks": "When a tool fails, say so and answer with what you have.",
}


@server.tool()
def search_docs(query: str) -> str:
    """Search the resilience handbook."""
    hits = [text for topic, text in PAGES.items() if topic in query.lower()]
    return " ".join(hits) or "No page matches; try retries, timeouts or fallbacks."


if __name__ == "__main__":
    logging.disable(logging.CRITICAL)
    server.run("stdio")

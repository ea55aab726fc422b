"""The real MCP server of the tests: ``MCPServer("docs")`` with tools that fail for real.

Run as a script, it serves over stdio (``python -m tests.mcp.server_app [name]``, with
``ChaosMiddleware`` when ``CHAOS_MCP_FAULTS`` holds faults as JSON); imported, it gives the same
server for the in-memory transport and for uvicorn (streamable HTTP).
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Sequence
from typing import Any

import anyio
from mcp.server.mcpserver import MCPServer


def build(name: str = "docs", middleware: Sequence[Any] = ()) -> MCPServer:
    server = MCPServer(name, middleware=list(middleware))

    @server.tool()
    def search_docs(query: str) -> str:
        """Search the docs."""
        return f"3 pages about {query}"

    @server.tool()
    def broken() -> str:
        """A tool that raises."""
        raise RuntimeError("kaput")

    @server.tool()
    async def slow(seconds: float) -> str:
        """A tool that takes ``seconds``."""
        await anyio.sleep(seconds)
        return "late"

    @server.tool()
    def die() -> str:
        """The server process dies mid-call."""
        os._exit(1)

    @server.tool()
    def stats(n: int) -> dict[str, Any]:
        """Structured output."""
        return {"title": "x" * n, "pages": list(range(n))}

    @server.resource("docs://readme")
    def readme() -> str:
        return "read me"

    return server


def _middleware_from_env() -> list[Any]:
    """``ChaosMiddleware`` with the faults of ``CHAOS_MCP_FAULTS`` (JSON), if set."""
    faults = os.environ.get("CHAOS_MCP_FAULTS")
    if faults is None:
        return []
    from aumai_chaos.mcp import ChaosMiddleware

    return [ChaosMiddleware(faults=json.loads(faults), seed=1)]


if __name__ == "__main__":
    logging.disable(logging.CRITICAL)  # the SDK logs a tool's traceback on stderr
    name = sys.argv[1] if len(sys.argv) > 1 else "docs"
    build(name, _middleware_from_env()).run("stdio")

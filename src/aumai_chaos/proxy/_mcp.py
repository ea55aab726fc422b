"""MCP over streamable HTTP: a request's component from its JSON-RPC body.

A ``POST`` whose JSON body is a JSON-RPC request is the component
:func:`aumai_chaos.mcp.component_for` names: ``mcp.tool.<name>`` for ``tools/call``,
``mcp.<method>`` for the others (``mcp.tools.list``...). Batches, notifications, responses and
anything else stay with the router (named by host). Only bodies up to
:data:`MAX_CLASSIFIED_BYTES` are parsed. A named request gets the MCP faults too
(``_mcp_faults``), as the MCP server would answer them.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from aumai_chaos.proxy._exchange import RequestClassifier
from aumai_chaos.transport._transport import Chaos
from aumai_chaos.transport.routes import Route

__all__ = ["MAX_CLASSIFIED_BYTES", "McpClassifier"]

MAX_CLASSIFIED_BYTES = 1_000_000


class McpClassifier(RequestClassifier):
    """Names MCP requests ``mcp.*`` (``aumai_chaos.mcp``'s names: pure, no SDK import)."""

    hint = "mcp.tool.<name>, mcp.<method>"

    def __init__(self) -> None:
        from aumai_chaos.mcp import _names

        self._names = _names
        self._cache: dict[str, Route] = {}
        self._framing: Any = None

    async def _handle(
        self, chaos: Chaos, request: httpx.Request, send: Any, route: Route
    ) -> httpx.Response:
        """The transport's faults and the MCP faults (``_mcp_faults``), in one decision."""
        from aumai_chaos.proxy._mcp_faults import Framing, handle_mcp

        if self._framing is None:
            self._framing = Framing()
        return await handle_mcp(chaos, request, send, route, self._framing)

    def classify(self, request: httpx.Request) -> Route | None:
        if request.method != "POST":
            return None
        content = request.content
        if not content or len(content) > MAX_CLASSIFIED_BYTES or b'"method"' not in content:
            return None
        try:
            body: Any = json.loads(content)
        except ValueError:
            return None
        if not isinstance(body, dict) or body.get("jsonrpc") != "2.0" or "id" not in body:
            return None
        method = body.get("method")
        if not isinstance(method, str) or not method:
            return None
        params = body.get("params")
        name = self._names.component_for(method, params if isinstance(params, dict) else None)
        route = self._cache.get(name)
        if route is None:
            route = self._cache[name] = Route(name)
        return route

    def sees(self, component: str) -> bool:
        names = self._names
        return names.is_mcp_name(component) and names.check_mcp_name(component) is None

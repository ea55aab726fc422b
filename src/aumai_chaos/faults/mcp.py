"""Faults that answer an MCP (Model Context Protocol) request as a failing server would.

Each stands for one real failure, and the ``mcp`` SDK sees it exactly so (the client-side
instrumentation and the server middleware live in :mod:`aumai_chaos.mcp`):

- ``mcp_tool_error``: the tool raised: ``isError: true`` with ``error_message``;
- ``jsonrpc_error``: a JSON-RPC error response (``error_code``, default -32603);
- ``mcp_timeout``: no answer; the client's own request timeout fires (-32001);
- ``mcp_disconnect``: the connection closes as when the server process dies (-32000);
- ``tool_vanished``: the tool is gone: ``Unknown tool: <name>`` and missing from ``tools/list``.

``server`` (a glob on the name the server gave in ``initialize``'s ``serverInfo``) narrows a
fault to one server, for two servers that expose the same tool name; ``latency``,
``empty_output`` and ``truncated_output`` take it too, for their MCP requests.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field, StringConstraints

from aumai_chaos.faults.base import (
    Action,
    DurationMs,
    FaultConfig,
    FaultType,
    Message,
    OnMcpServer,
    Site,
)

__all__ = [
    "JsonRpcErrorFault",
    "McpDisconnectFault",
    "McpTimeoutFault",
    "McpToolErrorFault",
    "ToolVanishedFault",
]

_MCP_ONLY = frozenset({Site.mcp})
_WHY = "it answers an MCP request; it acts only on mcp.* components"

ToolName = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class _McpFault(OnMcpServer, FaultConfig):
    sites: ClassVar[frozenset[Site]] = _MCP_ONLY
    site_reason: ClassVar[str] = _WHY
    action: ClassVar[Action] = Action.instead


class McpToolErrorFault(_McpFault):
    """The tool raised: its result is ``isError: true`` with one text content,
    ``error_message`` (default: ``Error executing tool <name>``, as ``MCPServer`` says)."""

    fault_type: Literal[FaultType.mcp_tool_error] = FaultType.mcp_tool_error
    error_message: Message | None = None


class JsonRpcErrorFault(_McpFault):
    """A JSON-RPC error response: the SDK raises its own ``MCPError`` with ``error_code``
    (default -32603, internal error) and ``error_message``."""

    fails: ClassVar[bool] = True

    fault_type: Literal[FaultType.jsonrpc_error] = FaultType.jsonrpc_error
    error_code: Annotated[int, Field(ge=-(2**31), le=2**31 - 1, strict=True)] = -32603
    error_message: Message = "Internal error"


class McpTimeoutFault(_McpFault):
    """No answer comes: the client's own request timeout fires (``MCPError`` -32001). A
    request without a timeout fails the same way after ``duration_ms`` (default 30 s)."""

    fails: ClassVar[bool] = True

    fault_type: Literal[FaultType.mcp_timeout] = FaultType.mcp_timeout
    duration_ms: DurationMs = 30_000

    @property
    def delay_seconds(self) -> float:
        return self.duration_ms / 1000.0


class McpDisconnectFault(_McpFault):
    """The connection closes as when the server process dies: this request and every later
    one on the session fail with ``MCPError`` -32000, until the agent reconnects."""

    fails: ClassVar[bool] = True

    fault_type: Literal[FaultType.mcp_disconnect] = FaultType.mcp_disconnect


class ToolVanishedFault(_McpFault):
    """The tool is gone. ``tools/call`` answers ``Unknown tool: <name>`` (``isError``), as the
    server does; on ``tools/list`` (component ``mcp.tools.list``), ``tool_name`` is missing
    from the listing (every tool, without ``tool_name``)."""

    fault_type: Literal[FaultType.tool_vanished] = FaultType.tool_vanished
    tool_name: ToolName | None = None

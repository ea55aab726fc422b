"""How each MCP fault answers, as plain JSON-RPC values: pure, with no ``mcp`` SDK import.

The client instrumentation hands these to the SDK's own request handling, the server
middleware returns or raises them, and the HTTP reverse proxy can render them as a JSON-RPC
response body (:func:`jsonrpc_response`). Every shape is the one a real server sends for the
failure it stands for (an ``MCPServer`` tool that raised, an unknown tool...).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aumai_chaos.faults import FaultConfig, FaultType

__all__ = [
    "CONNECTION_CLOSED",
    "REQUEST_TIMEOUT",
    "Answer",
    "answer",
    "error_attributes",
    "jsonrpc_response",
    "request_attributes",
    "rewrite_result",
    "tool_error_result",
]

#: The SDK's codes (``mcp_types``) for a request that timed out and a connection that closed.
REQUEST_TIMEOUT = -32001
CONNECTION_CLOSED = -32000


class Answer:
    """What a fault answers instead of the server: a ``result`` (a JSON object), an ``error``
    (``code``, ``message``), or ``None`` for both: no answer at all (``mcp_timeout``,
    ``mcp_disconnect``)."""

    __slots__ = ("error", "result")

    def __init__(
        self, result: dict[str, Any] | None = None, error: tuple[int, str] | None = None
    ) -> None:
        self.result = result
        self.error = error


def tool_error_result(text: str) -> dict[str, Any]:
    """A ``tools/call`` result that failed: ``isError`` with one text content."""
    return {"content": [{"type": "text", "text": text}], "isError": True}


def answer(fault: FaultConfig, method: str, params: Mapping[str, Any] | None) -> Answer | None:
    """The answer of an ``instead`` MCP fault to one request, or ``None`` when it cannot act
    on this method (``mcp_tool_error`` on anything but ``tools/call``...)."""
    kind = fault.fault_type
    tool = params.get("name") if params is not None else None
    if kind is FaultType.jsonrpc_error:
        return Answer(error=(fault.error_code, fault.error_message))  # type: ignore[attr-defined]
    if kind in (FaultType.mcp_timeout, FaultType.mcp_disconnect):
        return Answer()
    if method != "tools/call" or not isinstance(tool, str):
        return None
    if kind is FaultType.mcp_tool_error:
        message = fault.error_message or f"Error executing tool {tool}"  # type: ignore[attr-defined]
        return Answer(result=tool_error_result(message))
    if kind is FaultType.tool_vanished:
        gone = fault.tool_name  # type: ignore[attr-defined]
        if gone is not None and gone != tool:
            return None  # another tool vanished, not this one
        return Answer(result=tool_error_result(f"Unknown tool: {tool}"))
    return None


def rewrite_result(fault: FaultConfig, method: str, result: Any) -> Any | None:
    """An ``after`` fault's rewrite of a successful result, or ``None`` when it cannot apply
    (an error result, a method it does not concern). Never mutates ``result``."""
    if not isinstance(result, dict):
        return None
    kind = fault.fault_type
    if kind is FaultType.tool_vanished:
        tools = result.get("tools")
        if method != "tools/list" or not isinstance(tools, list):
            return None
        gone = fault.tool_name  # type: ignore[attr-defined]
        kept = [t for t in tools if gone is not None and t.get("name") != gone]
        return None if len(kept) == len(tools) else {**result, "tools": kept}
    if method != "tools/call" or result.get("isError"):
        return None
    if kind is FaultType.empty_output:
        return _cut(result, 0.0, "content")
    if kind is FaultType.truncated_output:
        content = result.get("content")
        if not isinstance(content, list) or not any(_is_text(c) for c in content):
            return None
        return _cut(result, fault.keep_fraction, "content")  # type: ignore[attr-defined]
    return None


def _cut(result: dict[str, Any], keep: float, content_key: str) -> dict[str, Any]:
    """The result with each text content cut to ``keep`` of its length (``keep`` 0: no
    content at all), and ``structuredContent`` cut the same way, string by string and list
    by list, so that it still has the shape the tool's output schema declares."""
    out = dict(result)
    content = result.get(content_key)
    if keep == 0.0:
        out[content_key] = []
    elif isinstance(content, list):
        out[content_key] = [
            {**c, "text": c["text"][: int(len(c["text"]) * keep)]} if _is_text(c) else c
            for c in content
        ]
    if "structuredContent" in result:
        out["structuredContent"] = _cut_value(result["structuredContent"], keep)
    return out


def _cut_value(value: Any, keep: float) -> Any:
    if isinstance(value, str):
        return value[: int(len(value) * keep)]
    if isinstance(value, list):
        return [_cut_value(v, keep) for v in value[: int(len(value) * keep)]]
    if isinstance(value, dict):
        return {k: _cut_value(v, keep) for k, v in value.items()}
    return value


def _is_text(content: Any) -> bool:
    return (
        isinstance(content, dict)
        and content.get("type") == "text"
        and isinstance(content.get("text"), str)
    )


def request_attributes(
    method: str, params: Mapping[str, Any] | None, request_id: Any
) -> dict[str, Any]:
    """The attributes of the ``chaos.fault`` span of one MCP request, named as the SDK names
    them on its own spans."""
    attrs: dict[str, Any] = {"mcp.method.name": method}
    if request_id is not None:
        attrs["jsonrpc.request.id"] = str(request_id)
    if method == "tools/call":
        attrs["gen_ai.operation.name"] = "execute_tool"
        tool = params.get("name") if params is not None else None
        if isinstance(tool, str):
            attrs["gen_ai.tool.name"] = tool
    return attrs


def error_attributes(code: int | str) -> dict[str, Any]:
    """``error.type`` and ``rpc.response.status_code`` as the SDK sets them for an error
    (the JSON-RPC code as a string; ``tool_error`` for an ``isError`` result)."""
    code = str(code)
    attrs: dict[str, Any] = {"error.type": code}
    if code != "tool_error":
        attrs["rpc.response.status_code"] = code
    return attrs


def jsonrpc_response(request_id: Any, ans: Answer) -> dict[str, Any] | None:
    """``ans`` as a JSON-RPC response body to request ``request_id`` (for a proxy), or
    ``None`` when the fault gives no answer (the proxy then withholds it or drops the
    connection)."""
    if ans.error is not None:
        code, message = ans.error
        return {"jsonrpc": "2.0", "id": request_id, "error": {"code": code, "message": message}}
    if ans.result is not None:
        return {"jsonrpc": "2.0", "id": request_id, "result": ans.result}
    return None

"""Which component an MCP request is a call into, and which names can be MCP components.

Pure: imports neither the ``mcp`` SDK nor anything of the engine, so experiments check their
component names against it, and the HTTP reverse proxy names a JSON-RPC body with it.

- ``tools/call`` of tool ``search_docs`` is ``mcp.tool.search_docs``;
- every other method ``a/b`` is ``mcp.a.b`` (``mcp.tools.list``, ``mcp.resources.read``,
  ``mcp.prompts.get``, ``mcp.initialize``...).
"""

from __future__ import annotations

from collections.abc import Mapping
from fnmatch import fnmatchcase
from typing import Any

__all__ = [
    "MCP_METHODS",
    "MCP_PREFIX",
    "TOOL_PREFIX",
    "check_mcp_fault",
    "check_mcp_name",
    "component_for",
    "is_mcp_name",
]

MCP_PREFIX = "mcp."
TOOL_PREFIX = "mcp.tool."
#: The client-to-server requests of MCP (2025-11-25 and the SDK 2.3's modern ones); a
#: server's own methods are components too.
MCP_METHODS = (
    "initialize",
    "ping",
    "discover",
    "tools/list",
    "resources/list",
    "resources/templates/list",
    "resources/read",
    "resources/subscribe",
    "resources/unsubscribe",
    "prompts/list",
    "prompts/get",
    "completion/complete",
    "logging/setLevel",
    "subscriptions/listen",
)
_METHOD_COMPONENTS = tuple(MCP_PREFIX + m.replace("/", ".") for m in MCP_METHODS)
#: What a name or glob may match to be an MCP component (a tool stands for every tool).
_SHAPES = (*_METHOD_COMPONENTS, TOOL_PREFIX + "x")


def component_for(method: str, params: Mapping[str, Any] | None) -> str:
    """The component of one MCP request: ``mcp.tool.<name>`` for ``tools/call``, else
    ``mcp.<method with "/" as ".">``."""
    if method == "tools/call" and params is not None:
        name = params.get("name")
        if isinstance(name, str) and name:
            return TOOL_PREFIX + name
    return MCP_PREFIX + method.replace("/", ".")


def is_mcp_name(name: str) -> bool:
    """Whether ``name`` (a component or a glob) names MCP components only."""
    return name.startswith(MCP_PREFIX)


def check_mcp_name(name: str) -> str | None:
    """Why ``name`` (``mcp.``-prefixed, maybe a glob) can be no MCP component, or None.

    Any method may be a component (servers add their own), so only a name with an empty part
    is refused: ``mcp.tool.`` (no tool), ``mcp..list``, ``mcp.``."""
    if name.startswith(TOOL_PREFIX) and len(name) == len(TOOL_PREFIX):
        return f"{name!r} names no tool (mcp.tool.<name>, or mcp.tool.*)"
    if name.endswith(".") or ".." in name:
        return f"{name!r} matches no MCP component: an empty part between dots"
    return None


def check_mcp_fault(fault: Any, name: str) -> str | None:
    """Why ``fault`` cannot act on components named ``name``, or None: an MCP-only fault on a
    non-MCP component, a fault narrowed to an MCP server (``server:``) on one, or a fault with
    no MCP meaning on an MCP one."""
    kind = fault.fault_type.value
    acts_on_mcp = "mcp" in fault.sites
    if is_mcp_name(name):
        if not acts_on_mcp:
            return f"{kind} cannot act on {name}, an MCP component (see docs/mcp.md)"
        return None
    if not acts_on_mcp or any(fnmatchcase(shape, name) for shape in _SHAPES):
        return None
    if fault.sites == frozenset({"mcp"}):
        return f"{kind} acts on mcp.* components only, not on {name}"
    if getattr(fault, "server", None) is not None:
        return (
            f"{kind} with server: names an MCP server, and {name} is no MCP component "
            "(server: applies to mcp.* components only)"
        )
    return None

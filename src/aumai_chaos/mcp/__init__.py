"""MCP (Model Context Protocol) faults, seen by the real ``mcp`` SDK: the ``[mcp]`` extra.

- ``instrument()`` / ``uninstrument()`` / ``is_instrumented()`` (``_client``): every ``mcp``
  client session in the process (stdio, streamable HTTP, in-memory) gets the running
  experiments' faults, acting inside the SDK's own request handling (``_act``);
- :class:`ChaosMiddleware` (``_middleware``): a ``ServerMiddleware`` for a server you own;
- ``_names``: which component a request is (``mcp.tool.<name>``, ``mcp.tools.list``...) and
  which names can be MCP components; ``_answers``: each fault's answer as plain JSON-RPC
  values. Both are pure and shared with other layers (experiment checks, the HTTP proxy):
  :func:`component_for` and :func:`render_fault`.

May import the engine (``aumai_chaos._engine``), the fault model and the OpenTelemetry API;
the ``mcp`` SDK, ``anyio`` and ``wrapt`` only lazily, so that ``import aumai_chaos`` (which
checks component names with ``_names``) imports none of them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aumai_chaos.mcp._answers import Answer, jsonrpc_response
from aumai_chaos.mcp._names import component_for

if TYPE_CHECKING:
    from aumai_chaos.mcp._client import instrument, is_instrumented, uninstrument
    from aumai_chaos.mcp._middleware import ChaosMiddleware

__all__ = [
    "Answer",
    "ChaosMiddleware",
    "component_for",
    "instrument",
    "is_instrumented",
    "jsonrpc_response",
    "render_fault",
    "uninstrument",
]

_LAZY = {
    "instrument": "aumai_chaos.mcp._client",
    "uninstrument": "aumai_chaos.mcp._client",
    "is_instrumented": "aumai_chaos.mcp._client",
    "ChaosMiddleware": "aumai_chaos.mcp._middleware",
}


def render_fault(fault: Any, body: Any) -> Answer | None:
    """How ``fault`` answers the JSON-RPC request ``body`` (a dict), for a proxy: an
    :class:`Answer` (``result``, ``error``, or neither: withhold the answer / drop the
    connection), or ``None`` when it gives no answer of its own here (``latency``, output
    faults: forward and rewrite). :func:`jsonrpc_response` renders it as a response body."""
    from aumai_chaos.mcp._answers import answer

    if not isinstance(body, dict) or not isinstance(body.get("method"), str):
        return None
    params = body.get("params")
    return answer(fault, body["method"], params if isinstance(params, dict) else None)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'aumai_chaos.mcp' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)

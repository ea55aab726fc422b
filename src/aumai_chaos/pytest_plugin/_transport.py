"""The HTTP transport, on while a test that needs it runs and off after.

A test needs it when one of its faults targets a provider route component (such as
``openai.chat.completions``) or acts on a transport only (``rate_limit``, ``http_error``...),
or when it calls ``chaos.instrument()``. The transport module (and with it httpx and httpx2) is
imported only then.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aumai_chaos.faults import FaultConfig

__all__ = ["ROUTE_COMPONENTS", "McpScope", "TransportScope", "needs_mcp", "needs_transport"]

#: The built-in provider routes of ``aumai_chaos.transport`` (``BUILTIN_ROUTES`` there; kept
#: here as plain names so that deciding costs no import of the transport).
ROUTE_COMPONENTS = frozenset(
    {"openai.chat.completions", "openai.responses", "openai.embeddings", "anthropic.messages"}
)


def needs_transport(fault: FaultConfig) -> bool:
    """Whether ``fault`` can only take effect through the HTTP transport."""
    from aumai_chaos.faults import Site

    if needs_mcp(fault):
        return False
    if not fault.acts_at(Site.call):
        return True
    return any(c in ROUTE_COMPONENTS for c in fault.affected_components)


def needs_mcp(fault: FaultConfig) -> bool:
    """Whether ``fault`` targets MCP components (``mcp.tool.search_docs``, ``mcp.*``) or
    acts on MCP requests only (``mcp_tool_error``...): the ``mcp`` client sessions then go
    through aumai-chaos for the test."""
    from aumai_chaos.faults import Site

    if fault.sites == frozenset({Site.mcp}):
        return True
    return any(c.startswith("mcp.") for c in fault.affected_components)


class McpScope:
    """``aumai_chaos.mcp.instrument()`` for one test, undone after it unless the application
    had instrumented already."""

    __slots__ = ("_owned",)

    def __init__(self) -> None:
        from aumai_chaos import mcp

        self._owned = not mcp.is_instrumented()
        mcp.instrument()

    def off(self) -> None:
        if self._owned:
            self._owned = False
            from aumai_chaos import mcp

            mcp.uninstrument()


class TransportScope:
    """``instrument()`` for one test; :meth:`off` undoes exactly what :meth:`on` did."""

    __slots__ = ("_active", "_owned")

    def __init__(self) -> None:
        self._active = False
        #: Whether this test turned the transport on (then it turns it off). When the
        #: application had already instrumented, it stays instrumented after the test.
        self._owned = False

    def on(self, routes: Mapping[str, Any] | None = None) -> None:
        transport = _module()
        if not self._active:
            self._owned = not transport.is_instrumented()
        if routes or not transport.is_instrumented():
            transport.instrument(routes=dict(routes) if routes else None)
        self._active = True

    def off(self) -> None:
        if self._active:
            self._active = False
            if self._owned:
                _module().uninstrument()


def _module() -> Any:
    try:
        import aumai_chaos.transport as transport
    except ImportError as exc:  # pragma: no cover - neither httpx nor httpx2 is installed
        raise RuntimeError(f"chaos on an HTTP route needs httpx or httpx2: {exc}") from exc
    return transport

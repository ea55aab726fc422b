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

__all__ = ["ROUTE_COMPONENTS", "TransportScope", "needs_transport"]

#: The built-in provider routes of ``aumai_chaos.transport``.
ROUTE_COMPONENTS = frozenset(
    {"openai.chat.completions", "openai.responses", "openai.embeddings", "anthropic.messages"}
)


def needs_transport(fault: FaultConfig) -> bool:
    """Whether ``fault`` can only take effect through the HTTP transport."""
    from aumai_chaos.faults import Site

    if not fault.acts_at(Site.call):
        return True
    return any(c in ROUTE_COMPONENTS for c in fault.affected_components)


class TransportScope:
    """``instrument()`` for one test; :meth:`off` undoes exactly what :meth:`on` did."""

    __slots__ = ("_active",)

    def __init__(self) -> None:
        self._active = False

    def on(self, routes: Mapping[str, Any] | None = None) -> None:
        transport = _module()
        if routes:
            transport.instrument(routes=dict(routes))
        elif not self._active:
            transport.instrument()
        self._active = True

    def off(self) -> None:
        if self._active:
            self._active = False
            _module().uninstrument()


def _module() -> Any:
    try:
        import aumai_chaos.transport as transport
    except ImportError as exc:  # pragma: no cover - the transport ships with the package
        raise RuntimeError(
            "chaos on an HTTP route needs aumai_chaos.transport (pip install 'aumai-chaos[http]')"
            f": {exc}"
        ) from exc
    return transport

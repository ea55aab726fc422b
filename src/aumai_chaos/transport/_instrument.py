"""``instrument()`` / ``uninstrument()``: every httpx and httpx2 client goes through aumai-chaos.

With wrapt, as OpenTelemetry's ``HTTPXClientInstrumentor`` does, ``HTTPTransport.handle_request``
and ``AsyncHTTPTransport.handle_async_request`` of each installed library are wrapped, so the
clients that the SDKs build for themselves are covered too, with no change to the agent's code.

Idle cost: the wrappers carry wrapt's ``enabled=`` gate, the engine's ``state.routing`` flag
read in C (``_engine.patches``); while no experiment runs, wrapt calls the original method
without entering our wrapper. While one runs, each request is named by its route and gets the
experiment's faults for that component (the registry creates the component's slot on first
use), inside a component-call span.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

from opentelemetry.metrics import MeterProvider
from opentelemetry.trace import TracerProvider

from aumai_chaos._engine.patches import Patches
from aumai_chaos.propagation import add_to_request, outgoing
from aumai_chaos.transport._clients import importable
from aumai_chaos.transport._transport import HANDLED, Chaos, handle_async, handle_sync, layered
from aumai_chaos.transport.routes import Pattern

__all__ = ["instrument", "is_instrumented", "uninstrument"]


class _Instrumentation:
    __slots__ = ("chaos", "lock", "patches")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        #: What the wrappers do; None after uninstrument().
        self.chaos: Chaos | None = None
        self.patches = Patches()


_state = _Instrumentation()


def _wrapper(handle: Callable[[Chaos, Any, Any], Any]) -> Callable[..., Any]:
    """The wrapt wrapper of a transport's send method: ``handle`` is ``handle_sync`` for
    ``handle_request``, ``handle_async`` for ``handle_async_request`` (which returns the
    awaitable the client awaits)."""

    def wrapper(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        chaos = _state.chaos
        request = args[0] if args else kwargs.get("request")
        if chaos is None or request is None or HANDLED in request.extensions:
            return wrapped(*args, **kwargs)
        if outgoing.blocks:
            _carry_baggage(request)
        return handle(chaos, request, wrapped)

    return wrapper


_sync_wrapper = _wrapper(handle_sync)
_async_wrapper = _wrapper(handle_async)


def _carry_baggage(request: Any) -> None:
    """A baggage-scoped block is running: a request that carries no ``baggage`` header gets the
    current context's (by the configured propagator), so the services it calls see the
    experiment. Never raises into the request."""
    try:
        add_to_request(request.headers)
    except Exception:
        return


def instrument(
    *,
    routes: Mapping[str, str | Pattern] | None = None,
    tracer_provider: TracerProvider | None = None,
    meter_provider: MeterProvider | None = None,
) -> None:
    """Send every request of every httpx and httpx2 client through aumai-chaos.

    Requests are components named by their route (``openai.chat.completions``,
    ``anthropic.messages``..., the host otherwise, or a name of ``routes``), which experiments
    target like any other component. Idempotent: a second call patches nothing more and only
    replaces ``routes`` and the providers. A bad route raises
    :class:`~aumai_chaos.ConfigError` and changes nothing.
    """
    chaos = Chaos(routes=routes, tracer_provider=tracer_provider, meter_provider=meter_provider)
    with _state.lock:
        _state.chaos = chaos
        layered.on = True
        if _state.patches:
            return
        for lib in importable():
            _state.patches.wrap(lib.HTTPTransport, "handle_request", _sync_wrapper)
            _state.patches.wrap(lib.AsyncHTTPTransport, "handle_async_request", _async_wrapper)


def uninstrument() -> None:
    """Undo :func:`instrument`: restore every patched method. Idempotent."""
    with _state.lock:
        _state.chaos = None
        layered.on = False
        _state.patches.undo()


def is_instrumented() -> bool:
    """Whether :func:`instrument` is in effect."""
    return _state.chaos is not None

"""``instrument()`` / ``uninstrument()``: every httpx and httpx2 client goes through aumai-chaos.

With wrapt, as OpenTelemetry's ``HTTPXClientInstrumentor`` does, ``HTTPTransport.handle_request``
and ``AsyncHTTPTransport.handle_async_request`` of each installed library are wrapped, so the
clients that the SDKs build for themselves are covered too, with no change to the agent's code.

Idle cost: the wrappers carry wrapt's ``enabled=`` gate, the engine's ``state.routing`` flag
read in C; while no experiment runs (or the kill switch is on), wrapt calls the original method
without entering our wrapper. While one runs, each request is named by its route and gets the
experiment's faults for that component (the registry creates the component's slot on first
use), inside a component-call span.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

import wrapt
from opentelemetry.metrics import MeterProvider
from opentelemetry.trace import TracerProvider

from aumai_chaos._engine.registry import state
from aumai_chaos.propagation import add_to_request, outgoing
from aumai_chaos.transport._clients import importable
from aumai_chaos.transport._transport import HANDLED, Chaos, handle_async, handle_sync, layered
from aumai_chaos.transport.routes import Pattern

__all__ = ["instrument", "is_instrumented", "uninstrument"]


class _Instrumentation:
    __slots__ = ("chaos", "lock", "patched")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        #: What the wrappers do; None after uninstrument().
        self.chaos: Chaos | None = None
        #: (class, attribute, original, our wrapper)
        self.patched: list[tuple[type, str, Any, Any]] = []


_state = _Instrumentation()
#: wrapt's ``enabled=`` gate: ``state.routing``, true while an experiment routes anything and
#: injection is on. ``partial(getattr, ...)`` is all C: no Python frame on the idle path.
_gate: Callable[[], Any] = partial(getattr, state, "routing")


def _sync_wrapper(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
    chaos = _state.chaos
    request = args[0] if args else kwargs.get("request")
    if chaos is None or request is None or HANDLED in request.extensions:
        return wrapped(*args, **kwargs)
    if outgoing.blocks:
        _carry_baggage(request)
    return handle_sync(chaos, request, wrapped)


def _async_wrapper(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
    chaos = _state.chaos
    request = args[0] if args else kwargs.get("request")
    if chaos is None or request is None or HANDLED in request.extensions:
        return wrapped(*args, **kwargs)
    if outgoing.blocks:
        _carry_baggage(request)
    return handle_async(chaos, request, wrapped)


def _carry_baggage(request: Any) -> None:
    """A baggage-scoped block is running: a request that carries no ``baggage`` header gets the
    current context's (by the configured propagator), so the services it calls see the
    experiment. Never raises into the request."""
    try:
        add_to_request(request.headers)
    except Exception:
        return


def _ours(obj: Any) -> bool:
    return getattr(obj, "_self_wrapper", None) in (_sync_wrapper, _async_wrapper)


def _patch(cls: type, name: str, wrapper: Any) -> None:
    """Wrap ``cls.name`` innermost: under any wrapt wrapper already there (e.g.
    OpenTelemetry's httpx instrumentation), so that a fault acts where the network would, inside
    the HTTP client span. An instrumentation applied later wraps us, which is just as good."""
    holder: Any = None
    target = cls.__dict__[name]
    while isinstance(target, wrapt.FunctionWrapper):
        if _ours(target):
            return  # already ours
        holder, target = target, target.__wrapped__
    proxy = wrapt.FunctionWrapper(target, wrapper, enabled=_gate)
    if holder is None:
        setattr(cls, name, proxy)
    else:
        holder.__wrapped__ = proxy
    _state.patched.append((cls, name, target, proxy))


def _unpatch(cls: type, name: str, original: Any, proxy: Any) -> None:
    """Take ``proxy`` out of the chain of wrappers on ``cls.name``, wherever it is now."""
    current = cls.__dict__.get(name)
    if current is proxy:
        setattr(cls, name, original)
        return
    while isinstance(current, wrapt.FunctionWrapper):
        inner = current.__wrapped__
        if inner is proxy:
            current.__wrapped__ = original
            return
        current = inner
    # not found: someone else already removed it


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
        if _state.patched:
            return
        for lib in importable():
            _patch(lib.HTTPTransport, "handle_request", _sync_wrapper)
            _patch(lib.AsyncHTTPTransport, "handle_async_request", _async_wrapper)


def uninstrument() -> None:
    """Undo :func:`instrument`: restore every patched method. Idempotent."""
    with _state.lock:
        _state.chaos = None
        layered.on = False
        for cls, name, original, proxy in reversed(_state.patched):
            _unpatch(cls, name, original, proxy)
        _state.patched.clear()


def is_instrumented() -> bool:
    """Whether :func:`instrument` is in effect."""
    return _state.chaos is not None

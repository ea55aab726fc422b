"""``ChaosTransport`` and ``AsyncChaosTransport``: wrap an inner transport, inject faults.

The shape of OpenTelemetry's httpx instrumentation (``SyncOpenTelemetryTransport`` wraps an
inner transport; the sync and async classes share pure helpers): :class:`Chaos` decides what
happens to a request, ``_request_faults`` carries it out. Works with ``httpx`` and ``httpx2``
alike: the library is that of the inner transport, of ``library=``, or, with neither, of the
first request (its default ``HTTPTransport`` is built then).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from fnmatch import fnmatchcase
from typing import Any, Self, cast

from opentelemetry.metrics import MeterProvider
from opentelemetry.trace import TracerProvider

from aumai_chaos._engine.act import CallSpan, CallTimer
from aumai_chaos._engine.calls import FaultSet, decide
from aumai_chaos._engine.managed import Managed
from aumai_chaos._engine.registry import state
from aumai_chaos.errors import ConfigError
from aumai_chaos.faults import FaultConfig, FaultType, Site
from aumai_chaos.transport._clients import Library, library, library_of
from aumai_chaos.transport._request_faults import Exchange, run_async, run_sync
from aumai_chaos.transport.routes import Pattern, Route, Router

__all__ = [
    "HANDLED",
    "AsyncChaosTransport",
    "Chaos",
    "ChaosTransport",
    "check_transport_fault",
    "handle_async",
    "handle_sync",
    "layered",
]

#: Set in ``request.extensions`` while a chaos transport sends a request to its inner one, so
#: that ``instrument()``'s patch under it does not apply the experiments a second time.
HANDLED = "aumai_chaos.handled"


class _Layered:
    """Whether ``instrument()`` is active (then a chaos transport marks what it handles)."""

    __slots__ = ("on",)

    def __init__(self) -> None:
        self.on = False


layered = _Layered()


def check_transport_fault(fault: Any) -> FaultConfig:
    """``fault`` validated for a transport, or a one-line :class:`ConfigError` saying why not."""
    if not isinstance(fault, FaultConfig):
        fault = FaultConfig.model_validate(fault)
    checked = cast(FaultConfig, fault)
    kind = checked.fault_type
    if Site.transport not in checked.sites:
        raise ConfigError(f"{kind.value} cannot act on a transport: {checked.site_reason}")
    if kind is FaultType.error:
        code = getattr(checked, "error_code", None)
        if code is not None and not 100 <= code <= 599:
            raise ConfigError(
                f"error fault: error_code {code} is not an HTTP status (100-599) on a transport"
            )
    return checked


class Chaos:
    """What a transport (or ``instrument()``) does to each request: its routes, its own faults
    and the running experiments' faults on the request's component (the engine decides)."""

    __slots__ = ("component", "own", "router", "scoped")

    def __init__(
        self,
        *,
        component: str | None = None,
        faults: Iterable[FaultConfig] = (),
        seed: int | None = None,
        routes: Mapping[str, str | Pattern] | None = None,
        tracer_provider: TracerProvider | None = None,
        meter_provider: MeterProvider | None = None,
        where: str = "ChaosTransport",
    ) -> None:
        checked = [check_transport_fault(f) for f in faults]
        self.component = component.strip() if component is not None else None
        if self.component == "":
            raise ConfigError("component must not be empty")
        self.router = Router(routes)
        self.own = (
            FaultSet(
                checked,
                seed=seed,
                tracer_provider=tracer_provider,
                meter_provider=meter_provider,
                where=where,
            )
            if checked
            else None
        )
        #: Whether an own fault is limited to some components (``affected_components``).
        self.scoped = any(f.affected_components for f in checked)

    def prepare(
        self, request: Any, route: Route | None = None
    ) -> tuple[Exchange, CallSpan | CallTimer | None] | None:
        """Decide what happens to ``request``; None when nothing fires and nothing observes.

        ``route``: the request's route when the caller already knows it (the proxy's request
        classifier names an MCP tool call from its body); by default the router's."""
        if self.own is None and not state.routing:
            return None
        if route is None:
            route = self.router.resolve_request(request)
        name = self.component or route.name
        decision = decide(name, self.own, site=Site.transport)
        if decision is None:
            return None
        fired = decision.firings
        if self.scoped:
            kept = []
            for firing in fired:
                if _in_scope(firing.plan.fault, firing.plan.experiment_id, name):
                    kept.append(firing)
                else:
                    firing.skip()
            fired = kept
        ex = Exchange(request, library_of(request), route, name, fired, decision.start)
        return ex, decision.call


def _in_scope(fault: FaultConfig, experiment_id: str | None, name: str) -> bool:
    # An experiment's faults are routed by the registry; own faults by affected_components.
    scope = fault.affected_components
    if experiment_id is not None or not scope or name in scope:
        return True
    return any(fnmatchcase(name, pattern) for pattern in scope)  # globs: openai.*


def end_call(call: CallSpan | CallTimer, response: Any) -> None:
    """End a component call on a response: a status of 400 or more is a failed call, with
    ``error.type`` the status (OpenTelemetry's HTTP convention), on the span and in the
    experiments' records alike."""
    status = response.status_code
    if status < 400:
        call.exit(None)
    else:
        call.fail(str(status), f"HTTP {status}")


class _InCall(Managed):
    """A request carried out as a component call, for the sync and async handlers alike: the
    call is entered on entry and ended on exit, by the exception that escapes or else by
    :attr:`response` (:func:`end_call`)."""

    __slots__ = ("call", "response")

    def __init__(self, call: CallSpan | CallTimer) -> None:
        self.call = call
        self.response: Any = None

    def _enter(self) -> None:
        self.call.enter()

    def _exit(self, exc_type: type[BaseException] | None, exc: BaseException | None) -> None:
        if exc is None:
            end_call(self.call, self.response)
        else:
            self.call.exit(exc)


def handle_sync(chaos: Chaos, request: Any, send: Any) -> Any:
    prepared = chaos.prepare(request)
    if prepared is None:
        return send(request)
    ex, call = prepared
    if call is None:
        return run_sync(ex, send)
    with _InCall(call) as in_call:
        in_call.response = run_sync(ex, send)
    return in_call.response


async def handle_async(chaos: Chaos, request: Any, send: Any, route: Route | None = None) -> Any:
    prepared = chaos.prepare(request, route)
    if prepared is None:
        return await send(request)
    ex, call = prepared
    if call is None:
        return await run_async(ex, send)
    with _InCall(call) as in_call:
        in_call.response = await run_async(ex, send)
    return in_call.response


class _Base:
    _async = False

    def __init__(
        self,
        inner: Any = None,
        *,
        component: str | None = None,
        faults: Iterable[FaultConfig] = (),
        seed: int | None = None,
        routes: Mapping[str, str | Pattern] | None = None,
        library: str | None = None,
        tracer_provider: TracerProvider | None = None,
        meter_provider: MeterProvider | None = None,
    ) -> None:
        self._chaos = Chaos(
            component=component,
            faults=faults,
            seed=seed,
            routes=routes,
            tracer_provider=tracer_provider,
            meter_provider=meter_provider,
        )
        self._lock = threading.Lock()
        self._inner: Any = inner
        self._library: Library | None = None
        if inner is not None:
            self._library = library_of(inner)
            if library is not None and library != self._library.name:
                raise ConfigError(f"library={library!r} but inner is {self._library.name}")
        elif library is not None:
            self._library = _library(library)
            self._inner = self._default(self._library)

    @classmethod
    def _default(cls, lib: Library) -> Any:
        return lib.AsyncHTTPTransport() if cls._async else lib.HTTPTransport()

    @property
    def inner(self) -> Any:
        """The wrapped transport (None until the first request, when built lazily)."""
        return self._inner

    def _inner_for(self, request: Any) -> Any:
        inner = self._inner
        if inner is None:
            with self._lock:
                if self._inner is None:
                    self._library = library_of(request)
                    self._inner = self._default(self._library)
                inner = self._inner
        return inner

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._inner!r}, component={self._chaos.component!r})"


def _library(name: str) -> Library:
    try:
        return library(name)
    except ImportError as exc:
        raise ConfigError(f"library={name!r} is not installed") from exc
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


class ChaosTransport(_Base):
    """A sync transport that injects faults into the requests of an httpx or httpx2 client.

    ``ChaosTransport(inner=None, *, component=None, faults=(), seed=None, routes=None,
    library=None, tracer_provider=None, meter_provider=None)``: ``faults`` act on every request
    (a fault's ``affected_components`` limits it to those routes), drawn from ``seed``;
    ``component`` names every request (default: its route), and running experiments' faults
    on that component act too. ``inner=None`` wraps the library's default ``HTTPTransport``.
    """

    def handle_request(self, request: Any) -> Any:
        send = self._inner_for(request).handle_request
        if not layered.on:
            return handle_sync(self._chaos, request, send)
        extensions = request.extensions
        extensions[HANDLED] = True
        try:
            return handle_sync(self._chaos, request, send)
        finally:
            extensions.pop(HANDLED, None)

    def close(self) -> None:
        if self._inner is not None:
            self._inner.close()

    def __enter__(self) -> Self:
        if self._inner is not None:
            self._inner.__enter__()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._inner is not None:
            self._inner.__exit__(*exc_info)


class AsyncChaosTransport(_Base):
    """The async twin of :class:`ChaosTransport` (waits never block the event loop)."""

    _async = True

    async def handle_async_request(self, request: Any) -> Any:
        send = self._inner_for(request).handle_async_request
        if not layered.on:
            return await handle_async(self._chaos, request, send)
        extensions = request.extensions
        extensions[HANDLED] = True
        try:
            return await handle_async(self._chaos, request, send)
        finally:
            extensions.pop(HANDLED, None)

    async def aclose(self) -> None:
        if self._inner is not None:
            await self._inner.aclose()

    async def __aenter__(self) -> Self:
        if self._inner is not None:
            await self._inner.__aenter__()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._inner is not None:
            await self._inner.__aexit__(*exc_info)

"""``@chaos_monkey``, ``@resilience_test`` and ``@chaos_target``.

All three are wrapt ``FunctionWrapper`` proxies, so the decorated callable keeps its name,
docstring, signature and ``inspect.iscoroutinefunction``, works on functions, methods,
classmethods and staticmethods, and passes return values and its own exceptions through untouched.

The hot path is wrapt's ``enabled=`` gate, which wrapt evaluates in C before entering our Python
wrapper. The gate makes the whole firing decision (a draw for the decorator's own faults, then the
component's experiment slot), so a call on which nothing fires never runs our wrapper at all. When
the gate fires a decorator's own fault it leaves a flag in a thread-local for the wrapper, which
wrapt calls next on the same thread with no user code in between.
"""

from __future__ import annotations

import inspect
import random
import threading
from collections.abc import AsyncGenerator, Callable, Generator, Sequence
from typing import Any, ParamSpec, TypeVar, overload

import wrapt
from opentelemetry.metrics import MeterProvider
from opentelemetry.trace import TracerProvider

from aumai_chaos._engine.act import CallSpan, fire_async, fire_sync
from aumai_chaos._engine.plan import Draw, FaultPlan, OwnFaults, order_fired
from aumai_chaos._engine.registry import ComponentSlot, slot_for, state
from aumai_chaos._engine.seeding import default_draw
from aumai_chaos._engine.telemetry import instruments_for
from aumai_chaos.faults import FaultConfig, FaultType

__all__ = ["chaos_monkey", "chaos_target", "resilience_test"]

P = ParamSpec("P")
R = TypeVar("R")
Decorator = Callable[[Callable[P, R]], Callable[P, R]]

_tls = threading.local()


def _take_own_flag() -> bool:
    return bool(_tls.__dict__.pop("own", False))


def _target_function(wrapped: Any) -> Any:
    if isinstance(wrapped, classmethod | staticmethod):
        return wrapped.__func__
    return wrapped


def _default_component(wrapped: Any) -> str:
    fn = _target_function(wrapped)
    return str(getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or repr(fn))


def _make_gate(own: OwnFaults | None, slot: ComponentSlot) -> Callable[[], Any]:
    slot_len = slot.__len__
    if own is None or own.probability <= 0.0:
        return slot_len
    draw, probability, tls, st = own.draw, own.probability, _tls, state

    def gate() -> Any:
        if draw() < probability and st.enabled:
            tls.own = True
            return True
        return slot_len()

    return gate


class _Call:
    """What fires on one call, decided before the call runs."""

    __slots__ = ("fired", "slot_state")

    def __init__(self, own: OwnFaults | None, slot: ComponentSlot) -> None:
        fired: list[FaultPlan] = own.choose() if (own is not None and _take_own_flag()) else []
        self.slot_state = current = slot.current()
        if current is not None:
            fired.extend(p for p in current.plans if p.fires())
            fired = order_fired(fired)
        elif len(fired) > 1:
            fired = order_fired(fired)
        self.fired = fired

    def span(self) -> CallSpan | None:
        st = self.slot_state
        if st is None:
            return None
        return CallSpan(st.instruments.tracer, st.name, st.span_attrs)


def _sync_wrapper(own: OwnFaults | None, slot: ComponentSlot) -> Any:
    def wrapper(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        call = _Call(own, slot)
        span = call.span()
        if span is None:
            fire_sync(call.fired)
            return wrapped(*args, **kwargs)
        span.enter()
        try:
            fire_sync(call.fired)
            result = wrapped(*args, **kwargs)
        except BaseException as exc:
            span.exit(exc)
            raise
        span.exit(None)
        return result

    return wrapper


def _async_wrapper(own: OwnFaults | None, slot: ComponentSlot) -> Any:
    def wrapper(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        call = _Call(own, slot)

        async def run() -> Any:
            span = call.span()
            if span is None:
                await fire_async(call.fired)
                return await wrapped(*args, **kwargs)
            span.enter()
            try:
                await fire_async(call.fired)
                result = await wrapped(*args, **kwargs)
            except BaseException as exc:
                span.exit(exc)
                raise
            span.exit(None)
            return result

        return run()

    return wrapper


def _gen_wrapper(own: OwnFaults | None, slot: ComponentSlot) -> Any:
    def wrapper(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        call = _Call(own, slot)

        def run() -> Generator[Any, Any, Any]:
            span = call.span()
            if span is None:
                fire_sync(call.fired)
                return (yield from wrapped(*args, **kwargs))
            try:
                span.enter()
                try:
                    fire_sync(call.fired)
                    gen = wrapped(*args, **kwargs)
                finally:
                    # Never leave our span current across a yield: the consumer's code runs there.
                    span.detach()
                result = yield from gen
            except BaseException as exc:
                span.exit(exc)
                raise
            span.exit(None)
            return result

        return run()

    return wrapper


def _asyncgen_wrapper(own: OwnFaults | None, slot: ComponentSlot) -> Any:
    def wrapper(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        call = _Call(own, slot)

        async def run() -> AsyncGenerator[Any, Any]:
            span = call.span()
            if span is not None:
                span.enter()
            try:
                try:
                    await fire_async(call.fired)
                finally:
                    if span is not None:
                        span.detach()
                inner = wrapped(*args, **kwargs)
                try:
                    # Forward asend/athrow/aclose to the wrapped generator.
                    sent: Any = None
                    thrown: BaseException | None = None
                    while True:
                        try:
                            if thrown is None:
                                value = await inner.asend(sent)
                            else:
                                value = await inner.athrow(thrown)
                        except StopAsyncIteration:
                            break
                        thrown = None
                        try:
                            sent = yield value
                        except GeneratorExit:
                            raise
                        except BaseException as exc:
                            thrown = exc
                finally:
                    await inner.aclose()
            except BaseException as exc:
                if span is not None:
                    span.exit(exc)
                raise
            if span is not None:
                span.exit(None)

        return run()

    return wrapper


def _wrap(wrapped: Any, own: OwnFaults | None, component: str | None) -> Any:
    slot = slot_for(component or _default_component(wrapped))
    target = _target_function(wrapped)
    if inspect.isasyncgenfunction(target):
        factory = _asyncgen_wrapper
    elif inspect.iscoroutinefunction(target):
        factory = _async_wrapper
    elif inspect.isgeneratorfunction(target):
        factory = _gen_wrapper
    else:
        factory = _sync_wrapper
    return wrapt.FunctionWrapper(wrapped, factory(own, slot), enabled=_make_gate(own, slot))


def _own_faults(
    faults: Sequence[FaultConfig],
    component: str | None,
    rng: random.Random | None,
    tracer_provider: TracerProvider | None,
    meter_provider: MeterProvider | None,
    wrapped: Any,
) -> OwnFaults:
    draw: Draw = rng.random if rng is not None else default_draw()
    instruments = instruments_for(tracer_provider, meter_provider)
    name = component or _default_component(wrapped)
    plans = [FaultPlan(f, draw=draw, instruments=instruments, component=name) for f in faults]
    return OwnFaults(plans, draw)


def resilience_test(
    *,
    faults: Sequence[FaultConfig],
    component: str | None = None,
    rng: random.Random | None = None,
    tracer_provider: TracerProvider | None = None,
    meter_provider: MeterProvider | None = None,
) -> Decorator[P, R]:
    """Subject a callable to several faults at once.

    Each fault is drawn independently on every call; the delays that fire run first, then at
    most one raising fault (the first declared). ``component`` (default: the function's
    qualified name) also marks the callable as a target for experiments, like
    :func:`chaos_target`. Draws come from the module-level ``random`` unless ``rng`` is given,
    or from the private stream of :func:`aumai_chaos.seed` once that is set.
    """
    configs = [f if isinstance(f, FaultConfig) else FaultConfig.model_validate(f) for f in faults]

    def decorate(wrapped: Callable[P, R]) -> Callable[P, R]:
        own = _own_faults(configs, component, rng, tracer_provider, meter_provider, wrapped)
        return _wrap(wrapped, own, component)  # type: ignore[no-any-return]

    return decorate


def chaos_monkey(
    *,
    fault_type: FaultType | str,
    probability: float = 1.0,
    duration_ms: int | None = None,
    error_code: int | None = None,
    error_message: str | None = None,
    component: str | None = None,
    rng: random.Random | None = None,
    tracer_provider: TracerProvider | None = None,
    meter_provider: MeterProvider | None = None,
) -> Decorator[P, R]:
    """Inject one fault into a callable with the given probability on every call.

    The parameters are those of :class:`~aumai_chaos.FaultConfig` and are validated the same
    way, when the decorator is built. ``component`` (default: the function's qualified name)
    also marks the callable as a target for experiments.
    """
    fault = FaultConfig(
        fault_type=fault_type,  # a plain string such as "latency" is validated too
        probability=probability,
        duration_ms=duration_ms,
        error_code=error_code,
        error_message=error_message,
    )
    return resilience_test(
        faults=[fault],
        component=component,
        rng=rng,
        tracer_provider=tracer_provider,
        meter_provider=meter_provider,
    )


@overload
def chaos_target(component: Callable[P, R], /) -> Callable[P, R]: ...
@overload
def chaos_target(component: str | None = None, /) -> Decorator[P, R]: ...
def chaos_target(component: Any = None, /) -> Any:
    """Mark a callable as the component ``component`` for experiments.

    Outside a running experiment that affects the component, a call is a pure passthrough that
    costs about as much as a ``functools.wraps`` wrapper. While one runs, each call runs inside a
    component-call span and gets the experiment's faults. ``@chaos_target`` with no name uses the
    function's qualified name.
    """
    if callable(component) or isinstance(component, classmethod | staticmethod):
        return _wrap(component, None, None)

    def decorate(wrapped: Callable[P, R]) -> Callable[P, R]:
        return _wrap(wrapped, None, component)  # type: ignore[no-any-return]

    return decorate

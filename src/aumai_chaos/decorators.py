"""``@chaos_monkey``, ``@resilience_test`` and ``@chaos_target``.

All three are wrapt ``FunctionWrapper`` proxies, so the decorated callable keeps its name,
docstring, signature and ``inspect.iscoroutinefunction``, works on functions, methods,
classmethods and staticmethods, and passes return values and its own exceptions through untouched.

The hot path is wrapt's ``enabled=`` gate, which wrapt evaluates in C before entering our Python
wrapper. The gate (the engine's one decider, ``aumai_chaos._engine.calls.gate``) draws the
decorator's own faults and checks the component's experiment slot, so a call on which nothing
fires and no experiment watches never runs our wrapper at all. What the gate drew is handed to
``decide_call`` in the wrapper, which adds the experiments' faults.

What a fault does is its plan's action: ``before`` faults wait and raise before the call,
``after`` faults rewrite its result (a coroutine's too), ``during`` faults act at item N of a
generator or async generator (``aumai_chaos._engine.streams``). A fault that fits none of the
callable's kinds is skipped for it, and faults that only act on an HTTP transport are refused
when the decorator is built.
"""

from __future__ import annotations

import inspect
import random
from collections.abc import Callable, Sequence
from time import perf_counter
from typing import Any, ParamSpec, Protocol, TypeVar, overload

import wrapt
from opentelemetry.metrics import MeterProvider
from opentelemetry.trace import TracerProvider

from aumai_chaos._engine.act import Firing, fire_async, fire_sync
from aumai_chaos._engine.calls import decide_call, gate
from aumai_chaos._engine.plan import Draw, FaultPlan, OwnFaults, refuse_at
from aumai_chaos._engine.registry import ComponentSlot, SlotState, slot_for
from aumai_chaos._engine.seeding import default_draw
from aumai_chaos._engine.steps import (
    apply_after,
    call_for,
    drive_async,
    drive_gen,
    drive_sync,
    split,
    steps,
)
from aumai_chaos._engine.streams import drive_async as drive_async_gen
from aumai_chaos._engine.telemetry import instruments_for, qualified_name
from aumai_chaos.faults import FaultConfig, FaultType, Site, fault_class

__all__ = ["chaos_monkey", "chaos_target", "resilience_test"]

P = ParamSpec("P")
R = TypeVar("R")


class Decorator(Protocol):
    """What a decorator factory returns: a decorator that keeps the callable's signature.

    Generic in its ``__call__``, so that ``@chaos_target("llm")`` types the decorated function
    as itself (an alias ``Callable[[Callable[P, R]], Callable[P, R]]`` with ``P`` and ``R``
    bound to nothing leaves type checkers with ``Never``).
    """

    def __call__(self, wrapped: Callable[P, R], /) -> Callable[P, R]: ...


def _target_function(wrapped: Any) -> Any:
    if isinstance(wrapped, classmethod | staticmethod):
        return wrapped.__func__
    return wrapped


def _default_component(wrapped: Any) -> str:
    fn = _target_function(wrapped)
    return str(getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or repr(fn))


def _sync_wrapper(own: OwnFaults | None, slot: ComponentSlot) -> Any:
    def wrapper(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        # Delays are timed from here: our bookkeeping before and after them counts within.
        start = perf_counter()
        fired, current = decide_call(own, slot)
        if current is None:
            if not fired:
                return wrapped(*args, **kwargs)
            before, after = split(fired, False)
            fire_sync(before, start)
            result = wrapped(*args, **kwargs)
            return apply_after(after, result) if after else result
        if not fired and current.quiet:  # watched, nothing fires: timed, no span
            try:
                result = wrapped(*args, **kwargs)
            except BaseException as exc:
                _failed(current, start, exc)
                raise
            current.record(start, perf_counter(), None, None, False)
            return result
        if not fired:  # watched with a span (trace_calls: all), nothing fires: no steps
            call = current.call(False)
            call.enter()
            try:
                result = wrapped(*args, **kwargs)
            except BaseException as exc:
                call.exit(exc)
                raise
            call.exit(None)
            return result
        before, after = split(fired, False)
        return drive_sync(steps(before, after, current, fired, False), wrapped, args, kwargs, start)

    return wrapper


async def _quiet(wrapped: Any, args: Any, kwargs: Any, current: SlotState) -> Any:
    """Run a watched coroutine call on which nothing fires, timed without a span from when
    it is first awaited (as a component-call span would be)."""
    start = perf_counter()
    try:
        result = await wrapped(*args, **kwargs)
    except BaseException as exc:
        _failed(current, start, exc)
        raise
    current.record(start, perf_counter(), None, None, False)
    return result


def _failed(current: SlotState, start: float, exc: BaseException) -> None:
    """Record a watched call without a span that raised ``exc``."""
    current.record(start, perf_counter(), qualified_name(type(exc)), str(exc), False)


async def _traced(wrapped: Any, args: Any, kwargs: Any, current: SlotState) -> Any:
    """A watched coroutine call with a component-call span on which nothing fires, the span
    made when it is first awaited."""
    call = current.call(False)
    call.enter()
    try:
        result = await wrapped(*args, **kwargs)
    except BaseException as exc:
        call.exit(exc)
        raise
    call.exit(None)
    return result


async def _fire_then_call(
    wrapped: Any, args: Any, kwargs: Any, start: float, before: list[Firing], after: list[Firing]
) -> Any:
    """A coroutine call on which the decorator's own faults fire, outside experiments."""
    await fire_async(before, start)
    result = await wrapped(*args, **kwargs)
    return apply_after(after, result) if after else result


async def _run_async(
    wrapped: Any,
    args: Any,
    kwargs: Any,
    start: float,
    parts: tuple[list[Firing], list[Firing]],
    current: SlotState | None,
    fired: list[Firing],
) -> Any:
    return await drive_async(steps(*parts, current, fired, False), wrapped, args, kwargs, start)


def _async_wrapper(own: OwnFaults | None, slot: ComponentSlot) -> Any:
    def wrapper(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        start = perf_counter()
        fired, current = decide_call(own, slot)
        if current is not None and not fired and current.quiet:
            return _quiet(wrapped, args, kwargs, current)
        parts = split(fired, False) if fired else (fired, fired)
        if current is None:  # the decorator's own faults, no experiment: straight through
            return _fire_then_call(wrapped, args, kwargs, start, *parts)
        if not fired:  # watched with a span (trace_calls: all), nothing fires: no steps
            return _traced(wrapped, args, kwargs, current)
        return _run_async(wrapped, args, kwargs, start, parts, current, fired)

    return wrapper


def _gen_wrapper(own: OwnFaults | None, slot: ComponentSlot) -> Any:
    def wrapper(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        fired, current = decide_call(own, slot)
        before, during = split(fired, True)
        return drive_gen(steps(before, during, current, fired, True), wrapped, args, kwargs)

    return wrapper


def _asyncgen_wrapper(own: OwnFaults | None, slot: ComponentSlot) -> Any:
    def wrapper(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        fired, current = decide_call(own, slot)
        before, during = split(fired, True)
        return drive_async_gen(
            lambda: wrapped(*args, **kwargs), before, during, lambda: call_for(current, fired)
        )

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
    return wrapt.FunctionWrapper(wrapped, factory(own, slot), enabled=gate(own, slot))


def _own_faults(
    faults: Sequence[FaultConfig],
    component: str | None,
    seed: int | None,
    rng: random.Random | None,
    tracer_provider: TracerProvider | None,
    meter_provider: MeterProvider | None,
    wrapped: Any,
) -> OwnFaults:
    # Without a seed or rng: the module-level random, so the guide's random.seed() replays,
    # or the private stream of aumai_chaos.seed() once that is set.
    draw: Draw = rng.random if rng is not None else default_draw()
    instruments = instruments_for(tracer_provider, meter_provider)
    name = component or _default_component(wrapped)
    plans = [
        FaultPlan(f, draw=draw, instruments=instruments, component=name, position=i, seed=seed)
        for i, f in enumerate(faults)
    ]
    return OwnFaults(plans, draw)


def resilience_test(
    *,
    faults: Sequence[FaultConfig],
    component: str | None = None,
    seed: int | None = None,
    rng: random.Random | None = None,
    tracer_provider: TracerProvider | None = None,
    meter_provider: MeterProvider | None = None,
) -> Decorator:
    """Subject a callable to several faults at once.

    Each fault is decided independently on every call, by its ``probability`` and its position
    rules (``times``, ``after_calls``, ``every``); the delays that fire run first, then at
    most one raising fault (the first declared); ``after`` faults rewrite the result and
    ``during`` faults act inside a generator's stream. ``component`` (default: the function's
    qualified name) also marks the callable as a target for experiments, like
    :func:`chaos_target`. Draws come from the module-level ``random`` unless ``rng`` is given,
    or from the private stream of :func:`aumai_chaos.seed` once that is set; with ``seed`` the
    n-th call's faults are a pure function of the seed (docs/replay.md).

    A fault that cannot act on a Python call (an HTTP or model-output fault) is refused with a
    ``ValueError`` naming it and why.
    """
    if seed is not None and rng is not None:
        raise ValueError("give seed or rng, not both")
    configs = [f if isinstance(f, FaultConfig) else FaultConfig.model_validate(f) for f in faults]
    refuse_at(Site.call, configs, "@resilience_test")

    def decorate(wrapped: Callable[P, R]) -> Callable[P, R]:
        own = _own_faults(configs, component, seed, rng, tracer_provider, meter_provider, wrapped)
        return _wrap(wrapped, own, component)  # type: ignore[no-any-return]

    return decorate


def chaos_monkey(
    *,
    fault_type: FaultType | str,
    probability: float = 1.0,
    duration_ms: int | None = None,
    error_code: int | None = None,
    error_message: str | None = None,
    times: int | None = None,
    after_calls: int | None = None,
    every: int | None = None,
    after_chunks: int | None = None,
    component: str | None = None,
    seed: int | None = None,
    rng: random.Random | None = None,
    tracer_provider: TracerProvider | None = None,
    meter_provider: MeterProvider | None = None,
) -> Decorator:
    """Inject one fault into a callable with the given probability on every call.

    The parameters are those of :class:`~aumai_chaos.FaultConfig` and are validated the same
    way, when the decorator is built (a parameter left ``None`` is not passed, so each fault
    type takes only its own fields; for others, such as ``transform``, use
    :func:`resilience_test`).
    ``component`` (default: the function's qualified name) also marks the callable as a target
    for experiments; ``seed`` makes the selection replay (see :func:`resilience_test`).
    """
    try:
        cls = fault_class(fault_type)
    except (KeyError, ValueError):
        cls = None  # an unknown type: validation below names the allowed ones
    if cls is not None and Site.call not in cls.sites:
        raise ValueError(
            f"@chaos_monkey cannot inject a {cls.model_fields['fault_type'].default.value!r} "
            f"fault: {cls.site_reason}"
        )
    given = {
        "duration_ms": duration_ms,
        "error_code": error_code,
        "error_message": error_message,
        "times": times,
        "after_calls": after_calls,
        "every": every,
        "after_chunks": after_chunks,
    }
    fault = FaultConfig(
        fault_type=fault_type,  # a plain string such as "latency" is validated too
        probability=probability,
        **{k: v for k, v in given.items() if v is not None},
    )
    return resilience_test(
        faults=[fault],
        component=component,
        seed=seed,
        rng=rng,
        tracer_provider=tracer_provider,
        meter_provider=meter_provider,
    )


@overload
def chaos_target(component: Callable[P, R], /) -> Callable[P, R]: ...
@overload
def chaos_target(component: str | None = None, /) -> Decorator: ...
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

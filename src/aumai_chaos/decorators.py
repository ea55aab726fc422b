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
from collections.abc import Callable, Generator, Sequence
from time import perf_counter
from typing import Any, ParamSpec, Protocol, TypeVar, overload

import wrapt
from opentelemetry.metrics import MeterProvider
from opentelemetry.trace import TracerProvider

from aumai_chaos._engine.act import CallSpan, CallTimer, Firing, fire_async, fire_sync
from aumai_chaos._engine.calls import decide_call, gate
from aumai_chaos._engine.plan import Draw, FaultPlan, OwnFaults, refuse_at
from aumai_chaos._engine.registry import ComponentSlot, SlotState, slot_for
from aumai_chaos._engine.seeding import default_draw
from aumai_chaos._engine.streams import drive_async, stream_sync
from aumai_chaos._engine.telemetry import instruments_for, qualified_name
from aumai_chaos.faults import Action, FaultConfig, FaultType, Site, fault_class

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


def _call(current: SlotState | None, fired: list[Firing]) -> CallSpan | CallTimer | None:
    """The component-call span (or span-less timer), made when the call really starts: for
    a coroutine or a generator, when it is first awaited or iterated (one never run leaves
    no span open)."""
    return None if current is None else current.call(bool(fired))


def _split(fired: list[Firing], generator: bool) -> tuple[list[Firing], list[Firing]]:
    """(``before`` faults, the faults that act on the result or the stream); a fault that
    cannot act on this kind of callable is skipped (not fired, its ``times`` kept)."""
    before: list[Firing] = []
    later: list[Firing] = []
    fits = Action.during if generator else Action.after
    for firing in fired:
        action = firing.plan.action
        if action is Action.before:
            before.append(firing)
        elif action is fits:
            later.append(firing)
        else:
            firing.skip()
    return before, later


def _after(fired: list[Firing], result: Any) -> Any:
    """Apply ``after`` faults to a result, in order; one that cannot apply is skipped."""
    for firing in fired:
        applied, new = firing.plan.fault.apply_to_result(result)
        if not applied:
            firing.skip()
        elif firing.begin():
            result = new
            firing.end()
    return result


class _Fire:
    """A step: carry out ``before`` faults (delays timed from the call's start, leaving room for
    ``after`` seconds of bookkeeping still to come)."""

    __slots__ = ("after", "firings")

    def __init__(self, firings: list[Firing], after: float) -> None:
        self.firings = firings
        self.after = after


class _Stream:
    """A step (generators only): deliver the items of ``gen``, ``during`` faults acting at
    theirs; its outcome is the generator's return value."""

    __slots__ = ("during", "gen")

    def __init__(self, gen: Any, during: list[Firing]) -> None:
        self.gen = gen
        self.during = during


class _Done:
    """The last step: the call's result."""

    __slots__ = ("result",)

    def __init__(self, result: Any) -> None:
        self.result = result


class _Call:
    """A step: run the wrapped callable (its outcome: what it returned, awaited for a
    coroutine)."""


_CALL = _Call()
_Step = _Fire | _Call | _Stream | _Done


def _steps(
    before: list[Firing],
    later: list[Firing],
    current: SlotState | None,
    fired: list[Firing],
    generator: bool,
) -> Generator[_Step, Any, None]:
    """What a call on which a fault fires, or which has a component-call span, does, step by
    step (tenacity's pattern: this decides, a driver acts). A driver carries out each step it
    is given (sync, async or as a generator), sends back its outcome or throws in what it
    raised, until :class:`_Done`. The component-call span is made here, when the call really
    starts: for a coroutine or a generator, when it is first awaited or iterated."""
    call = _call(current, fired)
    if call is None:
        if before:
            yield _Fire(before, 0.0)
        result = yield _CALL
        if generator:
            result = yield _Stream(result, later)
        elif later:
            result = _after(later, result)
        yield _Done(result)
        return
    call.enter()
    try:
        if before:
            yield _Fire(before, call.after())
        result = yield _CALL
        if generator:
            # Never leave our span current across a yield: the consumer's code runs there.
            call.detach()
            result = yield _Stream(result, later)
        elif later:
            result = _after(later, result)
    except BaseException as exc:
        call.exit(exc)
        raise
    call.exit(None)
    yield _Done(result)


_Outcome = tuple[Any, BaseException | None]


def _advance(
    steps: Generator[_Step, Any, None], outcome: Any, error: BaseException | None
) -> _Step:
    """The next step, given what the last one returned or raised (thrown in, re-raised)."""
    return steps.send(outcome) if error is None else steps.throw(error)


def _act_sync(step: _Step, wrapped: Any, args: Any, kwargs: Any, start: float | None) -> _Outcome:
    """Carry out one step in a thread: (what it returned, what it raised)."""
    try:
        if isinstance(step, _Fire):
            return None, fire_sync(step.firings, start, step.after)  # type: ignore[func-returns-value]
        return wrapped(*args, **kwargs), None
    except BaseException as exc:
        return None, exc


async def _act_async(step: _Step, wrapped: Any, args: Any, kwargs: Any, start: float) -> _Outcome:
    """:func:`_act_sync` in a coroutine: waits yield to the event loop."""
    try:
        if not isinstance(step, _Fire):
            return await wrapped(*args, **kwargs), None
        return None, await fire_async(step.firings, start, step.after)  # type: ignore[func-returns-value]
    except BaseException as exc:
        return None, exc


def _act_stream(step: _Stream) -> Generator[Any, Any, _Outcome]:
    """Deliver a generator's items (its ``during`` faults acting at theirs): (its return
    value, what it raised)."""
    try:
        return (yield from (stream_sync(step.gen, step.during) if step.during else step.gen)), None
    except BaseException as exc:
        return None, exc


def _drive_sync(
    steps: Generator[_Step, Any, None], wrapped: Any, args: Any, kwargs: Any, start: float
) -> Any:
    """Carry out a call's :func:`_steps` in a thread."""
    step = next(steps)
    while not isinstance(step, _Done):
        step = _advance(steps, *_act_sync(step, wrapped, args, kwargs, start))
    return step.result


async def _drive_async(
    steps: Generator[_Step, Any, None], wrapped: Any, args: Any, kwargs: Any, start: float
) -> Any:
    """Carry out a coroutine's :func:`_steps` (from when it is first awaited)."""
    step = next(steps)
    while not isinstance(step, _Done):
        step = _advance(steps, *await _act_async(step, wrapped, args, kwargs, start))
    return step.result


def _drive_gen(
    steps: Generator[_Step, Any, None], wrapped: Any, args: Any, kwargs: Any
) -> Generator[Any, Any, Any]:
    """Carry out a generator's :func:`_steps` as a generator: its delays are timed from when
    it is first iterated, not from the call that made it."""
    step = next(steps)
    while not isinstance(step, _Done):
        if isinstance(step, _Stream):
            step = _advance(steps, *(yield from _act_stream(step)))
        else:
            step = _advance(steps, *_act_sync(step, wrapped, args, kwargs, None))
    return step.result


def _sync_wrapper(own: OwnFaults | None, slot: ComponentSlot) -> Any:
    def wrapper(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        # Delays are timed from here: our bookkeeping before and after them counts within.
        start = perf_counter()
        fired, current = decide_call(own, slot)
        if current is None:
            if not fired:
                return wrapped(*args, **kwargs)
            before, after = _split(fired, False)
            fire_sync(before, start)
            result = wrapped(*args, **kwargs)
            return _after(after, result) if after else result
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
        before, after = _split(fired, False)
        return _drive_sync(
            _steps(before, after, current, fired, False), wrapped, args, kwargs, start
        )

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
    return _after(after, result) if after else result


async def _run_async(
    wrapped: Any,
    args: Any,
    kwargs: Any,
    start: float,
    split: tuple[list[Firing], list[Firing]],
    current: SlotState | None,
    fired: list[Firing],
) -> Any:
    return await _drive_async(_steps(*split, current, fired, False), wrapped, args, kwargs, start)


def _async_wrapper(own: OwnFaults | None, slot: ComponentSlot) -> Any:
    def wrapper(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        start = perf_counter()
        fired, current = decide_call(own, slot)
        if current is not None and not fired and current.quiet:
            return _quiet(wrapped, args, kwargs, current)
        split = _split(fired, False) if fired else (fired, fired)
        if current is None:  # the decorator's own faults, no experiment: straight through
            return _fire_then_call(wrapped, args, kwargs, start, *split)
        if not fired:  # watched with a span (trace_calls: all), nothing fires: no steps
            return _traced(wrapped, args, kwargs, current)
        return _run_async(wrapped, args, kwargs, start, split, current, fired)

    return wrapper


def _gen_wrapper(own: OwnFaults | None, slot: ComponentSlot) -> Any:
    def wrapper(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        fired, current = decide_call(own, slot)
        before, during = _split(fired, True)
        return _drive_gen(_steps(before, during, current, fired, True), wrapped, args, kwargs)

    return wrapper


def _asyncgen_wrapper(own: OwnFaults | None, slot: ComponentSlot) -> Any:
    def wrapper(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        fired, current = decide_call(own, slot)
        before, during = _split(fired, True)
        return drive_async(
            lambda: wrapped(*args, **kwargs), before, during, lambda: _call(current, fired)
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

"""A decorated call's steps, written once for every kind of callable (tenacity's pattern: a
command generator decides, thin drivers act).

:func:`steps` yields what a call on which a fault fires, or which has a component-call span,
does next: fire the ``before`` faults, run the callable, deliver a generator's items, done. It
owns the component-call span (entered, detached across a generator's yields, exited with the
outcome) and the ``after`` faults. :func:`drive_sync`, :func:`drive_async` and
:func:`drive_gen` carry each step out (a thread's sleep, an ``await``, a ``yield from``) and
send back its outcome or throw in what it raised. The hot paths (an unwatched call, a watched
call on which nothing fires) never come here: the decorators run them straight-line.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from aumai_chaos._engine.act import CallSpan, CallTimer, Firing, fire_async, fire_sync
from aumai_chaos._engine.registry import SlotState
from aumai_chaos._engine.streams import stream_sync
from aumai_chaos.faults import Action

__all__ = ["apply_after", "call_for", "drive_async", "drive_gen", "drive_sync", "split", "steps"]


def call_for(current: SlotState | None, fired: list[Firing]) -> CallSpan | CallTimer | None:
    """The component-call span (or span-less timer), made when the call really starts: for
    a coroutine or a generator, when it is first awaited or iterated (one never run leaves
    no span open)."""
    return None if current is None else current.call(bool(fired))


def split(fired: list[Firing], generator: bool) -> tuple[list[Firing], list[Firing]]:
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


def apply_after(fired: list[Firing], result: Any) -> Any:
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


def steps(
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
    call = call_for(current, fired)
    if call is None:
        if before:
            yield _Fire(before, 0.0)
        result = yield _CALL
        if generator:
            result = yield _Stream(result, later)
        elif later:
            result = apply_after(later, result)
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
            result = apply_after(later, result)
    except BaseException as exc:
        call.exit(exc)
        raise
    call.exit(None)
    yield _Done(result)


_Outcome = tuple[Any, BaseException | None]


def _advance(todo: Generator[_Step, Any, None], outcome: Any, error: BaseException | None) -> _Step:
    """The next step, given what the last one returned or raised (thrown in, re-raised)."""
    return todo.send(outcome) if error is None else todo.throw(error)


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


def drive_sync(
    todo: Generator[_Step, Any, None], wrapped: Any, args: Any, kwargs: Any, start: float
) -> Any:
    """Carry out a call's :func:`steps` in a thread."""
    step = next(todo)
    while not isinstance(step, _Done):
        step = _advance(todo, *_act_sync(step, wrapped, args, kwargs, start))
    return step.result


async def drive_async(
    todo: Generator[_Step, Any, None], wrapped: Any, args: Any, kwargs: Any, start: float
) -> Any:
    """Carry out a coroutine's :func:`steps` (from when it is first awaited)."""
    step = next(todo)
    while not isinstance(step, _Done):
        step = _advance(todo, *await _act_async(step, wrapped, args, kwargs, start))
    return step.result


def drive_gen(
    todo: Generator[_Step, Any, None], wrapped: Any, args: Any, kwargs: Any
) -> Generator[Any, Any, Any]:
    """Carry out a generator's :func:`steps` as a generator: its delays are timed from when
    it is first iterated, not from the call that made it."""
    step = next(todo)
    while not isinstance(step, _Done):
        if isinstance(step, _Stream):
            step = _advance(todo, *(yield from _act_stream(step)))
        else:
            step = _advance(todo, *_act_sync(step, wrapped, args, kwargs, None))
    return step.result

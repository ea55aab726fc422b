"""Acting on a decision: emit the fault's telemetry, wait, raise.

One sync driver (``time.sleep``) and one async driver (``await asyncio.sleep``) share the
telemetry steps, so a latency fault in a coroutine never blocks the event loop.

Our bookkeeping never raises into user code: a failure inside OpenTelemetry is logged once
and the fault still acts exactly as configured.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import INVALID_SPAN, Span, Status, StatusCode

from aumai_chaos._engine import telemetry as tm
from aumai_chaos._engine.plan import FaultPlan

__all__ = ["CallSpan", "fire_async", "fire_sync"]

_log = logging.getLogger("aumai_chaos")
_warned: set[str] = set()


def _telemetry_failed(where: str, exc: BaseException) -> None:
    if where not in _warned:
        _warned.add(where)
        _log.warning("aumai-chaos telemetry failed in %s (%r); faults still act", where, exc)


def _begin(plan: FaultPlan) -> Span:
    """Open the ``chaos.fault`` span, tag the affected operation, count the injection.

    Each step is guarded on its own: a tracer that fails leaves the event and the counts, a
    meter that fails leaves the span (which must still end, to be exported and counted). An
    experiment's fault is also counted by its run here, while it is inside the run's window.
    """
    try:
        span = plan.instruments.tracer.start_span(tm.SPAN_FAULT, attributes=plan.span_attrs)
    except Exception as exc:
        _telemetry_failed("fault start", exc)
        span = INVALID_SPAN
    if plan.on_fire is not None:
        try:
            plan.on_fire(plan)
        except Exception as exc:
            _telemetry_failed("fault record", exc)
    try:
        current = trace.get_current_span()
        if current.is_recording():
            current.add_event(tm.EVENT_FAULT_INJECTED, plan.span_attrs)
    except Exception as exc:
        _telemetry_failed("fault event", exc)
    try:
        # In the fault span's context, so that each point's exemplar links to the fault span
        # (even for a fault fired outside any span); one context serves both instruments.
        ctx = trace.set_span_in_context(span)
        plan.instruments.fault_injections.add(1, plan.metric_attrs, context=ctx)
    except Exception as exc:
        _telemetry_failed("fault count", exc)
    return span


def _record_delay(plan: FaultPlan, span: Span, started: float) -> None:
    """Record ``chaos.fault.delay``: the time actually waited, which is less than the configured
    delay when the wait was cut short (cancelled, interrupted, or its experiment ended)."""
    if not plan.fault_type.delays:
        return
    try:
        waited = time.perf_counter() - started if plan.delay > 0 else 0.0
        ctx = trace.set_span_in_context(span)
        plan.instruments.fault_delay.record(waited, plan.metric_attrs, context=ctx)
    except Exception as exc:
        _telemetry_failed("fault delay", exc)


def _finish(plan: FaultPlan, span: Span) -> BaseException | None:
    """Close the span; return the exception to raise for raising faults."""
    exc: BaseException | None = plan.exception() if plan.raises else None
    try:
        if exc is not None:
            # The exception is raised into the caller's code right after: it escapes the span.
            span.record_exception(exc, escaped=True)
            span.set_attribute(tm.ATTR_ERROR_TYPE, tm.qualified_name(type(exc)))
            span.set_status(Status(StatusCode.ERROR, str(exc)))
    except Exception as err:
        _telemetry_failed("fault end", err)
    _end_cut_short(span)
    return exc


def _end_cut_short(span: Span) -> None:
    """End a ``chaos.fault`` span, also one whose delay was cancelled from outside: every
    span that starts also ends (and is exported and counted)."""
    try:
        span.end()
    except Exception as err:  # pragma: no cover
        _telemetry_failed("fault end", err)


def _remaining(plan: FaultPlan, started: float) -> float:
    """The delay still to wait: the bookkeeping before it counts towards the delay, so the
    call is held ``duration_ms`` in all, not ``duration_ms`` plus our own overhead."""
    return plan.delay - (time.perf_counter() - started)


def fire_sync(fired: Iterable[FaultPlan]) -> None:
    """Carry out fired faults in a thread: wait for each delay, then raise if one raises.

    An experiment's fault acts only inside its window, and its delay ends early when the
    window closes (the experiment ended or was aborted).
    """
    for plan in fired:
        window = plan.window
        if window is not None and not window.begin(id(plan.fault)):
            continue
        try:
            started = time.perf_counter()
            span = _begin(plan)
            if plan.delay > 0 and (wait := _remaining(plan, started)) > 0:
                try:
                    (time.sleep if window is None else window.sleep)(wait)
                except BaseException:  # KeyboardInterrupt, SystemExit...: the span still ends
                    _record_delay(plan, span, started)
                    _end_cut_short(span)
                    raise
            _record_delay(plan, span, started)
            exc = _finish(plan, span)
        finally:
            if window is not None:
                window.end()
        if exc is not None:
            raise exc


async def fire_async(fired: Iterable[FaultPlan]) -> None:
    """Carry out fired faults in a coroutine; waits yield to the event loop."""
    for plan in fired:
        window = plan.window
        if window is not None and not window.begin(id(plan.fault)):
            continue
        try:
            started = time.perf_counter()
            span = _begin(plan)
            if plan.delay > 0 and (wait := _remaining(plan, started)) > 0:
                try:
                    await (asyncio.sleep(wait) if window is None else window.asleep(wait))
                except BaseException:  # cancelled (asyncio.wait_for...): the span still ends
                    _record_delay(plan, span, started)
                    _end_cut_short(span)
                    raise
            _record_delay(plan, span, started)
            exc = _finish(plan, span)
        finally:
            if window is not None:
                window.end()
        if exc is not None:
            raise exc


class CallSpan:
    """The component-call span of one call during an experiment (telemetry.md).

    ``enter()`` starts it and makes it current; ``exit()`` records the outcome and ends it.
    Both are safe: a telemetry failure degrades to a non-recording span.
    """

    __slots__ = ("span", "token")

    def __init__(self, tracer: trace.Tracer, name: str, attrs: dict[str, Any]) -> None:
        try:
            self.span: Span = tracer.start_span(name, attributes=attrs)
        except Exception as exc:  # pragma: no cover
            _telemetry_failed("call start", exc)
            self.span = INVALID_SPAN
        self.token: object | None = None

    def enter(self) -> None:
        try:
            self.token = otel_context.attach(trace.set_span_in_context(self.span))
        except Exception as exc:  # pragma: no cover
            _telemetry_failed("call attach", exc)

    def detach(self) -> None:
        if self.token is not None:
            try:
                otel_context.detach(self.token)  # type: ignore[arg-type]
            except Exception as exc:  # pragma: no cover
                _telemetry_failed("call detach", exc)
            self.token = None

    def exit(self, exc: BaseException | None) -> None:
        self.detach()
        try:
            span = self.span
            if exc is not None:
                span.set_attribute(tm.ATTR_ERROR_TYPE, tm.qualified_name(type(exc)))
                span.record_exception(exc)
                span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))
            span.end()
        except Exception as err:  # pragma: no cover
            _telemetry_failed("call end", err)

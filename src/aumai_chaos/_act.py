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

from . import _telemetry as tm
from ._plan import FaultPlan

__all__ = ["CallSpan", "fire_async", "fire_sync"]

_log = logging.getLogger("aumai_chaos")
_warned: set[str] = set()


def _telemetry_failed(where: str, exc: BaseException) -> None:
    if where not in _warned:
        _warned.add(where)
        _log.warning("aumai-chaos telemetry failed in %s (%r); faults still act", where, exc)


def _begin(plan: FaultPlan) -> Span:
    """Open the ``chaos.fault`` span, tag the affected operation, count the injection."""
    try:
        tracer = plan.instruments.tracer
        span = tracer.start_span(tm.SPAN_FAULT, attributes=plan.span_attrs)
        current = trace.get_current_span()
        if current.is_recording():
            current.add_event(tm.EVENT_FAULT_INJECTED, plan.span_attrs)
        plan.instruments.fault_injections.add(
            1, plan.metric_attrs, context=trace.set_span_in_context(span)
        )
        return span
    except Exception as exc:  # pragma: no cover - exercised by the reliability tests
        _telemetry_failed("fault start", exc)
        return INVALID_SPAN


def _finish(plan: FaultPlan, span: Span) -> BaseException | None:
    """Close the span; return the exception to raise for raising faults."""
    exc: BaseException | None = plan.exception() if plan.raises else None
    try:
        if plan.fault_type.delays:
            plan.instruments.fault_delay.record(
                plan.delay, plan.metric_attrs, context=trace.set_span_in_context(span)
            )
        if exc is not None:
            span.record_exception(exc)
            span.set_attribute(tm.ATTR_ERROR_TYPE, tm.qualified_name(type(exc)))
            span.set_status(Status(StatusCode.ERROR, str(exc)))
        span.end()
    except Exception as err:  # pragma: no cover - exercised by the reliability tests
        _telemetry_failed("fault end", err)
    return exc


def _end_cut_short(span: Span) -> None:
    """End the span of a delay that was cancelled from outside, so every ``chaos.fault``
    span that starts also ends (and is exported and counted)."""
    try:
        span.end()
    except Exception as err:  # pragma: no cover
        _telemetry_failed("fault end", err)


def fire_sync(fired: Iterable[FaultPlan]) -> None:
    """Carry out fired faults in a thread: wait for each delay, then raise if one raises.

    An experiment's fault acts only inside its window, and its delay ends early when the
    window closes (the experiment ended or was aborted).
    """
    for plan in fired:
        window = plan.window
        if window is None:
            span = _begin(plan)
            if plan.delay > 0:
                time.sleep(plan.delay)
            exc = _finish(plan, span)
        elif window.begin(id(plan.fault)):
            try:
                span = _begin(plan)
                if plan.delay > 0:
                    window.sleep(plan.delay)
                exc = _finish(plan, span)
            finally:
                window.end()
        else:
            continue
        if exc is not None:
            raise exc


async def fire_async(fired: Iterable[FaultPlan]) -> None:
    """Carry out fired faults in a coroutine; waits yield to the event loop."""
    for plan in fired:
        window = plan.window
        if window is None:
            span = _begin(plan)
            if plan.delay > 0:
                try:
                    await asyncio.sleep(plan.delay)
                except BaseException:  # cancelled (asyncio.wait_for...): the span still ends
                    _end_cut_short(span)
                    raise
            exc = _finish(plan, span)
        elif window.begin(id(plan.fault)):
            try:
                span = _begin(plan)
                if plan.delay > 0:
                    try:
                        await window.asleep(plan.delay)
                    except BaseException:  # cancelled: the span still ends
                        _end_cut_short(span)
                        raise
                exc = _finish(plan, span)
            finally:
                window.end()
        else:
            continue
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

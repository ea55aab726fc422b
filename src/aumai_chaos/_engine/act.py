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
from collections.abc import Callable, Generator, Iterable, Mapping
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import INVALID_SPAN, Span, Status, StatusCode

from aumai_chaos._engine import telemetry as tm
from aumai_chaos._engine.plan import FaultPlan
from aumai_chaos._engine.switch import state
from aumai_chaos.errors import InjectedFaultError

__all__ = [
    "CallSpan",
    "CallTimer",
    "ExitCost",
    "Firing",
    "RecordCall",
    "fire_async",
    "fire_sync",
    "record_all",
    "telemetry_failed",
    "warn_once",
]


#: Records one call into a component as it ends (an experiment's observer): ``(start, end,
#: error_type, message, traced)``, ``start`` and ``end`` being ``time.perf_counter()`` values,
#: ``error_type`` and ``message`` ``None`` when the call succeeded, ``traced`` when it had a
#: component-call span.
RecordCall = Callable[[float, float, str | None, str | None, bool], None]


_log = logging.getLogger("aumai_chaos")
_warned: set[tuple[str, str]] = set()


def warn_once(message: str, where: str, exc: BaseException) -> None:
    """Log ``message`` (formatted with ``where`` and ``exc``) once per message and place: our
    own bookkeeping failed there, and the caller goes on."""
    if (message, where) not in _warned:
        _warned.add((message, where))
        _log.warning(message, where, exc)


def telemetry_failed(where: str, exc: BaseException) -> None:
    """Log, once per place, that our telemetry failed; the fault still acts."""
    warn_once("aumai-chaos telemetry failed in %s (%r); faults still act", where, exc)


class Firing:
    """One fault firing on one call: the decision made, the action still to come.

    :meth:`begin` when the fault acts (it may be later than the decision, e.g. at a stream
    item): it enters the experiment's window (``False``: the fault must not act), opens the
    ``chaos.fault`` span, adds the event to the current span, counts the injection and lets the
    experiment count it. :meth:`end` closes it. :meth:`skip` says the fault could not apply:
    nothing is emitted and its ``times`` budget is given back. :meth:`sleep` / :meth:`asleep`
    wait the fault's delay to a deadline taken at :meth:`begin`, so our own bookkeeping is not
    added on top, and end early when the experiment's window closes.
    """

    __slots__ = (
        "_entered",
        "attrs",
        "cut",
        "deadline",
        "held",
        "occurrence",
        "plan",
        "span",
        "started",
    )

    def __init__(self, plan: FaultPlan, occurrence: int) -> None:
        self.plan = plan
        self.occurrence = occurrence
        self.span: Span = INVALID_SPAN
        self.attrs: dict[str, Any] = plan.span_attrs
        self.deadline = 0.0
        self.started = 0.0
        #: The delay this firing holds the call for (the fault's, or a ``sleep(seconds)``), and
        #: whether the wait was cut short (cancelled, interrupted, its experiment ended).
        self.held = plan.delay
        self.cut = False
        self._entered = False

    def begin(self, extra: Mapping[str, Any] | None = None, *, start: float | None = None) -> bool:
        """Act now: ``False`` when the experiment's window refuses the fault, or the kill switch
        was thrown since the decision (do nothing then).

        ``start`` (a ``time.perf_counter()`` value, default now) is when the fault's delay
        began: the decision's time, so that the bookkeeping counts towards the delay.
        """
        if not state.start_acting():  # the kill switch was thrown after the decision
            return False
        try:
            return self._start(extra, start)
        finally:
            state.done_starting()

    def _start(self, extra: Mapping[str, Any] | None, start: float | None) -> bool:
        plan = self.plan
        if start is None:
            start = time.perf_counter()
        window = plan.window
        if window is not None:
            if not window.begin(plan.position):
                return False
            self._entered = True
        self.started = start
        self.deadline = start + plan.delay
        attrs = {**plan.span_attrs, tm.ATTR_FAULT_OCCURRENCE: self.occurrence}
        if extra:
            attrs.update(extra)
        self.attrs = attrs
        try:
            self.span = plan.instruments.tracer.start_span(tm.SPAN_FAULT, attributes=attrs)
        except Exception as exc:
            telemetry_failed("fault start", exc)
            self.span = INVALID_SPAN
        if plan.on_fire is not None:
            try:
                plan.on_fire(attrs)
            except Exception as exc:
                telemetry_failed("fault record", exc)
        try:
            current = trace.get_current_span()
            if current.is_recording():
                current.add_event(tm.EVENT_FAULT_INJECTED, attrs)
        except Exception as exc:
            telemetry_failed("fault event", exc)
        # Counted now, added to the counter when the metrics are read, in the context of the
        # last fault span counted: the point's exemplar links to a fault span.
        plan.injections.add(1, self.span)
        return True

    def set_attributes(self, attrs: Mapping[str, Any]) -> None:
        """Add attributes to the fault span once known (e.g. the status code answered)."""
        try:
            self.span.set_attributes(dict(attrs))
        except Exception as exc:
            telemetry_failed("fault attributes", exc)

    def _record_delay(self) -> None:
        """Record ``chaos.fault.delay``: the time actually waited, which is less than the
        configured delay when the wait was cut short (cancelled, interrupted, or its experiment
        ended). The tail of bookkeeping this adds after the wait is learned and taken off it."""
        plan = self.plan
        if not plan.waits:
            return
        try:
            # A wait that ran its course held the call for exactly its delay (the wake-up is
            # timed to the deadline, our bookkeeping after it included); one cut short, for as
            # long as it lasted.
            waited = self.held
            if self.cut:
                waited = min(waited, max(0.0, time.perf_counter() - self.started))
            # In the fault span's context, so that the point's exemplar links to the fault span
            # (even for a fault fired outside any span).
            ctx = trace.set_span_in_context(self.span)
            plan.instruments.fault_delay.record(waited, plan.metric_attrs, context=ctx)
        except Exception as exc:
            telemetry_failed("fault delay", exc)

    def end(self, exc: BaseException | None = None) -> None:
        """Close the span (recording ``exc``, the exception the fault raises, if any) and leave
        the window. Safe to call once after a successful :meth:`begin`."""
        self._record_delay()
        try:
            if exc is not None:
                span = self.span
                # The exception is raised into the caller's code right after: it escapes.
                span.record_exception(exc, escaped=True)
                span.set_attribute(tm.ATTR_ERROR_TYPE, tm.qualified_name(type(exc)))
                span.set_status(Status(StatusCode.ERROR, str(exc)))
        except Exception as err:
            telemetry_failed("fault end", err)
        _end_cut_short(self.span)
        self._leave()

    def _leave(self) -> None:
        if self._entered:
            self._entered = False
            window = self.plan.window
            if window is not None:
                window.end()

    def skip(self) -> None:
        """The fault could not apply here: nothing was emitted; give back its ``times``."""
        budget = self.plan.budget
        if budget is not None:
            budget.refund()

    def exception(self) -> InjectedFaultError:
        return self.plan.exception()

    def remaining(self, seconds: float | None = None, early: float = 0.0) -> float:
        """Seconds left to wait: to the fault's deadline (less ``early``), or ``seconds``."""
        if seconds is not None:
            return seconds
        return self.deadline - early - time.perf_counter()

    def _hold(self, seconds: float | None, early: float) -> float:
        """The wait of :meth:`sleep` / :meth:`asleep`; ``seconds`` (when given) becomes the
        delay this firing holds the call for."""
        if seconds is not None:
            self.held = seconds
        return self.remaining(seconds, early)

    def sleep(self, seconds: float | None = None, *, early: float = 0.0) -> None:
        """Wait the fault's delay (``seconds`` from now, if given) in a thread; an experiment's
        window closing wakes it at once. ``early``: end that much before the deadline, for
        bookkeeping still to come."""
        wait = self._hold(seconds, early)
        window = self.plan.window
        if wait > 0:
            try:
                (time.sleep if window is None else window.sleep)(wait)
            except BaseException:  # KeyboardInterrupt...: end() still ends the span
                self.cut = True
                raise
            if window is not None and window.closed:
                self.cut = True

    async def asleep(self, seconds: float | None = None, *, early: float = 0.0) -> None:
        """:meth:`sleep` without blocking the event loop. Cancelled from outside, the span still
        ends (with ``end()`` by the caller, or here on cancellation)."""
        wait = self._hold(seconds, early)
        if wait > 0:
            window = self.plan.window
            try:
                await (asyncio.sleep(wait) if window is None else window.asleep(wait))
            except BaseException:  # cancelled (asyncio.wait_for...): the span still ends
                self.cut = True
                self._record_delay()
                _end_cut_short(self.span)
                self.span = INVALID_SPAN
                self._leave()
                raise
            if window is not None and window.closed:
                self.cut = True


def _end_cut_short(span: Span) -> None:
    """End a ``chaos.fault`` span, also one whose delay was cancelled from outside: every
    span that starts also ends (and is exported and counted)."""
    try:
        span.end()
    except Exception as err:  # pragma: no cover
        telemetry_failed("fault end", err)


#: The most a delay ends early for the bookkeeping after it (a bound on a bad estimate).
_MAX_TAIL = 0.001


def _learn_tail(plan: FaultPlan, woke: float) -> None:
    """Fold the bookkeeping that followed this delay into the plan's estimate (an exponential
    moving average; races between threads only blur it)."""
    cost = min(time.perf_counter() - woke, _MAX_TAIL)
    plan.tail += (cost - plan.tail) * 0.2


class ExitCost:
    """A running estimate of what ending a component call costs (span end, records), for the
    delays of the calls that follow to leave room for it."""

    __slots__ = ("seconds",)

    def __init__(self) -> None:
        self.seconds = 0.0

    def learn(self, since: float) -> None:
        cost = min(time.perf_counter() - since, _MAX_TAIL)
        self.seconds += (cost - self.seconds) * 0.2


def _acts(
    fired: Iterable[Firing], start: float | None, after: float
) -> Generator[tuple[Firing, float], None, None]:
    """The steps :func:`fire_sync` and :func:`fire_async` share, their drivers only waiting:
    begin each fault in turn, timed from ``start`` back to back, and yield it with how early its
    wait should end (its learned tail of bookkeeping, and ``after``); once the driver has
    waited, end it and raise its exception if it raises."""
    t = time.perf_counter() if start is None else start
    for firing in fired:
        if not firing.begin(start=t):
            continue
        plan = firing.plan
        yield firing, plan.tail + after
        woke = time.perf_counter()
        exc = firing.exception() if plan.raises else None
        firing.end(exc)
        if plan.delay > 0:
            _learn_tail(plan, woke)
        t = max(firing.deadline, t)
        if exc is not None:
            raise exc


def fire_sync(fired: Iterable[Firing], start: float | None = None, after: float = 0.0) -> None:
    """Carry out ``before`` faults in a thread: wait for each delay, then raise if one raises.

    ``start`` is when the call's decision was made: delays are timed from it, back to back.
    ``after``: the estimated bookkeeping still to come once the faults are done (the
    component-call span's end), which the delays leave room for, as they do for their own.
    An experiment's fault acts only inside its window, and its delay ends early when the
    window closes (the experiment ended or was aborted).
    """
    for firing, early in _acts(fired, start, after):
        try:
            firing.sleep(early=early)
        except BaseException:  # KeyboardInterrupt...: the span still ends
            firing.end()
            raise


async def fire_async(
    fired: Iterable[Firing], start: float | None = None, after: float = 0.0
) -> None:
    """Carry out ``before`` faults in a coroutine; waits yield to the event loop (cancelled,
    a wait ends its span itself). An event loop wakes on whole milliseconds (epoll rounds its
    timeout up), so below a millisecond the bookkeeping cannot be taken off the wait; above,
    it is."""
    for firing, early in _acts(fired, start, after):
        await firing.asleep(early=early)


class CallSpan:
    """The component-call span of one call during an experiment (telemetry.md).

    ``enter()`` starts timing and makes the span current; ``exit()`` records the outcome, ends
    the span and hands the call to ``records`` (the experiments' observers), which so need not
    read it back from the span. Both are safe: a telemetry failure degrades to a non-recording
    span.
    """

    __slots__ = ("exit_cost", "name", "records", "span", "t0", "token")

    def __init__(
        self,
        tracer: trace.Tracer,
        name: str,
        attrs: dict[str, Any],
        records: tuple[RecordCall, ...] = (),
        exit_cost: ExitCost | None = None,
    ) -> None:
        self.name = name
        self.records = records
        #: Learns what :meth:`exit` costs; :meth:`after` is that estimate.
        self.exit_cost = exit_cost
        self.t0 = time.perf_counter()
        try:
            self.span: Span = tracer.start_span(name, attributes=attrs)
        except Exception as exc:  # pragma: no cover
            telemetry_failed("call start", exc)
            self.span = INVALID_SPAN
        self.token: object | None = None

    def enter(self) -> None:
        try:
            self.token = otel_context.attach(trace.set_span_in_context(self.span))
        except Exception as exc:  # pragma: no cover
            telemetry_failed("call attach", exc)

    def detach(self) -> None:
        if self.token is not None:
            try:
                otel_context.detach(self.token)  # type: ignore[arg-type]
            except Exception as exc:  # pragma: no cover
                telemetry_failed("call detach", exc)
            self.token = None

    def after(self) -> float:
        """The estimated cost of :meth:`exit`, in seconds (see ``fire_sync``'s ``after``)."""
        cost = self.exit_cost
        return cost.seconds if cost is not None else 0.0

    def exit(self, exc: BaseException | None) -> None:
        """End the call with its outcome: ``exc`` when it raised, else ``None``."""
        if exc is None:
            self._close(None, None, None)
        else:
            self._close(tm.qualified_name(type(exc)), str(exc), exc)

    def fail(self, error_type: str, message: str) -> None:
        """End the call as failed without an exception (e.g. an HTTP status of 400 or more,
        ``error_type`` being the status, as OpenTelemetry's HTTP convention has it)."""
        self._close(error_type, message, None)

    def _close(
        self, error_type: str | None, message: str | None, exc: BaseException | None
    ) -> None:
        self.detach()
        now = time.perf_counter()
        try:
            span = self.span
            if error_type is not None:
                span.set_attribute(tm.ATTR_ERROR_TYPE, error_type)
                if exc is not None:
                    span.record_exception(exc)
                    message = f"{type(exc).__name__}: {exc}"
                span.set_status(Status(StatusCode.ERROR, message))
            span.end()
        except Exception as err:  # pragma: no cover
            telemetry_failed("call end", err)
        record_all(self.records, self.t0, now, error_type, message, True)
        if self.exit_cost is not None:
            self.exit_cost.learn(now)


def record_all(
    records: tuple[RecordCall, ...],
    start: float,
    end: float,
    error_type: str | None,
    message: str | None,
    traced: bool,
) -> None:
    """Hand one call to each of ``records``; a recorder that fails is logged, never raised."""
    for record in records:
        try:
            record(start, end, error_type, message, traced)
        except Exception as err:  # pragma: no cover
            telemetry_failed("call record", err)


class CallTimer:
    """A component call timed without a span (``trace_calls: faults``, nothing fired): the same
    ``enter()`` / ``exit()`` as :class:`CallSpan`, recorded straight into the experiments."""

    __slots__ = ("name", "records", "t0")

    def __init__(self, name: str, records: tuple[RecordCall, ...]) -> None:
        self.name = name
        self.records = records
        self.t0 = 0.0

    def enter(self) -> None:
        self.t0 = time.perf_counter()

    def detach(self) -> None:
        return None

    def after(self) -> float:
        return 0.0

    def exit(self, exc: BaseException | None) -> None:
        end = time.perf_counter()
        if exc is None:
            record_all(self.records, self.t0, end, None, None, False)
        else:
            error_type = tm.qualified_name(type(exc))
            record_all(self.records, self.t0, end, error_type, str(exc), False)

    def fail(self, error_type: str, message: str) -> None:
        """:meth:`CallSpan.fail`: the call failed without an exception."""
        record_all(self.records, self.t0, time.perf_counter(), error_type, message, False)

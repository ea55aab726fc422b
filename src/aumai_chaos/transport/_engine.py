"""The transport's seam onto the fault engine: decide which faults fire on a request, and
open and close their telemetry when a fault really acts.

Everything the transport needs from ``aumai_chaos._engine`` goes through here:

- :func:`experiments_running`: the cheap "could anything fire" gate (any experiment routed);
- :class:`OwnFaults`: a transport's own faults, with the position rules and occurrence counts;
- :func:`experiment_firings`: the running experiments' faults on a component named at request
  time (the registry creates its slot on first use);
- :func:`act`: count the fault and open its ``chaos.fault`` span and event, with the
  transport's extra attributes, only when it really acts (an experiment's window may refuse).

Position rules here: the n-th call (from 1) may get a fault when ``n > after_calls``, ``n`` is a
multiple of ``every`` and fewer than ``times`` have acted; then one draw against
``probability``. ``times`` counts faults that acted, so a response fault that could not apply
does not use one up.
"""

from __future__ import annotations

import asyncio
import logging
import random
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import INVALID_SPAN, Span, Status, StatusCode

from aumai_chaos._engine import registry
from aumai_chaos._engine import telemetry as tm
from aumai_chaos._engine.plan import FaultPlan
from aumai_chaos._engine.registry import SlotState
from aumai_chaos._engine.window import Window
from aumai_chaos.faults import FaultConfig

__all__ = [
    "ATTR_OCCURRENCE",
    "Acting",
    "Firing",
    "OwnFaults",
    "act",
    "experiment_firings",
    "experiments_running",
]

ATTR_OCCURRENCE = "chaos.fault.occurrence"
_log = logging.getLogger("aumai_chaos")
_warned: set[str] = set()

#: The gate: truthy while any experiment is routed (the kill switch empties the slots).
experiments_running = registry._routes.__len__


def _failed(where: str, exc: BaseException) -> None:
    if where not in _warned:
        _warned.add(where)
        _log.warning("aumai-chaos telemetry failed in %s (%r); faults still act", where, exc)


class _Counter:
    """Calls seen and faults acted, for one fault on one component."""

    __slots__ = ("acted", "calls", "lock")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.calls = 0
        self.acted = 0

    def next_call(self, fault: FaultConfig) -> int:
        """Count a call; its occurrence ``n`` when the position rules allow a fault, else 0."""
        with self.lock:
            self.calls = n = self.calls + 1
            if n <= fault.after_calls:
                return 0
            if fault.every is not None and n % fault.every:
                return 0
            if fault.times is not None and self.acted >= fault.times:
                return 0
            return n

    def take(self, fault: FaultConfig) -> bool:
        with self.lock:
            if fault.times is not None and self.acted >= fault.times:
                return False
            self.acted += 1
            return True

    def give_back(self) -> None:
        with self.lock:
            self.acted -= 1


class Firing:
    """One fault that fires on one request: its plan and its occurrence number."""

    __slots__ = ("counter", "occurrence", "plan")

    def __init__(self, plan: FaultPlan, occurrence: int, counter: _Counter) -> None:
        self.plan = plan
        self.occurrence = occurrence
        self.counter = counter

    @property
    def fault(self) -> FaultConfig:
        return self.plan.fault


class OwnFaults:
    """A transport's own faults: drawn on every request from ``seed`` (or ``random``)."""

    __slots__ = ("entries",)

    def __init__(
        self, faults: Sequence[FaultConfig], *, seed: int | None, instruments: tm.Instruments
    ) -> None:
        draw = random.Random(seed).random if seed is not None else random.random
        self.entries = tuple(
            (FaultPlan(f, draw=draw, instruments=instruments), _Counter()) for f in faults
        )

    def decide(self, component: str | None = None) -> list[Firing]:
        """The own faults that fire on this request (``component``: its name, when some
        fault is limited to ``affected_components``)."""
        fired: list[Firing] = []
        for plan, counter in self.entries:
            scope = plan.fault.affected_components
            if scope and component not in scope:
                continue
            n = counter.next_call(plan.fault)
            if n and plan.fires():
                fired.append(Firing(plan, n, counter))
        return fired


_exp_lock = threading.Lock()
_exp_counters: dict[tuple[str | None, str | None, int], _Counter] = {}


def experiment_firings(state: SlotState) -> list[Firing]:
    """The running experiments' faults that fire on this call into ``state``'s component."""
    fired: list[Firing] = []
    for plan in state.plans:
        key = (plan.experiment_id, plan.component, id(plan.fault))
        counter = _exp_counters.get(key)
        if counter is None:
            with _exp_lock:
                counter = _exp_counters.setdefault(key, _Counter())
        n = counter.next_call(plan.fault)
        if n and plan.fires():
            fired.append(Firing(plan, n, counter))
    return fired


class Acting:
    """A fault that is acting: its span is open until :meth:`end`."""

    __slots__ = ("firing", "span", "window")

    def __init__(self, firing: Firing, span: Span, window: Window | None) -> None:
        self.firing = firing
        self.span = span
        self.window = window

    def set(self, key: str, value: Any) -> None:
        try:
            self.span.set_attribute(key, value)
        except Exception as exc:  # pragma: no cover
            _failed("fault attribute", exc)

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` in a thread; less when the experiment's window closes."""
        if seconds > 0:
            (time.sleep if self.window is None else self.window.sleep)(seconds)

    async def asleep(self, seconds: float) -> None:
        """Wait ``seconds`` without blocking the loop; less when the window closes."""
        if seconds > 0:
            await (asyncio.sleep(seconds) if self.window is None else self.window.asleep(seconds))

    def end(self, exc: BaseException | None = None) -> None:
        """Record ``exc`` (a raising fault) and end the span; leave the window. Once only."""
        span, self.span = self.span, INVALID_SPAN
        if span is INVALID_SPAN and self.window is None:
            return
        try:
            if exc is not None:
                span.record_exception(exc)
                span.set_attribute(tm.ATTR_ERROR_TYPE, tm.qualified_name(type(exc)))
                span.set_status(Status(StatusCode.ERROR, str(exc)))
            span.end()
        except Exception as err:
            _failed("fault end", err)
        window, self.window = self.window, None
        if window is not None:
            window.end()


def act(
    firing: Firing,
    extra: Mapping[str, Any],
    *,
    component: str | None = None,
    delay: float | None = None,
) -> Acting | None:
    """The fault acts now: count it, open its span, tag the current span with the event.

    ``None`` when it must not act after all: ``times`` is used up (by another thread since the
    decision), or the experiment's window has closed or reached its cap. ``delay`` (seconds)
    is recorded in ``chaos.fault.delay`` for faults that wait.
    """
    plan = firing.plan
    if not firing.counter.take(plan.fault):
        return None
    window = plan.window
    if window is not None and not window.begin(id(plan.fault)):
        firing.counter.give_back()
        return None
    attrs = {**plan.span_attrs, ATTR_OCCURRENCE: firing.occurrence, **extra}
    metric_attrs = plan.metric_attrs
    if component is not None and plan.component is None:
        attrs[tm.ATTR_COMPONENT] = component
        metric_attrs = {**metric_attrs, tm.ATTR_COMPONENT: component}
    try:
        span = plan.instruments.tracer.start_span(tm.SPAN_FAULT, attributes=attrs)
    except Exception as exc:
        _failed("fault start", exc)
        span = INVALID_SPAN
    if plan.on_fire is not None:
        try:
            plan.on_fire(plan)
        except Exception as exc:
            _failed("fault record", exc)
    try:
        current = trace.get_current_span()
        if current.is_recording():
            current.add_event(tm.EVENT_FAULT_INJECTED, attrs)
    except Exception as exc:
        _failed("fault event", exc)
    try:
        ctx = trace.set_span_in_context(span)
        plan.instruments.fault_injections.add(1, metric_attrs, context=ctx)
        if delay is not None:
            plan.instruments.fault_delay.record(delay, metric_attrs, context=ctx)
    except Exception as exc:
        _failed("fault count", exc)
    return Acting(firing, span, window)

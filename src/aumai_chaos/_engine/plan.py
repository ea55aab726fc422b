"""Pure decisions: which faults fire on this call. No I/O, no telemetry, no sleeping.

A :class:`FaultPlan` is a :class:`~aumai_chaos.FaultConfig` compiled once into plain slots that the
hot path can read cheaply: pydantic attribute reads cost several times a slots read, and the span
and metric attribute dictionaries are built here once instead of on every firing. What a plan
does is its fault class's :class:`~aumai_chaos.faults.Action` (``before``, ``instead``,
``after``, ``during``), read from tables here, never from ``if`` chains on the fault type.

Selection (docs/replay.md): a call is numbered ``n`` (from 1) per component and per experiment
(or per decorator or transport outside one). A fault fires on call ``n`` when the position rules
let it (``n > after_calls``, ``n % every == 0``), its chance says yes (one draw from ``draw``,
or with a seed :func:`~aumai_chaos._engine.replay.occurrence_draw`), and its ``times`` budget
has room. With a seed the budget goes to the first ``times`` calls, *by n*, that pass the other
rules, however threads interleave (:class:`Budget`).
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from aumai_chaos._engine import telemetry as tm
from aumai_chaos._engine.replay import occurrence_drawer
from aumai_chaos.errors import (
    ChaosError,
    ChaosTimeoutError,
    InjectedFaultError,
    ResourceExhaustedError,
    StreamCutError,
)
from aumai_chaos.faults import Action, FaultConfig, FaultType, Site

if TYPE_CHECKING:
    from aumai_chaos._engine.window import Window

__all__ = [
    "Budget",
    "Counter",
    "Draw",
    "FaultPlan",
    "OwnFaults",
    "new_counter",
    "refuse_at",
]

#: A source of uniform floats in [0, 1), such as ``random.random``.
Draw = Callable[[], float]
#: Numbers the calls into one component: each call takes the next ``n`` (from 1).
Counter = Callable[[], int]


def new_counter() -> Counter:
    """A thread-safe call counter (``itertools.count`` is atomic under the GIL)."""
    return itertools.count(1).__next__


def _error(fault: Any) -> InjectedFaultError:
    return ChaosError(_error_code(fault), fault.error_message or "Injected error", fault=fault)


def _timeout(fault: Any) -> InjectedFaultError:
    message = fault.error_message or f"Injected timeout after {fault.duration_ms or 0} ms"
    return ChaosTimeoutError(message, fault=fault)


def _exhaustion(fault: Any) -> InjectedFaultError:
    return ResourceExhaustedError(
        fault.error_message or "Injected resource exhaustion", fault=fault
    )


def _cut(fault: Any) -> InjectedFaultError:
    message = fault.error_message or f"Injected stream cut after {fault.after_chunks} item(s)"
    return StreamCutError(message, fault=fault)


#: The exception of each fault type that raises at a decorated call (the types whose class
#: declares ``raises``).
_EXCEPTIONS: dict[FaultType, Callable[[Any], InjectedFaultError]] = {
    FaultType.error: _error,
    FaultType.timeout: _timeout,
    FaultType.resource_exhaustion: _exhaustion,
    FaultType.stream_cut: _cut,
}


def refuse_at(site: Site, faults: Sequence[FaultConfig], where: str) -> None:
    """Raise ``ValueError`` naming the first fault that cannot act at ``site`` and why."""
    for fault in faults:
        if not fault.acts_at(site):
            raise ValueError(
                f"{where} cannot inject a {fault.fault_type.value!r} fault: "
                f"{type(fault).site_reason or 'it does not act at a ' + site.value}"
            )
        if site is not Site.mcp and getattr(fault, "server", None) is not None:
            raise ValueError(
                f"{where} cannot inject a {fault.fault_type.value!r} fault with server: "
                "it narrows a fault to one MCP server, and this is no MCP request"
            )


class Budget:
    """A ``times`` budget that goes to the first ``times`` passing calls by number.

    With a pure ``passes(n)`` (a seeded fault), :meth:`take` walks the call numbers in order
    under a lock, so the calls granted are exactly the first ``times`` that pass, whichever
    thread asks first; grants made for calls still on their way wait in ``_pending``. Without
    one (unseeded draws are not replayable anyway), grants go in arrival order. :meth:`refund`
    returns a grant whose fault could not act; calls decided after it may then fire.
    """

    __slots__ = ("_cursor", "_lock", "_passes", "_pending", "times", "used")

    def __init__(self, times: int, passes: Callable[[int], bool] | None) -> None:
        self.times = times
        self.used = 0
        self._passes = passes
        self._cursor = 0
        self._pending: set[int] = set()
        self._lock = threading.Lock()

    def take(self, n: int) -> bool:
        """Whether call ``n`` (which passed the other rules) gets one of the budget's fires."""
        with self._lock:
            passes = self._passes
            if passes is None:
                if self.used < self.times:
                    self.used += 1
                    return True
                return False
            if n <= self._cursor:
                if n in self._pending:
                    self._pending.discard(n)
                    return True
                return False
            granted = False
            for m in range(self._cursor + 1, n + 1):
                if self.used < self.times and (m == n or passes(m)):
                    self.used += 1
                    if m == n:
                        granted = True
                    else:
                        self._pending.add(m)
            self._cursor = n
            return granted

    def refund(self) -> None:
        with self._lock:
            self.used = max(0, self.used - 1)


class FaultPlan:
    """One fault, ready to decide and to act, for one component (and maybe one experiment)."""

    __slots__ = (
        "action",
        "after_items",
        "budget",
        "component",
        "delay",
        "draw",
        "ends_stream",
        "experiment_id",
        "fault",
        "fault_type",
        "injections",
        "instruments",
        "metric_attrs",
        "on_fire",
        "passes",
        "position",
        "probability",
        "raises",
        "selects",
        "simple",
        "span_attrs",
        "tail",
        "waits",
        "window",
    )

    def __init__(
        self,
        fault: FaultConfig,
        *,
        draw: Draw,
        instruments: tm.Instruments,
        component: str | None = None,
        experiment_id: str | None = None,
        window: Window | None = None,
        on_fire: Callable[[dict[str, Any]], None] | None = None,
        position: int = 0,
        seed: int | None = None,
    ) -> None:
        self.fault = fault
        self.window = window
        #: Called with the span attributes as the fault acts (inside its window): an experiment
        #: counts it there.
        self.on_fire = on_fire
        self.fault_type = fault.fault_type
        self.action: Action = type(fault).action
        self.probability = fault.probability
        self.delay = fault.delay_seconds
        #: Whether the fault records a ``chaos.fault.delay`` point (a zero latency does too).
        self.waits = type(fault).delays or self.delay > 0
        #: A running estimate of the bookkeeping that follows a delay (ending the span, leaving
        #: the window), in seconds: the delay ends that much early, so the call is held the
        #: configured delay in all (see ``act.fire_sync``).
        self.tail = 0.0
        self.raises = type(fault).raises
        #: A ``during`` fault that ends a stream early without an error.
        self.ends_stream = type(fault).ends_stream and not type(fault).fails
        self.after_items: int = getattr(fault, "after_chunks", 0)
        self.draw = draw
        self.position = position
        self.instruments = instruments
        self.component = component
        self.experiment_id = experiment_id
        self.span_attrs, self.metric_attrs = _attributes(fault, component, experiment_id)
        #: ``chaos.fault.injections`` for this plan's attributes, counted as the fault acts and
        #: added to the counter when the metrics are read.
        self.injections = instruments.pending(instruments.fault_injections, self.metric_attrs)
        self.passes, self.selects, self.budget = self._selection(fault, seed, component or "")
        #: No position rule and no seed: one independent draw per call (the one-draw gate).
        self.simple = seed is None and self.budget is None and self.passes is None

    def _selection(
        self, fault: FaultConfig, seed: int | None, component: str
    ) -> tuple[Callable[[int], bool] | None, Callable[[int], bool], Budget | None]:
        after, every, p = fault.after_calls, fault.every, fault.probability
        if seed is not None:
            chance = occurrence_drawer(seed, component, self.position)
            if p >= 1.0:
                lucky: Callable[[int], bool] = _always
            elif p <= 0.0:
                lucky = _never
            else:

                def lucky(n: int) -> bool:
                    return chance(n) < p
        else:
            draw = self.draw

            def lucky(n: int) -> bool:
                return draw() < p

        if after == 0 and every is None and fault.times is None:
            return (None, lucky, None) if seed is None else (lucky, lucky, None)

        def passes(n: int) -> bool:
            if n <= after or (every is not None and n % every):
                return False
            return lucky(n)

        if fault.times is None:
            return passes, passes, None
        budget = Budget(fault.times, passes if seed is not None else None)
        take = budget.take

        def selects(n: int) -> bool:
            return passes(n) and take(n)

        return passes, selects, budget

    def exception(self) -> InjectedFaultError:
        """A new exception for this fault (raising faults only)."""
        return _EXCEPTIONS[self.fault_type](self.fault)

    def __repr__(self) -> str:
        return f"FaultPlan({self.fault!r}, component={self.component!r})"


def _always(n: int) -> bool:
    return True


def _never(n: int) -> bool:
    return False


def _attributes(
    fault: FaultConfig, component: str | None, experiment_id: str | None
) -> tuple[dict[str, Any], dict[str, Any]]:
    span_attrs: dict[str, Any] = {
        tm.ATTR_FAULT_TYPE: fault.fault_type.value,
        tm.ATTR_FAULT_PROBABILITY: float(fault.probability),
    }
    duration_ms = getattr(fault, "duration_ms", None)
    if duration_ms is not None:
        span_attrs[tm.ATTR_FAULT_DURATION_MS] = duration_ms
    if fault.fault_type is FaultType.error:
        span_attrs[tm.ATTR_FAULT_ERROR_CODE] = _error_code(fault)
    error_message = getattr(fault, "error_message", None)
    if error_message is not None:
        span_attrs[tm.ATTR_FAULT_ERROR_MESSAGE] = error_message
    after_chunks = getattr(fault, "after_chunks", None)
    if after_chunks is not None:
        span_attrs[tm.ATTR_FAULT_AFTER_CHUNKS] = after_chunks
    retry_after_s = getattr(fault, "retry_after_s", None)
    if retry_after_s is not None:
        span_attrs[tm.ATTR_FAULT_RETRY_AFTER_S] = float(retry_after_s)
    metric_attrs: dict[str, Any] = {tm.ATTR_FAULT_TYPE: fault.fault_type.value}
    if component is not None:
        span_attrs[tm.ATTR_COMPONENT] = component
        metric_attrs[tm.ATTR_COMPONENT] = component
    if experiment_id is not None:
        span_attrs[tm.ATTR_EXPERIMENT_ID] = experiment_id
        metric_attrs[tm.ATTR_EXPERIMENT_ID] = experiment_id
    return span_attrs, metric_attrs


def _error_code(fault: FaultConfig) -> int:
    code = getattr(fault, "error_code", None)
    return code if code is not None else ChaosError().error_code


class OwnFaults:
    """A decorator's (or transport's) own faults, with a one-draw gate where it can.

    When every plan is :attr:`~FaultPlan.simple` (no seed, no position rule), the gate asks one
    question per call, "does any fault fire?", with probability ``1 - prod(1 - p_i)``. Only when
    it says yes does :meth:`choose` draw which ones fired, conditioned on at least one firing.
    Together the two steps give exactly the distribution of independent per-fault draws, while
    a call on which nothing fires costs a single draw. Otherwise :meth:`select` decides each
    plan for call ``n``.
    """

    __slots__ = ("_conditional", "count", "draw", "plans", "probability", "simple")

    def __init__(self, plans: Sequence[FaultPlan], draw: Draw) -> None:
        self.plans = tuple(plans)
        self.draw = draw
        self.count = new_counter()
        self.simple = all(p.simple for p in self.plans)
        # tail[i] = P(at least one of plans[i:] fires)
        tail = [0.0] * (len(self.plans) + 1)
        for i in range(len(self.plans) - 1, -1, -1):
            p = self.plans[i].probability
            tail[i] = 1.0 - (1.0 - p) * (1.0 - tail[i + 1])
        self.probability = tail[0] if self.plans else 0.0
        self._conditional = tuple(
            (plan.probability / tail[i]) if tail[i] > 0 else 0.0
            for i, plan in enumerate(self.plans)
        )

    def choose(self) -> list[FaultPlan]:
        """Which faults fire, given that at least one does (simple plans only)."""
        draw = self.draw
        fired: list[FaultPlan] = []
        plans = self.plans
        for i, plan in enumerate(plans):
            if draw() < self._conditional[i]:
                fired.append(plan)
                fired.extend(p for p in plans[i + 1 :] if draw() < p.probability)
                break
        return fired

    def select(self, n: int) -> list[FaultPlan]:
        """Which faults fire on call ``n``, each by its own rules."""
        return [p for p in self.plans if p.selects(n)]

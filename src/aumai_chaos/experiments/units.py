"""Units of work: what judges a fault's outcome (docs/recovery.md).

A :class:`RecoveryTracker` belongs to one run. A unit of work is, for it:

- a workload iteration (the run's :class:`~aumai_chaos.experiments.workload.WorkloadRunner`);
- ``with run.unit("question 3"):`` in an experiment block (:meth:`RecoveryTracker.unit`);
- a test, in the pytest plugin (a unit around the test's call);
- a span with ``gen_ai.operation.name = invoke_agent``, from any instrumentation or your own
  (:meth:`span_started` / :meth:`span_ending`, fed by the span dispatcher).

In a block of code (:meth:`RecoveryTracker.count_units`), each unit that ends is also one
workload iteration, failed when it raised, so that a ``workload`` objective is judged over the
block's units: every ``run.unit()``; a pytest test when it opened none of its own; an
``invoke_agent`` span outside every other unit. A scheduled run's iterations are recorded by its
workload runner, never through here.

The current unit lives in a context variable of the tracker's own, so two runs never see each
other's units. The run feeds it each fault as it fires (:meth:`on_fault`) and each component
call as it ends (:meth:`_wrap_recorder`); when a unit ends, its faults' outcomes are folded into
the tally, counted in ``chaos.fault.outcomes`` and ``chaos.fault.recovery_time``, and added as
``chaos.fault.outcome`` events to the unit's span. Nothing here raises into user code.
"""

from __future__ import annotations

import contextlib
import contextvars
import copy
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from opentelemetry import trace

from aumai_chaos._engine import telemetry as tm
from aumai_chaos._engine.act import RecordCall, warn_once
from aumai_chaos.experiments._recorder import Note
from aumai_chaos.experiments._unit import Unit
from aumai_chaos.experiments.recovery import FaultOutcome, RecoveryTally, UnitLedger
from aumai_chaos.experiments.summary import RecoveryRow

__all__ = [
    "ATTR_FAULT_OUTCOME",
    "ATTR_FAULT_RECOVERY",
    "EVENT_FAULT_OUTCOME",
    "IterationSink",
    "RecoveryTracker",
    "Unit",
]

EVENT_FAULT_OUTCOME = "chaos.fault.outcome"
ATTR_FAULT_OUTCOME = "chaos.fault.outcome"
ATTR_FAULT_RECOVERY = "chaos.fault.recovery"
ATTR_GEN_AI_OPERATION = "gen_ai.operation.name"
INVOKE_AGENT = "invoke_agent"
#: The most spans an invoke_agent unit's subtree is followed through at once (bounded memory).
MAX_TRACKED_SPANS = 100_000
#: Records one ended unit as a workload iteration: (duration in ms, error type, message).
IterationSink = Callable[[float, str | None, str | None], None]


def _failed(where: str, exc: BaseException) -> None:
    warn_once("aumai-chaos recovery bookkeeping failed in %s (%r)", where, exc)


def _message(exc: BaseException | None) -> str | None:
    if exc is None:
        return None
    try:
        return str(exc)
    except Exception:  # an exception whose __str__ raises
        return f"<{type(exc).__name__} with an unprintable message>"


class RecoveryTracker:
    """The units of one run and the outcomes of its faults. Thread-safe."""

    def __init__(self, experiment_id: str) -> None:
        self.experiment_id = experiment_id
        self._current: contextvars.ContextVar[UnitLedger | None] = contextvars.ContextVar(
            f"aumai_chaos_unit_{experiment_id}", default=None
        )
        self._lock = threading.Lock()
        self._open: set[UnitLedger] = set()
        #: span id -> the invoke_agent unit it belongs to (the span itself or a descendant).
        self._by_span: dict[int, UnitLedger] = {}
        self._agents: dict[int, UnitLedger] = {}  # span id of an invoke_agent span -> its unit
        self._tally = RecoveryTally()
        #: The unit of a fault outside every other unit (a pytest test), if any.
        self._default: UnitLedger | None = None
        self._default_t0 = 0.0
        self._sealed = False
        #: Where each ended unit goes as a workload iteration (a block's), if anywhere.
        self._iterations: IterationSink | None = None
        #: Whether a unit of the block's own (``run.unit()``) was counted: a pytest test that
        #: opened units is judged over them, not as one more.
        self._own_units = False
        #: Span ids of the ``invoke_agent`` units counted as iterations (outside every other).
        self._top: set[int] = set()
        self._outcomes: Any = None
        self._times: Any = None
        self._instruments: tm.Instruments | None = None
        #: The ``unknown`` outcomes of the faults outside every unit, by (fault type,
        #: component): counted as they fire, added to the counter when the metrics are read.
        self._unplaced: dict[tuple[str, str], tm.PendingCount] = {}

    def _measure(self, instruments: tm.Instruments) -> None:
        """Count the outcomes and recovery times on the run's instruments (its meter)."""
        self._instruments = instruments
        try:
            meter = instruments.meter
            self._outcomes = meter.create_counter(
                "chaos.fault.outcomes",
                unit="{fault}",
                description="Fired faults by outcome: recovered, propagated or unknown.",
            )
            self._times = meter.create_histogram(
                "chaos.fault.recovery_time",
                unit="s",
                description="Time from a fault's start to the end of the call that recovered.",
                explicit_bucket_boundaries_advisory=tm.DELAY_BUCKETS_S,
            )
        except Exception as exc:
            _failed("metrics", exc)

    # -- units ---------------------------------------------------------------------------------

    def unit(self, name: str) -> Unit:
        """A unit of work for a ``with`` or ``async with`` block: the block's exception (which
        propagates unchanged) makes its faults ``propagated``."""
        return Unit(self, name)

    def count_units(self, sink: IterationSink) -> None:
        """From now on, each unit of a block of code that ends is recorded by ``sink`` as one
        workload iteration (the observer's ``record_iteration``). O(1) per unit, whether or
        not a fault fired in it."""
        self._iterations = sink

    def unit_ended(
        self, duration_ms: float, error_type: str | None, exc: BaseException | None = None
    ) -> None:
        """A ``run.unit()`` ended after ``duration_ms``, raising ``error_type`` (or not)."""
        sink = self._iterations
        if sink is None:
            return
        self._own_units = True
        self._count(sink, duration_ms, error_type, _message(exc))

    @staticmethod
    def _count(
        sink: IterationSink, duration_ms: float, error_type: str | None, message: str | None
    ) -> None:
        try:
            sink(duration_ms, error_type, message if error_type is not None else None)
        except Exception as exc:  # pragma: no cover - never into user code
            _failed("unit count", exc)

    def begin(self, name: str, span: object = None) -> contextvars.Token[UnitLedger | None]:
        ledger = UnitLedger(name, span)
        with self._lock:
            self._open.add(ledger)
        return self._current.set(ledger)

    def end(self, token: contextvars.Token[UnitLedger | None], error_type: str | None) -> None:
        ledger = self._current.get()
        with contextlib.suppress(ValueError):  # ended in another context: still judged
            self._current.reset(token)
        if ledger is not None:
            self._close(ledger, error_type)

    def _close(self, ledger: UnitLedger, error_type: str | None) -> None:
        now = time.perf_counter()
        with self._lock:
            if ledger not in self._open:
                return  # sealed (counted unknown) or closed already
            self._open.discard(ledger)
            if not ledger.faults and not ledger.overflow:
                return
            outcomes = ledger.close(error_type, now)
            for outcome in outcomes:
                self._tally.add(outcome)
        self._emit(outcomes, ledger.span)

    def _ledger(self) -> UnitLedger | None:
        ledger = self._current.get()
        return ledger if ledger is not None else self._outer()

    def _outer(self) -> UnitLedger | None:
        """The unit outside the context's own: an invoke_agent span's, else the default."""
        if self._by_span:
            span_id = trace.get_current_span().get_span_context().span_id
            ledger = self._by_span.get(span_id)
            if ledger is not None:
                return ledger
        return self._default

    def open_default(self, name: str) -> None:
        """A unit for every fault outside the others, from any thread or task (a pytest
        test's body: its agent may run on a loop or in threads started before the test)."""
        ledger = UnitLedger(name)
        with self._lock:
            if self._sealed:
                return
            self._open.add(ledger)
            self._default = ledger
            self._default_t0 = time.perf_counter()

    def close_default(self, error_type: str | None, exc: BaseException | None = None) -> None:
        """The default unit ended (``error_type``: what its body raised). It is a workload
        iteration (with :meth:`count_units`) unless units of its own were counted inside it."""
        ledger, self._default = self._default, None
        if ledger is not None:
            sink = self._iterations
            if sink is not None and not self._own_units:
                duration_ms = (time.perf_counter() - self._default_t0) * 1000.0
                self._count(sink, duration_ms, error_type, _message(exc))
            self._close(ledger, error_type)

    # -- what the run feeds in -----------------------------------------------------------------

    def on_fault(self, attrs: Mapping[str, Any]) -> None:
        """A fault fired (in the affected call's context)."""
        try:
            fault_type = str(attrs.get(tm.ATTR_FAULT_TYPE, "unknown"))
            component = str(attrs.get(tm.ATTR_COMPONENT) or "unknown")
            occurrence = attrs.get(tm.ATTR_FAULT_OCCURRENCE)
            occurrence = occurrence if isinstance(occurrence, int) else None
            ledger = self._ledger()
            if ledger is not None:
                with self._lock:
                    if ledger in self._open:
                        ledger.fault(fault_type, component, occurrence, time.perf_counter())
                        return
            outcome = FaultOutcome(fault_type, component, occurrence, "unknown")
            with self._lock:
                if self._sealed:
                    return
                self._tally.add(outcome)
            self._count_unplaced(fault_type, component)
        except Exception as exc:  # pragma: no cover - never into user code
            _failed("fault", exc)

    def _count_unplaced(self, fault_type: str, component: str) -> None:
        """Count an ``unknown`` outcome outside every unit (what :meth:`_emit` does for it: no
        recovery time, no span to add an event to), in one pending count per fault type and
        component rather than one measurement per fault."""
        if self._outcomes is None or self._instruments is None:
            return
        key = (fault_type, component)
        pending = self._unplaced.get(key)
        if pending is None:
            attrs = {
                tm.ATTR_FAULT_TYPE: fault_type,
                tm.ATTR_COMPONENT: component,
                tm.ATTR_EXPERIMENT_ID: self.experiment_id,
                ATTR_FAULT_OUTCOME: "unknown",
            }
            pending = self._unplaced.setdefault(
                key, self._instruments.pending(self._outcomes, attrs)
            )
        pending.add()

    def _wrap_recorder(
        self, recorder: Callable[[str, Note], RecordCall]
    ) -> Callable[[str], RecordCall]:
        """``recorder`` (the observer's, one per component), each call also telling the current
        unit that it ended (:meth:`note_call`). Costs a context-variable read when no fault has
        fired in the unit."""
        note = self.note_call
        return lambda component: recorder(component, note)

    def note_call(self, component: str, ok: bool) -> None:
        """A call into ``component`` ended (``ok``: without an error), in the current unit."""
        ledger = self._current.get()
        if ledger is None:
            if not self._by_span and self._default is None:
                return
            ledger = self._outer()
            if ledger is None:
                return
        # Nothing waits for a later call until a fault has fired in the unit.
        if ledger.hit or ledger.retry or ledger.unplaced:
            with self._lock:
                ledger.call(component, ok, time.perf_counter())

    # -- invoke_agent spans --------------------------------------------------------------------

    def span_started(self, span: Any, parent_span_id: int | None) -> None:
        """Follow an ``invoke_agent`` span (a unit) and the spans under it. Called for every
        span started while the run goes on: two reads when neither applies."""
        try:
            if _is_agent(span):
                span_id = span.get_span_context().span_id
                # The SDK ends a span before any processor sees it ending (``_on_ending`` comes
                # after the end time is set), so the outcome events cannot go on it: an
                # invoke_agent unit's outcomes are in the summary and the metrics.
                ledger = UnitLedger(str(span.name))
                # An iteration only outside every other unit: never counted twice when nested.
                top = (
                    self._iterations is not None
                    and self._current.get() is None
                    and self._default is None
                    and (parent_span_id is None or parent_span_id not in self._by_span)
                )
                with self._lock:
                    if self._sealed or len(self._by_span) >= MAX_TRACKED_SPANS:
                        return
                    self._open.add(ledger)
                    self._agents[span_id] = ledger
                    self._by_span[span_id] = ledger
                    if top:
                        self._top.add(span_id)
            elif self._by_span and parent_span_id is not None:
                parent = self._by_span.get(parent_span_id)
                if parent is not None and len(self._by_span) < MAX_TRACKED_SPANS:
                    self._by_span[span.get_span_context().span_id] = parent
        except Exception as exc:  # pragma: no cover
            _failed("span start", exc)

    def span_ending(self, span: Any) -> None:
        """An ``invoke_agent`` span is ending (still writable): judge its unit."""
        try:
            if not self._by_span:
                return
            span_id = span.get_span_context().span_id
            with self._lock:
                self._by_span.pop(span_id, None)
                ledger = self._agents.pop(span_id, None)
                top = span_id in self._top
                self._top.discard(span_id)
            if ledger is None:
                return
            error_type: str | None = None
            if span.status.status_code is trace.StatusCode.ERROR:
                error_type = _error_type(span)
            sink = self._iterations
            if top and sink is not None:
                start, end = span.start_time, span.end_time
                duration_ms = (end - start) / 1e6 if start is not None and end is not None else 0.0
                self._count(sink, duration_ms, error_type, span.status.description)
            self._close(ledger, error_type)
        except Exception as exc:  # pragma: no cover
            _failed("span end", exc)

    # -- the end -------------------------------------------------------------------------------

    def seal(self) -> None:
        """The run has ended: the faults of units still open are ``unknown``; nothing more is
        taken."""
        with self._lock:
            if self._sealed:
                return
            self._sealed = True
            outcomes = [o for ledger in self._open for o in ledger.abandon()]
            self._open.clear()
            self._by_span.clear()
            self._agents.clear()
            self._top.clear()
            for outcome in outcomes:
                self._tally.add(outcome)
        self._emit(outcomes, None)

    def rows(self, *, provisional: bool = False) -> list[RecoveryRow]:
        """The rows of the units ended so far; with ``provisional``, also the default unit's
        faults judged as if it ended now without error (a test asking from its body)."""
        with self._lock:
            if not provisional or self._default is None or not self._default.faults:
                return self._tally.rows()
            tally = copy.deepcopy(self._tally)
            for outcome in self._default.close(None, time.perf_counter()):
                tally.add(outcome)
            return tally.rows()

    def propagated(self) -> list[FaultOutcome]:
        """The first propagated faults, one by one (bounded)."""
        with self._lock:
            return list(self._tally.propagated)

    def _emit(self, outcomes: list[FaultOutcome], span: object) -> None:
        """Count the outcomes; add them as events to ``span`` while it still records."""
        try:
            target = span if isinstance(span, trace.Span) and span.is_recording() else None
            for o in outcomes:
                attrs: dict[str, Any] = {
                    tm.ATTR_FAULT_TYPE: o.fault_type,
                    tm.ATTR_COMPONENT: o.component,
                    tm.ATTR_EXPERIMENT_ID: self.experiment_id,
                    ATTR_FAULT_OUTCOME: o.outcome,
                }
                if o.mechanism is not None:
                    attrs[ATTR_FAULT_RECOVERY] = o.mechanism
                if self._outcomes is not None:
                    self._outcomes.add(o.count, attrs)
                if self._times is not None and o.recovery_ms is not None:
                    self._times.record(
                        o.recovery_ms / 1000.0,
                        {
                            tm.ATTR_FAULT_TYPE: o.fault_type,
                            tm.ATTR_COMPONENT: o.component,
                            ATTR_FAULT_RECOVERY: o.mechanism or "",
                        },
                    )
                if target is not None:
                    event = dict(attrs)
                    if o.occurrence is not None:
                        event[tm.ATTR_FAULT_OCCURRENCE] = o.occurrence
                    if o.error_type is not None:
                        event[tm.ATTR_ERROR_TYPE] = o.error_type
                    target.add_event(EVENT_FAULT_OUTCOME, event)
        except Exception as exc:
            _failed("outcome telemetry", exc)


def _is_agent(span: Any) -> bool:
    """Whether ``span`` is an ``invoke_agent`` span. Our own spans (component calls, faults)
    never are: they are told apart by their scope, without reading their attributes (an SDK
    span's attribute read takes a lock, about a microsecond)."""
    scope = span.instrumentation_scope
    if scope is not None and scope.name == tm.SCOPE_NAME:
        return False
    attrs = span.attributes
    return attrs is not None and attrs.get(ATTR_GEN_AI_OPERATION) == INVOKE_AGENT


def _error_type(span: Any) -> str:
    """What ended a failed span: its ``error.type``, else its last recorded exception's type."""
    found = (span.attributes or {}).get(tm.ATTR_ERROR_TYPE)
    if found is None:
        for event in reversed(span.events or ()):
            if event.name == "exception":
                found = (event.attributes or {}).get("exception.type")
                break
    return str(found) if found is not None else "error"

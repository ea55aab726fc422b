"""One run of one experiment, from start to verdict. Used by :class:`ExperimentScheduler`.

The run owns its state, routes, plans and stop conditions; its phases (an optional fault-free
baseline, then the fault window) are driven by ``_phases``. Closing is always the same, whatever
happened: close the window, stop routing, stop the workload, wait for faults in flight,
summarise, decide the verdict (``_verdict``), end the ``chaos.experiment`` span and record the
run's metrics. Nothing leaves a run ``running``.
"""

from __future__ import annotations

import asyncio
import logging
import random
import threading
import time
from collections.abc import Callable
from contextvars import Token
from datetime import UTC, datetime
from typing import Any

from opentelemetry import baggage, trace
from opentelemetry import context as otel_context
from opentelemetry.metrics import MeterProvider
from opentelemetry.sdk.trace import TracerProvider as SdkTracerProvider

from aumai_chaos import propagation
from aumai_chaos._engine import registry as _registry
from aumai_chaos._engine import telemetry as tm
from aumai_chaos._engine.plan import FaultPlan
from aumai_chaos._engine.scopes import Scope
from aumai_chaos._engine.window import Window
from aumai_chaos.errors import WorkloadError
from aumai_chaos.experiments._dispatch import DISPATCHER, observing_provider
from aumai_chaos.experiments._phases import Phases, Progress, RunNotes
from aumai_chaos.experiments._series import Series
from aumai_chaos.experiments._verdict import (
    DISABLED_REASON,
    broken_workload,
    cannot_act,
    end_span,
    fault_report,
    record_run_metrics,
    record_verdict,
    unreached_components,
    verdict_reason,
)
from aumai_chaos.experiments.models import (
    ChaosExperiment,
    ExperimentResult,
    ExperimentStatus,
    checked_for_run,
)
from aumai_chaos.experiments.observer import ExperimentObserver
from aumai_chaos.experiments.steady_state import (
    WORKLOAD,
    ObjectiveResult,
    StopEvent,
    decide_verdict,
    evaluate_objectives,
    first_crossed,
    unjudged,
)
from aumai_chaos.experiments.summary import Summary, WorkloadStats
from aumai_chaos.experiments.units import RecoveryTracker
from aumai_chaos.experiments.workload import Workload, check_no_arguments, load_workload
from aumai_chaos.faults import FaultConfig

__all__ = ["ExperimentRun", "Progress"]

_log = logging.getLogger("aumai_chaos")
#: What a run traces through when the user's tracer cannot start its span: nothing (the run
#: records its calls and faults itself, as they happen).
_NO_TRACING = trace.NoOpTracerProvider()


class ExperimentRun:
    """Everything one run owns. :meth:`execute` is called once, from one thread."""

    def __init__(
        self,
        experiment: ChaosExperiment,
        *,
        tracer_provider: trace.TracerProvider | None,
        meter_provider: MeterProvider | None,
        max_observations: int,
    ) -> None:
        self.experiment = checked_for_run(experiment)
        self._max_observations = max_observations
        self.observer = self.new_observer()
        caps = [
            c.max_injections for c in experiment.stop_conditions if c.max_injections is not None
        ]
        self.window = Window(max_total=min(caps) if caps else None)
        self._aborted = threading.Event()
        self._tracer_provider = observing_provider(tracer_provider)
        self._meter_provider = meter_provider
        self.instruments = tm.instruments_for(self._tracer_provider, meter_provider)
        # -- recovery hook: units of work and fault outcomes (experiments/units.py) --
        self.recovery = RecoveryTracker(experiment.experiment_id)
        self.recovery._measure(self.instruments)
        seed = experiment.seed
        self.rng = random.Random(seed) if seed is not None else random.Random()
        self.start_time: datetime | None = None
        self.stopped_by: StopEvent | None = None
        #: The baseline phase's own observer, once it ran.
        self.baseline_observer: ExperimentObserver | None = None
        self.notes = RunNotes()
        self._escapes: set[str] = set()
        self._escapes_lock = threading.Lock()
        self._span: trace.Span = trace.INVALID_SPAN
        self._token: Token[otel_context.Context] | None = None
        #: Whether this run's context names it in baggage (``scope: baggage``) for the clients.
        self._carries = False
        #: Called with each fault's attributes as it fires (an experiment block's live counts).
        self.fault_hooks: list[Callable[[dict[str, Any]], None]] = []
        #: The run's start (``time.monotonic()``) and its planned length, for progress reports.
        self.t0 = 0.0
        self.total_seconds = experiment.duration_seconds + (experiment.baseline_seconds or 0.0)

    def new_observer(self) -> ExperimentObserver:
        windows = [c.window_seconds for c in self.experiment.stop_conditions]
        # Faults are counted as they fire, inside the window (see _fault_fired), not from span
        # events, so that the summary, the per-fault report and the metrics agree even for
        # calls still running when the run ends.
        return ExperimentObserver(
            max_observations=self._max_observations,
            experiment_id=self.experiment.experiment_id,
            recent_seconds=max(windows) if windows else None,
            faults_from_spans=False,
            calls_from_spans=False,  # recorded as they end: the route's recorder
        )

    def abort(self) -> None:
        """Stop the run now; safe from any thread, and before the run has started."""
        self._aborted.set()
        self.window.close()

    @property
    def aborted(self) -> bool:
        return self._aborted.is_set()

    def wait_aborted(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for an abort; whether the run is aborted."""
        return self._aborted.wait(timeout)

    # -- planning ------------------------------------------------------------------------------

    def make_plan(self, position: int, component: str) -> FaultPlan:
        # A fault is known by its position in the experiment: with the seed, it names the
        # fault in the replay hash (docs/replay.md), and the window counts its firings by it.
        return FaultPlan(
            self.experiment.faults[position],
            draw=self.rng.random,
            instruments=self.instruments,
            component=component,
            experiment_id=self.experiment.experiment_id,
            window=self.window,
            on_fire=self._fault_fired,
            position=position,
            seed=self.experiment.seed,
        )

    def _fault_fired(self, attrs: dict[str, Any]) -> None:
        self.observer.record_fault(attrs)
        self.recovery.on_fault(attrs)  # recovery hook: the unit judges it when it ends
        for hook in self.fault_hooks:
            hook(attrs)

    def route(
        self,
        *,
        with_faults: bool,
        observer: ExperimentObserver | None = None,
        scope: Scope | None = None,
        watch_all: bool = False,
    ) -> _registry.ExperimentRoute:
        exp = self.experiment
        by_component: dict[str, list[int]] = {}
        everywhere: list[int] = []
        for position, fault in enumerate(exp.faults):
            names = exp.components_of(fault)
            if not names:
                everywhere.append(position)
            for name in dict.fromkeys(names):
                by_component.setdefault(name, []).append(position)
        watch = {o.component for o in exp.steady_state if o.component != WORKLOAD}
        watch |= {c.component for c in exp.stop_conditions if c.component not in (None, WORKLOAD)}
        if not with_faults:
            watch |= set(by_component)
            by_component, watch_all = {}, watch_all or bool(everywhere)
            everywhere = []
        return _registry.ExperimentRoute(
            exp.experiment_id,
            self.instruments,
            self.make_plan,
            by_component,
            everywhere,
            watch={w for w in watch if w},
            watch_all=watch_all,
            trace_all=exp.trace_calls == "all",
            recorder=(
                observer._recorder
                if observer is not None  # the baseline: no fault, no outcome
                else self.recovery._wrap_recorder(self.observer._recorder)  # recovery hook
            ),
            scope=scope,
        )

    # -- the run -------------------------------------------------------------------------------

    def execute(
        self,
        workload: Workload | None = None,
        progress: Progress | None = None,
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> ExperimentResult:
        exp = self.experiment
        ctx = self.start()
        error: BaseException | None = None
        baseline: Summary | None = None
        objectives: list[ObjectiveResult] = []
        disabled = not _registry.state.enabled
        try:
            if workload is None and exp.workload is not None:
                workload = load_workload(exp.workload.target)
            elif workload is not None:
                check_no_arguments(workload, getattr(workload, "__qualname__", repr(workload)))
            phases = Phases(self, workload, ctx, loop, progress)
            if exp.baseline_seconds is not None:
                if workload is None:
                    raise WorkloadError("baseline_seconds needs a workload to measure")
                baseline = phases.baseline(workload)
                objectives = evaluate_objectives(exp.steady_state, baseline, "baseline")
            if not any(not r.passed for r in objectives) and not self.aborted:
                phases.fault_window()
        except Exception as exc:
            error = exc
        return self.finish(
            error,
            had_workload=workload is not None,
            baseline=baseline,
            objectives=objectives,
            disabled=disabled,
        )

    # -- start and finish: shared by execute() and aumai_chaos.experiment() blocks ---------------

    def start(self, *, attach: bool = True) -> otel_context.Context:
        """Open the ``chaos.experiment`` span and make it current in this context (unless not
        ``attach``: an armed experiment, which spans requests rather than a block), start the
        clock, count the run as active. Returns the context the run's work should run in: with
        ``scope: baggage``, its baggage names the experiment."""
        exp = self.experiment
        attrs: dict[str, Any] = {
            tm.ATTR_EXPERIMENT_ID: exp.experiment_id,
            tm.ATTR_EXPERIMENT_NAME: exp.name,
        }
        if exp.seed is not None:
            attrs[tm.ATTR_SEED] = exp.seed
        self._span = span = self._start_span(attrs)
        ctx = trace.set_span_in_context(span)
        if attach and exp.scope == "baggage":
            ctx = baggage.set_baggage(propagation.BAGGAGE_KEY, exp.experiment_id, ctx)
            self._carries = True
            propagation.carrying(1)
        if attach:
            self._token = otel_context.attach(ctx)
        self.start_time = datetime.now(UTC)
        self.t0 = time.monotonic()
        # the summary's series: from the start
        self.observer.series = Series(time.time_ns(), time.perf_counter())
        try:
            self.instruments.experiment_active.add(1)
        except Exception as exc:
            _log.warning("recording the experiment metrics failed: %r", exc)
        return ctx

    def open_block(
        self,
        *,
        scope: Scope | None,
        key: object,
        watch_all: bool = False,
        name_escapes: bool = False,
    ) -> object:
        """Route the faults for a block of code (after :meth:`start`) under ``key`` (with a
        ``scope``, only to the calls it admits; with ``watch_all``, every component's calls are
        observed, not only those of its faults and objectives); the window closes at
        ``duration_seconds`` at the latest. Returns ``key`` for :meth:`close_block`. With
        ``name_escapes`` (a scoped block of code), a call into an affected component from a
        context in no scope is named once (:meth:`_escaped`)."""
        self.window.deadline = self.t0 + self.experiment.duration_seconds
        DISPATCHER.add(self.experiment.experiment_id, self.observer)
        DISPATCHER.add_units(self.experiment.experiment_id, self.recovery)  # recovery hook
        route = self.route(with_faults=True, scope=scope, watch_all=watch_all)
        if scope is not None and name_escapes:
            route.on_escape = self._escaped
        _registry.activate(key, route)
        return key

    def _escaped(self, component: str) -> None:
        """A call into ``component`` came from outside the block's context: say so once."""
        with self._escapes_lock:
            if component in self._escapes:
                return
            self._escapes.add(component)
        note = (
            f"component {component!r} was called during the block from outside the block's "
            "context (a thread the block did not start with its context: a ThreadPoolExecutor, "
            "loop.run_in_executor, threading.Thread); those calls got no faults and were not "
            'counted: use scope="process", or run them with contextvars.copy_context().run'
        )
        _log.warning("experiment %r: %s", self.experiment.experiment_id, note)
        self.notes.add(note)

    def add_fault(self, key: object, fault: FaultConfig) -> None:
        """Add a fault to a running block (routed under ``key``), declared after the others:
        its position in the replay hash is the next one, and the faults already there keep
        their ``times`` budgets and call numbers."""
        position = len(self.experiment.faults)
        self.experiment.faults.append(fault)  # type: ignore[arg-type]  # any fault class
        _registry.add_fault(key, position, self.experiment.components_of(fault))

    def close_block(self, key: object) -> None:
        self.window.close()
        _registry.deactivate(key)

    def finish(
        self,
        error: BaseException | None,
        *,
        had_workload: bool = False,
        baseline: Summary | None = None,
        objectives: list[ObjectiveResult] | None = None,
        disabled: bool = False,
        block: bool = False,
    ) -> ExperimentResult:
        """Close the window, wait for faults in flight, summarise, decide the verdict, end the
        span and record the metrics; from the context :meth:`start` ran in. ``disabled``: the
        kill switch was on when the run started (it is also checked here). ``block``: the run
        is an experiment block (its calls are the workload's)."""
        exp = self.experiment
        span = self._span
        objectives = list(objectives or ())
        try:
            self.window.close()
            if not self.window.wait_drained(1.0):
                self.notes.add(f"{self.window.inflight} fault(s) still in flight at the end")
            elapsed = time.monotonic() - self.t0
            end_time = datetime.now(UTC)
        finally:
            if self._token is not None:
                otel_context.detach(self._token)
                self._token = None
            if self._carries:
                self._carries = False
                propagation.carrying(-1)
            DISPATCHER.remove(exp.experiment_id, self.observer)
            DISPATCHER.remove_units(exp.experiment_id, self.recovery)  # recovery hook
            self.observer.seal()
            self.recovery.seal()  # recovery hook: units still open are unknown
        disabled = disabled or not _registry.state.enabled
        if error is None and not self.aborted and had_workload:
            broken = broken_workload(self.baseline_observer, self.observer)
            if broken is not None:
                error = WorkloadError(broken)
        status = (
            ExperimentStatus.failed
            if error is not None
            else ExperimentStatus.aborted
            if self.aborted
            else ExperimentStatus.completed
        )
        summary, unreached = self._summary(
            elapsed, had_workload=had_workload, disabled=disabled, block=block
        )
        baseline_failed = any(not r.passed for r in objectives)
        not_judged = unjudged(exp.steady_state, summary)
        if error is None and not baseline_failed:
            skip = {id(o) for o, _ in not_judged}
            judged = [o for o in exp.steady_state if id(o) not in skip]
            objectives += evaluate_objectives(judged, summary, "faults")
        verdict = decide_verdict(
            failed=error is not None,
            aborted=self.aborted,
            baseline_failed=baseline_failed,
            objectives=objectives,
            unfired_faults=sum(1 for f in summary.faults if f.fired == 0),
            require_faults_fired=exp.require_faults_fired,
            injection_disabled=disabled,
            unjudged_objectives=len(not_judged),
        )
        error_text = f"{type(error).__name__}: {error}" if error is not None else None
        record_verdict(
            span, self.instruments, exp.experiment_id, verdict, objectives, self.stopped_by
        )
        end_span(span, status, error)
        record_run_metrics(self.instruments, exp.experiment_id, status, elapsed)
        return ExperimentResult(
            experiment_id=exp.experiment_id,
            name=exp.name,
            status=status,
            start_time=self.start_time,
            end_time=end_time,
            summary=summary,
            observations=self.observer.get_observations(),
            dropped_observations=self.observer.dropped,
            seed=exp.seed,
            error=error_text,
            verdict=verdict,
            verdict_reason=verdict_reason(
                verdict,
                error=error_text,
                objectives=objectives,
                faults=summary.faults,
                stopped_by=self.stopped_by,
                injection_disabled=disabled,
                unjudged=[why for _, why in not_judged],
                unreached=unreached,
            ),
            injection_disabled=disabled,
            objectives=objectives,
            baseline=baseline,
            stopped_by=self.stopped_by,
        )

    def _summary(
        self, elapsed: float, *, had_workload: bool, disabled: bool, block: bool
    ) -> tuple[Summary, list[str]]:
        """The observer's summary with the run's own parts: the fault report and the notes;
        and the notes on the components no call reached."""
        observed = self.observer.summary(elapsed)
        run_parts: dict[str, Any] = {"faults": fault_report(self.experiment, self.window.fired)}
        recovery = self.recovery.rows()  # recovery hook: one row per fault type and component
        if recovery:
            run_parts["recovery"] = recovery
        if had_workload and observed.workload is None:
            run_parts["workload"] = WorkloadStats(iterations=0, failures=0, failure_rate=0.0)
        if disabled:
            self.notes.lead(DISABLED_REASON)
        decorated = _registry.registered_components()
        for note in cannot_act(self.experiment, set(decorated), self.window.fired):
            self.notes.add(note)
        unreached: list[str] = []
        if had_workload or block:
            calls = {name: stats.calls for name, stats in observed.components.items()}
            known = sorted({*calls, *decorated})
            unreached = unreached_components(self.experiment, calls, known)
            for note in unreached:
                self.notes.add(note)
        notes = self.notes.as_list()
        if notes:
            run_parts["notes"] = notes
        return observed.model_copy(update=run_parts), unreached

    def _start_span(self, attrs: dict[str, Any]) -> trace.Span:
        """Start the ``chaos.experiment`` span. When the user's sampler drops it or the user's
        tracer fails, the run is still observed (it records its calls and faults itself) but not
        exported; a failing tracer is not asked again. With no SDK, nothing is exported anyway
        and nothing is said."""
        exp_id = self.experiment.experiment_id
        try:
            span = self.instruments.tracer.start_span(tm.SPAN_EXPERIMENT, attributes=attrs)
            if span.is_recording() or not isinstance(self._tracer_provider, SdkTracerProvider):
                return span
            _log.warning(
                "the sampler dropped experiment %r; it is still observed, but not exported", exp_id
            )
            return span
        except Exception as exc:
            _log.warning(
                "the tracer failed to start experiment %r (%r); it is still observed, but not "
                "exported",
                exp_id,
                exc,
            )
        self.instruments = tm.instruments_for(_NO_TRACING, self._meter_provider)
        return self.instruments.tracer.start_span(tm.SPAN_EXPERIMENT, attributes=attrs)

    def check_stop_conditions(self) -> bool:
        """Abort the run if a stop condition is crossed (and say which); whether one was."""
        stop = first_crossed(self.experiment.stop_conditions, self.window.total, self.observer)
        if stop is None:
            return False
        self.stopped_by = stop
        self.abort()
        return True

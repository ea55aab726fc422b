"""The timed phases of one run: the fault-free baseline and the fault window.

The baseline runs the workload with its components observed by an observer of its own and no
fault routed. The fault window routes the run's faults and drives the workload (or, without one,
a synthetic call of each fault's components every tick) until the duration is up, the run is
aborted, or a stop condition is crossed. What went wrong on the way (iterations abandoned, a run
held past its end) is added to the run's :class:`RunNotes`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from opentelemetry import context as otel_context

from aumai_chaos._engine import registry as _registry
from aumai_chaos._engine import telemetry as tm
from aumai_chaos._engine.act import CallSpan, fire_sync
from aumai_chaos._engine.calls import decide_one
from aumai_chaos._engine.plan import Counter, FaultPlan, new_counter
from aumai_chaos.errors import InjectedFaultError
from aumai_chaos.experiments._dispatch import DISPATCHER
from aumai_chaos.experiments.observer import ExperimentObserver
from aumai_chaos.experiments.summary import Summary, WorkloadStats
from aumai_chaos.experiments.workload import Workload, WorkloadRunner
from aumai_chaos.faults import Action

if TYPE_CHECKING:
    from aumai_chaos.experiments._run import ExperimentRun

__all__ = [
    "ABORT_GRACE_SECONDS",
    "DEADLINE_SLACK_SECONDS",
    "FINISH_GRACE_SECONDS",
    "SYNTHETIC_COMPONENT",
    "Phases",
    "Progress",
    "RunNotes",
]

Progress = Callable[[float, float], None]
SYNTHETIC_COMPONENT = "synthetic"
#: How long a finished phase waits for workload iterations still in flight.
FINISH_GRACE_SECONDS = 1.0
#: The same after an abort, which must return at once.
ABORT_GRACE_SECONDS = 0.05
_POLL = 0.1
#: How long past its duration a run's window stays open at most, whatever holds the run.
DEADLINE_SLACK_SECONDS = 0.25


class RunNotes:
    """What a run has to say about itself (the summary's ``notes``), in the order it happened;
    a note that explains the whole run goes first."""

    __slots__ = ("_notes",)

    def __init__(self) -> None:
        self._notes: list[str] = []

    def add(self, note: str) -> None:
        self._notes.append(note)

    def lead(self, note: str) -> None:
        """Put ``note`` before every other."""
        self._notes.insert(0, note)

    def as_list(self) -> list[str]:
        return list(self._notes)


@dataclass(eq=False, repr=False)
class Phases:
    """Drives one run's phases, from the thread that runs it."""

    run: ExperimentRun
    workload: Workload | None
    ctx: otel_context.Context
    loop: asyncio.AbstractEventLoop | None
    progress: Progress | None

    def baseline(self, workload: Workload) -> Summary:
        """Run the workload fault-free for ``baseline_seconds``; its summary."""
        run = self.run
        exp = run.experiment
        observer = run.baseline_observer = run.new_observer()
        key = object()
        DISPATCHER.add(exp.experiment_id, observer)
        _registry.activate(key, run.route(with_faults=False, observer=observer))
        t0 = time.monotonic()
        try:
            until = t0 + (exp.baseline_seconds or 0.0)
            self._drive(workload, observer, until, watch_stops=False)
        finally:
            _registry.deactivate(key)
            DISPATCHER.remove(exp.experiment_id, observer)
            observer.seal()
        summary = observer.summary(time.monotonic() - t0)
        if summary.workload is None:
            summary.workload = WorkloadStats(iterations=0, failures=0, failure_rate=0.0)
        return summary

    def fault_window(self) -> None:
        """Route the faults and drive the workload (or synthetic ticks) for ``duration_seconds``."""
        run = self.run
        key = object()
        until = time.monotonic() + run.experiment.duration_seconds
        # The faults stop when the duration is up even while a progress hook holds this thread:
        # normally this thread closes the window at ``until``, the deadline is the backstop.
        run.window.deadline = until + DEADLINE_SLACK_SECONDS
        DISPATCHER.add(run.experiment.experiment_id, run.observer)
        DISPATCHER.add_units(run.experiment.experiment_id, run.recovery)  # recovery hook
        _registry.activate(key, run.route(with_faults=True))
        try:
            if self.workload is not None:
                self._drive(self.workload, run.observer, until, watch_stops=True)
            else:
                self._ticks(until)
        finally:
            run.window.close()
            _registry.deactivate(key)
            late = time.monotonic() - until
            if late > FINISH_GRACE_SECONDS + 0.5 and not run.aborted:
                run.notes.add(
                    f"the run ended {late:.1f}s late (held by a progress hook or the workload); "
                    "its faults stopped on time"
                )

    def _drive(
        self, workload: Workload, observer: ExperimentObserver, until: float, watch_stops: bool
    ) -> None:
        run = self.run
        wl = run.experiment.workload
        runner = WorkloadRunner(
            workload,
            concurrency=wl.concurrency if wl else 1,
            interval=wl.interval_seconds if wl else 0.0,
            observer=observer,
            ctx=self.ctx,
            loop=self.loop,
            units=run.recovery if watch_stops else None,  # recovery hook: iterations are units
        )
        runner.start()
        try:
            self._wait_until(until, watch_stops)
        finally:
            runner.stop()
            if watch_stops:
                run.window.close()  # wake the delays of the iterations still in flight
            grace = ABORT_GRACE_SECONDS if run.aborted else FINISH_GRACE_SECONDS
            hung = runner.join(grace)
            if hung:
                run.notes.add(
                    f"{hung} workload iteration(s) still running {grace:g}s after the end "
                    "were abandoned"
                )

    def _report_progress(self) -> None:
        if self.progress is not None:
            total = self.run.total_seconds
            self.progress(min(time.monotonic() - self.run.t0, total), total)

    def _wait_until(self, until: float, watch_stops: bool) -> None:
        run = self.run
        while True:
            now = time.monotonic()
            self._report_progress()
            if watch_stops and run.check_stop_conditions():
                return
            if now >= until or run.wait_aborted(min(_POLL, until - now)):
                return

    def _ticks(self, until: float) -> None:
        run = self.run
        exp = run.experiment
        calls = []
        counters: dict[str, Counter] = {}
        for position, fault in enumerate(exp.faults):
            for name in dict.fromkeys(exp.components_of(fault) or (SYNTHETIC_COMPONENT,)):
                counter = counters.setdefault(name, new_counter())
                calls.append((name, run.make_plan(position, name), counter))
        next_tick = time.monotonic()
        while not run.aborted:
            now = time.monotonic()
            if now >= until:
                break
            if now >= next_tick:
                for component, plan, counter in calls:
                    if run.aborted:
                        break
                    self._synthetic_call(component, plan, counter)
                next_tick += exp.tick_seconds
                continue
            self._wait_until(min(next_tick, until), True)
        self._report_progress()

    def _synthetic_call(self, component: str, plan: FaultPlan, counter: Counter) -> None:
        run = self.run
        attrs = {tm.ATTR_COMPONENT: component, tm.ATTR_EXPERIMENT_ID: run.experiment.experiment_id}
        records = (run.observer._recorder(component),)
        call = CallSpan(run.instruments.tracer, component, attrs, records)
        call.enter()
        try:
            # A synthetic call has no result nor stream: only ``before`` faults can act on it.
            if plan.action is Action.before:
                firing = decide_one(plan, counter)
                if firing is not None:
                    fire_sync((firing,))
            else:
                counter()
        except InjectedFaultError as exc:
            call.exit(exc)
        else:
            call.exit(None)

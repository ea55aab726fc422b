"""One run of one experiment, from start to summary. Used by :class:`ExperimentScheduler`.

The run opens the experiment's firing window and routes its faults to the components they
affect; then it drives the workload (or, without one, a synthetic call of each fault's components
every tick) until the duration is up or it is aborted. Closing is always the same, whatever
happened: close the window, stop routing, stop the workload, wait for faults in flight, summarise,
end the ``chaos.experiment`` span and record the run's metrics. Nothing leaves a run ``running``.
"""

from __future__ import annotations

import asyncio
import logging
import random
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.metrics import MeterProvider
from opentelemetry.trace import Status, StatusCode

from . import _registry
from . import _telemetry as tm
from ._act import CallSpan, fire_sync
from ._dispatch import DISPATCHER, observing_provider, private_provider
from ._plan import FaultPlan
from ._window import Window
from .errors import InjectedFaultError
from .experiment import ChaosExperiment, ExperimentResult, ExperimentStatus
from .faults import FaultConfig
from .observer import ExperimentObserver
from .workload import Workload, WorkloadRunner, load_workload

__all__ = ["ExperimentRun", "Progress"]

_log = logging.getLogger("aumai_chaos")
Progress = Callable[[float, float], None]
SYNTHETIC_COMPONENT = "synthetic"
#: How long a finished run waits for workload iterations still in flight.
FINISH_GRACE_SECONDS = 1.0
#: The same after an abort, which must return at once.
ABORT_GRACE_SECONDS = 0.05
_PROGRESS_EVERY = 0.1


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
        self.experiment = experiment
        self.observer = ExperimentObserver(
            max_observations=max_observations, experiment_id=experiment.experiment_id
        )
        self.window = Window()
        self._aborted = threading.Event()
        self._tracer_provider = observing_provider(tracer_provider)
        self._meter_provider = meter_provider
        seed = experiment.seed
        self.rng = random.Random(seed) if seed is not None else random.Random()
        self.start_time: datetime | None = None

    def abort(self) -> None:
        """Stop the run now; safe from any thread, and before the run has started."""
        self._aborted.set()
        self.window.close()

    @property
    def aborted(self) -> bool:
        return self._aborted.is_set()

    # -- planning ------------------------------------------------------------------------------

    def _make_plan(self, fault: FaultConfig, component: str) -> FaultPlan:
        return FaultPlan(
            fault,
            draw=self.rng.random,
            instruments=self._instruments,
            component=component,
            experiment_id=self.experiment.experiment_id,
            window=self.window,
        )

    def _route(self) -> _registry.Route:
        by_component: dict[str, list[FaultConfig]] = {}
        everywhere: list[FaultConfig] = []
        for fault in self.experiment.faults:
            names = fault.affected_components or tuple(self.experiment.target_components)
            if not names:
                everywhere.append(fault)
            for name in dict.fromkeys(names):
                by_component.setdefault(name, []).append(fault)
        return _registry.Route(by_component, everywhere, self._make_plan)

    def _synthetic_calls(self) -> list[tuple[str, FaultPlan]]:
        calls = []
        for fault in self.experiment.faults:
            names = fault.affected_components or tuple(self.experiment.target_components)
            for name in dict.fromkeys(names or (SYNTHETIC_COMPONENT,)):
                calls.append((name, self._make_plan(fault, name)))
        return calls

    # -- the run -------------------------------------------------------------------------------

    def execute(
        self,
        workload: Workload | None = None,
        progress: Progress | None = None,
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> ExperimentResult:
        exp = self.experiment
        self._instruments = tm.instruments_for(self._tracer_provider, self._meter_provider)
        attrs: dict[str, Any] = {
            tm.ATTR_EXPERIMENT_ID: exp.experiment_id,
            tm.ATTR_EXPERIMENT_NAME: exp.name,
        }
        if exp.seed is not None:
            attrs[tm.ATTR_SEED] = exp.seed
        span = self._instruments.tracer.start_span(tm.SPAN_EXPERIMENT, attributes=attrs)
        if not span.is_recording():
            # The user's sampler dropped the experiment: observe through the private provider.
            _log.warning(
                "the tracer provider's sampler dropped experiment %r; it is still "
                "observed, but its spans are not exported",
                exp.experiment_id,
            )
            self._instruments = tm.instruments_for(private_provider(), self._meter_provider)
            span = self._instruments.tracer.start_span(tm.SPAN_EXPERIMENT, attributes=attrs)
        DISPATCHER.add(exp.experiment_id, self.observer)
        ctx = trace.set_span_in_context(span)
        token = otel_context.attach(ctx)
        self.start_time = datetime.now(UTC)
        t0 = time.monotonic()
        self._instruments.experiment_active.add(1)
        error: BaseException | None = None
        runner: WorkloadRunner | None = None
        route_key = object()
        notes: list[str] = []
        try:
            if workload is None and exp.workload is not None:
                workload = load_workload(exp.workload.target)
            _registry.activate(route_key, self._route())
            deadline = t0 + exp.duration_seconds
            if workload is not None:
                wl = exp.workload
                runner = WorkloadRunner(
                    workload,
                    concurrency=wl.concurrency if wl else 1,
                    interval=wl.interval_seconds if wl else 0.0,
                    observer=self.observer,
                    ctx=ctx,
                    loop=loop,
                )
                runner.start()
                self._wait_until(deadline, t0, progress)
            else:
                self._ticks(deadline, t0, progress)
        except Exception as exc:
            error = exc
        finally:
            self.window.close()
            _registry.deactivate(route_key)
            if runner is not None:
                runner.stop()
                grace = ABORT_GRACE_SECONDS if self.aborted else FINISH_GRACE_SECONDS
                hung = runner.join(grace)
                if hung:
                    notes.append(
                        f"{hung} workload iteration(s) still running {grace:g}s after the end "
                        "were abandoned"
                    )
            if not self.window.wait_drained(1.0):
                notes.append(f"{self.window.inflight} fault(s) still in flight at the end")
            elapsed = time.monotonic() - t0
            end_time = datetime.now(UTC)
            status = (
                ExperimentStatus.failed
                if error is not None
                else ExperimentStatus.aborted
                if self.aborted
                else ExperimentStatus.completed
            )
            otel_context.detach(token)
            DISPATCHER.remove(exp.experiment_id, self.observer)
            summary = self.observer.summary(elapsed)
            if runner is not None:
                summary.setdefault("workload", {"iterations": 0, "failures": 0})
            if notes:
                summary["notes"] = notes
            self._end_span(span, status, error)
            self._record_metrics(status, elapsed)
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
            error=f"{type(error).__name__}: {error}" if error is not None else None,
        )

    def _wait_until(self, deadline: float, t0: float, progress: Progress | None) -> None:
        total = self.experiment.duration_seconds
        while True:
            now = time.monotonic()
            if progress is not None:
                progress(min(now - t0, total), total)
            if now >= deadline or self._aborted.wait(min(_PROGRESS_EVERY, deadline - now)):
                return

    def _ticks(self, deadline: float, t0: float, progress: Progress | None) -> None:
        calls = self._synthetic_calls()
        tick = self.experiment.tick_seconds
        next_tick = t0
        while not self.aborted:
            now = time.monotonic()
            if now >= deadline:
                break
            if now >= next_tick:
                for component, plan in calls:
                    if self.aborted:
                        break
                    self._synthetic_call(component, plan)
                next_tick += tick
                continue
            self._wait_until(min(next_tick, deadline), t0, progress)
        if progress is not None:
            progress(
                min(time.monotonic() - t0, self.experiment.duration_seconds),
                self.experiment.duration_seconds,
            )

    def _synthetic_call(self, component: str, plan: FaultPlan) -> None:
        attrs = {tm.ATTR_COMPONENT: component, tm.ATTR_EXPERIMENT_ID: self.experiment.experiment_id}
        call = CallSpan(self._instruments.tracer, component, attrs)
        call.enter()
        try:
            if plan.fires():
                fire_sync((plan,))
        except InjectedFaultError as exc:
            call.exit(exc)
        else:
            call.exit(None)

    # -- closing -------------------------------------------------------------------------------

    def _end_span(
        self, span: trace.Span, status: ExperimentStatus, error: BaseException | None
    ) -> None:
        try:
            span.set_attribute(tm.ATTR_EXPERIMENT_STATUS, status.value)
            if status is ExperimentStatus.aborted:
                span.add_event(tm.EVENT_EXPERIMENT_ABORTED)
            if error is not None:
                span.record_exception(error)
                span.set_attribute(tm.ATTR_ERROR_TYPE, tm.qualified_name(type(error)))
                span.set_status(Status(StatusCode.ERROR, f"{type(error).__name__}: {error}"))
            span.end()
        except Exception as exc:  # pragma: no cover
            _log.warning("ending the experiment span failed: %r", exc)

    def _record_metrics(self, status: ExperimentStatus, elapsed: float) -> None:
        attrs = {
            tm.ATTR_EXPERIMENT_ID: self.experiment.experiment_id,
            tm.ATTR_EXPERIMENT_STATUS: status.value,
        }
        inst = self._instruments
        try:
            inst.experiment_runs.add(1, attrs)
            inst.experiment_duration.record(elapsed, attrs)
            inst.experiment_active.add(-1)
        except Exception as exc:  # pragma: no cover
            _log.warning("recording the experiment metrics failed: %r", exc)

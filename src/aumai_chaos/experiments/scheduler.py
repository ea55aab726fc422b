"""``ExperimentScheduler``: schedule, run, abort and inspect experiments.

Runs are synchronous (:meth:`~ExperimentScheduler.run`) or awaitable
(:meth:`~ExperimentScheduler.arun`); several may run at once from different threads, each with
its own observer, window and abort flag, so aborting one leaves the others alone.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

from opentelemetry.metrics import MeterProvider
from opentelemetry.trace import TracerProvider

from aumai_chaos.errors import ExperimentNotFoundError, ExperimentStateError
from aumai_chaos.experiments._run import ExperimentRun, Progress
from aumai_chaos.experiments.models import ChaosExperiment, ExperimentResult, ExperimentStatus
from aumai_chaos.experiments.observer import DEFAULT_MAX_OBSERVATIONS, ExperimentObserver

__all__ = ["ExperimentScheduler"]


class _Entry:
    __slots__ = ("experiment", "result", "run", "status")

    def __init__(self, experiment: ChaosExperiment) -> None:
        self.experiment = experiment
        self.status = ExperimentStatus.pending
        self.run: ExperimentRun | None = None
        self.result: ExperimentResult | None = None


class ExperimentScheduler:
    """Keeps experiments by id and runs them.

    ``tracer_provider`` / ``meter_provider`` default to the global ones. When the tracer provider
    is not an OpenTelemetry SDK provider, experiments still observe their calls and faults
    (they record them as they happen); the global provider is never set.
    ``max_observations`` bounds each run's kept observations.
    """

    def __init__(
        self,
        *,
        tracer_provider: TracerProvider | None = None,
        meter_provider: MeterProvider | None = None,
        max_observations: int = DEFAULT_MAX_OBSERVATIONS,
    ) -> None:
        self._tracer_provider = tracer_provider
        self._meter_provider = meter_provider
        self._max_observations = max_observations
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()

    def schedule(self, experiment: ChaosExperiment) -> str:
        """Register an experiment and return its id. An id already scheduled is an error."""
        if not isinstance(experiment, ChaosExperiment):
            raise TypeError(f"expected a ChaosExperiment, got {type(experiment).__name__}")
        with self._lock:
            if experiment.experiment_id in self._entries:
                raise ExperimentStateError(
                    f"experiment {experiment.experiment_id!r} is already scheduled"
                )
            self._entries[experiment.experiment_id] = _Entry(experiment)
        return experiment.experiment_id

    def _entry(self, experiment_id: str) -> _Entry:
        try:
            return self._entries[experiment_id]
        except KeyError:
            raise ExperimentNotFoundError(experiment_id) from None

    def _start(self, experiment_id: str) -> tuple[_Entry, ExperimentRun]:
        entry = self._entry(experiment_id)
        with self._lock:
            if entry.status is not ExperimentStatus.pending:
                raise ExperimentStateError(
                    f"experiment {experiment_id!r} is {entry.status.value}; "
                    "schedule a new experiment to run it again"
                )
            run = entry.run or self._new_run(entry.experiment)
            entry.run = run
            entry.status = ExperimentStatus.running
        return entry, run

    def _new_run(self, experiment: ChaosExperiment) -> ExperimentRun:
        return ExperimentRun(
            experiment,
            tracer_provider=self._tracer_provider,
            meter_provider=self._meter_provider,
            max_observations=self._max_observations,
        )

    def _finish(self, entry: _Entry, run: ExperimentRun, result: ExperimentResult | None) -> None:
        with self._lock:
            if result is None:  # execute() itself failed: still never leave it running
                result = ExperimentResult(
                    experiment_id=entry.experiment.experiment_id,
                    name=entry.experiment.name,
                    status=ExperimentStatus.failed,
                    start_time=run.start_time,
                    error="internal error in aumai-chaos; see the log",
                )
            entry.result = result
            entry.status = result.status

    def run(
        self,
        experiment_id: str,
        *,
        workload: Callable[[], Any] | None = None,
        progress: Progress | None = None,
    ) -> ExperimentResult:
        """Run a scheduled experiment to its end (or abort) and return the result.

        ``workload`` (a callable, sync or async) overrides the experiment's own. ``progress`` is
        called about ten times a second with ``(elapsed_seconds, total_seconds)``.
        """
        entry, run = self._start(experiment_id)
        result: ExperimentResult | None = None
        try:
            result = run.execute(workload, progress)
            return result
        finally:
            self._finish(entry, run, result)

    async def arun(
        self,
        experiment_id: str,
        *,
        workload: Callable[[], Any] | None = None,
        progress: Progress | None = None,
    ) -> ExperimentResult:
        """:meth:`run` for asyncio: the run waits in a worker thread, an async workload runs as
        tasks on the calling loop, and the loop is never blocked."""
        entry, run = self._start(experiment_id)
        loop = asyncio.get_running_loop()

        def execute() -> ExperimentResult:
            # The run's own thread records the result, even if the awaiting task is cancelled.
            result: ExperimentResult | None = None
            try:
                result = run.execute(workload, progress, loop)
                return result
            finally:
                self._finish(entry, run, result)

        try:
            return await asyncio.to_thread(execute)
        except asyncio.CancelledError:
            run.abort()  # the caller gave up: no fault of this run fires any more
            raise

    def abort(self, experiment_id: str) -> bool:
        """Abort a pending or running experiment; ``run`` returns within 100 ms.

        Returns ``False`` when it had already finished. Safe from any thread.
        """
        entry = self._entry(experiment_id)
        with self._lock:
            if entry.status.finished:
                return False
            if entry.run is None:
                entry.run = self._new_run(entry.experiment)
            run = entry.run
        run.abort()
        return True

    def get_result(self, experiment_id: str) -> ExperimentResult:
        """The result of a finished run, or a snapshot of a pending or running one."""
        entry = self._entry(experiment_id)
        if entry.result is not None:
            return entry.result
        run = entry.run
        observer = run.observer if run is not None else None
        return ExperimentResult(
            experiment_id=experiment_id,
            name=entry.experiment.name,
            status=entry.status,
            start_time=run.start_time if run is not None else None,
            summary=observer.summary() if observer is not None else {},
            observations=observer.get_observations() if observer is not None else [],
            dropped_observations=observer.dropped if observer is not None else 0,
            seed=entry.experiment.seed,
        )

    def get_experiment(self, experiment_id: str) -> ChaosExperiment:
        return self._entry(experiment_id).experiment

    def get_observer(self, experiment_id: str) -> ExperimentObserver | None:
        """The observer of the experiment's run (``None`` before it has started)."""
        run = self._entry(experiment_id).run
        return run.observer if run is not None else None

    def list_experiments(self) -> dict[str, ExperimentStatus]:
        """Every scheduled experiment id with its status, in scheduling order."""
        with self._lock:
            return {eid: e.status for eid, e in self._entries.items()}

    def status(self, experiment_id: str) -> ExperimentStatus:
        return self._entry(experiment_id).status

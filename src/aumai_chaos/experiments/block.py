"""``aumai_chaos.experiment(...)``: an experiment for the duration of a block of code.

::

    with aumai_chaos.experiment(faults=[{"fault_type": "error", "times": 2}],
                                target_components=["llm"], seed=7) as run:
        agent.answer("...")
        assert run.fired() == 2
    run.result.verdict          # ExperimentResult, as ExperimentScheduler.run returns it

The block is the workload: the experiment starts when the block is entered and ends when it is
left, with the same ``chaos.experiment`` span (current inside the block), component-call spans,
fault spans, metrics, observations, summary and verdict as :meth:`ExperimentScheduler.run`
(both are one :class:`~aumai_chaos.experiments._run.ExperimentRun`, started and finished).

- ``duration_seconds`` is optional: when given, the faults stop firing that long after the
  block started, even if it is still running (a safety cap); by default, after one day.
  ``workload``, ``baseline_seconds`` and ``tick_seconds`` have no meaning for a block and
  are refused (``workload``, ``baseline_seconds``) or ignored (``tick_seconds``).
- ``scope="context"`` (the default): the faults act only on calls made in the block's own
  context: the block itself, the tasks it creates and ``asyncio.to_thread`` (which copy the
  context), not plain threads it starts (run them with ``contextvars.copy_context().run``).
  So two blocks in different threads or tasks stay independent. ``scope="process"`` routes
  them to every thread, as a scheduled experiment does. A call into an affected component
  from a context in no block (a thread pool's thread) is named once, in a warning and a note.
- ``scope="baggage"`` (or ``scope: baggage`` in the experiment): as ``context`` in this
  process, and the block's context also carries ``aumai.chaos.experiment=<experiment_id>`` in
  its OpenTelemetry baggage, so the requests it makes name the experiment to the services
  they reach; those that armed it (``aumai_chaos.arm``) fault them (docs/across-services.md).
- Leaving the block stops every fault at once (the window closes, sleeping delays wake). An
  exception leaves the run ``failed`` (verdict ``failed``, the exception in ``error``) and
  propagates; ``KeyboardInterrupt``, ``SystemExit`` or cancellation leave it ``aborted``.
- Stop conditions are watched by a small thread while the block runs; one that is crossed
  aborts the run (its faults stop; the block itself goes on).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Mapping
from typing import Any, Literal

from opentelemetry.metrics import MeterProvider
from opentelemetry.trace import TracerProvider

from aumai_chaos._engine import registry as _registry
from aumai_chaos._engine import telemetry as tm
from aumai_chaos._engine.managed import DualManaged
from aumai_chaos._engine.scopes import ContextScope
from aumai_chaos.errors import ExperimentStateError
from aumai_chaos.experiments._run import ExperimentRun
from aumai_chaos.experiments._verdict import fault_report
from aumai_chaos.experiments.models import (
    MAX_EXPERIMENT_SECONDS,
    ChaosExperiment,
    ExperimentResult,
    ExperimentStatus,
    Observation,
)
from aumai_chaos.experiments.observer import DEFAULT_MAX_OBSERVATIONS
from aumai_chaos.experiments.summary import RecoveryRow, Summary
from aumai_chaos.experiments.units import RecoveryTracker, Unit
from aumai_chaos.faults import FaultConfig

__all__ = ["ExperimentBlock", "experiment"]

_POLL_SECONDS = 0.1


def experiment(
    config: ChaosExperiment | None = None,
    /,
    *,
    scope: Literal["context", "process", "baggage"] | None = None,
    tracer_provider: TracerProvider | None = None,
    meter_provider: MeterProvider | None = None,
    max_observations: int = DEFAULT_MAX_OBSERVATIONS,
    **fields: Any,
) -> ExperimentBlock:
    """An experiment scoped to a ``with`` or ``async with`` block.

    Give a :class:`~aumai_chaos.ChaosExperiment`, or its fields as keywords (``faults``,
    ``target_components``, ``seed``, ``steady_state``, ``stop_conditions``, ``trace_calls``,
    ``require_faults_fired``, ``name``, ``experiment_id``...); ``name`` and ``experiment_id``
    default to generated ones. See the module docstring for what the block changes.
    """
    if config is not None and fields:
        raise TypeError("give a ChaosExperiment or its fields as keywords, not both")
    if config is None:
        fields.setdefault("experiment_id", f"block-{uuid.uuid4().hex[:12]}")
        fields.setdefault("name", "experiment block")
        fields.setdefault("duration_seconds", MAX_EXPERIMENT_SECONDS)
        config = ChaosExperiment(**fields)
    elif not isinstance(config, ChaosExperiment):
        raise TypeError(f"expected a ChaosExperiment, got {type(config).__name__}")
    for name in ("workload", "baseline_seconds"):
        if getattr(config, name) is not None:
            raise ValueError(f"an experiment block is its own workload: {name} is not allowed")
    if config.repeat != 1:
        raise ValueError("an experiment block runs once: repeat is not allowed (loop over blocks)")
    if scope is None:
        scope = "baggage" if config.scope == "baggage" else "context"
    if scope not in ("context", "process", "baggage"):
        raise ValueError(f"scope must be 'context', 'process' or 'baggage', not {scope!r}")
    if (scope == "baggage") != (config.scope == "baggage"):
        config = config.model_copy(update={"scope": "baggage" if scope == "baggage" else None})
    return ExperimentBlock(
        config,
        scope=scope,
        tracer_provider=tracer_provider,
        meter_provider=meter_provider,
        max_observations=max_observations,
    )


class ExperimentBlock(DualManaged):
    """The handle of a running block: live counts while it runs, :attr:`result` after it."""

    def __init__(
        self,
        config: ChaosExperiment,
        *,
        scope: str,
        tracer_provider: TracerProvider | None,
        meter_provider: MeterProvider | None,
        max_observations: int,
    ) -> None:
        self._run = ExperimentRun(
            config,
            tracer_provider=tracer_provider,
            meter_provider=meter_provider,
            max_observations=max_observations,
        )
        self.experiment: ChaosExperiment = self._run.experiment
        self._scoped = scope in ("context", "baggage")
        #: The run's result, once the block has been left.
        self.result: ExperimentResult | None = None
        self._state = "new"
        self._key: object | None = None
        self._scope_token: Any = None
        self._counts: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()
        self._stop_watch = threading.Event()
        self._watcher: threading.Thread | None = None
        self._run.fault_hooks.append(self._count)
        # The block is its own workload: each unit of work that ends is one iteration.
        self._run.recovery.count_units(self._run.observer.record_iteration)

    @property
    def experiment_id(self) -> str:
        return self.experiment.experiment_id

    # -- live counts ---------------------------------------------------------------------------

    def _count(self, attrs: Mapping[str, Any]) -> None:
        key = (str(attrs.get(tm.ATTR_COMPONENT, "")), str(attrs.get(tm.ATTR_FAULT_TYPE, "")))
        with self._lock:
            self._counts[key] = self._counts.get(key, 0) + 1

    def fired(self, component: str | None = None, fault_type: str | None = None) -> int:
        """How many faults have fired so far, optionally of one component and/or type."""
        with self._lock:
            items = list(self._counts.items())
        return sum(
            count
            for (comp, ftype), count in items
            if (component is None or comp == component)
            and (fault_type is None or ftype == str(fault_type))
        )

    def summary(self) -> Summary:
        """The summary so far (after the block: the result's summary)."""
        if self.result is not None:
            return self.result.summary
        return self._run.observer.summary()

    def observations(
        self, component: str | None = None, event: str | None = None
    ) -> list[Observation]:
        """The observations so far, oldest first, optionally filtered."""
        if self.result is not None:
            return [
                o
                for o in self.result.observations
                if (component is None or o.component == component)
                and (event is None or o.event == event)
            ]
        return self._run.observer.get_observations(component, event)

    def snapshot(self) -> ExperimentResult:
        """The result so far: status ``running``, the summary with its per-fault report, the
        observations (after the block: the final :attr:`result`)."""
        if self.result is not None:
            return self.result
        run = self._run
        faults = fault_report(run.experiment, run.window.fired)
        summary = run.observer.summary().model_copy(update={"faults": faults})
        return ExperimentResult(
            experiment_id=self.experiment_id,
            name=self.experiment.name,
            status=ExperimentStatus.running,
            start_time=run.start_time,
            summary=summary,
            observations=run.observer.get_observations(),
            seed=self.experiment.seed,
        )

    # -- recovery hook: units of work (experiments/units.py, docs/recovery.md) -----------------

    def unit(self, name: str = "unit") -> Unit:
        """``with run.unit("question 3"):``: one unit of work. Each fault fired inside it is
        ``recovered`` when the block inside ends without an exception, else ``propagated``;
        a fault fired outside every unit is ``unknown``. Each unit that ends is also one
        workload iteration (failed when it raised): a ``workload`` objective is judged over
        them."""
        return self._run.recovery.unit(name)

    def recovery(self) -> list[RecoveryRow]:
        """The recovery rows so far (after the block: the result's ``summary.recovery``)."""
        if self.result is not None:
            return list(self.result.summary.recovery)
        return self._run.recovery.rows(provisional=True)

    @property
    def recovery_tracker(self) -> RecoveryTracker:
        """The block's units and fault outcomes (the pytest plugin makes each test a unit)."""
        return self._run.recovery

    def add_fault(self, fault: FaultConfig) -> None:
        """Add a fault while the block runs: from the next call on, as if declared last (its
        position in the replay hash is the next one; the faults already there keep their
        ``times`` budgets and call numbers)."""
        if self._state != "running" or self._key is None:
            raise ExperimentStateError("add_fault needs a running experiment block")
        self._run.add_fault(self._key, fault)

    @property
    def aborted(self) -> bool:
        return self._run.aborted

    def abort(self) -> None:
        """Stop every fault of this block now (the block itself goes on); safe from any
        thread. The run ends ``aborted``."""
        self._run.abort()

    # -- the block -----------------------------------------------------------------------------

    def _enter(self) -> None:
        if self._state != "new":
            raise ExperimentStateError("an experiment block runs once; make a new one")
        self._state = "running"
        self._run.start()
        if self._scoped:
            self._scope_token = _registry.enter_scope(self)
        scope = ContextScope(self) if self._scoped else None
        self._key = self._run.open_block(scope=scope, key=self, name_escapes=True)
        if self.experiment.stop_conditions:
            self._watcher = threading.Thread(
                target=self._watch, name=f"aumai-chaos-{self.experiment_id}", daemon=True
            )
            self._watcher.start()

    def _watch(self) -> None:
        while not self._stop_watch.wait(_POLL_SECONDS):
            if self._run.aborted or self._run.check_stop_conditions():
                return

    def _exit(self, exc_type: type[BaseException] | None, exc: BaseException | None) -> None:
        self._state = "done"
        self._stop_watch.set()
        if self._key is not None:
            self._run.close_block(self._key)
        if self._scope_token is not None:
            _registry.exit_scope(self._scope_token)
            self._scope_token = None
        if self._watcher is not None:
            self._watcher.join(1.0)
        error: BaseException | None = None
        if isinstance(exc, Exception):
            error = exc
        elif exc is not None:
            self._run.abort()  # KeyboardInterrupt, SystemExit, cancellation
        self.result = self._run.finish(error, block=True)

    def __repr__(self) -> str:
        return f"ExperimentBlock({self.experiment_id!r}, {self._state})"

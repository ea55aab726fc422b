"""The one place the plugin talks to the experiment engine: a test's experiment, for a block.

:func:`open_block` starts an experiment for the duration of a test's body and returns a
:class:`Block`: faults can be added while it runs (``chaos.inject`` in the body), its live
fired faults and its result so far can be read, and :meth:`Block.close` ends it with the
verdict. Imported only when a test uses chaos (it imports the experiment engine, and so the
OpenTelemetry SDK).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace

from aumai_chaos._engine import registry as _registry
from aumai_chaos._engine import telemetry as tm
from aumai_chaos.experiments._dispatch import DISPATCHER
from aumai_chaos.experiments._run import ExperimentRun
from aumai_chaos.experiments._verdict import fault_report, record_verdict
from aumai_chaos.experiments.models import (
    MAX_EXPERIMENT_SECONDS,
    ChaosExperiment,
    ExperimentResult,
    ExperimentStatus,
    Observation,
)
from aumai_chaos.experiments.observer import DEFAULT_MAX_OBSERVATIONS
from aumai_chaos.experiments.steady_state import Objective, decide_verdict, evaluate_objectives
from aumai_chaos.faults import FaultConfig

__all__ = ["Block", "FiredFault", "open_block"]

_FAULT_EVENT = "fault_injected"
_OCCURRENCE = "chaos.fault.occurrence"


@dataclass(frozen=True, slots=True)
class FiredFault:
    """One fault that fired: on which component, of which type, on which call into it."""

    component: str
    fault_type: str
    occurrence: int | None

    def describe(self) -> str:
        at = f" on call #{self.occurrence}" if self.occurrence is not None else ""
        return f"{self.component}: {self.fault_type}{at}"


def fired_from(observations: list[Observation]) -> list[FiredFault]:
    """The fired faults recorded in ``observations``, in the order they fired."""
    out: list[FiredFault] = []
    for obs in observations:
        if obs.event != _FAULT_EVENT:
            continue
        occurrence = obs.details.get(_OCCURRENCE)
        out.append(
            FiredFault(
                component=obs.component,
                fault_type=str(obs.details.get(tm.ATTR_FAULT_TYPE, "unknown")),
                occurrence=occurrence if isinstance(occurrence, int) else None,
            )
        )
    return out


class Block:
    """A test's experiment while its body runs. Used from the test's own thread."""

    def __init__(
        self,
        experiment: ChaosExperiment,
        *,
        tracer_provider: trace.TracerProvider | None = None,
    ) -> None:
        self._run = ExperimentRun(
            experiment,
            tracer_provider=tracer_provider,
            meter_provider=None,
            max_observations=DEFAULT_MAX_OBSERVATIONS,
        )
        self._key = object()
        self._span: trace.Span | None = None
        self._token: object | None = None
        self._t0 = 0.0
        self.result: ExperimentResult | None = None

    @property
    def experiment(self) -> ChaosExperiment:
        return self._run.experiment

    def start(self) -> None:
        run = self._run
        exp = run.experiment
        attrs: dict[str, Any] = {
            tm.ATTR_EXPERIMENT_ID: exp.experiment_id,
            tm.ATTR_EXPERIMENT_NAME: exp.name,
        }
        if exp.seed is not None:
            attrs[tm.ATTR_SEED] = exp.seed
        self._span = run._start_span(attrs)
        self._token = otel_context.attach(trace.set_span_in_context(self._span))
        run.start_time = datetime.now(UTC)
        self._t0 = time.monotonic()
        DISPATCHER.add(exp.experiment_id, run.observer)
        _registry.activate(self._key, run._route(with_faults=True))

    def add(self, fault: FaultConfig) -> None:
        """Add a fault to the running experiment; it applies from the next call on."""
        run = self._run
        run.experiment.faults.append(fault)  # type: ignore[arg-type]
        _registry.activate(self._key, run._route(with_faults=True))

    def fired(self) -> list[FiredFault]:
        return fired_from(self._run.observer.get_observations())

    def observations(self) -> list[Observation]:
        if self.result is not None:
            return list(self.result.observations)
        return self._run.observer.get_observations()

    def snapshot(self) -> ExperimentResult:
        """The result so far (the final one once closed)."""
        if self.result is not None:
            return self.result
        run = self._run
        exp = run.experiment
        summary = run.observer.summary(time.monotonic() - self._t0)
        summary["faults"] = fault_report(exp, run.window.fired)
        return ExperimentResult(
            experiment_id=exp.experiment_id,
            name=exp.name,
            status=ExperimentStatus.running,
            start_time=run.start_time,
            summary=summary,
            observations=run.observer.get_observations(),
            dropped_observations=run.observer.dropped,
            seed=exp.seed,
        )

    def close(self, error: BaseException | None = None) -> ExperimentResult:
        """End the experiment (idempotent): every fault stops at once; then the verdict."""
        if self.result is not None:
            return self.result
        run = self._run
        exp = run.experiment
        run.window.close()
        _registry.deactivate(self._key)
        run.window.wait_drained(1.0)
        elapsed = time.monotonic() - self._t0
        if self._token is not None:
            otel_context.detach(self._token)  # type: ignore[arg-type]
        DISPATCHER.remove(exp.experiment_id, run.observer)
        run.observer._seal()
        summary = run.observer.summary(elapsed)
        summary["faults"] = fault_report(exp, run.window.fired)
        objectives = evaluate_objectives(exp.steady_state, summary, "faults")
        unfired = sum(1 for f in summary["faults"] if f["fired"] == 0)
        verdict = decide_verdict(
            failed=False,
            aborted=False,
            baseline_failed=False,
            objectives=objectives,
            unfired_faults=unfired,
            require_faults_fired=exp.require_faults_fired,
        )
        if self._span is not None:
            record_verdict(
                self._span, run._instruments, exp.experiment_id, verdict, objectives, None
            )
            run._end_span(self._span, ExperimentStatus.completed, None)
        run._record_metrics(ExperimentStatus.completed, elapsed)
        self.result = ExperimentResult(
            experiment_id=exp.experiment_id,
            name=exp.name,
            status=ExperimentStatus.completed,
            start_time=run.start_time,
            end_time=datetime.now(UTC),
            summary=summary,
            observations=run.observer.get_observations(),
            dropped_observations=run.observer.dropped,
            seed=exp.seed,
            verdict=verdict,
            objectives=objectives,
        )
        return self.result


def open_block(
    *,
    experiment_id: str,
    seed: int,
    faults: list[FaultConfig],
    steady_state: list[Objective],
    require_faults_fired: bool,
    tracer_provider: trace.TracerProvider | None = None,
) -> Block:
    """Start a test's experiment now."""
    experiment = ChaosExperiment(
        experiment_id=experiment_id,
        name=experiment_id,
        duration_seconds=MAX_EXPERIMENT_SECONDS,
        tick_seconds=1.0,
        seed=seed,
        faults=list(faults),
        steady_state=list(steady_state),
        require_faults_fired=require_faults_fired,
    )
    block = Block(experiment, tracer_provider=tracer_provider)
    block.start()
    return block

"""Experiments: what to run, running it, observing it and judging it.

- ``models``: :class:`ChaosExperiment`, :class:`ExperimentResult` and their parts.
- ``steady_state``: objectives, stop conditions and verdicts (models and pure evaluation).
- ``scheduler``: :class:`ExperimentScheduler`; ``_run`` is one run from start to verdict.
- ``observer``: :class:`ExperimentObserver`, the span processor that keeps observations;
  ``_dispatch`` routes spans to the observers of running experiments.
- ``workload``: loading and driving the workload.
- ``files``: loading experiment and result files (YAML or JSON) with one-line errors.

May import: ``aumai_chaos._engine``, ``aumai_chaos.faults``, ``aumai_chaos.errors``, the
OpenTelemetry API, and the SDK where a run needs its own provider. Never the command line.
"""

from aumai_chaos.experiments.files import load_experiment_file, load_result_file
from aumai_chaos.experiments.models import (
    ChaosExperiment,
    ExperimentResult,
    ExperimentStatus,
    Observation,
    WorkloadConfig,
)
from aumai_chaos.experiments.observer import ExperimentObserver
from aumai_chaos.experiments.scheduler import ExperimentScheduler
from aumai_chaos.experiments.steady_state import (
    Objective,
    ObjectiveResult,
    StopCondition,
    StopEvent,
    Verdict,
)

__all__ = [
    "ChaosExperiment",
    "ExperimentObserver",
    "ExperimentResult",
    "ExperimentScheduler",
    "ExperimentStatus",
    "Objective",
    "ObjectiveResult",
    "Observation",
    "StopCondition",
    "StopEvent",
    "Verdict",
    "WorkloadConfig",
    "load_experiment_file",
    "load_result_file",
]

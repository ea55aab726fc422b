"""Experiments: what to run, running it, observing it and judging it.

- ``models``: :class:`ChaosExperiment`, :class:`ExperimentResult` and their parts.
- ``steady_state``: objectives, stop conditions and verdicts (models and pure evaluation).
- ``scheduler``: :class:`ExperimentScheduler`; ``_run`` is one run from start to verdict.
- ``block``: :func:`experiment`, an experiment scoped to a ``with`` / ``async with`` block.
- ``arming``: :func:`arm` / :func:`disarm`, experiments armed in a service and selected by the
  W3C baggage of its requests (``AUMAI_CHAOS_ARMED`` arms and watches a path at import).
- ``observer``: :class:`ExperimentObserver`, the span processor that keeps observations;
  ``_dispatch`` routes spans to the observers of running experiments.
- ``workload``: loading and driving the workload.
- ``files``: loading experiment and result files (YAML or JSON) with one-line errors.
- ``summary``: :class:`Summary`, a result's summary as typed models that also read by key.
- ``_phases``: a run's timed phases (baseline, fault window); ``_verdict`` closes a run.

May import: ``aumai_chaos._engine``, ``aumai_chaos.faults``, ``aumai_chaos.errors``, the
OpenTelemetry API, and the SDK where a run needs its own provider. Never the command line.

The names that need the OpenTelemetry SDK (the observer is an SDK span processor; runs route
spans through one) are imported on first use, so that ``import aumai_chaos`` imports the
OpenTelemetry API only.
"""

from typing import TYPE_CHECKING, Any

from aumai_chaos.experiments.files import load_experiment_file, load_result_file
from aumai_chaos.experiments.models import (
    ChaosExperiment,
    ExperimentResult,
    ExperimentStatus,
    Observation,
    WorkloadConfig,
)
from aumai_chaos.experiments.steady_state import (
    Objective,
    ObjectiveResult,
    StopCondition,
    StopEvent,
    Verdict,
)
from aumai_chaos.experiments.summary import (
    ComponentStats,
    FaultReport,
    LatencyStats,
    RecoveryRow,
    SeriesComponent,
    SeriesWorkload,
    Summary,
    SummarySeries,
    TrialRow,
    TrialsSummary,
    WorkloadStats,
)

__all__ = [
    "ChaosExperiment",
    "ComponentStats",
    "ExperimentBlock",
    "ExperimentObserver",
    "ExperimentResult",
    "ExperimentScheduler",
    "ExperimentStatus",
    "FaultReport",
    "LatencyStats",
    "Objective",
    "ObjectiveResult",
    "RecoveryRow",
    "Observation",
    "SeriesComponent",
    "SeriesWorkload",
    "StopCondition",
    "StopEvent",
    "Summary",
    "SummarySeries",
    "TrialRow",
    "TrialsSummary",
    "Verdict",
    "WorkloadConfig",
    "WorkloadStats",
    "arm",
    "armed",
    "disarm",
    "experiment",
    "load_experiment_file",
    "load_result_file",
]

#: Names imported on first use (they import the OpenTelemetry SDK), and their modules.
_LAZY = {
    "ExperimentBlock": "aumai_chaos.experiments.block",
    "experiment": "aumai_chaos.experiments.block",
    "arm": "aumai_chaos.experiments.arming",
    "armed": "aumai_chaos.experiments.arming",
    "disarm": "aumai_chaos.experiments.arming",
    "ExperimentObserver": "aumai_chaos.experiments.observer",
    "ExperimentScheduler": "aumai_chaos.experiments.scheduler",
}

if TYPE_CHECKING:
    from aumai_chaos.experiments.arming import arm, armed, disarm
    from aumai_chaos.experiments.block import ExperimentBlock, experiment
    from aumai_chaos.experiments.observer import ExperimentObserver
    from aumai_chaos.experiments.scheduler import ExperimentScheduler


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value

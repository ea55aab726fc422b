"""aumai-chaos: chaos engineering for AI agents, visible in OpenTelemetry.

Inject latency, errors, timeouts and resource exhaustion into the code your agent calls, run
structured experiments against it, and see every injected fault in your traces and metrics.

``import aumai_chaos`` imports the OpenTelemetry API only: the names that need the SDK
(:class:`ExperimentScheduler`, :class:`ExperimentObserver`, :func:`experiment`) are imported on
first use.
"""

from typing import TYPE_CHECKING, Any

from aumai_chaos import propagation as propagation  # the module: aumai_chaos.propagation
from aumai_chaos._engine.registry import disable, enable, is_enabled
from aumai_chaos._engine.seeding import seed
from aumai_chaos._version import __version__
from aumai_chaos.decorators import chaos_monkey, chaos_target, resilience_test
from aumai_chaos.errors import (
    AumaiChaosError,
    ChaosError,
    ChaosTimeoutError,
    ConfigError,
    ExperimentNotFoundError,
    ExperimentStateError,
    InjectedFaultError,
    ResourceExhaustedError,
    StreamCutError,
    WorkloadError,
)
from aumai_chaos.experiments import (
    ChaosExperiment,
    ComponentStats,
    ExperimentResult,
    ExperimentStatus,
    FaultReport,
    LatencyStats,
    Objective,
    ObjectiveResult,
    Observation,
    RecoveryRow,
    SeriesComponent,
    SeriesWorkload,
    StopCondition,
    StopEvent,
    Summary,
    SummarySeries,
    TrialRow,
    TrialsSummary,
    Verdict,
    WorkloadConfig,
    WorkloadStats,
    load_experiment_file,
    load_result_file,
)
from aumai_chaos.faults import FaultConfig, FaultType
from aumai_chaos.injector import FaultInjector
from aumai_chaos.transport import instrument, uninstrument  # imports neither httpx nor httpx2

__all__ = [
    "AumaiChaosError",
    "ChaosError",
    "ChaosExperiment",
    "ChaosTimeoutError",
    "ComponentStats",
    "ConfigError",
    "ExperimentBlock",
    "ExperimentNotFoundError",
    "ExperimentObserver",
    "ExperimentResult",
    "ExperimentScheduler",
    "ExperimentStateError",
    "ExperimentStatus",
    "FaultConfig",
    "FaultInjector",
    "FaultReport",
    "FaultType",
    "InjectedFaultError",
    "LatencyStats",
    "Objective",
    "ObjectiveResult",
    "RecoveryRow",
    "Observation",
    "ResourceExhaustedError",
    "SeriesComponent",
    "SeriesWorkload",
    "StopCondition",
    "StopEvent",
    "StreamCutError",
    "Summary",
    "SummarySeries",
    "TrialRow",
    "TrialsSummary",
    "Verdict",
    "WorkloadConfig",
    "WorkloadError",
    "WorkloadStats",
    "chaos_monkey",
    "chaos_target",
    "disable",
    "enable",
    "experiment",
    "instrument",
    "is_enabled",
    "load_experiment_file",
    "load_result_file",
    "resilience_test",
    "seed",
    "uninstrument",
    "arm",
    "armed",
    "disarm",
    "__version__",
]

#: Imported on first use: they need the OpenTelemetry SDK.
_LAZY = frozenset(
    {
        "ExperimentBlock",
        "ExperimentObserver",
        "ExperimentScheduler",
        "arm",
        "armed",
        "disarm",
        "experiment",
    }
)

if TYPE_CHECKING:
    from aumai_chaos.experiments import (
        ExperimentBlock,
        ExperimentObserver,
        ExperimentScheduler,
        arm,
        armed,
        disarm,
        experiment,
    )


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from aumai_chaos import experiments

        value = getattr(experiments, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _arm_from_environment() -> None:
    """``AUMAI_CHAOS_ARMED=<path>``: arm and watch it now (this imports the SDK); never raises."""
    import os

    if not os.environ.get("AUMAI_CHAOS_ARMED", "").strip():
        return
    try:
        from aumai_chaos.experiments.arming import arm_from_environment

        arm_from_environment()
    except Exception as exc:  # the host's import must never fail because of us
        import logging

        logging.getLogger("aumai_chaos").error("AUMAI_CHAOS_ARMED: %r", exc)


_arm_from_environment()

"""aumai-chaos: chaos engineering for AI agents, visible in OpenTelemetry.

Inject latency, errors, timeouts and resource exhaustion into the code your agent calls, run
structured experiments against it, and see every injected fault in your traces and metrics.

``import aumai_chaos`` imports the OpenTelemetry API only: the names that need the SDK
(:class:`ExperimentScheduler`, :class:`ExperimentObserver`, :func:`experiment`) are imported on
first use.
"""

from typing import TYPE_CHECKING, Any

from aumai_chaos._engine.registry import disable, enable, is_enabled
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
    ExperimentResult,
    ExperimentStatus,
    Objective,
    ObjectiveResult,
    Observation,
    StopCondition,
    StopEvent,
    Verdict,
    WorkloadConfig,
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
    "FaultType",
    "InjectedFaultError",
    "Objective",
    "ObjectiveResult",
    "Observation",
    "ResourceExhaustedError",
    "StopCondition",
    "StopEvent",
    "StreamCutError",
    "Verdict",
    "WorkloadConfig",
    "WorkloadError",
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
    "uninstrument",
    "__version__",
]

#: Imported on first use: they need the OpenTelemetry SDK.
_LAZY = frozenset({"ExperimentBlock", "ExperimentObserver", "ExperimentScheduler", "experiment"})

if TYPE_CHECKING:
    from aumai_chaos.experiments import (
        ExperimentBlock,
        ExperimentObserver,
        ExperimentScheduler,
        experiment,
    )


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from aumai_chaos import experiments

        value = getattr(experiments, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

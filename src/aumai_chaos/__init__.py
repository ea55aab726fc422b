"""aumai-chaos: chaos engineering for AI agents, visible in OpenTelemetry.

Inject latency, errors, timeouts and resource exhaustion into the code your agent calls, run
structured experiments against it, and see every injected fault in your traces and metrics.
"""

from ._registry import disable, enable, is_enabled
from ._version import __version__
from .decorators import chaos_monkey, chaos_target, resilience_test
from .errors import (
    AumaiChaosError,
    ChaosError,
    ChaosTimeoutError,
    ConfigError,
    ExperimentNotFoundError,
    ExperimentStateError,
    InjectedFaultError,
    ResourceExhaustedError,
    WorkloadError,
)
from .experiment import (
    ChaosExperiment,
    ExperimentResult,
    ExperimentStatus,
    Observation,
    WorkloadConfig,
)
from .faults import FaultConfig, FaultType
from .injector import FaultInjector
from .observer import ExperimentObserver
from .scheduler import ExperimentScheduler

__all__ = [
    "AumaiChaosError",
    "ChaosError",
    "ChaosExperiment",
    "ChaosTimeoutError",
    "ConfigError",
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
    "Observation",
    "ResourceExhaustedError",
    "WorkloadConfig",
    "WorkloadError",
    "__version__",
    "chaos_monkey",
    "chaos_target",
    "disable",
    "enable",
    "is_enabled",
    "resilience_test",
]

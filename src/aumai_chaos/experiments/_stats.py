"""Exact tallies behind an experiment's summary, fed by the observer as spans end.

Counts are exact; latency percentiles come from a fixed-size log-linear histogram
(:mod:`~aumai_chaos.experiments._histogram`), within 0.78% of the exact nearest-rank value, so
recording a call costs the same and keeps the same memory on the millionth call as on the first.
"""

from __future__ import annotations

import math
from typing import Any

from aumai_chaos.experiments._histogram import LogHistogram
from aumai_chaos.experiments.summary import ComponentStats, LatencyStats, WorkloadStats

__all__ = ["CallStats", "Tally", "percentile"]


def percentile(sorted_values: Any, q: float) -> float:
    """Nearest-rank percentile (``q`` in [0, 100]) of already sorted values; 0.0 when empty."""
    n = len(sorted_values)
    if n == 0:
        return 0.0
    rank = max(1, math.ceil(q / 100.0 * n))
    return float(sorted_values[rank - 1])


#: Error types whose first message is kept, per component.
MAX_ERROR_TYPES = 20
_MAX_MESSAGE = 300


def _short(message: str) -> str:
    one_line = " ".join(message.split())
    return one_line if len(one_line) <= _MAX_MESSAGE else one_line[: _MAX_MESSAGE - 3] + "..."


class CallStats:
    """Calls into one component (or workload iterations): outcomes and latency."""

    __slots__ = ("calls", "error_types", "errors", "faults", "first_errors", "latency")

    def __init__(self) -> None:
        self.calls = 0
        self.errors = 0
        self.faults = 0
        self.error_types: dict[str, int] = {}
        #: The first message seen for each error type (what the report shows).
        self.first_errors: dict[str, str] = {}
        self.latency = LogHistogram()

    def add_call(
        self, duration_ms: float, error_type: str | None, message: str | None = None
    ) -> None:
        self.calls += 1
        if error_type is not None:
            self.errors += 1
            seen = self.error_types.get(error_type, 0)
            self.error_types[error_type] = seen + 1
            if not seen and len(self.first_errors) < MAX_ERROR_TYPES:
                self.first_errors[error_type] = _short(message or "")
        self.latency.add(duration_ms)

    def summary(self) -> ComponentStats:
        latency = self.latency
        stats = ComponentStats(
            calls=self.calls,
            faults=self.faults,
            errors=self.errors,
            error_rate=round(self.errors / self.calls, 6) if self.calls else 0.0,
            error_types=dict(sorted(self.error_types.items())),
            latency_ms=LatencyStats(
                p50=round(latency.percentile(50), 3),
                p95=round(latency.percentile(95), 3),
                p99=round(latency.percentile(99), 3),
            ),
        )
        if self.first_errors:
            stats.first_errors = dict(sorted(self.first_errors.items()))
        return stats

    def workload_summary(self) -> WorkloadStats:
        """These statistics as workload iterations (``iterations``, ``failures``, ...)."""
        stats = self.summary()
        workload = WorkloadStats(
            iterations=stats.calls,
            failures=stats.errors,
            failure_rate=stats.error_rate,
            failure_types=stats.error_types,
            latency_ms=stats.latency_ms,
        )
        if self.first_errors:
            workload.first_errors = stats.first_errors
        return workload


class Tally:
    """Everything one experiment counted: faults by type, raising faults, calls per component."""

    __slots__ = ("components", "errors_by_type", "faults_by_type", "total_faults", "workload")

    def __init__(self) -> None:
        self.total_faults = 0
        self.faults_by_type: dict[str, int] = {}
        self.errors_by_type: dict[str, int] = {}
        self.components: dict[str, CallStats] = {}
        self.workload = CallStats()

    def component(self, name: str) -> CallStats:
        stats = self.components.get(name)
        if stats is None:
            stats = self.components[name] = CallStats()
        return stats

    def add_fault(self, fault_type: str, component: str | None, raises: bool) -> None:
        self.total_faults += 1
        self.faults_by_type[fault_type] = self.faults_by_type.get(fault_type, 0) + 1
        if raises:
            self.errors_by_type[fault_type] = self.errors_by_type.get(fault_type, 0) + 1
        if component is not None:
            self.component(component).faults += 1

"""Recovery objectives: ``min_recovery_rate`` on a run's recovery rows, ``min_pass_rate``
across trials (docs/recovery.md).

``on: point`` judges the recovery rate itself; ``on: lower`` judges the lower bound of its
Wilson 95% interval, so that a rate measured on few faults cannot pass by luck (9 of 9
recovered is a rate of 1.0 but a lower bound of 0.70).
"""

from __future__ import annotations

from collections.abc import Sequence

from aumai_chaos.experiments.recovery import wilson_interval
from aumai_chaos.experiments.steady_state import Objective, ObjectiveResult
from aumai_chaos.experiments.summary import RecoveryRow, Summary

__all__ = ["evaluate_pass_rate", "evaluate_recovery", "recovery_target"]


def recovery_target(objective: Objective) -> str:
    """What a recovery objective is about, as the reports show it."""
    if objective.fault_type and objective.component:
        return f"{objective.fault_type} on {objective.component}"
    return objective.fault_type or objective.component or "every fault"


def _limit(name: str, on: str) -> str:
    return f"{name} ({on})" if on == "lower" else name


def _observed(successes: int, n: int, on: str) -> float:
    if n == 0:
        return 0.0
    return wilson_interval(successes, n)[0] if on == "lower" else successes / n


def evaluate_recovery(objectives: Sequence[Objective], summary: Summary) -> list[ObjectiveResult]:
    """Check each ``min_recovery_rate`` against the rows it names; no fault fired there fails
    it (nothing was measured)."""
    results = []
    for objective in objectives:
        threshold = objective.min_recovery_rate
        if threshold is None:
            continue
        rows: list[RecoveryRow] = [
            r
            for r in summary.recovery
            if (objective.fault_type is None or r.fault_type == objective.fault_type)
            and (objective.component is None or r.component == objective.component)
        ]
        fired = sum(r.fired for r in rows)
        recovered = sum(r.recovered for r in rows)
        observed = _observed(recovered, fired, objective.on)
        results.append(
            ObjectiveResult(
                phase="faults",
                component=recovery_target(objective),
                limit=_limit("min_recovery_rate", objective.on),
                threshold=float(threshold),
                observed=round(observed, 6),
                passed=fired > 0 and observed >= threshold,
            )
        )
    return results


def evaluate_pass_rate(
    objectives: Sequence[Objective], passed: int, trials: int
) -> list[ObjectiveResult]:
    """Check each ``min_pass_rate`` against ``passed`` of ``trials``."""
    results = []
    for objective in objectives:
        threshold = objective.min_pass_rate
        if threshold is None:
            continue
        observed = _observed(passed, trials, objective.on)
        results.append(
            ObjectiveResult(
                phase="faults",
                component="trials",
                limit=_limit("min_pass_rate", objective.on),
                threshold=float(threshold),
                observed=round(observed, 6),
                passed=trials > 0 and observed >= threshold,
            )
        )
    return results

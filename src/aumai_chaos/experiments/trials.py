"""Repeated trials: ``repeat: N`` runs an experiment N times, trial i with the seed ``seed + i``.

One trial says whether the agent coped once; N trials say how reliably. The result is one of
the trials (the first that did not pass, else the last) with, in ``summary.trials``, every
trial's seed and verdict, the pass rate with its Wilson 95% interval and pass^k for k = 1..N
(the τ-bench estimator, docs/recovery.md); ``summary.recovery`` sums the trials' rows. Its
verdict is the trials': ``passed`` when every ``min_pass_rate`` holds (without one, when
every trial passed).
"""

from __future__ import annotations

import random
import statistics
from collections.abc import Callable, Sequence
from typing import Any

from aumai_chaos.errors import ConfigError
from aumai_chaos.experiments._recovery_objectives import evaluate_pass_rate
from aumai_chaos.experiments.models import ChaosExperiment, ExperimentResult
from aumai_chaos.experiments.recovery import pass_hat_k, wilson_interval
from aumai_chaos.experiments.steady_state import Verdict
from aumai_chaos.experiments.summary import RecoveryRow, TrialRow, TrialsSummary

__all__ = [
    "MAX_REPEAT",
    "check_repeat",
    "combine",
    "merge_recovery",
    "run_trials",
    "trials_summary",
]

MAX_REPEAT = 1000
RunOne = Callable[[ChaosExperiment], ExperimentResult]


def check_repeat(
    experiment: ChaosExperiment,
    repeat: int,
    source: str | None = None,
    *,
    needs_workload: bool = True,
) -> None:
    """Refuse a repeat that cannot mean anything: out of 1..1000, or without a workload (a
    run without one has no units of work, so its trials could only say ``unknown``).
    ``needs_workload=False``: the calls come from elsewhere (the proxy's clients)."""
    field = "repeat" if source is not None else "--repeat"
    if not 1 <= repeat <= MAX_REPEAT:
        raise ConfigError(f"must be between 1 and {MAX_REPEAT}, got {repeat}", field=field)
    if needs_workload and repeat > 1 and experiment.workload is None:
        raise ConfigError(
            "repeated trials need a workload (set workload, or pass --workload)",
            source=source,
            field=field,
        )


def trials_summary(results: Sequence[ExperimentResult]) -> TrialsSummary:
    """The trials' rows, pass rate with its interval, and pass^k for k = 1..len(results)."""
    n = len(results)
    passed = sum(1 for r in results if r.verdict is Verdict.passed)
    low, high = wilson_interval(passed, n)
    return TrialsSummary(
        trials=[
            TrialRow(
                trial=i,
                seed=r.seed,
                status=str(r.status),
                verdict=str(r.verdict) if r.verdict is not None else None,
                verdict_reason=r.verdict_reason,
                total_faults_fired=r.summary.total_faults_fired,
            )
            for i, r in enumerate(results)
        ],
        passed=passed,
        pass_rate=round(passed / n, 6) if n else 0.0,
        pass_rate_low=round(low, 6),
        pass_rate_high=round(high, 6),
        # One experiment is one task: pass^k = C(c, k) / C(n, k).
        pass_hat_k=[round(pass_hat_k([(n, passed)], k), 6) for k in range(1, n + 1)],
    )


def merge_recovery(results: Sequence[ExperimentResult]) -> list[RecoveryRow]:
    """The trials' recovery rows summed per (fault type, component). Counts and intervals are
    exact; the times to recovery are the median of the trials' p50s and the largest p95."""
    rows: dict[tuple[str, str], list[RecoveryRow]] = {}
    for result in results:
        for row in result.summary.recovery:
            rows.setdefault((row.fault_type, row.component), []).append(row)
    merged = []
    for (fault_type, component), group in sorted(rows.items()):
        fired = sum(r.fired for r in group)
        recovered = sum(r.recovered for r in group)
        low, high = wilson_interval(recovered, fired)
        mechanisms: dict[str, int] = {}
        for r in group:
            for name, count in r.mechanisms.items():
                mechanisms[name] = mechanisms.get(name, 0) + count
        timed = [r for r in group if r.recovered]
        merged.append(
            RecoveryRow(
                fault_type=fault_type,
                component=component,
                fired=fired,
                recovered=recovered,
                propagated=sum(r.propagated for r in group),
                unknown=sum(r.unknown for r in group),
                mechanisms=mechanisms,
                rate=round(recovered / fired, 6) if fired else 0.0,
                rate_low=round(low, 6),
                rate_high=round(high, 6),
                recovery_ms_p50=statistics.median(r.recovery_ms_p50 for r in timed)
                if timed
                else 0.0,
                recovery_ms_p95=max((r.recovery_ms_p95 for r in timed), default=0.0),
            )
        )
    return merged


def _trial(experiment: ChaosExperiment, base_seed: int, i: int) -> ChaosExperiment:
    return experiment.model_copy(
        update={
            "seed": (base_seed + i) % 2**63,
            "experiment_id": f"{experiment.experiment_id}.trial-{i}",
            "repeat": 1,
        }
    )


def run_trials(
    experiment: ChaosExperiment,
    run_one: RunOne,
    repeat: int | None = None,
    *,
    should_stop: Callable[[], bool] | None = None,
    needs_workload: bool = True,
) -> ExperimentResult:
    """Run ``repeat`` (default ``experiment.repeat``) trials with ``run_one`` and combine them.
    Without a seed, one is drawn and recorded, so each trial can be replayed. ``should_stop``:
    checked between trials (an interrupted run stops after the trial in progress).
    ``needs_workload``: as for :func:`check_repeat`."""
    n = experiment.repeat if repeat is None else repeat
    check_repeat(experiment, n, needs_workload=needs_workload)
    if n == 1:
        return run_one(experiment)
    base = experiment.seed if experiment.seed is not None else random.SystemRandom().getrandbits(31)
    results: list[ExperimentResult] = []
    for i in range(n):
        results.append(run_one(_trial(experiment, base, i)))
        if should_stop is not None and should_stop():
            break
    return combine(experiment, results)


def combine(experiment: ChaosExperiment, results: Sequence[ExperimentResult]) -> ExperimentResult:
    """One result for the trials (see the module docstring)."""
    trials = trials_summary(results)
    index = next(
        (i for i, r in enumerate(results) if r.verdict is not Verdict.passed), len(results) - 1
    )
    pick = results[index]
    pass_results = evaluate_pass_rate(experiment.steady_state, trials.passed, len(results))
    verdict: Verdict | None
    if pass_results:
        verdict = Verdict.passed if all(r.passed for r in pass_results) else Verdict.deviated
    else:
        verdict = Verdict.passed if trials.passed == len(results) else pick.verdict
    reason = None
    if verdict is not Verdict.passed:
        failing = [r for r in pass_results if not r.passed]
        if failing:
            f = failing[0]
            reason = (
                f"{trials.passed} of {len(results)} trials passed: {f.limit} {f.observed:g} "
                f"< {f.threshold:g}"
            )
        else:
            reason = (
                f"{trials.passed} of {len(results)} trials passed; trial {index} "
                f"(seed {pick.seed}): {pick.verdict_reason}"
            )
    update: dict[str, Any] = {"trials": trials}
    recovery = merge_recovery(results)
    if recovery:
        update["recovery"] = recovery
    summary = pick.summary.model_copy(update=update)
    return pick.model_copy(
        update={
            "summary": summary,
            "verdict": verdict,
            "verdict_reason": reason,
            "objectives": [*pick.objectives, *pass_results],
        }
    )

"""evaluate_objectives on hand-made summaries, and decide_verdict's order of precedence."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from aumai_chaos.experiments.steady_state import (
    LIMITS,
    WORKLOAD,
    Objective,
    ObjectiveResult,
    Verdict,
    component_stats,
    decide_verdict,
    evaluate_objectives,
)

#: The shape ExperimentObserver.summary() produces, with round numbers.
SUMMARY: dict[str, Any] = {
    "total_faults_fired": 4,
    "faults_by_type": {"error": 4},
    "errors_by_type": {"error": 4},
    "duration_seconds": 2.0,
    "components": {
        "llm": {
            "calls": 40,
            "faults": 4,
            "errors": 4,
            "error_rate": 0.1,
            "error_types": {"aumai_chaos.errors.ChaosError": 4},
            "latency_ms": {"p50": 5.0, "p95": 250.0, "p99": 400.0},
        },
        "vector_db": {
            "calls": 10,
            "faults": 0,
            "errors": 0,
            "error_rate": 0.0,
            "error_types": {},
            "latency_ms": {"p50": 2.0, "p95": 3.0, "p99": 3.5},
        },
    },
    "workload": {
        "iterations": 8,
        "failures": 2,
        "failure_rate": 0.25,
        "failure_types": {"aumai_chaos.errors.ChaosError": 2},
        "latency_ms": {"p50": 12.0, "p95": 900.0, "p99": 1200.0},
    },
    "observations_dropped": 0,
}


def check(objective: Objective, summary: dict[str, Any] = SUMMARY) -> list[tuple[Any, ...]]:
    """(limit, threshold, observed, passed) of each checked limit, in report order."""
    results = evaluate_objectives([objective], summary, "faults")
    assert all(r.phase == "faults" and r.component == objective.component for r in results)
    return [(r.limit, r.threshold, r.observed, r.passed) for r in results]


# -- one limit at a time, at and around its threshold ---------------------------------------------


@pytest.mark.parametrize(
    ("limit", "threshold", "observed", "passed"),
    [
        ("min_calls", 39, 40.0, True),
        ("min_calls", 40, 40.0, True),  # a minimum is met when equal
        ("min_calls", 41, 40.0, False),
        ("max_error_rate", 0.11, 0.1, True),
        ("max_error_rate", 0.1, 0.1, True),  # a maximum is met when equal
        ("max_error_rate", 0.09, 0.1, False),
        ("max_error_rate", 0.0, 0.1, False),
        ("min_success_rate", 0.9, 0.9, True),
        ("min_success_rate", 0.91, 0.9, False),
        ("min_success_rate", 0.0, 0.9, True),
        ("max_latency_p50_ms", 5.0, 5.0, True),
        ("max_latency_p50_ms", 4.99, 5.0, False),
        ("max_latency_p95_ms", 250.0, 250.0, True),
        ("max_latency_p95_ms", 249.0, 250.0, False),
        ("max_latency_p99_ms", 400.0, 400.0, True),
        ("max_latency_p99_ms", 399.9, 400.0, False),
    ],
)
def test_each_limit_of_a_component(
    limit: str, threshold: float, observed: float, passed: bool
) -> None:
    objective = Objective.model_validate({"component": "llm", limit: threshold})
    assert check(objective) == [(limit, float(threshold), observed, passed)]


def test_every_limit_at_once_is_reported_in_a_fixed_order() -> None:
    objective = Objective(
        component="llm",
        max_latency_p99_ms=500,
        max_latency_p95_ms=200,  # 250 observed: fails
        max_latency_p50_ms=10,
        min_success_rate=0.95,  # 0.9 observed: fails
        max_error_rate=0.2,
        min_calls=40,
    )
    assert check(objective) == [
        ("min_calls", 40.0, 40.0, True),
        ("max_error_rate", 0.2, 0.1, True),
        ("min_success_rate", 0.95, 0.9, False),
        ("max_latency_p50_ms", 10.0, 5.0, True),
        ("max_latency_p95_ms", 200.0, 250.0, False),
        ("max_latency_p99_ms", 500.0, 400.0, True),
    ]
    assert [limit for limit, *_ in check(objective)] == [name for name, _, _ in LIMITS]


def test_the_workload_pseudo_component_reads_the_iterations() -> None:
    objective = Objective(
        component=WORKLOAD,
        min_calls=8,
        max_error_rate=0.2,
        min_success_rate=0.75,
        max_latency_p50_ms=12,
        max_latency_p95_ms=1000,
        max_latency_p99_ms=1000,
    )
    assert check(objective) == [
        ("min_calls", 8.0, 8.0, True),
        ("max_error_rate", 0.2, 0.25, False),
        ("min_success_rate", 0.75, 0.75, True),
        ("max_latency_p50_ms", 12.0, 12.0, True),
        ("max_latency_p95_ms", 1000.0, 900.0, True),
        ("max_latency_p99_ms", 1000.0, 1200.0, False),
    ]
    assert component_stats(SUMMARY, WORKLOAD) == {
        "calls": 8,
        "error_rate": 0.25,
        "latency_ms": {"p50": 12.0, "p95": 900.0, "p99": 1200.0},
    }


ALL_LIMITS = {
    "min_calls": 0,
    "max_error_rate": 1.0,
    "min_success_rate": 0.0,
    "max_latency_p50_ms": 3_600_000.0,
    "max_latency_p95_ms": 3_600_000.0,
    "max_latency_p99_ms": 3_600_000.0,
}


@pytest.mark.parametrize(
    ("component", "summary"),
    [
        ("search_tool", SUMMARY),  # never called: absent from the summary
        (WORKLOAD, {k: v for k, v in SUMMARY.items() if k != "workload"}),  # no workload
        (WORKLOAD, {**SUMMARY, "workload": {"iterations": 0, "failures": 0, "failure_rate": 0.0}}),
        (
            "llm",
            {
                "components": {
                    "llm": {"calls": 0, "error_rate": 0.0, "latency_ms": {"p50": 0.0}},
                }
            },
        ),
        ("llm", {}),
    ],
)
def test_no_calls_fails_every_limit_but_min_calls(component: str, summary: dict[str, Any]) -> None:
    """Nothing measured: no limit can be said to hold, however loose; ``min_calls`` is judged on
    its own (0 calls meets ``min_calls: 0``)."""
    objective = Objective.model_validate({"component": component, **ALL_LIMITS})
    assert check(objective, summary) == [
        ("min_calls", 0.0, 0.0, True),
        ("max_error_rate", 1.0, 0.0, False),
        ("min_success_rate", 0.0, 0.0, False),
        ("max_latency_p50_ms", 3_600_000.0, 0.0, False),
        ("max_latency_p95_ms", 3_600_000.0, 0.0, False),
        ("max_latency_p99_ms", 3_600_000.0, 0.0, False),
    ]
    assert check(Objective(component=component, min_calls=1), summary) == [
        ("min_calls", 1.0, 0.0, False)
    ]


def test_several_objectives_keep_their_order_and_phase() -> None:
    objectives = [
        Objective(component="vector_db", max_error_rate=0.0),
        Objective(component=WORKLOAD, min_calls=100),
        Objective(component="llm", max_latency_p95_ms=300),
    ]
    results = evaluate_objectives(objectives, SUMMARY, "baseline")
    assert results == [
        ObjectiveResult(
            phase="baseline",
            component="vector_db",
            limit="max_error_rate",
            threshold=0.0,
            observed=0.0,
            passed=True,
        ),
        ObjectiveResult(
            phase="baseline",
            component=WORKLOAD,
            limit="min_calls",
            threshold=100.0,
            observed=8.0,
            passed=False,
        ),
        ObjectiveResult(
            phase="baseline",
            component="llm",
            limit="max_latency_p95_ms",
            threshold=300.0,
            observed=250.0,
            passed=True,
        ),
    ]
    assert evaluate_objectives([], SUMMARY, "faults") == []


def test_observed_values_are_rounded_to_six_places() -> None:
    summary = {"components": {"llm": {"calls": 3, "error_rate": 1 / 3, "latency_ms": {}}}}
    [rate, success] = evaluate_objectives(
        [Objective(component="llm", max_error_rate=0.3334, min_success_rate=0.6666)],
        summary,
        "faults",
    )
    assert (rate.observed, rate.passed) == (0.333333, True)
    assert (success.observed, success.passed) == (0.666667, True)


# -- decide_verdict -------------------------------------------------------------------------------


def _objective(phase: str, passed: bool) -> ObjectiveResult:
    return ObjectiveResult.model_validate(
        {
            "phase": phase,
            "component": "llm",
            "limit": "max_error_rate",
            "threshold": 0.1,
            "observed": 0.0 if passed else 0.5,
            "passed": passed,
        }
    )


def _expected(
    failed: bool, baseline_failed: bool, aborted: bool, deviated: bool, unfired: bool
) -> Verdict:
    """The documented precedence: failed > aborted > baseline_not_met > deviated >
    inconclusive > passed."""
    for condition, verdict in (
        (failed, Verdict.failed),
        (aborted, Verdict.aborted),
        (baseline_failed, Verdict.baseline_not_met),
        (deviated, Verdict.deviated),
        (unfired, Verdict.inconclusive),
    ):
        if condition:
            return verdict
    return Verdict.passed


@pytest.mark.parametrize("flags", list(itertools.product([False, True], repeat=5)))
def test_verdict_precedence_over_every_combination(flags: tuple[bool, ...]) -> None:
    failed, baseline_failed, aborted, deviated, unfired = flags
    objectives = [_objective("faults", True), _objective("faults", not deviated)]
    verdict = decide_verdict(
        failed=failed,
        aborted=aborted,
        baseline_failed=baseline_failed,
        objectives=objectives,
        unfired_faults=2 if unfired else 0,
        require_faults_fired=True,
    )
    assert verdict is _expected(failed, baseline_failed, aborted, deviated, unfired)


def test_unfired_faults_count_only_when_required() -> None:
    common: dict[str, Any] = {"failed": False, "aborted": False, "baseline_failed": False}
    ok = [_objective("faults", True)]
    assert (
        decide_verdict(**common, objectives=ok, unfired_faults=1, require_faults_fired=True)
        is Verdict.inconclusive
    )
    assert (
        decide_verdict(**common, objectives=ok, unfired_faults=1, require_faults_fired=False)
        is Verdict.passed
    )
    # Not required, but an objective failed: still deviated.
    bad = [_objective("faults", False)]
    assert (
        decide_verdict(**common, objectives=bad, unfired_faults=1, require_faults_fired=False)
        is Verdict.deviated
    )


def test_only_the_fault_window_deviates() -> None:
    """A failed baseline limit is the caller's ``baseline_failed``; in the objectives list it
    does not make the run ``deviated`` by itself."""
    objectives = [_objective("baseline", False), _objective("faults", True)]
    assert (
        decide_verdict(
            failed=False,
            aborted=False,
            baseline_failed=False,
            objectives=objectives,
            unfired_faults=0,
            require_faults_fired=True,
        )
        is Verdict.passed
    )


def test_no_objectives_and_every_fault_fired_passes() -> None:
    assert (
        decide_verdict(
            failed=False,
            aborted=False,
            baseline_failed=False,
            objectives=[],
            unfired_faults=0,
            require_faults_fired=True,
        )
        is Verdict.passed
    )

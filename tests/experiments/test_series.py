"""The summary's per-second series: bounded, and the same counts as the totals."""

from __future__ import annotations

import json
import math
import random

from aumai_chaos import ExperimentResult, ExperimentScheduler, FaultConfig
from aumai_chaos.experiments._series import MAX_BUCKETS, Series
from aumai_chaos.experiments._stats import percentile
from aumai_chaos.experiments.summary import Summary
from tests.experiments import workloads
from tests.experiments.support import experiment

S = 1_000_000_000
ORIGIN = 1_700_000_000 * S


def test_events_land_in_the_second_they_happened_in() -> None:
    series = Series(ORIGIN)
    series.iteration(ORIGIN + S // 2, 10.0, failed=False)
    series.iteration(ORIGIN + 2 * S + 1, 20.0, failed=True)
    series.call(ORIGIN + 2 * S - 1, "db", failed=True)
    series.fault(ORIGIN + 2 * S - 1, "db", "error")
    series.fault(ORIGIN - S, "llm", "latency")  # before the origin: the first bucket
    out = series.summary(4.2)
    assert out["step_seconds"] == 1
    assert out["buckets"] == 5
    assert out["workload"]["iterations"] == [1, 0, 1, 0, 0]
    assert out["workload"]["failures"] == [0, 0, 1, 0, 0]
    assert out["components"]["db"] == {
        "calls": [0, 1, 0, 0, 0],
        "errors": [0, 1, 0, 0, 0],
        "faults": [0, 1, 0, 0, 0],
        "faults_by_type": {"error": [0, 1, 0, 0, 0]},
    }
    assert out["components"]["llm"]["faults"] == [1, 0, 0, 0, 0]
    assert out["components"]["llm"]["calls"] == [0] * 5
    json.dumps(out.model_dump(mode="json"))  # plain JSON data


def test_an_empty_series_still_spans_the_run() -> None:
    out = Series(ORIGIN).summary(2.5)
    assert out["buckets"] == 3
    assert out["workload"] == {
        "iterations": [0, 0, 0],
        "failures": [0, 0, 0],
        "latency_p95_ms": [0.0, 0.0, 0.0],
    }
    assert out["components"] == {}
    assert Series(ORIGIN).summary()["buckets"] == 0


def test_the_p95_of_a_bucket_is_within_one_percent_of_the_exact_value() -> None:
    rng = random.Random(3)
    for n in (1, 2, 19, 20, 21, 100, 1000):
        series = Series(ORIGIN)
        values = [rng.lognormvariate(3, 1.5) for _ in range(n)]
        for v in values:
            series.iteration(ORIGIN, v, failed=False)
        got = series.summary()["workload"]["latency_p95_ms"][0]
        exact = percentile(sorted(values), 95)
        assert abs(got - exact) <= 0.01 * exact + 0.001, (n, got, exact)


def test_a_long_run_doubles_the_step_and_keeps_every_count() -> None:
    series = Series(ORIGIN)
    rng = random.Random(5)
    seconds = [rng.randrange(0, 10_000) for _ in range(2_000)] + [0, 3_599, 3_600, 9_999]
    for i, sec in enumerate(seconds):
        series.iteration(ORIGIN + sec * S, 5.0, failed=i % 3 == 0)
        series.call(ORIGIN + sec * S, "db", failed=i % 2 == 0)
        series.fault(ORIGIN + sec * S, "db", "latency" if i % 2 else "error")
    out = series.summary(10_000.0)
    # The smallest power of two that fits 10,000 s in 3,600 buckets.
    assert out["step_seconds"] == 4
    assert out["buckets"] == math.ceil(10_000 / 4) <= MAX_BUCKETS
    assert sum(out["workload"]["iterations"]) == len(seconds)
    assert sum(out["workload"]["failures"]) == sum(1 for i in range(len(seconds)) if i % 3 == 0)
    db = out["components"]["db"]
    assert sum(db["calls"]) == sum(db["faults"]) == len(seconds)
    assert sum(db["errors"]) == sum(1 for i in range(len(seconds)) if i % 2 == 0)
    assert sum(map(sum, db["faults_by_type"].values())) == len(seconds)
    for sec in (0, 3_599, 3_600, 9_999):
        assert out["workload"]["iterations"][sec // 4] >= 1
    lists = [out["workload"]["iterations"], *db.values()]
    lengths = {len(v) for v in lists if isinstance(v, list)}
    assert lengths == {out["buckets"]}


def test_a_day_long_run_gets_32_second_buckets() -> None:
    out = Series(ORIGIN).summary(86_400.0)
    assert out["step_seconds"] == 32
    assert out["buckets"] == 2_700


def test_an_hour_keeps_one_second_buckets() -> None:
    out = Series(ORIGIN).summary(3_600.0)
    assert (out["step_seconds"], out["buckets"]) == (1, 3_600)


def _check_sums(model: Summary) -> None:
    summary = model.model_dump(mode="json")  # the JSON a result file holds
    series = summary["series"]
    assert isinstance(series, dict)
    components = summary["components"]
    assert isinstance(components, dict)
    assert set(series["components"]) == set(components)
    for name, stats in components.items():
        lists = series["components"][name]
        assert sum(lists["calls"]) == stats["calls"], name
        assert sum(lists["errors"]) == stats["errors"], name
        assert sum(lists["faults"]) == stats["faults"], name
    by_type: dict[str, int] = {}
    for lists in series["components"].values():
        for fault_type, values in lists["faults_by_type"].items():
            by_type[fault_type] = by_type.get(fault_type, 0) + sum(values)
    assert by_type == summary["faults_by_type"]
    workload = summary.get("workload")
    if isinstance(workload, dict):
        assert sum(series["workload"]["iterations"]) == workload["iterations"]
        assert sum(series["workload"]["failures"]) == workload["failures"]


def test_a_run_with_a_workload_sums_to_its_totals_and_round_trips() -> None:
    scheduler = ExperimentScheduler()
    exp = experiment(
        duration_seconds=1.5,
        seed=11,
        workload={"target": "tests.experiments.workloads:sync_iteration", "concurrency": 2},
        faults=[
            FaultConfig(
                fault_type="error",
                probability=0.3,
                error_code=503,
                affected_components=[workloads.COMPONENT],
            ),
            FaultConfig(
                fault_type="latency",
                probability=0.3,
                duration_ms=1,
                affected_components=[workloads.COMPONENT],
            ),
        ],
    )
    result = scheduler.run(scheduler.schedule(exp))
    summary = result.summary
    assert summary["workload"]["iterations"] > 10
    assert summary["total_faults_fired"] > 0
    _check_sums(summary)
    assert summary["series"]["buckets"] == 2
    again = ExperimentResult.model_validate_json(result.model_dump_json())
    assert again.summary["series"] == summary["series"]


def test_a_run_without_a_workload_and_a_baseline_both_sum() -> None:
    scheduler = ExperimentScheduler()
    exp = experiment(
        duration_seconds=0.5,
        seed=4,
        faults=[FaultConfig(fault_type="error", probability=0.5, error_code=500)],
        target_components=["series.synthetic"],
    )
    result = scheduler.run(scheduler.schedule(exp))
    _check_sums(result.summary)
    assert sum(result.summary["series"]["components"]["series.synthetic"]["calls"]) > 0

    exp = experiment(
        duration_seconds=0.4,
        baseline_seconds=0.3,
        workload="tests.experiments.workloads:sync_iteration",
        steady_state=[{"component": "workload", "min_calls": 1}],
    )
    result = scheduler.run(scheduler.schedule(exp))
    assert result.baseline is not None
    _check_sums(result.baseline)
    _check_sums(result.summary)

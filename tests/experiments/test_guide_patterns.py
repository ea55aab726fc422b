"""The user's guide's Patterns 3-5 and its FAQ answers about experiments, checked in-process.

The guide's code itself runs verbatim as examples/pattern{3,4,5}_*.py and
examples/faq_{concurrent_experiments,experiment_not_found}.py, with their output checked, in
tests/test_examples.py. These tests check the same claims faster and more precisely (seeded,
shorter, exact counts).
"""

from __future__ import annotations

import random
import threading
import time

import pytest

from aumai_chaos import (
    ChaosError,
    ChaosExperiment,
    ExperimentNotFoundError,
    ExperimentObserver,
    ExperimentScheduler,
    ExperimentStatus,
    FaultConfig,
    FaultInjector,
    FaultType,
)
from tests.experiments.support import Background, unique, wait_until


def test_pattern3_shape_with_a_seed() -> None:
    experiment = ChaosExperiment(
        experiment_id=unique("obs-test"),
        name="Observation collection test",
        duration_seconds=0.5,
        tick_seconds=0.1,
        seed=42,
        target_components=["llm", "vector_db"],
        faults=[
            FaultConfig(
                fault_type=FaultType.latency,
                probability=0.4,
                duration_ms=15,
                affected_components=["llm"],
            ),
            FaultConfig(
                fault_type=FaultType.error,
                probability=0.15,
                error_code=503,
                error_message="Service degraded",
                affected_components=["vector_db"],
            ),
        ],
    )
    scheduler = ExperimentScheduler()
    result = scheduler.run(scheduler.schedule(experiment))
    assert result.status == ExperimentStatus.completed
    summary = result.summary
    assert {"total_faults_fired", "faults_by_type", "errors_by_type", "duration_seconds"} <= set(
        summary
    )
    assert summary["duration_seconds"] == pytest.approx(0.5, abs=0.1)
    # Five ticks: one synthetic call of llm and one of vector_db each.
    llm, vector_db = summary["components"]["llm"], summary["components"]["vector_db"]
    assert llm["calls"] == vector_db["calls"] == 5
    assert llm["errors"] == 0
    assert summary["faults_by_type"].get("latency", 0) == llm["faults"]
    assert summary["faults_by_type"].get("error", 0) == vector_db["faults"] == vector_db["errors"]
    assert summary["errors_by_type"] == (
        {"error": vector_db["errors"]} if vector_db["errors"] else {}
    )
    assert vector_db["error_types"] == (
        {"aumai_chaos.errors.ChaosError": vector_db["errors"]} if vector_db["errors"] else {}
    )
    assert {o.component for o in result.observations} == {"llm", "vector_db"}
    if llm["faults"]:
        assert llm["latency_ms"]["p99"] >= 15


def test_faq_a_one_second_experiment_fires_one_tick() -> None:
    """FAQ: "if ``duration_seconds`` is 1, only one tick fires"."""
    scheduler = ExperimentScheduler()
    experiment = ChaosExperiment(
        experiment_id=unique("one-tick"),
        name="one tick",
        duration_seconds=1,
        target_components=["a", "b"],
        faults=[
            FaultConfig(fault_type=FaultType.error),  # the default probability: 1.0
            FaultConfig(fault_type=FaultType.latency, duration_ms=1, affected_components=["c"]),
        ],
    )
    result = scheduler.run(scheduler.schedule(experiment))
    assert result.summary["total_faults_fired"] == 3  # one tick: a, b, then c
    assert result.summary["faults_by_type"] == {"error": 2, "latency": 1}


def test_pattern4_with_a_seeded_random() -> None:
    observer = ExperimentObserver()
    injector = FaultInjector()
    fault = FaultConfig(
        fault_type=FaultType.error, probability=0.25, error_code=500, error_message="Random failure"
    )

    def instrumented_tool_call(tool_name: str) -> dict[str, str] | None:
        with observer.scope(tool_name, "tool_call"):
            try:
                injector.inject(fault)
                result = {"output": f"{tool_name} succeeded"}
                observer.observe(tool_name, "result_received", {"output_keys": list(result)})
                return result
            except ChaosError as exc:
                observer.observe(tool_name, "chaos_error", {"code": exc.error_code})
                return None

    random.seed(7)
    expected = [random.random() < 0.25 for _ in range(200)]
    random.seed(7)
    outcomes = [instrumented_tool_call("search_tool") is None for _ in range(200)]
    assert outcomes == expected
    assert len(observer.get_observations()) == 400
    errors = observer.get_observations("search_tool", "chaos_error")
    assert len(errors) == sum(expected)
    assert all(o.details == {"code": 500} for o in errors)
    assert all(o.details["status"] == "ok" for o in observer.get_observations(event="tool_call"))


def test_pattern5_abort_from_another_thread() -> None:
    long_experiment = ChaosExperiment(
        experiment_id=unique("long-exp"),
        name="Long experiment",
        duration_seconds=120,
        seed=5,
        faults=[FaultConfig(fault_type=FaultType.latency, probability=0.3, duration_ms=200)],
    )
    scheduler = ExperimentScheduler()
    exp_id = scheduler.schedule(long_experiment)
    thread = threading.Thread(target=scheduler.run, args=(exp_id,), daemon=True)
    thread.start()
    time.sleep(0.3)
    scheduler.abort(exp_id)
    thread.join(timeout=5)
    assert not thread.is_alive()
    result = scheduler.get_result(exp_id)
    assert result.status is ExperimentStatus.aborted
    assert result.summary["duration_seconds"] == pytest.approx(0.3, abs=0.1)


def test_faq_experiment_not_found_until_scheduled() -> None:
    scheduler = ExperimentScheduler()
    experiment = ChaosExperiment(
        experiment_id=unique("faq"), name="faq", duration_seconds=0.1, tick_seconds=0.1
    )
    with pytest.raises(ExperimentNotFoundError) as info:
        scheduler.run(experiment.experiment_id)
    assert str(info.value) == (
        f"no experiment {experiment.experiment_id!r} is scheduled; "
        "call scheduler.schedule(experiment) first"
    )
    assert scheduler.schedule(experiment) == experiment.experiment_id
    assert scheduler.run(experiment.experiment_id).status is ExperimentStatus.completed


def test_faq_concurrent_experiments_on_one_scheduler() -> None:
    """FAQ: each run() has its own isolated observer; aborting one experiment does not affect
    the others; run() is synchronous, so concurrency takes threads."""
    scheduler = ExperimentScheduler()

    def make(name: str, duration: float, fault_type: FaultType) -> str:
        return scheduler.schedule(
            ChaosExperiment(
                experiment_id=unique(name),
                name=name,
                duration_seconds=duration,
                tick_seconds=0.05,
                seed=1,
                target_components=[name],
                faults=[FaultConfig(fault_type=fault_type, duration_ms=1)],
            )
        )

    first = make("first", 0.5, FaultType.error)
    second = make("second", 0.5, FaultType.timeout)
    doomed = make("doomed", 600, FaultType.latency)
    runs = {eid: Background(scheduler, eid).start() for eid in (first, second, doomed)}
    wait_until(
        lambda: all(s is ExperimentStatus.running for s in scheduler.list_experiments().values())
    )
    observers = {scheduler.get_observer(eid) for eid in runs}
    assert len(observers) == 3
    scheduler.abort(doomed)
    assert runs[doomed].join(10).status is ExperimentStatus.aborted
    for eid, expected in ((first, "error"), (second, "timeout")):
        started = time.perf_counter()
        result = runs[eid].join()
        assert result.status is ExperimentStatus.completed
        assert result.summary["duration_seconds"] >= 0.5  # run() returned only at the end
        ticks = result.summary["components"][scheduler.get_experiment(eid).name]["calls"]
        assert 9 <= ticks <= 10  # 0.5 s of 0.05 s ticks (the last may meet the end)
        assert result.summary["faults_by_type"] == {expected: ticks}  # one a tick, its own only
        assert {
            o.details["chaos.experiment.id"]
            for o in result.observations
            if o.details.get("chaos.experiment.id")
        } == {eid}
        assert time.perf_counter() - started < 10  # a 0.5 s run, not the doomed 600 s one

"""Each verdict, end to end, with the example agent (examples/agent.py) and its fragile variant.

Every run is seeded and lasts 1.5-2.5 s. The robust and fragile agents run under the example's
own experiment file (examples/experiments/agent-experiment.yaml).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import pytest
from examples.agent import run_once, run_once_fragile
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from aumai_chaos import ExperimentStatus
from aumai_chaos.experiments.steady_state import Verdict
from tests.helpers import counter_sum, fault_spans
from tests.steady_state.support import FRAGILE, ROBUST, agent_experiment, experiment, run

# -- passed and deviated: the example agent, robust and fragile ----------------------------------


def test_the_robust_agent_passes_under_the_examples_faults() -> None:
    # Eight workers instead of the file's four: about twice the iterations in the same time,
    # so a 5% error-rate limit is judged on ~120 answers, not ~60. The robust agent fails an
    # answer only when all four LLM attempts fail (0.325**4, about 1.1%).
    exp = agent_experiment(duration_seconds=2.0, workload={"target": ROBUST, "concurrency": 8})
    result = run(exp)
    assert result.status is ExperimentStatus.completed, result.error
    assert result.verdict is Verdict.passed, result.objectives
    assert result.stopped_by is None
    assert result.baseline is None
    assert [(o.phase, o.component, o.limit) for o in result.objectives] == [
        ("faults", "workload", "min_calls"),
        ("faults", "workload", "max_error_rate"),
        ("faults", "workload", "max_latency_p95_ms"),
        ("faults", "llm", "min_calls"),
    ]
    assert all(o.passed for o in result.objectives)
    # The proof that it was tested: every declared fault really fired, and the LLM's errors
    # were real (the agent absorbed them).
    assert [f["fired"] > 0 for f in result.summary["faults"]] == [True, True, True]
    assert sum(f["fired"] for f in result.summary["faults"]) == result.summary["total_faults_fired"]
    assert result.summary["components"]["llm"]["errors"] > 0
    assert result.summary["components"]["vector_db"]["errors"] > 0


def test_the_fragile_agent_deviates_under_the_same_faults() -> None:
    # The file's safeguard (stop at 50% failures) is left out: crossing it would make the
    # verdict "aborted", which is tested on its own below.
    exp = agent_experiment(
        duration_seconds=2.0, workload={"target": FRAGILE, "concurrency": 4}, stop_conditions=[]
    )
    result = run(exp)
    assert result.status is ExperimentStatus.completed, result.error
    assert result.verdict is Verdict.deviated
    by_limit = {(o.component, o.limit): o for o in result.objectives}
    error_rate = by_limit["workload", "max_error_rate"]
    assert not error_rate.passed
    assert error_rate.observed == result.summary["workload"]["failure_rate"]
    # About 28% of its answers fail (vector store 20%, then LLM errors 10%).
    assert 0.1 < error_rate.observed < 0.6
    assert by_limit["workload", "min_calls"].passed


def test_a_workload_callable_overrides_the_files_target() -> None:
    exp = agent_experiment(duration_seconds=1.5, stop_conditions=[])
    assert exp.workload is not None
    assert exp.workload.target == ROBUST
    result = run(exp, workload=run_once_fragile)
    assert result.verdict is Verdict.deviated
    assert result.summary["workload"]["failures"] > 0


# -- aborted: stop conditions ---------------------------------------------------------------------

STOP_WINDOW = 1.0


def test_a_stop_condition_aborts_a_runaway_experiment_within_one_window() -> None:
    exp = experiment(
        duration_seconds=30,
        workload={"target": FRAGILE, "concurrency": 4},
        faults=[{"fault_type": "error", "probability": 1.0, "affected_components": ["vector_db"]}],
        steady_state=[{"component": "workload", "max_error_rate": 0.05}],
        stop_conditions=[
            # Never crossed (the fragile agent never reaches its tool): proves the index.
            {"component": "search_tool", "max_error_rate": 0.0, "window_seconds": 5},
            {
                "component": "workload",
                "max_error_rate": 0.5,
                "window_seconds": STOP_WINDOW,
                "min_calls": 5,
            },
        ],
    )
    t0 = time.monotonic()
    result = run(exp)
    elapsed = time.monotonic() - t0
    # One window, plus the 100 ms poll, plus room for a loaded machine: far from the 30 s.
    assert elapsed < STOP_WINDOW + 5.0
    assert result.status is ExperimentStatus.aborted
    assert result.verdict is Verdict.aborted
    assert result.error is None
    stop = result.stopped_by
    assert stop is not None
    assert stop.index == 1
    assert stop.condition == "workload: max_error_rate 0.5 over 1s"
    assert stop.observed == 1.0  # every answer failed
    assert result.start_time is not None
    assert result.end_time is not None
    assert result.start_time <= stop.at <= result.end_time
    assert (stop.at - result.start_time).total_seconds() < STOP_WINDOW + 5.0
    assert result.summary["duration_seconds"] < STOP_WINDOW + 5.0


def test_a_run_that_turns_runaway_midway_is_stopped_within_one_window_of_turning() -> None:
    """Healthy at first, then every answer fails: the condition must not fire before, and must
    fire within one window (plus the poll) after."""
    turned: dict[str, datetime] = {}
    healthy_for = 0.6

    async def runaway() -> None:
        if time.monotonic() - t0 < healthy_for:
            await run_once()  # the robust agent falls back when the vector store fails
        else:
            turned.setdefault("at", datetime.now(UTC))
            await run_once_fragile()

    exp = experiment(
        duration_seconds=30,
        faults=[{"fault_type": "error", "probability": 1.0, "affected_components": ["vector_db"]}],
        stop_conditions=[
            {
                "component": "workload",
                "max_error_rate": 0.5,
                "window_seconds": STOP_WINDOW,
                "min_calls": 5,
            }
        ],
    )
    t0 = time.monotonic()  # the workload reads it: healthy for the first 0.6 s
    result = run(exp, workload=runaway)
    assert time.monotonic() - t0 < healthy_for + STOP_WINDOW + 5.0  # far from the 30 s
    assert result.verdict is Verdict.aborted
    stop = result.stopped_by
    assert stop is not None
    assert stop.index == 0
    assert stop.at >= turned["at"]
    assert (stop.at - turned["at"]).total_seconds() < STOP_WINDOW + 3.0
    assert 0.5 < stop.observed <= 1.0


@pytest.mark.parametrize(
    ("cap", "condition"),
    [
        (1, {}),
        (5, {}),
        # With an error rate too (one that cannot be crossed): the cap is what is reported.
        (4, {"component": "workload", "max_error_rate": 1.0, "window_seconds": 1}),
    ],
)
def test_max_injections_caps_the_faults_exactly(
    cap: int,
    condition: dict[str, Any],
    tracer_provider: TracerProvider,
    span_exporter: InMemorySpanExporter,
    meter_provider: MeterProvider,
    metric_reader: InMemoryMetricReader,
) -> None:
    exp = experiment(
        duration_seconds=30,
        faults=[{"fault_type": "error", "probability": 1.0, "affected_components": ["llm"]}],
        stop_conditions=[{"max_injections": cap, **condition}],
    )
    result = run(exp, tracer_provider=tracer_provider, meter_provider=meter_provider)
    assert result.status is ExperimentStatus.aborted
    assert result.verdict is Verdict.aborted
    assert result.stopped_by is not None
    assert result.stopped_by.condition == f"max_injections {cap}"
    assert result.stopped_by.index == 0
    assert result.stopped_by.observed == float(cap)
    # Four workers hammer an always-failing LLM: without the window's cap far more would fire
    # before the next 100 ms poll. The summary, the per-fault proof, the spans and the metric
    # all count exactly the cap.
    assert result.summary["total_faults_fired"] == cap
    assert [f["fired"] for f in result.summary["faults"]] == [cap]
    assert len(fault_spans(span_exporter)) == cap
    assert (
        counter_sum(
            metric_reader, "chaos.fault.injections", {"chaos.experiment.id": exp.experiment_id}
        )
        == cap
    )
    assert result.summary["duration_seconds"] < 15  # stopped by the cap, not the 30 s


# -- inconclusive: faults that never fired --------------------------------------------------------


@pytest.mark.parametrize(
    ("require", "verdict"), [(True, Verdict.inconclusive), (False, Verdict.passed)]
)
def test_faults_that_match_no_component_are_inconclusive(require: bool, verdict: Verdict) -> None:
    exp = experiment(
        duration_seconds=1.5,
        require_faults_fired=require,
        faults=[
            {"fault_type": "error", "probability": 1.0, "affected_components": ["no_such_thing"]},
            {"fault_type": "latency", "duration_ms": 50, "affected_components": ["nor_this"]},
        ],
        steady_state=[{"component": "workload", "max_error_rate": 0.0, "min_calls": 5}],
    )
    result = run(exp)
    assert result.status is ExperimentStatus.completed
    assert result.verdict is verdict
    assert all(o.passed for o in result.objectives)  # the hypothesis held, vacuously
    assert result.summary["total_faults_fired"] == 0
    assert [(f["affected_components"], f["fired"]) for f in result.summary["faults"]] == [
        (["no_such_thing"], 0),
        (["nor_this"], 0),
    ]


def test_one_fault_that_never_fired_among_others_is_enough_for_inconclusive() -> None:
    exp = experiment(
        duration_seconds=1.5,
        faults=[
            {"fault_type": "error", "probability": 1.0, "affected_components": ["vector_db"]},
            {"fault_type": "error", "probability": 1.0, "affected_components": ["no_such_thing"]},
        ],
        steady_state=[{"component": "workload", "max_error_rate": 0.0}],
    )
    result = run(exp)
    assert result.verdict is Verdict.inconclusive
    fired = [f["fired"] for f in result.summary["faults"]]
    assert fired[0] > 0
    assert fired[1] == 0


# -- baseline_not_met and a baseline that holds ---------------------------------------------------


def test_a_failing_baseline_injects_no_fault(
    tracer_provider: TracerProvider,
    span_exporter: InMemorySpanExporter,
    meter_provider: MeterProvider,
    metric_reader: InMemoryMetricReader,
) -> None:
    exp = experiment(
        duration_seconds=30,  # never reached: the fault window does not open
        baseline_seconds=1.0,
        faults=[{"fault_type": "error", "probability": 1.0, "affected_components": ["llm"]}],
        # No LLM call takes 0.1 ms: the agent's own LLM stub sleeps 5 ms.
        steady_state=[{"component": "llm", "max_latency_p50_ms": 0.1}],
    )
    t0 = time.monotonic()
    result = run(exp, tracer_provider=tracer_provider, meter_provider=meter_provider)
    assert time.monotonic() - t0 < 15.0  # the 30 s fault window never opened
    assert result.status is ExperimentStatus.completed
    assert result.verdict is Verdict.baseline_not_met
    assert len(result.objectives) == 1
    [objective] = result.objectives
    assert (objective.phase, objective.component, objective.limit) == (
        "baseline",
        "llm",
        "max_latency_p50_ms",
    )
    assert not objective.passed
    assert objective.observed > 0.1
    # The baseline measured the LLM, fault-free...
    assert result.baseline is not None
    assert result.baseline["total_faults_fired"] == 0
    assert result.baseline["components"]["llm"]["calls"] > 0
    assert result.baseline["components"]["llm"]["errors"] == 0
    assert objective.observed == result.baseline["components"]["llm"]["latency_ms"]["p50"]
    # ... and then no fault was injected at all.
    assert result.summary["total_faults_fired"] == 0
    assert [f["fired"] for f in result.summary["faults"]] == [0]
    assert result.summary["workload"]["iterations"] == 0
    assert fault_spans(span_exporter) == []
    assert counter_sum(metric_reader, "chaos.fault.injections") == 0


def test_a_passing_baseline_then_the_fault_window() -> None:
    exp = experiment(
        duration_seconds=1.5,
        baseline_seconds=1.0,
        faults=[{"fault_type": "error", "probability": 0.3, "affected_components": ["vector_db"]}],
        steady_state=[
            {"component": "workload", "max_error_rate": 0.0, "min_calls": 5},
            {"component": "vector_db", "min_calls": 5, "max_error_rate": 0.5},
        ],
    )
    result = run(exp)
    assert result.status is ExperimentStatus.completed
    assert result.verdict is Verdict.passed
    limits = [
        ("workload", "min_calls"),
        ("workload", "max_error_rate"),
        ("vector_db", "min_calls"),
        ("vector_db", "max_error_rate"),
    ]
    assert [(o.phase, o.component, o.limit) for o in result.objectives] == [
        *(("baseline", *limit) for limit in limits),
        *(("faults", *limit) for limit in limits),
    ]
    baseline = result.baseline
    assert baseline is not None
    # The baseline summary is the fault-free one: no fault, no error.
    assert baseline["total_faults_fired"] == 0
    assert baseline["workload"]["iterations"] >= 5
    assert baseline["workload"]["failures"] == 0
    assert baseline["components"]["vector_db"]["errors"] == 0
    assert baseline["duration_seconds"] == pytest.approx(1.0, abs=0.3)
    # Each phase's objectives were judged on its own summary.
    base_calls = next(o for o in result.objectives if o.phase == "baseline")
    assert base_calls.observed == baseline["workload"]["iterations"]
    fault_calls = next(o for o in result.objectives if o.phase == "faults")
    assert fault_calls.observed == result.summary["workload"]["iterations"]
    # The fault window really had faults; the vector store's fallback absorbed them.
    assert result.summary["components"]["vector_db"]["errors"] > 0
    assert result.summary["workload"]["failures"] == 0
    vector_faults = [o for o in result.objectives if o.phase == "faults"][3]
    assert vector_faults.observed == result.summary["components"]["vector_db"]["error_rate"]
    assert vector_faults.observed > 0


# -- failed ---------------------------------------------------------------------------------------


def test_a_baseline_without_a_workload_fails_with_a_clear_error() -> None:
    exp = experiment(
        duration_seconds=1.5,
        baseline_seconds=1.0,
        workload=None,
        faults=[{"fault_type": "error", "probability": 1.0, "affected_components": ["llm"]}],
        steady_state=[{"component": "llm", "max_error_rate": 0.0}],
    )
    t0 = time.monotonic()
    result = run(exp)
    assert time.monotonic() - t0 < 10.0  # refused at once, nothing was run
    assert result.status is ExperimentStatus.failed
    assert result.verdict is Verdict.failed
    assert result.error == "WorkloadError: baseline_seconds needs a workload to measure"
    assert result.objectives == []
    assert result.summary["total_faults_fired"] == 0

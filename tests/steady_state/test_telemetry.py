"""The verdict and the objectives on the ``chaos.experiment`` span, and the
``chaos.objective.checks`` counter."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from aumai_chaos import ExperimentResult
from aumai_chaos.experiments.steady_state import Verdict
from tests.helpers import points
from tests.steady_state.support import experiment, run

OBJECTIVE_KEYS = {
    "chaos.objective.phase",
    "chaos.objective.component",
    "chaos.objective.limit",
    "chaos.objective.threshold",
    "chaos.objective.observed",
    "chaos.objective.outcome",
}


def experiment_span(exporter: InMemorySpanExporter, experiment_id: str) -> ReadableSpan:
    [span] = [
        s
        for s in exporter.get_finished_spans()
        if s.name == "chaos.experiment"
        and (s.attributes or {}).get("chaos.experiment.id") == experiment_id
    ]
    return span


def events(span: ReadableSpan, name: str) -> list[dict[str, Any]]:
    return [dict(e.attributes or {}) for e in span.events if e.name == name]


def expected_events(result: ExperimentResult) -> list[dict[str, Any]]:
    return [
        {
            "chaos.objective.phase": o.phase,
            "chaos.objective.component": o.component,
            "chaos.objective.limit": o.limit,
            "chaos.objective.threshold": o.threshold,
            "chaos.objective.observed": o.observed,
            "chaos.objective.outcome": "passed" if o.passed else "failed",
        }
        for o in result.objectives
    ]


def check_points(reader: InMemoryMetricReader, result: ExperimentResult) -> None:
    """The counter's points are exactly the objectives, counted by outcome."""
    found = {
        frozenset(dict(p.attributes or {}).items()): p.value
        for p in points(reader, "chaos.objective.checks")
    }
    wanted = Counter(
        frozenset(
            {
                "chaos.experiment.id": result.experiment_id,
                "chaos.objective.phase": o.phase,
                "chaos.objective.component": o.component,
                "chaos.objective.limit": o.limit,
                "chaos.objective.outcome": "passed" if o.passed else "failed",
            }.items()
        )
        for o in result.objectives
    )
    assert found == dict(wanted)


def test_verdict_and_objectives_of_both_phases_on_the_experiment_span(
    tracer_provider: TracerProvider,
    span_exporter: InMemorySpanExporter,
    meter_provider: MeterProvider,
    metric_reader: InMemoryMetricReader,
) -> None:
    exp = experiment(
        duration_seconds=1.5,
        baseline_seconds=0.5,
        faults=[{"fault_type": "error", "probability": 1.0, "affected_components": ["vector_db"]}],
        steady_state=[
            # Holds in both phases: the agent falls back when the vector store fails.
            {"component": "workload", "max_error_rate": 0.0, "min_calls": 5},
            # Holds in the baseline, fails under the fault.
            {"component": "vector_db", "max_error_rate": 0.5, "max_latency_p99_ms": 1000},
        ],
    )
    result = run(exp, tracer_provider=tracer_provider, meter_provider=meter_provider)
    assert result.verdict is Verdict.deviated
    outcomes = [(o.phase, o.component, o.limit, o.passed) for o in result.objectives]
    assert outcomes == [
        ("baseline", "workload", "min_calls", True),
        ("baseline", "workload", "max_error_rate", True),
        ("baseline", "vector_db", "max_error_rate", True),
        ("baseline", "vector_db", "max_latency_p99_ms", True),
        ("faults", "workload", "min_calls", True),
        ("faults", "workload", "max_error_rate", True),
        ("faults", "vector_db", "max_error_rate", False),
        ("faults", "vector_db", "max_latency_p99_ms", True),
    ]

    span = experiment_span(span_exporter, exp.experiment_id)
    attrs = dict(span.attributes or {})
    assert attrs["chaos.experiment.verdict"] == "deviated"
    assert attrs["chaos.experiment.status"] == "completed"
    objective_events = events(span, "chaos.objective")
    assert all(set(e) == OBJECTIVE_KEYS for e in objective_events)
    assert objective_events == expected_events(result)
    assert events(span, "chaos.experiment.stopped") == []
    check_points(metric_reader, result)


def test_a_stop_condition_is_an_event_on_the_experiment_span(
    tracer_provider: TracerProvider,
    span_exporter: InMemorySpanExporter,
    meter_provider: MeterProvider,
    metric_reader: InMemoryMetricReader,
) -> None:
    exp = experiment(
        duration_seconds=3,
        faults=[{"fault_type": "error", "probability": 1.0, "affected_components": ["llm"]}],
        steady_state=[{"component": "workload", "max_error_rate": 0.5}],
        stop_conditions=[{"max_injections": 3}],
    )
    result = run(exp, tracer_provider=tracer_provider, meter_provider=meter_provider)
    assert result.verdict is Verdict.aborted
    assert result.stopped_by is not None
    span = experiment_span(span_exporter, exp.experiment_id)
    attrs = dict(span.attributes or {})
    assert attrs["chaos.experiment.verdict"] == "aborted"
    assert attrs["chaos.experiment.status"] == "aborted"
    assert events(span, "chaos.experiment.stopped") == [
        {"chaos.stop_condition": "max_injections 3", "chaos.objective.observed": 3.0}
    ]
    assert [e.name for e in span.events if e.name.startswith("chaos.experiment.")] == [
        "chaos.experiment.stopped",
        "chaos.experiment.aborted",
    ]
    # The event is stamped when the condition fired (microseconds, as StopEvent.at keeps it).
    [stopped] = [e for e in span.events if e.name == "chaos.experiment.stopped"]
    at = result.stopped_by.at
    assert stopped.timestamp == int(at.timestamp()) * 10**9 + at.microsecond * 1000
    assert span.start_time is not None
    assert span.end_time is not None
    assert span.start_time <= stopped.timestamp <= span.end_time
    # The objectives are still judged on what the aborted run observed.
    assert events(span, "chaos.objective") == expected_events(result)
    assert len(result.objectives) == 1
    check_points(metric_reader, result)


@pytest.mark.parametrize(
    ("changes", "verdict"),
    [
        # No steady state: a verdict still, and no objective events or points.
        ({"faults": [{"fault_type": "error", "affected_components": ["llm"]}]}, "passed"),
        (
            {
                "faults": [{"fault_type": "error", "affected_components": ["nothing"]}],
                "steady_state": [{"component": "workload", "min_calls": 1}],
            },
            "inconclusive",
        ),
    ],
)
def test_verdict_without_failed_objectives(
    changes: dict[str, Any],
    verdict: str,
    tracer_provider: TracerProvider,
    span_exporter: InMemorySpanExporter,
    meter_provider: MeterProvider,
    metric_reader: InMemoryMetricReader,
) -> None:
    exp = experiment(duration_seconds=0.5, **changes)
    result = run(exp, tracer_provider=tracer_provider, meter_provider=meter_provider)
    assert result.verdict == verdict
    span = experiment_span(span_exporter, exp.experiment_id)
    assert dict(span.attributes or {})["chaos.experiment.verdict"] == verdict
    assert events(span, "chaos.objective") == expected_events(result)
    check_points(metric_reader, result)


def test_a_failed_run_has_the_verdict_failed_and_no_objectives(
    tracer_provider: TracerProvider,
    span_exporter: InMemorySpanExporter,
    meter_provider: MeterProvider,
    metric_reader: InMemoryMetricReader,
) -> None:
    exp = experiment(
        duration_seconds=1,
        baseline_seconds=1,
        workload=None,
        steady_state=[{"component": "llm", "min_calls": 1}],
    )
    result = run(exp, tracer_provider=tracer_provider, meter_provider=meter_provider)
    assert result.verdict is Verdict.failed
    span = experiment_span(span_exporter, exp.experiment_id)
    attrs = dict(span.attributes or {})
    assert attrs["chaos.experiment.verdict"] == "failed"
    assert attrs["error.type"] == "aumai_chaos.errors.WorkloadError"
    assert events(span, "chaos.objective") == []
    assert points(metric_reader, "chaos.objective.checks") == []

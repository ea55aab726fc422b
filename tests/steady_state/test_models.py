"""The steady-state models: Objective, StopCondition, and their place in ChaosExperiment and
ExperimentResult."""

from __future__ import annotations

import json
import math
import textwrap
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from aumai_chaos import ChaosExperiment, ConfigError, ExperimentResult, ExperimentStatus
from aumai_chaos.experiments.files import load_experiment_file, load_result_file
from aumai_chaos.experiments.steady_state import (
    LIMITS,
    Objective,
    ObjectiveResult,
    StopCondition,
    StopEvent,
    Verdict,
)

BASE: dict[str, Any] = {"experiment_id": "ss-model", "name": "steady state", "duration_seconds": 2}

# -- Objective ------------------------------------------------------------------------------------


def test_an_objective_needs_at_least_one_limit() -> None:
    with pytest.raises(ValidationError, match="an objective needs at least one limit"):
        Objective(component="llm")
    # Every limit named in the message is a real field.
    with pytest.raises(ValidationError) as info:
        Objective.model_validate({"component": "llm"})
    for field, _, _ in LIMITS:
        assert field in str(info.value)
        assert field in Objective.model_fields


@pytest.mark.parametrize("field", [name for name, _, _ in LIMITS])
def test_any_single_limit_is_enough(field: str) -> None:
    value = 1 if field == "min_calls" else 0.5
    objective = Objective.model_validate({"component": "workload", field: value})
    assert getattr(objective, field) == value
    assert {name for name, _, _ in LIMITS if getattr(objective, name) is not None} == {field}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("max_error_rate", 0.0),
        ("max_error_rate", 1.0),
        ("min_success_rate", 0.0),
        ("min_success_rate", 1.0),
        ("max_latency_p50_ms", 0.0),
        ("max_latency_p95_ms", 3_600_000.0),
        ("max_latency_p99_ms", 0.1),
        ("min_calls", 0),
        ("min_calls", 10**12),
    ],
)
def test_objective_bounds_are_inclusive(field: str, value: float) -> None:
    assert getattr(Objective.model_validate({"component": "c", field: value}), field) == value


@pytest.mark.parametrize(
    ("field", "value", "error_type"),
    [
        ("max_error_rate", -0.01, "greater_than_equal"),
        ("max_error_rate", 1.01, "less_than_equal"),
        ("min_success_rate", 1.5, "less_than_equal"),
        ("min_success_rate", -1.0, "greater_than_equal"),
        ("max_latency_p50_ms", -1.0, "greater_than_equal"),
        ("max_latency_p95_ms", 3_600_000.5, "less_than_equal"),
        ("max_latency_p99_ms", math.inf, "finite_number"),
        ("max_error_rate", math.nan, "finite_number"),
        ("min_calls", -1, "greater_than_equal"),
        ("min_calls", 10**12 + 1, "less_than_equal"),
        ("min_calls", 2.0, "int_type"),
        ("max_error_rate", "0.5", "float_type"),  # strict: no strings that look like numbers
        ("max_error_rate", True, "float_type"),
    ],
)
def test_objective_out_of_bounds_is_refused(field: str, value: Any, error_type: str) -> None:
    with pytest.raises(ValidationError) as info:
        Objective.model_validate({"component": "c", field: value})
    errors = info.value.errors()
    assert [(e["loc"], e["type"]) for e in errors] == [((field,), error_type)]


def test_objective_refuses_unknown_keys_and_an_empty_component() -> None:
    with pytest.raises(ValidationError) as info:
        Objective.model_validate({"component": "llm", "max_error_rate": 0.1, "max_eror_rate": 0})
    assert [(e["loc"], e["type"]) for e in info.value.errors()] == [
        (("max_eror_rate",), "extra_forbidden")
    ]
    with pytest.raises(ValidationError, match="component"):
        Objective(component="  ", min_calls=1)
    assert Objective(component="  llm ", min_calls=1).component == "llm"


def test_objective_is_frozen() -> None:
    objective = Objective(component="llm", min_calls=1)
    with pytest.raises(ValidationError):
        objective.min_calls = 2  # type: ignore[misc]


# -- StopCondition ------------------------------------------------------------------------------


def test_a_stop_condition_needs_an_error_rate_or_an_injection_cap() -> None:
    with pytest.raises(ValidationError, match="needs max_error_rate or max_injections"):
        StopCondition()
    with pytest.raises(ValidationError, match="needs max_error_rate or max_injections"):
        StopCondition(component="llm", window_seconds=1.0, min_calls=3)
    assert StopCondition(max_error_rate=0.5).max_injections is None
    assert StopCondition(max_injections=3).max_error_rate is None


def test_stop_condition_defaults_and_descriptions() -> None:
    rate = StopCondition(max_error_rate=0.5)
    assert (rate.component, rate.window_seconds, rate.min_calls) == (None, 5.0, 5)
    assert rate.describe() == "all components: max_error_rate 0.5 over 5s"
    wl = StopCondition(component="workload", max_error_rate=0.25, window_seconds=1.5)
    assert wl.describe() == "workload: max_error_rate 0.25 over 1.5s"
    assert StopCondition(max_injections=7).describe() == "max_injections 7"
    both = StopCondition(component="llm", max_error_rate=0.5, window_seconds=2, max_injections=9)
    assert both.describe() == "llm: max_error_rate 0.5 over 2s"
    assert both.describe("max_error_rate") == "llm: max_error_rate 0.5 over 2s"
    assert both.describe("max_injections") == "max_injections 9"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"max_error_rate": 1.2}, "max_error_rate"),
        ({"max_error_rate": 0.5, "window_seconds": 0}, "window_seconds"),
        ({"max_error_rate": 0.5, "window_seconds": 3601}, "window_seconds"),
        ({"max_error_rate": 0.5, "window_seconds": math.inf}, "window_seconds"),
        ({"max_error_rate": 0.5, "min_calls": 0}, "min_calls"),
        ({"max_injections": -1}, "max_injections"),
        ({"max_injections": 1.0}, "max_injections"),
        ({"max_injections": 1, "windw_seconds": 2}, "windw_seconds"),
        ({"max_injections": 1, "component": ""}, "component"),
    ],
)
def test_stop_condition_refuses_bad_values_and_unknown_keys(
    changes: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationError) as info:
        StopCondition.model_validate(changes)
    assert [e["loc"] for e in info.value.errors()] == [(field,)]


# -- ChaosExperiment -----------------------------------------------------------------------------


def test_experiment_defaults_state_no_hypothesis() -> None:
    exp = ChaosExperiment.model_validate(BASE)
    assert exp.steady_state == []
    assert exp.baseline_seconds is None
    assert exp.stop_conditions == []
    assert exp.require_faults_fired is True


def test_experiment_file_with_steady_state_stop_conditions_and_baseline(tmp_path: Path) -> None:
    path = tmp_path / "hypothesis.yaml"
    path.write_text(
        textwrap.dedent(
            """\
            experiment_id: hypo
            name: Hypothesis
            duration_seconds: 3
            baseline_seconds: 1.5
            require_faults_fired: false
            workload: examples.agent:run_once
            faults:
              - fault_type: error
                probability: 0.2
                affected_components: [vector_db]
            steady_state:
              - component: workload
                max_error_rate: 0.05
                max_latency_p95_ms: 2000
                min_calls: 20
              - component: llm
                min_success_rate: 0.5
                max_latency_p50_ms: 100
                max_latency_p99_ms: 900.5
            stop_conditions:
              - component: workload
                max_error_rate: 0.5
                window_seconds: 2
                min_calls: 10
              - max_injections: 100
            """
        ),
        encoding="utf-8",
    )
    exp = load_experiment_file(path)
    assert exp.baseline_seconds == 1.5
    assert exp.require_faults_fired is False
    assert exp.steady_state == [
        Objective(component="workload", max_error_rate=0.05, max_latency_p95_ms=2000, min_calls=20),
        Objective(
            component="llm",
            min_success_rate=0.5,
            max_latency_p50_ms=100,
            max_latency_p99_ms=900.5,
        ),
    ]
    assert exp.stop_conditions == [
        StopCondition(component="workload", max_error_rate=0.5, window_seconds=2, min_calls=10),
        StopCondition(max_injections=100),
    ]
    # The model survives its own JSON form unchanged.
    assert ChaosExperiment.model_validate_json(exp.model_dump_json()) == exp


def test_the_example_agent_experiment_states_a_hypothesis() -> None:
    exp = load_experiment_file(
        Path(__file__).resolve().parents[2] / "examples/experiments/agent-experiment.yaml"
    )
    assert exp.steady_state, "the example experiment must use a steady state (issue 7)"
    assert any(o.component == "workload" for o in exp.steady_state)
    assert exp.stop_conditions
    assert exp.require_faults_fired is True


@pytest.mark.parametrize(
    ("yaml_body", "needle"),
    [
        ("steady_state:\n  - component: llm\n", "steady_state[0]"),
        ("steady_state:\n  - component: llm\n    max_error_rat: 0.1\n", "max_error_rat"),
        ("stop_conditions:\n  - component: llm\n", "stop_conditions[0]"),
        ("baseline_seconds: 0\n", "baseline_seconds"),
        ("baseline_seconds: -1\n", "baseline_seconds"),
        ("require_faults_fired: maybe\n", "require_faults_fired"),
        ("require_faults_fired: 1\n", "require_faults_fired"),
        ("stedy_state: []\n", "stedy_state"),
    ],
)
def test_bad_hypotheses_in_a_file_are_refused(tmp_path: Path, yaml_body: str, needle: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "experiment_id: bad\nname: bad\nduration_seconds: 1\n" + yaml_body, encoding="utf-8"
    )
    with pytest.raises(ConfigError) as info:
        load_experiment_file(path)
    assert needle in str(info.value)


def test_steady_state_fields_are_validated_on_assignment() -> None:
    exp = ChaosExperiment.model_validate(BASE)
    with pytest.raises(ValidationError):
        exp.steady_state = [{"component": "llm"}]  # type: ignore[list-item]
    with pytest.raises(ValidationError):
        exp.baseline_seconds = -1.0


# -- ExperimentResult ----------------------------------------------------------------------------


def _result() -> ExperimentResult:
    start = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    baseline = {
        "total_faults_fired": 0,
        "faults_by_type": {},
        "errors_by_type": {},
        "duration_seconds": 1.0,
        "components": {"llm": {"calls": 12, "error_rate": 0.0, "latency_ms": {"p50": 5.1}}},
        "workload": {"iterations": 12, "failures": 0, "failure_rate": 0.0},
    }
    return ExperimentResult(
        experiment_id="rt",
        name="round trip",
        status=ExperimentStatus.aborted,
        start_time=start,
        end_time=start.replace(second=9),
        summary={"total_faults_fired": 3, "faults": [{"fault_type": "error", "fired": 3}]},
        seed=7,
        verdict=Verdict.aborted,
        objectives=[
            ObjectiveResult(
                phase="baseline",
                component="llm",
                limit="max_latency_p50_ms",
                threshold=10.0,
                observed=5.1,
                passed=True,
            ),
            ObjectiveResult(
                phase="faults",
                component="workload",
                limit="max_error_rate",
                threshold=0.05,
                observed=0.75,
                passed=False,
            ),
        ],
        baseline=baseline,
        stopped_by=StopEvent(
            condition="workload: max_error_rate 0.5 over 1s",
            index=0,
            at=start.replace(second=6),
            observed=0.75,
        ),
    )


def test_result_with_a_verdict_round_trips_through_json(tmp_path: Path) -> None:
    result = _result()
    text = result.model_dump_json()
    again = ExperimentResult.model_validate_json(text)
    assert again == result
    assert again.verdict is Verdict.aborted
    assert again.stopped_by is not None
    assert again.stopped_by.at == result.stopped_by.at  # type: ignore[union-attr]
    assert again.stopped_by.at.tzinfo is not None
    data = json.loads(text)
    assert data["verdict"] == "aborted"
    assert data["objectives"][1] == {
        "phase": "faults",
        "component": "workload",
        "limit": "max_error_rate",
        "threshold": 0.05,
        "observed": 0.75,
        "passed": False,
    }
    assert data["stopped_by"]["index"] == 0
    assert data["baseline"]["workload"]["iterations"] == 12
    # And through a file, as `run --output` writes and `report` reads it.
    saved = tmp_path / "result.json"
    saved.write_text(result.model_dump_json(indent=2), encoding="utf-8")
    assert load_result_file(saved) == result


def test_a_result_without_a_verdict_still_loads() -> None:
    """Results saved before verdicts existed have none of the new keys."""
    old = ExperimentResult.model_validate({"experiment_id": "old", "status": "completed"})
    assert old.verdict is None
    assert old.objectives == []
    assert old.baseline is None
    assert old.stopped_by is None


@pytest.mark.parametrize(
    "bad",
    [
        {"verdict": "maybe"},
        {"objectives": [{"phase": "during", "component": "x", "limit": "min_calls",
                         "threshold": 1, "observed": 1, "passed": True}]},
        {"stopped_by": {"condition": "c", "index": 0, "at": "2026-01-01T00:00:00", "observed": 1}},
        {"stopped_by": {"condition": "c", "index": 0, "at": "2026-01-01T00:00:00Z",
                        "observed": 1, "extra": 1}},
    ],
)  # fmt: skip
def test_result_refuses_bad_verdict_fields(bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        ExperimentResult.model_validate({"experiment_id": "x", "status": "completed", **bad})


def test_verdict_values() -> None:
    assert [v.value for v in Verdict] == [
        "passed",
        "deviated",
        "baseline_not_met",
        "inconclusive",
        "aborted",
        "failed",
    ]

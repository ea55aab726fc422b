"""ChaosExperiment, WorkloadConfig, ExperimentResult, Observation and ExperimentStatus."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import ValidationError

from aumai_chaos import (
    ChaosExperiment,
    ExperimentResult,
    ExperimentScheduler,
    ExperimentStatus,
    FaultConfig,
    FaultType,
    Observation,
    WorkloadConfig,
    chaos_target,
)
from aumai_chaos.experiments.models import MAX_CONCURRENCY, MAX_EXPERIMENT_SECONDS
from tests.experiments.support import experiment, unique

BASE: dict[str, Any] = {"experiment_id": "m-1", "name": "model test", "duration_seconds": 5}


def build(**changes: Any) -> ChaosExperiment:
    return ChaosExperiment.model_validate({**BASE, **changes})


def is_utc(value: datetime | None) -> bool:
    return value is not None and value.utcoffset() == timedelta(0)


# -- ChaosExperiment ---------------------------------------------------------------------------


def test_guide_experiment_builds_with_defaults() -> None:
    exp = ChaosExperiment(
        experiment_id="obs-test-001",
        name="Observation collection test",
        duration_seconds=5,
        target_components=["llm", "vector_db"],
        faults=[FaultConfig(fault_type=FaultType.latency, probability=0.4, duration_ms=150)],
    )
    assert exp.duration_seconds == 5.0
    assert exp.description == ""
    assert exp.tick_seconds == 1.0
    assert exp.seed is None
    assert exp.workload is None
    assert exp.target_components == ["llm", "vector_db"]


@pytest.mark.parametrize(
    "changes",
    [
        {"duration": 5},
        {"targets": ["llm"]},
        {"workload": {"target": "a.b:c", "threads": 2}},
        {"faults": [{"fault_type": "error", "probabilty": 0.5}]},
    ],
    ids=["top-level", "typo-of-a-list", "in-workload", "in-a-fault"],
)
def test_unknown_keys_are_refused(changes: dict[str, Any]) -> None:
    with pytest.raises(ValidationError) as info:
        build(**changes)
    assert any(e["type"] == "extra_forbidden" for e in info.value.errors())


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("duration_seconds", 0),
        ("duration_seconds", -1),
        ("duration_seconds", MAX_EXPERIMENT_SECONDS + 0.001),
        ("duration_seconds", 10**9),
        ("duration_seconds", math.inf),
        ("duration_seconds", math.nan),
        ("duration_seconds", "5"),
        ("duration_seconds", True),
        ("tick_seconds", 0),
        ("tick_seconds", -0.5),
        ("seed", -1),
        ("seed", 2**63),
        ("seed", 1.5),
        ("seed", True),
        ("experiment_id", ""),
        ("experiment_id", "   "),
        ("experiment_id", "x" * 201),
        ("name", "n" * 501),
        ("target_components", [""]),
        ("faults", [{"fault_type": "latency"}]),  # latency needs duration_ms
        ("faults", [{"fault_type": "error", "probability": 1.5}]),
    ],
)
def test_out_of_bounds_values_are_refused(field: str, value: Any) -> None:
    with pytest.raises(ValidationError):
        build(**{field: value})


def test_duration_accepts_up_to_one_day() -> None:
    assert build(duration_seconds=86_400).duration_seconds == MAX_EXPERIMENT_SECONDS == 86_400
    assert build(duration_seconds=0.5, tick_seconds=0.5).duration_seconds == 0.5
    assert build(seed=0).seed == 0
    assert build(seed=2**63 - 1).seed == 2**63 - 1


def test_tick_must_not_exceed_duration() -> None:
    assert build(duration_seconds=2, tick_seconds=2).tick_seconds == 2
    with pytest.raises(ValidationError, match="tick_seconds must not exceed duration_seconds"):
        build(duration_seconds=2, tick_seconds=2.5)
    with pytest.raises(ValidationError, match="tick_seconds"):
        build(duration_seconds=0.5)  # the default tick (1 s) is longer than the run


def test_experiment_id_is_stripped() -> None:
    assert build(experiment_id="  spaced  ").experiment_id == "spaced"


def test_workload_string_is_shorthand_for_a_target() -> None:
    exp = build(workload="examples.agent:run_once")
    assert exp.workload == WorkloadConfig(target="examples.agent:run_once")
    assert exp.workload.concurrency == 1
    assert exp.workload.interval_seconds == 0.0
    full = build(workload={"target": "pkg.mod:Cls.method", "concurrency": 4})
    assert full.workload is not None
    assert (full.workload.target, full.workload.concurrency) == ("pkg.mod:Cls.method", 4)


@pytest.mark.parametrize(
    "target",
    [
        "",
        "module_only",
        "module:",
        ":function",
        "pkg.mod:fn:extra",
        "1pkg:fn",
        "pkg/mod:fn",
        "pkg.mod:fn()",
        "pkg.mod fn",
        "x" * 501,
    ],
)
def test_bad_workload_targets_are_refused(target: str) -> None:
    with pytest.raises(ValidationError):
        build(workload=target)
    with pytest.raises(ValidationError):
        WorkloadConfig(target=target)


@pytest.mark.parametrize(
    "workload",
    [
        {"target": "a.b:c", "concurrency": 0},
        {"target": "a.b:c", "concurrency": MAX_CONCURRENCY + 1},
        {"target": "a.b:c", "concurrency": 2.0},
        {"target": "a.b:c", "interval_seconds": -1},
        {"target": "a.b:c", "interval_seconds": math.inf},
        {"concurrency": 2},
        42,
    ],
)
def test_bad_workload_settings_are_refused(workload: Any) -> None:
    with pytest.raises(ValidationError):
        build(workload=workload)


def test_experiment_from_a_yaml_like_mapping() -> None:
    exp = ChaosExperiment.model_validate(
        {
            "experiment_id": "from-file",
            "name": "mapping",
            "duration_seconds": 2,
            "tick_seconds": 0.5,
            "seed": 7,
            "workload": {"target": "examples.agent:run_once", "concurrency": 4},
            "faults": [
                {
                    "fault_type": "error",
                    "probability": 0.2,
                    "error_code": 503,
                    "affected_components": ["vector_db"],
                }
            ],
        }
    )
    assert exp.faults[0].fault_type is FaultType.error
    assert exp.faults[0].affected_components == ("vector_db",)
    assert exp.workload is not None
    assert exp.workload.concurrency == 4


# -- ExperimentStatus --------------------------------------------------------------------------


def test_status_values() -> None:
    assert [s.value for s in ExperimentStatus] == [
        "pending",
        "running",
        "completed",
        "aborted",
        "failed",
    ]
    assert ExperimentStatus("aborted") is ExperimentStatus.aborted
    assert ExperimentStatus.completed == "completed"  # a StrEnum: the plain string compares equal
    assert {s for s in ExperimentStatus if s.finished} == {
        ExperimentStatus.completed,
        ExperimentStatus.aborted,
        ExperimentStatus.failed,
    }


# -- ExperimentResult --------------------------------------------------------------------------


def test_result_refuses_unknown_keys_and_naive_times() -> None:
    with pytest.raises(ValidationError):
        ExperimentResult.model_validate({"experiment_id": "x", "status": "completed", "extra": 1})
    with pytest.raises(ValidationError):
        ExperimentResult(experiment_id="x", status="completed", start_time=datetime(2024, 1, 1))
    with pytest.raises(ValidationError):
        ExperimentResult(experiment_id="x", status="exploded")


def test_hand_built_result_round_trips_through_json() -> None:
    start = datetime(2024, 1, 15, 10, 0, 0, 123456, tzinfo=UTC)
    result = ExperimentResult(
        experiment_id="rt",
        name="round trip",
        status=ExperimentStatus.failed,
        start_time=start,
        end_time=start + timedelta(seconds=5.012345),
        summary={
            "total_faults_fired": 3,
            "faults_by_type": {"latency": 2, "error": 1},
            "duration_seconds": 5.012,
            "ratio": 0.1 + 0.2,  # a float that only survives a lossless encoding
            "notes": ["one", "two"],
            "nested": {"none": None, "flag": True},
        },
        observations=[
            Observation("llm", "fault_injected", start, {"chaos.fault.type": "latency"}),
            Observation("llm", "call", start + timedelta(microseconds=1), {"duration_ms": 1.5}),
        ],
        dropped_observations=4,
        seed=2**63 - 1,
        error="WorkloadError: nope",
    )
    text = result.model_dump_json()
    again = ExperimentResult.model_validate_json(text)
    assert again == result
    assert again.model_dump_json() == text
    assert isinstance(again.observations[0], Observation)
    assert again.summary["ratio"] == 0.1 + 0.2


def test_real_result_round_trips_with_utc_timestamps() -> None:
    component = unique("models.comp")

    @chaos_target(component)
    def call() -> None:
        return None

    exp = experiment(
        duration_seconds=0.3,
        seed=11,
        faults=[
            FaultConfig(fault_type="latency", probability=0.5, duration_ms=1),
            FaultConfig(fault_type="error", probability=0.3, error_code=503),
        ],
        target_components=[component],
    )
    scheduler = ExperimentScheduler()

    def workload() -> None:
        call()

    result = scheduler.run(scheduler.schedule(exp), workload=workload)
    assert result.status is ExperimentStatus.completed
    assert result.summary["total_faults_fired"] > 0
    assert result.observations
    assert is_utc(result.start_time)
    assert is_utc(result.end_time)
    assert result.start_time is not None
    assert result.end_time is not None
    assert result.start_time <= result.end_time
    assert all(is_utc(o.timestamp) for o in result.observations)

    again = ExperimentResult.model_validate_json(result.model_dump_json())
    assert again == result
    assert again.model_dump() == result.model_dump()
    assert all(is_utc(o.timestamp) for o in again.observations)
    assert is_utc(again.start_time)
    assert is_utc(again.end_time)


def test_non_utc_aware_times_keep_their_instant() -> None:
    ist = timezone(timedelta(hours=5, minutes=30))
    at = datetime(2024, 1, 15, 15, 30, tzinfo=ist)
    result = ExperimentResult(experiment_id="tz", status="completed", start_time=at)
    again = ExperimentResult.model_validate_json(result.model_dump_json())
    assert again.start_time == datetime(2024, 1, 15, 10, 0, tzinfo=UTC)

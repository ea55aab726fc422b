"""The typed summary: read by key like the dicts it replaced, serialised to the same JSON."""

from __future__ import annotations

import json
from collections.abc import Mapping

import pytest

from aumai_chaos import ExperimentResult, ExperimentScheduler, FaultConfig
from aumai_chaos.experiments.summary import ComponentStats, FaultReport, Summary, WorkloadStats
from tests.experiments import workloads
from tests.experiments.support import experiment


@pytest.fixture(scope="module")
def result() -> ExperimentResult:
    scheduler = ExperimentScheduler()
    exp = experiment(
        duration_seconds=0.3,
        baseline_seconds=0.2,
        seed=11,
        workload="tests.experiments.workloads:sync_iteration",
        faults=[
            FaultConfig(fault_type="error", probability=0.5, affected_components=["nowhere"]),
            FaultConfig(
                fault_type="latency",
                probability=1.0,
                duration_ms=1,
                affected_components=[workloads.COMPONENT],
            ),
        ],
    )
    return scheduler.run(scheduler.schedule(exp))


def test_a_result_file_reads_back_to_the_same_model_and_the_same_json(
    result: ExperimentResult,
) -> None:
    text = result.model_dump_json()
    again = ExperimentResult.model_validate_json(text)
    assert again == result
    assert again.model_dump_json() == text
    assert again.summary.keys() == result.summary.keys()
    assert json.loads(text)["summary"] == result.summary.model_dump(mode="json")


def test_the_keys_are_those_the_run_produced_in_their_order(result: ExperimentResult) -> None:
    summary = result.summary
    assert list(summary) == [
        "total_faults_fired",
        "faults_by_type",
        "errors_by_type",
        "duration_seconds",
        "components",
        "workload",
        "series",
        "observations_dropped",
        "faults",
        "recovery",  # the latency faults, judged by the workload's iterations
        "notes",  # "nowhere" was never called
    ]
    assert list(json.loads(result.model_dump_json())["summary"]) == list(summary)
    assert result.baseline is not None
    assert "faults" not in result.baseline
    assert "notes" not in result.baseline


def test_the_guide_and_older_code_read_it_by_key(result: ExperimentResult) -> None:
    summary = result.summary
    assert summary["total_faults_fired"] == summary.total_faults_fired > 0
    assert summary["faults_by_type"] == {"latency": summary.total_faults_fired}
    assert summary.get("duration_seconds", "?") == summary.duration_seconds
    stats = summary["components"][workloads.COMPONENT]
    assert stats["calls"] == stats.calls > 0
    assert stats["latency_ms"]["p50"] == stats.latency_ms.p50
    assert "first_errors" not in stats
    assert stats.get("first_errors") is None
    with pytest.raises(KeyError):
        stats["first_errors"]
    assert [f["fired"] for f in summary["faults"]] == [0, summary.total_faults_fired]
    assert dict(summary["workload"].items()) == summary["workload"].model_dump()
    assert isinstance(summary, Mapping)
    assert len(summary) == len(summary.keys())
    assert any("'nowhere'" in note for note in summary["notes"])


def test_equality_with_a_plain_dict_compares_the_set_keys() -> None:
    stats = ComponentStats(calls=2, error_rate=0.5)
    assert stats == {"calls": 2, "error_rate": 0.5}
    assert stats != {"calls": 2, "error_rate": 0.5, "faults": 0}
    assert Summary() == {}
    assert WorkloadStats(iterations=0, failures=0, failure_rate=0.0).model_dump(mode="json") == {
        "iterations": 0,
        "failures": 0,
        "failure_rate": 0.0,
    }


def test_a_hand_written_summary_keeps_its_own_keys_and_no_more() -> None:
    data = {
        "total_faults_fired": 3,
        "duration_seconds": 5.0,
        "ratio": 0.1 + 0.2,
        "faults": [{"fault_type": "error", "fired": 3}],
    }
    summary = Summary.model_validate(data)
    assert summary.model_dump(mode="json") == data
    assert summary["ratio"] == 0.1 + 0.2
    assert summary.faults == [FaultReport(fault_type="error", fired=3)]
    assert summary.faults[0].probability == 0.0  # an attribute reads its default
    assert "probability" not in summary.faults[0]


def test_a_misspelt_nested_key_is_refused() -> None:
    with pytest.raises(ValueError, match="calss"):
        Summary.model_validate({"components": {"llm": {"calss": 1}}})

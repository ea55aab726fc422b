"""render_junit on hand-made results: how an unfired fault reads in each situation."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from aumai_chaos import ChaosExperiment, ExperimentResult
from aumai_chaos.cli._junit import render_junit
from aumai_chaos.experiments.steady_state import Objective

BARE = ChaosExperiment.model_validate(
    {
        "experiment_id": "x",
        "name": "x",
        "duration_seconds": 1,
        "faults": [{"fault_type": "error", "affected_components": ["llm"]}],
    }
)
HYPOTHESIS = BARE.model_copy(
    update={"steady_state": [Objective(component="workload", max_error_rate=0.1)]}
)


def _result(verdict: str, fired: int) -> ExperimentResult:
    return ExperimentResult.model_validate(
        {
            "experiment_id": "x",
            "status": "completed",
            "verdict": verdict,
            "summary": {
                "duration_seconds": 1.0,
                "faults": [{"fault_type": "error", "affected_components": ["llm"], "fired": fired}],
            },
        }
    )


def _fault_case(xml: str) -> ET.Element:
    root = ET.fromstring(xml.split("\n", 1)[1])  # past the XML declaration
    [case] = [c for c in root.iter("testcase") if c.get("classname") == "aumai-chaos.x.injected"]
    return case


def test_an_unfired_fault_fails_an_experiment_that_states_a_hypothesis() -> None:
    xml = render_junit(_result("inconclusive", 0), HYPOTHESIS)
    failure = _fault_case(xml).find("failure")
    assert failure is not None
    assert failure.get("type") == "FaultNeverFired"
    assert 'failures="1"' in xml


def test_an_unfired_fault_is_skipped_without_a_hypothesis() -> None:
    xml = render_junit(_result("inconclusive", 0), BARE)
    case = _fault_case(xml)
    assert case.find("failure") is None
    assert case.find("skipped") is not None
    assert 'failures="0"' in xml


def test_faults_held_back_by_a_failed_baseline_are_skipped() -> None:
    xml = render_junit(_result("baseline_not_met", 0), HYPOTHESIS)
    skipped = _fault_case(xml).find("skipped")
    assert skipped is not None
    assert "baseline" in (skipped.get("message") or "")


def test_a_fault_that_fired_passes() -> None:
    case = _fault_case(render_junit(_result("passed", 3), HYPOTHESIS))
    assert case.find("failure") is None
    assert case.find("skipped") is None

"""``aumai-chaos run`` as CI runs it: exit codes by verdict, ``--junit-xml``, and ``report``.

Every run is a real process. The runs are independent, so one module-scoped fixture starts them
all at once and the tests read their outcomes (the slowest takes about 3 s).
"""

from __future__ import annotations

import subprocess
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from aumai_chaos import ExperimentResult, ExperimentStatus
from aumai_chaos.experiments.steady_state import Verdict
from tests.cli.support import cli_env, run_cli, start_cli
from tests.steady_state.support import AGENT_EXPERIMENT, FRAGILE

# The shared fixture runs five experiments in real processes: about 5-8 s of wall time.
pytestmark = pytest.mark.slow


@dataclass
class CliRun:
    argv: list[str]
    process: subprocess.CompletedProcess[str]
    seconds: float
    result_path: Path
    junit_path: Path

    @property
    def code(self) -> int:
        return self.process.returncode

    @property
    def result(self) -> ExperimentResult:
        return ExperimentResult.model_validate_json(self.result_path.read_text(encoding="utf-8"))

    @property
    def junit(self) -> ET.Element:
        return ET.parse(self.junit_path).getroot()

    def why(self) -> str:
        return f"exit {self.code}\nstdout:\n{self.process.stdout}\nstderr:\n{self.process.stderr}"


def _example_copy(directory: Path) -> Path:
    """The example agent's experiment file verbatim but for a shorter run (and more workers,
    for a steadier 5% error-rate estimate: ~120 answers instead of ~60)."""
    text = AGENT_EXPERIMENT.read_text(encoding="utf-8")
    for old, new in (("duration_seconds: 5\n", "duration_seconds: 2\n"),
                     ("  concurrency: 4\n", "  concurrency: 8\n")):  # fmt: skip
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    path = directory / "agent-experiment.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _write(directory: Path, name: str, data: dict[str, Any]) -> Path:
    path = directory / name
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def _example_data(**changes: Any) -> dict[str, Any]:
    data = yaml.safe_load(AGENT_EXPERIMENT.read_text(encoding="utf-8"))
    data.update(changes)
    return data


STOP_CONDITION = {
    "component": "workload",
    "max_error_rate": 0.5,
    "window_seconds": 1,
    "min_calls": 5,
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, CliRun]:
    tmp = tmp_path_factory.mktemp("cli-verdicts")
    example = _example_copy(tmp)
    files: dict[str, tuple[Path, list[str]]] = {
        "robust": (example, []),
        # The fragile agent under the same faults. The file's safeguard is left out so that the
        # verdict is exactly "deviated" (a stop condition has its own run below).
        "fragile": (
            _write(
                tmp,
                "fragile.yaml",
                _example_data(duration_seconds=2, stop_conditions=[]),
            ),
            ["--workload", FRAGILE],
        ),
        "baseline": (
            _write(
                tmp,
                "baseline.yaml",
                _example_data(
                    experiment_id="agent-baseline",
                    duration_seconds=30,  # never reached: the baseline already fails
                    baseline_seconds=1,
                    steady_state=[
                        *_example_data()["steady_state"],
                        {"component": "llm", "max_latency_p50_ms": 0.1},
                    ],
                ),
            ),
            [],
        ),
        # No steady state: a runaway run that only the safeguard stops.
        "stopped": (
            _write(
                tmp,
                "stopped.yaml",
                {
                    "experiment_id": "agent-runaway",
                    "name": "Runaway",
                    "duration_seconds": 30,
                    "seed": 3,
                    "workload": {"target": FRAGILE, "concurrency": 4},
                    "faults": [
                        {
                            "fault_type": "error",
                            "probability": 1.0,
                            "affected_components": ["vector_db"],
                        }
                    ],
                    "stop_conditions": [STOP_CONDITION],
                },
            ),
            [],
        ),
        # No steady state and a fault that cannot fire: completed, exit 0, verdict printed.
        "bare": (
            _write(
                tmp,
                "bare.yaml",
                {
                    "experiment_id": "bare-unfired",
                    "name": "Bare",
                    "duration_seconds": 1,
                    "tick_seconds": 0.2,
                    "seed": 1,
                    "faults": [
                        {
                            "fault_type": "error",
                            "probability": 0.0,
                            "affected_components": ["tool_executor"],
                        }
                    ],
                },
            ),
            [],
        ),
    }
    started = {}
    for name, (path, extra) in files.items():
        result_path = tmp / f"{name}.json"
        junit_path = tmp / f"{name}.xml"
        argv = [
            "run",
            "--experiment",
            str(path),
            "--output",
            str(result_path),
            "--junit-xml",
            str(junit_path),
            *extra,
        ]
        started[name] = (argv, start_cli(*argv, env=cli_env()), time.monotonic(), result_path)
    out: dict[str, CliRun] = {}
    for name, (argv, proc, t0, result_path) in started.items():
        try:
            stdout, stderr = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
        completed = subprocess.CompletedProcess(argv, proc.returncode, stdout, stderr)
        junit_path = result_path.with_suffix(".xml")
        out[name] = CliRun(argv, completed, time.monotonic() - t0, result_path, junit_path)
    return out


# -- exit codes -----------------------------------------------------------------------------------


def test_the_robust_agent_exits_0(runs: dict[str, CliRun]) -> None:
    run = runs["robust"]
    assert run.code == 0, run.why()
    assert run.result.verdict is Verdict.passed
    assert run.process.stdout.startswith("Status    : completed\nVerdict   : passed\n")
    assert "Objectives:" in run.process.stdout


def test_the_fragile_agent_exits_1(runs: dict[str, CliRun]) -> None:
    run = runs["fragile"]
    assert run.code == 1, run.why()
    result = run.result
    assert result.verdict is Verdict.deviated
    assert result.status is ExperimentStatus.completed
    assert "Verdict   : deviated\n" in run.process.stdout
    assert "FAILED" in run.process.stdout


def test_a_failing_baseline_exits_3(runs: dict[str, CliRun]) -> None:
    run = runs["baseline"]
    assert run.code == 3, run.why()
    result = run.result
    assert result.verdict is Verdict.baseline_not_met
    assert result.summary["total_faults_fired"] == 0
    assert {o.phase for o in result.objectives} == {"baseline"}
    assert "Baseline  :" in run.process.stdout
    assert run.seconds < 15  # the 30 s fault window never opened


def test_a_stop_condition_exits_1_even_without_a_steady_state(runs: dict[str, CliRun]) -> None:
    """An abort by the user exits 130; an abort by a safeguard is a failure of the run."""
    run = runs["stopped"]
    assert run.code == 1, run.why()
    result = run.result
    assert result.status is ExperimentStatus.aborted
    assert result.verdict is Verdict.aborted
    assert result.stopped_by is not None
    assert result.stopped_by.condition == "workload: max_error_rate 0.5 over 1s"
    assert "Stopped by: workload: max_error_rate 0.5 over 1s (observed 1.000 at " in (
        run.process.stdout
    )
    assert run.seconds < 15  # not the 30 s it asked for


def test_a_bare_experiment_whose_fault_never_fired_exits_0(runs: dict[str, CliRun]) -> None:
    run = runs["bare"]
    assert run.code == 0, run.why()
    assert run.process.stdout.startswith("Status    : completed\nVerdict   : inconclusive\n")
    result = run.result
    assert result.objectives == []
    assert [f["fired"] for f in result.summary["faults"]] == [0]


def test_no_run_wrote_a_traceback(runs: dict[str, CliRun]) -> None:
    for name, run in runs.items():
        assert "Traceback" not in run.process.stderr, (name, run.process.stderr)
        assert "error:" not in run.process.stderr, (name, run.process.stderr)


# -- JUnit ----------------------------------------------------------------------------------------


def _cases(root: ET.Element) -> list[ET.Element]:
    [suite] = root.findall("testsuite")
    return suite.findall("testcase")


@pytest.mark.parametrize("name", ["robust", "fragile", "baseline", "stopped", "bare"])
def test_junit_counts_are_consistent_with_the_testcases(runs: dict[str, CliRun], name: str) -> None:
    run = runs[name]
    root = run.junit
    assert root.tag == "testsuites"
    [suite] = root.findall("testsuite")
    cases = _cases(root)
    failures = sum(1 for c in cases if c.find("failure") is not None)
    errors = sum(1 for c in cases if c.find("error") is not None)
    for element in (root, suite):
        assert element.get("tests") == str(len(cases))
        assert element.get("failures") == str(failures)
        assert element.get("errors") == str(errors)
    result = run.result
    # One case per checked objective, per declared fault and per fault type that fired (its
    # recovery), plus one for a stop condition.
    stopped = 1 if result.stopped_by is not None else 0
    recovered = len({r.fault_type for r in result.summary.recovery})
    assert len(cases) == (
        len(result.objectives) + len(result.summary["faults"]) + recovered + stopped
    )
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["verdict"] == (result.verdict.value if result.verdict else "")
    assert props["status"] == result.status.value
    assert suite.get("name") == f"chaos experiment {result.experiment_id}"
    for case in cases:
        assert case.get("classname", "").startswith(f"aumai-chaos.{result.experiment_id}.")
        assert float(case.get("time", "x")) >= 0


def _objective_case_name(o: Any) -> str:
    op = ">=" if o.limit.startswith("min_") else "<="
    return f"{o.component} {o.limit} {op} {o.threshold:g}"


@pytest.mark.parametrize("name", ["robust", "fragile", "baseline"])
def test_junit_has_one_case_per_objective_failing_when_it_failed(
    runs: dict[str, CliRun], name: str
) -> None:
    run = runs[name]
    result = run.result
    cases = _cases(run.junit)
    objective_cases = cases[: len(result.objectives)]
    for o, case in zip(result.objectives, objective_cases, strict=True):
        assert case.get("name") == _objective_case_name(o)
        assert case.get("classname") == f"aumai-chaos.{result.experiment_id}.{o.phase}"
        failure = case.find("failure")
        if o.passed:
            assert failure is None, case.get("name")
        else:
            assert failure is not None, case.get("name")
            assert failure.get("type") == "ObjectiveNotMet"
            assert failure.get("message", "").startswith(f"observed {o.observed:g}, limit ")
    if name == "robust":
        assert run.junit.get("failures") == "0"
        assert run.junit.get("errors") == "0"
    else:
        assert any(c.find("failure") is not None for c in objective_cases)


def test_junit_has_one_case_per_declared_fault(runs: dict[str, CliRun]) -> None:
    robust = runs["robust"]
    fault_cases = [c for c in _cases(robust.junit) if c.get("classname", "").endswith(".injected")]
    assert len(fault_cases) == len(robust.result.summary["faults"])
    assert [c.get("name") for c in fault_cases] == [
        "fault 0 (latency on llm) fired",
        "fault 1 (error on llm) fired",
        "fault 2 (error on vector_db) fired",
    ]
    assert all(c.find("failure") is None for c in fault_cases)
    # Without a steady_state no question was asked: as with the exit code (0), a fault that
    # never fired is skipped, not failed.
    [unfired] = [c for c in _cases(runs["bare"].junit) if c.get("name", "").startswith("fault ")]
    assert unfired.get("name") == "fault 0 (error on tool_executor) fired"
    assert unfired.find("failure") is None
    assert unfired.find("skipped") is not None


def test_junit_shows_the_stop_condition_as_a_failure(runs: dict[str, CliRun]) -> None:
    run = runs["stopped"]
    [case] = [c for c in _cases(run.junit) if c.get("classname", "").endswith(".safety")]
    assert case.get("name") == "stop conditions"
    failure = case.find("failure")
    assert failure is not None
    assert failure.get("type") == "StopConditionCrossed"
    assert failure.get("message", "").startswith("workload: max_error_rate 0.5 over 1s: observed 1")


# -- report ---------------------------------------------------------------------------------------


def test_report_markdown_shows_the_objectives_table(runs: dict[str, CliRun]) -> None:
    run = runs["fragile"]
    shown = run_cli("report", str(run.result_path), "--format", "markdown")
    assert shown.returncode == 0, shown.stderr
    md = shown.stdout
    assert "| Verdict | **deviated** |\n" in md
    table = md.split("## Objectives\n\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert table[:2] == [
        "| phase | component | limit | threshold | observed | result |",
        "|---|---|---|---:|---:|---|",
    ]
    result = run.result
    rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in table[2:]]
    assert len(rows) == len(result.objectives)
    for o, row in zip(result.objectives, rows, strict=True):
        assert row[:3] == [o.phase, o.component, o.limit]
        assert row[3:5] == [f"{o.threshold:.3f}", f"{o.observed:.3f}"]
        assert row[5] == ("✅ passed" if o.passed else "❌ **FAILED**")
    assert any(row[5] == "❌ **FAILED**" for row in rows)


def test_report_text_renders_the_saved_result_as_run_printed_it(runs: dict[str, CliRun]) -> None:
    run = runs["robust"]
    shown = run_cli("report", str(run.result_path))
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout == run.process.stdout
    assert "\nObjectives:\n  phase   component  limit               threshold" in shown.stdout

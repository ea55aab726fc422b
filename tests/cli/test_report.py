"""Rendering results: the guide's text form, Markdown, and the steady-state parts."""

from __future__ import annotations

import io

from aumai_chaos import ExperimentResult
from aumai_chaos.cli._report import render, render_markdown, render_text
from aumai_chaos.cli._support import Progress


def _result(**extra: object) -> ExperimentResult:
    data: dict[str, object] = {
        "experiment_id": "r",
        "name": "Pipes | and\nnewlines",
        "status": "completed",
        "start_time": "2024-01-15T10:00:00+00:00",
        "end_time": "2024-01-15T10:00:05+00:00",
        "seed": 7,
        "summary": {
            "total_faults_fired": 2,
            "faults_by_type": {"error": 2},
            "errors_by_type": {"error": 2},
            "duration_seconds": 5.0,
            "faults": [
                {
                    "fault_type": "error",
                    "affected_components": ["llm"],
                    "probability": 0.5,
                    "fired": 2,
                }
            ],
            "workload": {"iterations": 10, "failures": 1, "failure_rate": 0.1},
        },
    }
    data.update(extra)
    return ExperimentResult.model_validate(data)


def test_text_lists_seed_faults_and_workload() -> None:
    text = render_text(_result())
    assert "Seed      : 7\n" in text
    assert "  faults:\n    - error on llm: probability=0.500 fired=2\n" in text
    assert "  workload:\n    iterations: 10\n    failures: 1\n    failure_rate: 0.100\n" in text
    assert text.endswith("Observations: 0 recorded\n")


def test_a_failed_run_shows_its_error() -> None:
    text = render_text(_result(status="failed", error="the workload could not start"))
    assert "Status    : failed\n" in text
    assert "Error     : the workload could not start\n" in text


def test_markdown_escapes_table_cells() -> None:
    md = render_markdown(_result())
    assert md.startswith("# Chaos experiment: Pipes \\| and newlines\n")
    assert "## Faults\n\n- error on llm: probability=0.500 fired=2\n" in md
    assert "## Workload" in md


def test_verdict_objectives_and_stop() -> None:
    result = _result(
        verdict="deviated",
        objectives=[
            {"phase": "faults", "component": "llm", "limit": "max_error_rate",
             "threshold": 0.1, "observed": 0.25, "passed": False},
        ],
        stopped_by={"condition": "llm: max_error_rate 0.5 over 5s", "index": 0,
                    "at": "2024-01-15T10:00:03+00:00", "observed": 0.6},
        baseline={"total_faults_fired": 0, "components": {"llm": {"calls": 4, "errors": 0}}},
    )  # fmt: skip
    text = render(result, "text")
    assert "Verdict   : deviated\n" in text
    assert (
        "Stopped by: llm: max_error_rate 0.5 over 5s (observed 0.600 at 2024-01-15T10:00:03" in text
    )
    assert (
        "Objectives:\n"
        "  phase   component  limit           threshold  observed  result\n"
        "  faults  llm        max_error_rate  0.100      0.250     FAILED\n"
    ) in text
    assert (
        "Baseline  :\n  total_faults_fired: 0\n  components:\n    llm: calls=4 errors=0\n" in text
    )
    md = render(result, "markdown")
    assert "| Verdict | **deviated** |" in md
    assert "| phase | component | limit | threshold | observed | result |" in md
    assert "| faults | llm | max_error_rate | 0.100 | 0.250 | ❌ **FAILED** |" in md


def test_progress_draws_only_on_a_terminal() -> None:
    quiet = io.StringIO()
    Progress(quiet)(1.0, 5.0)
    assert quiet.getvalue() == ""
    tty = io.StringIO()
    bar = Progress(tty, enabled=True)
    bar(2.5, 5.0)
    bar.clear()
    out = tty.getvalue()
    assert out.startswith("\r  [###############...............]    2.5s / 5s")
    assert out.endswith("\r\x1b[K")

"""Step 3 of the user's guide and its FAQ entries on the CLI, JSON output and ``report``."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from aumai_chaos import ExperimentResult
from tests.cli.support import run_cli
from tests.helpers import REPO

QUICK = REPO / "examples" / "experiments" / "quick-experiment.yaml"
#: The project's copy of the user's guide: everything these tests need is in the repository.
GUIDE = REPO / "docs" / "getting-started.md"
ISO = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00"


def _guide() -> str:
    return GUIDE.read_text(encoding="utf-8")


def test_quick_experiment_is_the_guides_file_verbatim() -> None:
    match = re.search(
        r"cat > /tmp/quick-experiment\.yaml << 'EOF'\n(.*?)\nEOF\n", _guide(), re.DOTALL
    )
    assert match, "Step 3's heredoc not found in the guide"
    assert QUICK.read_text(encoding="utf-8") == match.group(1) + "\n"


@pytest.mark.slow
def test_step3_run_prints_the_guides_report(tmp_path: Path) -> None:
    saved = tmp_path / "result.json"
    result = run_cli("run", "--experiment", str(QUICK), "--output", str(saved), timeout=60)
    outcome = ExperimentResult.model_validate_json(saved.read_text(encoding="utf-8"))
    # A bare experiment (no steady_state) exits by its status, as the guide runs it: 0 for
    # completed, even when a rare fault happened not to fire (verdict "inconclusive").
    assert outcome.status.value == "completed"
    assert result.returncode == 0, result.stderr

    err = result.stderr.splitlines()
    assert err[:2] == ["Running experiment 'Quick latency test' (id=quick-test) for 5s...", ""]

    lines = result.stdout.splitlines()
    assert lines[0] == "Status    : completed"
    start = lines.index(next(line for line in lines if line.startswith("Start")))
    assert re.fullmatch(rf"Start     : {ISO}", lines[start])
    assert re.fullmatch(rf"End       : {ISO}", lines[start + 1])
    summary = lines.index("Summary   :")
    guide_keys = lines[summary + 1 : summary + 5]
    assert re.fullmatch(r"  total_faults_fired: \d+", guide_keys[0])
    assert re.fullmatch(r'  faults_by_type: \{("(latency|error)": \d+(, )?)*\}', guide_keys[1])
    assert re.fullmatch(r'  errors_by_type: \{("error": \d+)?\}', guide_keys[2])
    assert re.fullmatch(r"  duration_seconds: 5\.\d{3}", guide_keys[3])
    assert re.fullmatch(r"Observations: \d+ recorded", lines[-1])
    assert any(line.startswith("    tool_executor: calls=") for line in lines)

    # FAQ: results persist, and `report` renders them exactly as `run` printed them.
    report = run_cli("report", str(saved))
    assert report.returncode == 0
    assert report.stdout == result.stdout


def test_faq_json_output_then_report(tmp_path: Path, write_experiment: Callable[..., Path]) -> None:
    """``aumai-chaos run --experiment my-exp.yaml --json-output > result.json``, then report."""
    run = run_cli("run", "--experiment", str(write_experiment()), "--json-output")
    assert run.returncode == 0, run.stderr
    saved = tmp_path / "result.json"
    saved.write_text(run.stdout, encoding="utf-8")
    for fmt in ("text", "markdown", "json"):
        report = run_cli("report", str(saved), "--format", fmt)
        assert report.returncode == 0, report.stderr
        assert report.stderr == ""
    assert ExperimentResult.model_validate_json(
        report.stdout
    ) == ExperimentResult.model_validate_json(run.stdout)


def test_faq_python_m_cli_help() -> None:
    result = run_cli("--help", module="aumai_chaos.cli")
    assert result.returncode == 0
    assert "Usage: aumai-chaos" in result.stdout

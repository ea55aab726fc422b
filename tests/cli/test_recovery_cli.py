"""``repeat`` / ``--repeat`` and the recovery objectives on the command line: real runs, and
one-line errors (exit 2, no traceback) for what cannot mean anything."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from tests.cli.support import assert_one_error_line, run_cli

WITH_WORKLOAD = """\
experiment_id: repeat-cli
name: Repeated
duration_seconds: 0.4
tick_seconds: 0.1
seed: 40
workload: tests.experiments.workloads:sync_iteration
faults:
  - fault_type: error
    probability: 0.5
    affected_components: [workloads.dependency]
steady_state:
  - component: workload
    min_calls: 1
  - fault_type: error
    min_recovery_rate: 0.0
    on: lower
  - min_pass_rate: 0.5
"""


def _write(tmp_path: Path, text: str, name: str = "exp.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_repeat_runs_trials_with_seeds_seed_plus_i(tmp_path: Path) -> None:
    path = _write(tmp_path, WITH_WORKLOAD)
    out = tmp_path / "result.json"
    proc = run_cli("run", "-e", str(path), "--repeat", "3", "-o", str(out))
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(out.read_text())
    trials = result["summary"]["trials"]
    assert [t["seed"] for t in trials["trials"]] == [40, 41, 42]
    assert [t["trial"] for t in trials["trials"]] == [0, 1, 2]
    passed = sum(t["verdict"] == "passed" for t in trials["trials"])
    assert trials["passed"] == passed == 3  # no objective can fail
    assert trials["pass_hat_k"] == [1.0, 1.0, 1.0]
    assert (trials["pass_rate_low"], trials["pass_rate_high"]) == (
        0.438503,
        1.0,
    )  # 3/(3+z²) = 3/6.841459
    (row,) = result["summary"]["recovery"]
    # sync_iteration lets every fault out: each one propagated, in all three trials together.
    assert (
        row["fired"] == row["propagated"] == sum(t["total_faults_fired"] for t in trials["trials"])
    )
    assert result["verdict"] == "passed"
    limits = [(o["component"], o["limit"]) for o in result["objectives"]]
    assert ("error", "min_recovery_rate (lower)") in limits
    assert ("trials", "min_pass_rate") in limits
    assert "Trials    : 3 of 3 passed, pass rate 1.00 [0.44, 1.00]" in proc.stdout
    assert "Recovery  :" in proc.stdout


def test_a_failing_min_pass_rate_deviates(tmp_path: Path) -> None:
    text = WITH_WORKLOAD.replace("min_recovery_rate: 0.0", "min_recovery_rate: 0.5").replace(
        "min_pass_rate: 0.5", "min_pass_rate: 0.9"
    )
    path = _write(tmp_path, text)
    out = tmp_path / "result.json"
    proc = run_cli("run", "-e", str(path), "--repeat", "2", "-o", str(out))
    assert proc.returncode == 1, proc.stderr[-2000:]
    result = json.loads(out.read_text())
    assert result["verdict"] == "deviated"
    assert result["summary"]["trials"]["passed"] == 0  # every fault propagated: rate 0
    assert result["summary"]["trials"]["pass_hat_k"] == [0.0, 0.0]
    assert result["verdict_reason"].startswith("0 of 2 trials passed: min_pass_rate 0 < 0.9")
    assert math.isclose(result["summary"]["trials"]["pass_rate_high"], 0.657620, abs_tol=1e-6)


@pytest.mark.parametrize(
    ("change", "field", "problem"),
    [
        ("min_recovery_rate: 0.0", "min_recovery_rate", "less than or equal to 1"),
        ("seed: 40", "repeat", "greater than or equal to 1"),
        ("seed: 40", "repeat", "less than or equal to 1000"),
    ],
)
def test_bad_values_in_the_file_are_one_line_errors(
    tmp_path: Path, change: str, field: str, problem: str
) -> None:
    replacement = {
        "min_recovery_rate": "min_recovery_rate: 1.5",
        "greater than or equal to 1": "seed: 40\nrepeat: 0",
        "less than or equal to 1000": "seed: 40\nrepeat: 1001",
    }
    key = "min_recovery_rate" if field == "min_recovery_rate" else problem
    path = _write(tmp_path, WITH_WORKLOAD.replace(change, replacement[key]))
    assert_one_error_line(run_cli("run", "-e", str(path)), str(path.name), field, problem)
    assert_one_error_line(run_cli("validate", str(path)), field)


@pytest.mark.parametrize("value", ["0", "1001"])
def test_a_repeat_out_of_range_on_the_command_line(tmp_path: Path, value: str) -> None:
    path = _write(tmp_path, WITH_WORKLOAD)
    line = assert_one_error_line(run_cli("run", "-e", str(path), "--repeat", value), "--repeat")
    assert "between 1 and 1000" in line


def test_repeat_without_a_workload_is_refused(tmp_path: Path) -> None:
    text = WITH_WORKLOAD.replace("workload: tests.experiments.workloads:sync_iteration\n", "")
    text = text.replace("  - component: workload\n    min_calls: 1\n", "")
    path = _write(tmp_path, text)
    line = assert_one_error_line(run_cli("run", "-e", str(path), "--repeat", "2"), "--repeat")
    assert "repeated trials need a workload" in line
    path = _write(tmp_path, text + "repeat: 3\n", "in-file.yaml")
    line = assert_one_error_line(run_cli("run", "-e", str(path)), "in-file.yaml", "repeat")
    assert "repeated trials need a workload" in line

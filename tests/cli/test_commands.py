"""The commands through typer's CliRunner: version, validate, init, report, and short runs."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aumai_chaos import ChaosExperiment, ExperimentResult, ExperimentStatus, __version__
from aumai_chaos.cli._deliver import exit_code as _exit_code
from aumai_chaos.cli._deliver import reporting_options
from aumai_chaos.cli._support import write_atomic
from aumai_chaos.cli.commands import app
from aumai_chaos.errors import ConfigError
from aumai_chaos.experiments.files import load_experiment_file
from aumai_chaos.experiments.steady_state import Objective
from tests.helpers import REPO

BAD = REPO / "tests" / "data" / "bad"
QUICK = REPO / "examples" / "experiments" / "quick-experiment.yaml"

RESULT = {
    "experiment_id": "quick-test",
    "name": "Quick latency test",
    "status": "completed",
    "start_time": "2024-01-15T10:00:00+00:00",
    "end_time": "2024-01-15T10:00:05.012345+00:00",
    "summary": {
        "total_faults_fired": 5,
        "faults_by_type": {"latency": 3, "error": 1},
        "errors_by_type": {"error": 1},
        "duration_seconds": 5.012345,
        "components": {
            "tool_executor": {
                "calls": 12,
                "faults": 4,
                "errors": 1,
                "error_rate": 0.0833,
                "latency_ms": {"p50": 0.1, "p95": 100.2, "p99": 100.9},
            }
        },
    },
    "observations": [
        {
            "component": "tool_executor",
            "event": "call",
            "timestamp": f"2024-01-15T10:00:0{i}+00:00",
            "details": {"duration_ms": 1.0},
        }
        for i in range(3)
    ],
}


def errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("aumai-chaos: error:")]


@pytest.fixture
def result_file(tmp_path: Path) -> Path:
    path = tmp_path / "result.json"
    path.write_text(json.dumps(RESULT), encoding="utf-8")
    return path


def test_version(runner: CliRunner) -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout == f"aumai-chaos, version {__version__}\n"


def test_no_arguments_shows_help(runner: CliRunner) -> None:
    result = runner.invoke(app, [])
    assert "run" in result.output
    assert "validate" in result.output


def test_run_help_lists_the_options(runner: CliRunner) -> None:
    result = runner.invoke(app, ["run", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for option in (
        "--experiment",
        "--json-output",
        "--output",
        "--seed",
        "--workload",
        "--otlp-endpoint",
        "--otlp-protocol",
        "--service-name",
        "--prometheus-port",
        "--prometheus-host",
        "--prometheus-linger",
    ):
        assert option in result.output


_REPORTING = re.compile(r"--(json-output|output|junit-xml|otlp-\w+|service-name|prometheus-\w+)\b")


def test_run_and_proxy_take_the_same_reporting_options(runner: CliRunner) -> None:
    def reporting_lines(command: str) -> list[str]:
        result = runner.invoke(app, [command, "--help"], env={"COLUMNS": "200"})
        assert result.exit_code == 0, result.output
        return [
            " ".join(line.split()) for line in result.output.splitlines() if _REPORTING.search(line)
        ]

    run_lines = reporting_lines("run")
    assert len(run_lines) == 9, run_lines
    assert reporting_lines("proxy") == run_lines


def test_reporting_options_need_a_reporting_parameter_last() -> None:
    def command(experiment: str, seed: int | None = None) -> None:
        raise AssertionError("never called")

    with pytest.raises(TypeError, match="the last parameter must be 'reporting'"):
        reporting_options(command)


def test_usage_error_exits_2(runner: CliRunner) -> None:
    result = runner.invoke(app, ["run"])
    assert result.exit_code == 2
    result = runner.invoke(app, ["run", "--experiment", str(QUICK), "--otlp-protocol", "carrier"])
    assert result.exit_code == 2


# -- validate -----------------------------------------------------------------------------------


def test_validate_good_files(runner: CliRunner, tmp_path: Path) -> None:
    other = tmp_path / "other.json"
    other.write_text(load_experiment_file(QUICK).model_dump_json(), encoding="utf-8")
    result = runner.invoke(app, ["validate", str(QUICK), str(other)])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        f"{QUICK}: ok (experiment 'quick-test', 2 faults, 5s)",
        f"{other}: ok (experiment 'quick-test', 2 faults, 5s)",
    ]
    assert result.stderr == ""


def test_validate_reports_every_bad_file_and_exits_2(runner: CliRunner) -> None:
    bad = sorted(str(p) for p in BAD.iterdir())
    result = runner.invoke(app, ["validate", str(QUICK), *bad])
    assert result.exit_code == 2
    lines = errors(result.stderr)
    # One line per problem: one for each file, two for mcp-components.yaml.
    per_file = {p: sum(line.startswith(f"aumai-chaos: error: {p}:") for line in lines) for p in bad}
    assert per_file == {p: 2 if p.endswith("mcp-components.yaml") else 1 for p in bad}
    assert len(lines) == len(bad) + 1
    assert result.stdout.startswith(f"{QUICK}: ok")


# -- init ---------------------------------------------------------------------------------------


def test_init_writes_a_valid_commented_starter(runner: CliRunner, tmp_path: Path) -> None:
    target = tmp_path / "experiment.yaml"
    result = runner.invoke(app, ["init", str(target)])
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    text = target.read_text(encoding="utf-8")
    assert text.count("#") > 10
    exp = load_experiment_file(target)
    assert exp.faults
    check = runner.invoke(app, ["validate", str(target)])
    assert check.exit_code == 0


def test_init_defaults_to_experiment_yaml_in_the_current_directory(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert runner.invoke(app, ["init"]).exit_code == 0
    assert (tmp_path / "experiment.yaml").is_file()


def test_init_refuses_to_overwrite_without_force(runner: CliRunner, tmp_path: Path) -> None:
    target = tmp_path / "mine.yaml"
    target.write_text("precious\n", encoding="utf-8")
    result = runner.invoke(app, ["init", str(target)])
    assert result.exit_code == 2
    assert errors(result.stderr) == [
        f"aumai-chaos: error: {target}: already exists; use --force to overwrite it"
    ]
    assert target.read_text(encoding="utf-8") == "precious\n"
    assert runner.invoke(app, ["init", str(target), "--force"]).exit_code == 0
    assert "experiment_id" in target.read_text(encoding="utf-8")


def test_init_to_stdout(runner: CliRunner) -> None:
    result = runner.invoke(app, ["init", "-"])
    assert result.exit_code == 0
    assert result.stdout.startswith("# An aumai-chaos experiment")


def test_init_into_a_missing_directory(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["init", str(tmp_path / "no" / "such" / "x.yaml")])
    assert result.exit_code == 2
    assert "does not exist" in errors(result.stderr)[0]


# -- report -------------------------------------------------------------------------------------


def test_report_text_is_the_guides_format(runner: CliRunner, result_file: Path) -> None:
    result = runner.invoke(app, ["report", str(result_file)])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "Status    : completed",
        "Experiment: Quick latency test (id=quick-test)",
        "Start     : 2024-01-15T10:00:00.000000+00:00",
        "End       : 2024-01-15T10:00:05.012345+00:00",
        "Summary   :",
        "  total_faults_fired: 5",
        '  faults_by_type: {"latency": 3, "error": 1}',
        '  errors_by_type: {"error": 1}',
        "  duration_seconds: 5.012",
        "  components:",
        "    tool_executor: calls=12 faults=4 errors=1 error_rate=0.083 "
        "latency_ms p50=0.100 p95=100.200 p99=100.900",
        "    (errors=: every call that failed, injected or not; errors_by_type: the injected "
        "faults that failed their call, by fault type)",
        "Observations: 3 recorded",
    ]


def test_report_json_round_trips(runner: CliRunner, result_file: Path) -> None:
    result = runner.invoke(app, ["report", str(result_file), "--format", "json"])
    assert result.exit_code == 0
    assert ExperimentResult.model_validate_json(result.stdout) == ExperimentResult.model_validate(
        RESULT
    )


def test_report_markdown(runner: CliRunner, result_file: Path) -> None:
    result = runner.invoke(app, ["report", str(result_file), "-f", "markdown"])
    assert result.exit_code == 0
    out = result.stdout
    assert out.startswith("# Chaos experiment: Quick latency test\n")
    assert "| Status | **completed** |" in out
    assert "| total_faults_fired | 5 |" in out
    assert "| tool_executor | 12 | 4 | 1 | 0.083 | 0.100 | 100.200 | 100.900 |" in out


def test_report_of_a_missing_file(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["report", str(tmp_path / "nope.json")])
    assert result.exit_code == 2
    assert errors(result.stderr) == [f"aumai-chaos: error: {tmp_path / 'nope.json'}: no such file"]


def test_report_of_an_experiment_file_is_bad_input(runner: CliRunner) -> None:
    result = runner.invoke(app, ["report", str(QUICK)])
    assert result.exit_code == 2
    assert "status: required field is missing" in errors(result.stderr)[0]


# -- run (in process) ---------------------------------------------------------------------------


def test_run_prints_the_report(runner: CliRunner, write_experiment: Callable[..., Path]) -> None:
    path = write_experiment()
    result = runner.invoke(app, ["run", "--experiment", str(path)])
    assert result.exit_code == 0, result.output
    assert result.stderr.startswith("Running experiment 'Short CLI test' (id=cli-test) for 1s...\n")
    lines = result.stdout.splitlines()
    assert lines[0] == "Status    : completed"
    assert any(re.fullmatch(r"  total_faults_fired: \d+", line) for line in lines)
    assert re.fullmatch(r"Observations: \d+ recorded", lines[-1])


def test_run_json_output_and_output_file(
    runner: CliRunner, write_experiment: Callable[..., Path], tmp_path: Path
) -> None:
    path = write_experiment()
    out = tmp_path / "result.json"
    result = runner.invoke(
        app, ["run", "-e", str(path), "--json-output", "--output", str(out), "--seed", "11"]
    )
    assert result.exit_code == 0, result.output
    printed = ExperimentResult.model_validate_json(result.stdout)
    saved = ExperimentResult.model_validate_json(out.read_text(encoding="utf-8"))
    assert printed == saved
    assert printed.status is ExperimentStatus.completed
    assert printed.seed == 11
    assert printed.summary["total_faults_fired"] > 0
    assert not list(tmp_path.glob(".result.json.*"))  # no temporary file left behind


def test_run_output_into_a_missing_directory_fails_before_running(
    runner: CliRunner, write_experiment: Callable[..., Path], tmp_path: Path
) -> None:
    path = write_experiment(duration=60)
    result = runner.invoke(app, ["run", "-e", str(path), "-o", str(tmp_path / "no" / "r.json")])
    assert result.exit_code == 2
    assert "Running experiment" not in result.stderr
    assert "does not exist" in errors(result.stderr)[0]


@pytest.mark.parametrize(
    ("workload", "phrase"),
    [
        ("not a target", "--workload: must look like 'package.module:function'"),
        ("no_such_module_xyz:run", "cannot import 'no_such_module_xyz'"),
        ("json:no_such_function", "has no 'no_such_function'"),
        ("json:__doc__", "is not callable"),
    ],
)
def test_run_with_a_bad_workload_is_bad_input(
    runner: CliRunner, write_experiment: Callable[..., Path], workload: str, phrase: str
) -> None:
    path = write_experiment(duration=60)
    result = runner.invoke(app, ["run", "-e", str(path), "--workload", workload])
    assert result.exit_code == 2, result.output
    [line] = errors(result.stderr)
    assert phrase in line
    assert "Running experiment" not in result.stderr


def test_run_with_a_bad_otlp_endpoint_is_bad_input(
    runner: CliRunner, write_experiment: Callable[..., Path]
) -> None:
    path = write_experiment(duration=60)
    result = runner.invoke(app, ["run", "-e", str(path), "--otlp-endpoint", "ftp://x:21"])
    assert result.exit_code == 2
    assert "--otlp-endpoint: expected a URL" in errors(result.stderr)[0]


def test_an_internal_error_is_one_line_and_exit_1(
    runner: CliRunner, write_experiment: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    from aumai_chaos.cli import commands as cli

    def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom\nsecond line")

    monkeypatch.setattr(cli, "_execute", explode)
    monkeypatch.delenv("AUMAI_CHAOS_DEBUG", raising=False)
    result = runner.invoke(app, ["run", "-e", str(write_experiment())])
    assert result.exit_code == 1
    assert errors(result.stderr) == [
        "aumai-chaos: error: internal error: RuntimeError: boom second line "
        "(set AUMAI_CHAOS_DEBUG=1 for the traceback)"
    ]
    assert "Traceback" not in result.stderr
    monkeypatch.setenv("AUMAI_CHAOS_DEBUG", "1")
    result = runner.invoke(app, ["run", "-e", str(write_experiment())])
    assert result.exit_code == 1
    assert "Traceback" in result.stderr


# -- pieces -------------------------------------------------------------------------------------


def _result(status: str, verdict: str | None = None, stopped: bool = False) -> ExperimentResult:
    data: dict[str, object] = {"experiment_id": "x", "status": status, "verdict": verdict}
    if stopped:
        data["stopped_by"] = {
            "condition": "max_injections 1",
            "index": 0,
            "at": "2026-01-01T00:00:00Z",
            "observed": 1.0,
        }
    return ExperimentResult.model_validate(data)


BARE = ChaosExperiment(experiment_id="x", name="bare", duration_seconds=1)
HYPOTHESIS = BARE.model_copy(
    update={"steady_state": [Objective(component="workload", max_error_rate=0.1)]}
)


def test_exit_codes_of_a_bare_experiment_follow_its_status() -> None:
    assert _exit_code(_result("completed", "passed"), BARE, interrupted=False) == 0
    # No hypothesis was stated: a fault that happened not to fire is no failure of the run.
    assert _exit_code(_result("completed", "inconclusive"), BARE, interrupted=False) == 0
    assert _exit_code(_result("failed", "failed"), BARE, interrupted=False) == 1
    assert _exit_code(_result("aborted", "aborted"), BARE, interrupted=False) == 130
    assert _exit_code(_result("completed", "passed"), BARE, interrupted=True) == 130
    assert _exit_code(_result("aborted", "aborted", stopped=True), BARE, interrupted=False) == 1


def test_exit_codes_of_a_hypothesis_follow_its_verdict() -> None:
    def code(status: str, verdict: str, *, stopped: bool = False, interrupted: bool = False) -> int:
        return _exit_code(_result(status, verdict, stopped), HYPOTHESIS, interrupted=interrupted)

    assert code("completed", "passed") == 0
    assert code("completed", "deviated") == 1
    assert code("completed", "inconclusive") == 1
    assert code("completed", "baseline_not_met") == 3
    assert code("failed", "failed") == 1
    assert code("aborted", "aborted", stopped=True) == 1
    assert code("aborted", "aborted", interrupted=True) == 130


def test_write_atomic_keeps_the_old_file_when_it_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "result.json"
    target.write_text("old\n", encoding="utf-8")

    def failing_replace(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(ConfigError, match="cannot write the file: No space left on device"):
        write_atomic(str(target), "new\n")
    assert target.read_text(encoding="utf-8") == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["result.json"]


def test_write_atomic_replaces_and_keeps_the_mode(tmp_path: Path) -> None:
    target = tmp_path / "result.json"
    target.write_text("old\n", encoding="utf-8")
    target.chmod(0o640)
    write_atomic(str(target), "new\n")
    assert target.read_text(encoding="utf-8") == "new\n"
    assert target.stat().st_mode & 0o777 == 0o640

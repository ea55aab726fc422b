"""What a new user's trial of the command found (issue 11): workload checks, every problem of a
file listed, errors blamed on the right input, a silent kill switch, a report that names its
experiment."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

import aumai_chaos
from aumai_chaos.cli._template import STARTER_EXPERIMENT
from aumai_chaos.cli.commands import app
from tests.helpers import REPO

PROBABILITY_ZERO = """\
experiment_id: "trial"
name: "Trial run"
duration_seconds: 0.3
tick_seconds: 0.1
faults:
  - fault_type: error
    probability: 0.0
    affected_components: [tool]
"""


def errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("aumai-chaos: error:")]


@pytest.fixture
def exp_file(tmp_path: Path) -> Path:
    path = tmp_path / "exp.yaml"
    path.write_text(PROBABILITY_ZERO, encoding="utf-8")
    return path


@pytest.fixture
def modules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder on sys.path for the workload modules a test writes."""
    folder = tmp_path / "mods"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))
    return folder


# -- 1 and 8: --workload is checked when it loads, and its errors name the flag -----------


def test_a_workload_that_needs_an_argument_is_bad_input(runner: CliRunner, exp_file: Path) -> None:
    result = runner.invoke(
        app, ["run", "-e", str(exp_file), "--workload", "tests.experiments.workloads:needs_arg"]
    )
    assert result.exit_code == 2, result.output
    [line] = errors(result.stderr)
    assert line.startswith("aumai-chaos: error: --workload: ")
    assert "must be callable with no arguments" in line
    assert "needs_arg(a: 'object')" in line
    assert "Running experiment" not in result.stderr


def test_a_workload_flag_that_does_not_import_blames_the_flag(
    runner: CliRunner, exp_file: Path
) -> None:
    result = runner.invoke(app, ["run", "-e", str(exp_file), "--workload", "nope:run"])
    assert result.exit_code == 2
    [line] = errors(result.stderr)
    assert line.startswith("aumai-chaos: error: --workload: ")
    assert str(exp_file) not in line


def test_a_broken_workload_ends_the_run_failed_with_its_exception(
    runner: CliRunner, exp_file: Path
) -> None:
    result = runner.invoke(
        app, ["run", "-e", str(exp_file), "--workload", "tests.experiments.workloads:always_fails"]
    )
    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "Status    : failed"
    assert "Verdict   : failed" in lines
    assert any(
        line.startswith("Error     : WorkloadError: the workload is broken")
        and "RuntimeError: the workload forgot its configuration" in line
        for line in lines
    )
    assert "    first RuntimeError: the workload forgot its configuration" in lines


# -- 6: validate checks the workload as run would ------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("raise RuntimeError('boom at import')\n", "RuntimeError: boom at import"),
        ("def step(a):\n    return a\n", "must be callable with no arguments"),
        ("x = 1\n", "has no 'step'"),
    ],
    ids=["raises-on-import", "needs-an-argument", "missing"],
)
def test_validate_refuses_a_workload_run_would_refuse(
    runner: CliRunner, tmp_path: Path, modules: Path, source: str, expected: str
) -> None:
    name = f"wl_{abs(hash(source))}"
    (modules / f"{name}.py").write_text(source, encoding="utf-8")
    path = tmp_path / "exp.yaml"
    path.write_text(PROBABILITY_ZERO + f'workload: "{name}:step"\n', encoding="utf-8")
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 2, result.output
    [line] = errors(result.stderr)
    assert line.startswith(f"aumai-chaos: error: {path}: workload: ")
    assert expected in line


def test_validate_says_it_checked_the_workload(
    runner: CliRunner, tmp_path: Path, modules: Path
) -> None:
    (modules / "wl_ok.py").write_text("def step():\n    return None\n", encoding="utf-8")
    path = tmp_path / "exp.yaml"
    path.write_text(PROBABILITY_ZERO + 'workload: "wl_ok:step"\n', encoding="utf-8")
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 0, result.output
    assert "workload 'wl_ok:step' imports and takes no arguments" in result.stdout


# -- 7: every problem in a file, one line each, with the typo hints -----------------------


@pytest.mark.parametrize("command", ["validate", "run"])
def test_every_problem_of_a_file_is_listed(runner: CliRunner, tmp_path: Path, command: str) -> None:
    path = tmp_path / "typos.yaml"
    path.write_text(
        "experiment_id: x\nname: y\nduraton_seconds: 2\nfaults:\n"
        "  - fault_type: latncy\n    probability: 0.5\n",
        encoding="utf-8",
    )
    args = ["validate", str(path)] if command == "validate" else ["run", "-e", str(path)]
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert errors(result.stderr) == [
        f"aumai-chaos: error: {path}:1:1: duration_seconds: required field is missing",
        f"aumai-chaos: error: {path}:3:1: duraton_seconds: unknown field; "
        "did you mean 'duration_seconds'?",
        f"aumai-chaos: error: {path}:5:17: faults[0].fault_type: unknown fault type 'latncy'; "
        "did you mean 'latency'?",
    ]


# -- 2: the kill switch says so --------------------------------------------------------------


@pytest.fixture
def disabled() -> Iterator[None]:
    aumai_chaos.disable()
    try:
        yield
    finally:
        aumai_chaos.enable()


def test_run_with_injection_disabled_says_so(
    runner: CliRunner, write_experiment: Callable[..., Path], disabled: None
) -> None:
    result = runner.invoke(app, ["run", "-e", str(write_experiment()), "--json-output"])
    warnings = [line for line in result.stderr.splitlines() if "warning" in line]
    assert warnings == [
        "aumai-chaos: warning: fault injection is disabled (AUMAI_CHAOS_DISABLED): no fault "
        "will fire; calls are still observed"
    ]
    assert '"injection_disabled": true' in result.stdout
    assert '"verdict": "inconclusive"' in result.stdout


# -- 5: components no call reached, and the "every component" rule documented ------------


def test_a_misspelled_component_is_warned_about(
    runner: CliRunner, tmp_path: Path, modules: Path
) -> None:
    (modules / "wl_tool.py").write_text(
        "import time\nfrom aumai_chaos import chaos_target\n\n"
        "@chaos_target('trial_tool')\ndef tool():\n    time.sleep(0.001)\n\n"
        "def step():\n    tool()\n",
        encoding="utf-8",
    )
    path = tmp_path / "exp.yaml"
    path.write_text(
        PROBABILITY_ZERO.replace("[tool]", "[trial_tol]") + 'workload: "wl_tool:step"\n',
        encoding="utf-8",
    )
    result = runner.invoke(app, ["run", "-e", str(path)])
    assert (
        "aumai-chaos: warning: component 'trial_tol' (named by a fault) was never called; "
        "did you mean 'trial_tool'?"
    ) in result.stderr.splitlines()
    assert "Verdict   : inconclusive" in result.stdout
    # The reason says it too, not only a warning that scrolls by.
    [reason] = [line for line in result.stdout.splitlines() if line.startswith("Reason")]
    assert reason.endswith(
        "component 'trial_tol' (named by a fault) was never called; did you mean 'trial_tool'?"
    ), reason


def test_the_docs_and_the_template_say_a_fault_without_components_hits_every_one() -> None:
    assert "every component" in STARTER_EXPERIMENT
    assert "hits every component" in (REPO / "docs" / "cli.md").read_text(encoding="utf-8")


# -- 10: the report names its experiment ----------------------------------------------------


def test_the_report_on_stdout_names_the_experiment(
    runner: CliRunner, write_experiment: Callable[..., Path]
) -> None:
    result = runner.invoke(app, ["run", "-e", str(write_experiment())])
    assert result.exit_code == 0, result.output
    assert "Experiment: Short CLI test (id=cli-test)" in result.stdout.splitlines()
    assert "Running experiment" in result.stderr
    assert "Running experiment" not in result.stdout

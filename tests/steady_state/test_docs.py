"""docs/steady-state.md and the exit codes of docs/cli.md say what the code does."""

from __future__ import annotations

import re
import shlex

import pytest
import typer.main
import yaml

from aumai_chaos._engine import telemetry as tm
from aumai_chaos.cli import _deliver as exits
from aumai_chaos.cli import commands as cli
from aumai_chaos.experiments.files import load_experiment_file
from aumai_chaos.experiments.steady_state import LIMITS, Verdict
from tests.helpers import REPO
from tests.steady_state.support import AGENT_EXPERIMENT

STEADY = (REPO / "docs" / "steady-state.md").read_text(encoding="utf-8")
CLI = (REPO / "docs" / "cli.md").read_text(encoding="utf-8")


def _blocks(text: str, lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", text, re.DOTALL)


def _options(command: str) -> set[str]:
    group = typer.main.get_command(cli.app)
    params = group.commands[command].params  # type: ignore[attr-defined]
    return {opt for p in params for opt in p.opts}


def test_cli_md_lists_every_exit_code() -> None:
    section = CLI.split("## Exit codes\n", 1)[1].split("\n## ", 1)[0]
    codes = re.findall(r"^\| (\d+) \|", section, re.MULTILINE)
    assert [int(c) for c in codes] == [
        exits.EXIT_OK,
        exits.EXIT_FAILED,
        exits.EXIT_BAD_INPUT,
        exits.EXIT_BASELINE_NOT_MET,
        exits.EXIT_INTERRUPTED,
    ]


def test_cli_md_documents_every_run_option() -> None:
    section = CLI.split("## `run` options\n", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"`(--?[a-z-]+)", section))
    assert documented == _options("run") - {"--help", "-h"}


def test_the_ci_job_runs_real_commands_on_a_real_experiment() -> None:
    [workflow] = [b for b in _blocks(STEADY, "yaml") if "runs-on:" in b]
    job = yaml.safe_load(workflow)["jobs"]["chaos"]
    runs = [step["run"] for step in job["steps"] if "run" in step]
    [chaos] = [r for r in runs if r.startswith("aumai-chaos run")]
    argv = shlex.split(chaos)
    assert set(argv[2::2]) <= _options("run")
    assert "--junit-xml" in argv
    load_experiment_file(REPO / argv[argv.index("--experiment") + 1])
    [report] = [r for r in runs if r.startswith("aumai-chaos report")]
    assert "--format markdown" in report
    assert "--format" in _options("report")
    reporter = next(s for s in job["steps"] if "junit" in s.get("uses", ""))
    assert reporter["with"]["report_paths"] == argv[argv.index("--junit-xml") + 1]
    assert reporter["if"] == "success() || failure()"


def test_the_abridged_example_matches_the_example_file() -> None:
    [snippet] = [b for b in _blocks(STEADY, "yaml") if b.startswith("# (abridged)")]
    shown = yaml.safe_load(snippet)
    real = yaml.safe_load(AGENT_EXPERIMENT.read_text(encoding="utf-8"))
    assert shown["steady_state"] == real["steady_state"]
    assert shown["stop_conditions"] == real["stop_conditions"]
    assert shown["workload"] == real["workload"]
    for mine, theirs in zip(shown["faults"], real["faults"], strict=True):
        assert mine.items() <= theirs.items()


@pytest.mark.parametrize("limit", [name for name, _, _ in LIMITS])
def test_every_limit_is_documented(limit: str) -> None:
    assert f"`{limit}`" in STEADY


def test_the_verdict_table_is_in_order_of_precedence() -> None:
    rows = re.findall(r"^\| `([a-z_]+)` \| .* \| ([\d or]+) \|$", STEADY, re.MULTILINE)
    assert [v for v, _ in rows] == ["failed", "aborted", "baseline_not_met", "deviated",
                                    "inconclusive", "passed"]  # fmt: skip
    assert {v for v, _ in rows} == {v.value for v in Verdict}
    assert dict(rows) == {
        "failed": "1",
        "baseline_not_met": "3",
        "aborted": "1 or 130",
        "deviated": "1",
        "inconclusive": "1",
        "passed": "0",
    }


def test_the_telemetry_names_are_the_codes() -> None:
    for name in (
        tm.ATTR_EXPERIMENT_VERDICT,
        tm.EVENT_OBJECTIVE,
        tm.EVENT_EXPERIMENT_STOPPED,
        tm.ATTR_OBJECTIVE_PHASE,
        tm.ATTR_OBJECTIVE_COMPONENT,
        tm.ATTR_OBJECTIVE_LIMIT,
        tm.ATTR_OBJECTIVE_THRESHOLD,
        tm.ATTR_OBJECTIVE_OBSERVED,
        tm.ATTR_OBJECTIVE_OUTCOME,
        tm.ATTR_STOP_CONDITION,
        "chaos.objective.checks",
    ):
        assert f"`{name}`" in STEADY, name

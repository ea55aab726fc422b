"""``make demo`` end to end: the launcher, the real experiment files, the real SDK.

One run of ``python -m examples.agent_openai.demo`` in a fresh process (what ``make demo``
runs), then its two results are checked: the robust agent passes, the fragile one deviates on
its error rate, and every fault type of the experiments really fired.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
import yaml
from examples.agent_openai.demo import EXPERIMENTS

from aumai_chaos import ExperimentResult, load_result_file
from tests.helpers import REPO, run_python

pytestmark = pytest.mark.slow

FAULT_TYPES = {"rate_limit", "stream_stall", "malformed_tool_call", "error"}


@dataclass(frozen=True)
class DemoRun:
    code: int
    stdout: str
    stderr: str
    robust: ExperimentResult
    fragile: ExperimentResult


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    out = tmp_path_factory.mktemp("demo")
    proc = run_python(
        "from examples.agent_openai.demo import main; raise SystemExit(main())",
        args=["--seed", "7", "--output-dir", str(out)],
        timeout=100,
    )
    assert proc.returncode in (0, 1), proc.stderr[-3000:]
    return DemoRun(
        proc.returncode,
        proc.stdout,
        proc.stderr,
        load_result_file(str(out / "demo-robust.json")),
        load_result_file(str(out / "demo-fragile.json")),
    )


def failed(result: ExperimentResult) -> list[tuple[str, str]]:
    return [(o.component, o.limit) for o in result.objectives if not o.passed]


def test_make_demo_runs_the_launcher_on_the_real_experiment_files() -> None:
    makefile = (REPO / "Makefile").read_text()
    assert "\t$(PY) -m examples.agent_openai.demo --seed 7\n" in makefile
    assert [(p.relative_to(REPO).as_posix(), v) for p, v in EXPERIMENTS] == [
        ("examples/experiments/demo-robust.yaml", "passed"),
        ("examples/experiments/demo-fragile.yaml", "deviated"),
    ]


def test_the_two_experiments_differ_only_in_the_agent() -> None:
    robust, fragile = (yaml.safe_load(p.read_text()) for p, _ in EXPERIMENTS)
    assert robust["workload"]["target"] == "examples.agent_openai.workload:run_robust"
    assert fragile["workload"]["target"] == "examples.agent_openai.workload:run_fragile"
    for key in ("faults", "steady_state", "duration_seconds", "seed"):
        assert robust[key] == fragile[key], key
    assert {f["fault_type"] for f in robust["faults"]} == FAULT_TYPES
    assert robust["duration_seconds"] <= 10


def test_the_robust_agent_passes(demo: DemoRun) -> None:
    assert demo.robust.verdict is not None
    assert failed(demo.robust) == [], demo.robust.summary["workload"]
    assert demo.robust.verdict.value == "passed", demo.stdout
    assert demo.robust.summary["workload"]["failures"] == 0


def test_the_fragile_agent_deviates_on_its_error_rate(demo: DemoRun) -> None:
    assert demo.fragile.verdict is not None
    assert demo.fragile.verdict.value == "deviated"
    assert ("workload", "max_error_rate") in failed(demo.fragile)
    types = demo.fragile.summary["workload"]["failure_types"]
    # Each fault reaches the fragile agent as the error a real outage gives.
    for name in ("openai.RateLimitError", "json.decoder.JSONDecodeError", "ChaosError"):
        assert any(name in t for t in types), (name, types)


@pytest.mark.parametrize("which", ["robust", "fragile"])
def test_every_fault_type_fired(demo: DemoRun, which: str) -> None:
    result: ExperimentResult = getattr(demo, which)
    fired: dict[str, Any] = result.summary["faults_by_type"]
    assert set(fired) == FAULT_TYPES, fired
    assert all(n > 0 for n in fired.values())
    by_fault = {
        (f["fault_type"], tuple(f["affected_components"])): f["fired"]
        for f in result.summary["faults"]
    }
    assert by_fault[("error", ("vector_db",))] == fired["error"]
    model = result.summary["components"]["openai.chat.completions"]
    assert model["calls"] >= 80


def test_the_demo_prints_both_verdicts_and_exits_0(demo: DemoRun) -> None:
    assert demo.code == 0, demo.stdout
    verdicts = demo.stdout.split("Verdicts:")[1].split("\n")
    lines = [line.strip() for line in verdicts if line.strip()]
    assert lines[0].split() == ["demo-robust", "passed"]
    assert lines[1].startswith("demo-fragile  deviated: failed workload max_error_rate 0.05")
    assert "Task was destroyed" not in demo.stderr
    assert "Traceback" not in demo.stderr


def test_the_results_are_the_experiments_of_the_files(demo: DemoRun) -> None:
    assert (demo.robust.experiment_id, demo.fragile.experiment_id) == (
        "demo-robust",
        "demo-fragile",
    )
    assert demo.robust.seed == demo.fragile.seed == 7
    assert json.loads(demo.robust.model_dump_json())["status"] == "completed"

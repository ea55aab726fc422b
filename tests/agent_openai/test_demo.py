"""``make demo`` end to end: the launcher, the real experiment files, the real SDK.

One run of ``python -m examples.agent_openai.demo`` in a fresh process (what ``make demo``
runs, plus ``--otlp-endpoint`` into an oteltap receiver), then its two results are checked: the
robust agent passes, the fragile one deviates on its error rate, and every fault type of the
experiments really fired; and its trace puts each fault under the agent's own spans.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from examples.agent_openai.demo import EXPERIMENTS

from aumai_chaos import ExperimentResult, load_result_file
from tests.cli.support import attrs, collect_stream, free_port
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
    spans: list[Any]


async def _run_demo(out: Path) -> tuple[Any, list[Any]]:
    from oteltap import OtelTapHttpProtobufReceiver, OtelTapHttpProtobufReceiverSettings

    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    spans: list[Any] = []
    settings = OtelTapHttpProtobufReceiverSettings(http_port=port)
    async with OtelTapHttpProtobufReceiver(settings) as receiver:
        task = asyncio.create_task(collect_stream(receiver.stream_traces(), spans))
        await asyncio.sleep(0.1)  # the stream subscribes when it starts iterating
        proc = await asyncio.to_thread(
            run_python,
            "from examples.agent_openai.demo import main; raise SystemExit(main())",
            args=["--seed", "7", "--output-dir", str(out), "--otlp-endpoint", endpoint],
            timeout=100,
        )
        for _ in range(100):  # the demo flushed its spans before it exited
            if sum(s.name == "chaos.experiment" for s in spans) == 2:
                break
            await asyncio.sleep(0.1)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    return proc, spans


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    out = tmp_path_factory.mktemp("demo")
    proc, spans = asyncio.run(_run_demo(out))
    assert proc.returncode in (0, 1), proc.stderr[-3000:]
    return DemoRun(
        proc.returncode,
        proc.stdout,
        proc.stderr,
        load_result_file(str(out / "demo-robust.json")),
        load_result_file(str(out / "demo-fragile.json")),
        spans,
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
    # Exact, not lucky: with one worker the n-th question of a seed-7 run always meets the
    # same faults (test_seeded.py), and the first question the robust agent cannot answer is
    # number 214 (four malformed tool calls in a row), which no 8 s run reaches: before it,
    # the SDK waits out 66 429s (retry-after 0.2 s) and the agent two 1 s stream timeouts, 15 s.
    workload = demo.robust.summary["workload"]
    assert workload["failures"] == 0, workload
    assert workload["iterations"] < 214


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
    assert model["calls"] >= 40


def test_the_demo_prints_both_verdicts_and_exits_0(demo: DemoRun) -> None:
    assert demo.code == 0, demo.stdout
    verdicts = demo.stdout.split("Verdicts:")[1].split("\n")
    lines = [line.strip() for line in verdicts if line.strip()]
    assert lines[0].split() == ["demo-robust", "passed"]
    assert lines[1].startswith("demo-fragile  deviated: failed workload max_error_rate 0.05")
    assert "Task was destroyed" not in demo.stderr
    assert "Traceback" not in demo.stderr


def test_the_demo_tells_how_each_agent_recovered(demo: DemoRun) -> None:
    robust = {r.fault_type: r for r in demo.robust.summary.recovery}
    fragile = {r.fault_type: r for r in demo.fragile.summary.recovery}
    # The robust agent: rate limits by retry (the SDK's own), malformed tool arguments by
    # retry (a re-ask), the vector store's failures by fallback (the model answers anyway).
    for fault_type, how in (
        ("rate_limit", "retry"),
        ("malformed_tool_call", "retry"),
        ("error", "fallback"),
    ):
        row = robust[fault_type]
        assert row.fired > 0
        assert row.mechanisms[how] >= 0.5 * row.fired, (fault_type, row)
        assert row.rate >= 0.5
        # The fragile agent: each of them propagated, every time.
        bad = fragile[fault_type]
        assert bad.fired > 0
        assert bad.propagated == bad.fired, (fault_type, bad)
        assert bad.rate == 0.0
    assert robust["error"].component == "vector_db"
    story = demo.stdout.split("Did the agent recover?")[1]
    assert "demo-robust   rate_limit on openai.chat.completions:" in story
    assert "(retry " in story
    assert "error on vector_db:" in story
    assert "(fallback " in story
    assert "demo-fragile  rate_limit on openai.chat.completions: 0 of" in story
    assert "propagated" in story


def test_the_results_are_the_experiments_of_the_files(demo: DemoRun) -> None:
    assert (demo.robust.experiment_id, demo.fragile.experiment_id) == (
        "demo-robust",
        "demo-fragile",
    )
    assert demo.robust.seed == demo.fragile.seed == 7
    assert json.loads(demo.robust.model_dump_json())["status"] == "completed"


def test_the_trace_puts_each_fault_under_the_agents_own_spans(demo: DemoRun) -> None:
    by_id = {s.span_id: s for s in demo.spans}

    def chain(span: Any) -> list[str]:
        names = []
        while span.parent_span_id in by_id:
            span = by_id[span.parent_span_id]
            names.append(span.name)
        return names

    faults: dict[str, list[list[str]]] = {}
    for span in demo.spans:
        if span.name == "chaos.fault":
            faults.setdefault(attrs(span)["chaos.fault.type"], []).append(chain(span))
    assert set(faults) == FAULT_TYPES
    # A model fault: under the SDK's GenAI span and the agent's question. One that answers
    # instead of the request sits in the route's call span; one that acts on the body, read
    # after that call returned, sits right under the GenAI span.
    model = ["chat demo-model", "invoke_agent docs-agent"]
    for kind in ("rate_limit", "malformed_tool_call", "stream_stall"):
        for c in faults[kind]:
            if c[0] == "openai.chat.completions":
                c = c[1:]
            assert c[:2] == model, (kind, c)
            assert c[-1] == "chaos.experiment", (kind, c)
    assert all(c[0] == "openai.chat.completions" for c in faults["rate_limit"])
    # The vector store's: under the tool call that searched it.
    store = ["vector_db", "execute_tool search_docs", "invoke_agent docs-agent"]
    assert all(c[:3] == store for c in faults["error"])
    counted = demo.robust.summary["total_faults_fired"] + demo.fragile.summary["total_faults_fired"]
    assert sum(len(v) for v in faults.values()) == counted


def test_the_launcher_runs_your_own_experiment_files(tmp_path: Path) -> None:
    own = tmp_path / "one-rate-limit.yaml"
    own.write_text(
        yaml.safe_dump(
            {
                "experiment_id": "one-rate-limit",
                "name": "One rate limit",
                "duration_seconds": 1,
                "workload": "examples.agent_openai.workload:run_robust",
                "faults": [
                    {
                        "fault_type": "rate_limit",
                        "times": 1,
                        "retry_after_s": 0.05,
                        "affected_components": ["openai.chat.completions"],
                    }
                ],
                "steady_state": [{"component": "workload", "max_error_rate": 0.0}],
            }
        )
    )
    proc = run_python(
        "from examples.agent_openai.demo import main; raise SystemExit(main())",
        args=["--experiment", str(own), "--output-dir", str(tmp_path)],
        timeout=60,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr[-2000:]
    assert proc.stdout.endswith(
        "Verdicts:\n  one-rate-limit  passed\n\nDid the agent recover?\n"
        "  one-rate-limit  rate_limit on openai.chat.completions: 1 of 1 recovered (retry 1)\n"
    )
    result = load_result_file(str(tmp_path / "one-rate-limit.json"))
    assert result.summary["faults_by_type"] == {"rate_limit": 1}

"""Selection that replays: the golden vectors in docs/replay.md, the position rules, the
``times`` budget under concurrency, and seeded replay under eight concurrent workers."""

from __future__ import annotations

import contextlib
import contextvars
import random
import re
import threading
from pathlib import Path

import pytest
import yaml
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import aumai_chaos
from aumai_chaos import ChaosError, FaultConfig, chaos_monkey, chaos_target, resilience_test
from aumai_chaos._engine.plan import Budget
from aumai_chaos._engine.replay import occurrence_draw, occurrence_drawer
from aumai_chaos.experiments.files import load_experiment_file
from tests.experiments.support import unique
from tests.helpers import fault_spans

DOC = Path(__file__).resolve().parents[2] / "docs" / "replay.md"
ROW = re.compile(r"^\| (\d+) \| (\S+) \| (\d+) \| (\d+) \| ([0-9a-f]{16}) \| ([0-9.]+) \|$")


def _vectors() -> list[tuple[int, str, int, int, str, float]]:
    rows = []
    for line in DOC.read_text(encoding="utf-8").splitlines():
        m = ROW.match(line)
        if m:
            seed, comp, pos, n, hexed, draw = m.groups()
            rows.append((int(seed), comp, int(pos), int(n), hexed, float(draw)))
    return rows


def test_the_docs_have_golden_vectors() -> None:
    assert len(_vectors()) >= 7


@pytest.mark.parametrize(("seed", "component", "position", "n", "hexed", "draw"), _vectors())
def test_golden_vectors(
    seed: int, component: str, position: int, n: int, hexed: str, draw: float
) -> None:
    assert occurrence_draw(seed, component, position, n) == draw
    assert occurrence_drawer(seed, component, position)(n) == draw
    assert int(hexed, 16) >> 11 == int(draw * 2**53)


def _calls(fn: object, count: int) -> list[int]:
    """The call numbers (from 1) on which ``fn`` raised ChaosError."""
    failed = []
    for n in range(1, count + 1):
        try:
            fn()  # type: ignore[operator]
        except ChaosError:
            failed.append(n)
    return failed


def test_position_rules_in_python() -> None:
    @chaos_monkey(fault_type="error", times=2)
    def first_two() -> None:
        return None

    @chaos_monkey(fault_type="error", after_calls=3)
    def after_three() -> None:
        return None

    @chaos_monkey(fault_type="error", every=3, after_calls=2, times=3)
    def every_third() -> None:
        return None

    assert _calls(first_two, 6) == [1, 2]
    assert _calls(after_three, 6) == [4, 5, 6]
    assert _calls(every_third, 20) == [3, 6, 9]


def test_position_rules_in_yaml(tmp_path: Path) -> None:
    component = unique("yaml-tool")
    path = tmp_path / "exp.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "experiment_id": unique("yaml"),
                "name": "rules",
                "duration_seconds": 30,
                "faults": [
                    {
                        "fault_type": "error",
                        "error_code": 503,
                        "times": 2,
                        "after_calls": 1,
                        "affected_components": [component],
                    },
                    {"fault_type": "timeout", "every": 4, "affected_components": [component]},
                ],
            }
        ),
        encoding="utf-8",
    )
    exp = load_experiment_file(path)
    assert (exp.faults[0].times, exp.faults[0].after_calls, exp.faults[1].every) == (2, 1, 4)

    @chaos_target(component)
    def tool() -> str:
        return "ok"

    outcomes = []
    with aumai_chaos.experiment(exp):
        for _ in range(8):
            try:
                outcomes.append(tool())
            except aumai_chaos.InjectedFaultError as exc:
                outcomes.append(type(exc).__name__)
    assert outcomes == [
        "ok",
        "ChaosError",
        "ChaosError",
        "ChaosTimeoutError",
        "ok",
        "ok",
        "ok",
        "ChaosTimeoutError",
    ]


def test_a_seeded_decorator_replays_and_ignores_the_global_random() -> None:
    def run() -> list[int]:
        @resilience_test(faults=[FaultConfig(fault_type="error", probability=0.3)], seed=5)
        def tool() -> None:
            return None

        random.seed(999)  # must not matter with a seed
        return _calls(tool, 60)

    first = run()
    assert first == run()
    expected = [n for n in range(1, 61) if occurrence_draw(5, _qualname(), 0, n) < 0.3]
    assert first == expected


def _qualname() -> str:
    return (
        "test_a_seeded_decorator_replays_and_ignores_the_global_random.<locals>.run.<locals>.tool"
    )


def test_the_guide_random_seed_still_replays_unseeded_decorators() -> None:
    @chaos_monkey(fault_type="error", probability=0.5)
    def tool() -> None:
        return None

    random.seed(42)
    first = _calls(tool, 30)
    random.seed(42)
    assert _calls(tool, 30) == first


def test_budget_grants_the_first_passing_calls_by_number_in_any_order() -> None:
    def passes(n: int) -> bool:
        return n % 3 != 0

    for seed in range(20):
        order = list(range(1, 31))
        random.Random(seed).shuffle(order)
        budget = Budget(5, passes)
        granted = sorted(n for n in order if passes(n) and budget.take(n))
        assert granted == [1, 2, 4, 5, 7]


def _replay_run(seed: int) -> set[tuple[str, int]]:
    """8 workers, 40 calls each into three components chosen by a per-worker seeded random,
    inside a seeded experiment; the faulted (component, n) pairs from the fault spans."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider(shutdown_on_exit=False)
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    provider.add_span_processor(SimpleSpanProcessor(exporter))
    names = [f"replay-{i}" for i in range(3)]
    tools = [chaos_target(name)(lambda: None) for name in names]
    barrier = threading.Barrier(8)

    def worker(index: int) -> None:
        rng = random.Random(index)
        barrier.wait()
        for _ in range(40):
            with contextlib.suppress(ChaosError):
                rng.choice(tools)()

    with aumai_chaos.experiment(
        faults=[
            {"fault_type": "error", "probability": 0.2},
            {"fault_type": "error", "error_code": 429, "probability": 0.5, "times": 7},
        ],
        seed=seed,
        tracer_provider=provider,
    ):
        threads = [
            threading.Thread(target=contextvars.copy_context().run, args=(worker, i))
            for i in range(8)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    provider.shutdown()
    return {
        (
            str(s.attributes["chaos.component"]),  # type: ignore[index]
            int(s.attributes["chaos.fault.occurrence"]),  # type: ignore[index,arg-type]
            int(s.attributes.get("chaos.fault.error_code", 0)),  # type: ignore[union-attr,arg-type]
        )
        for s in fault_spans(exporter)
    }  # type: ignore[return-value]


def test_same_seed_same_faulted_calls_under_eight_workers() -> None:
    first = _replay_run(1234)
    assert first, "the seed must fault some calls"
    # times counts per component, as call numbers do: 7 for each of the three
    assert sum(1 for _, _, code in first if code == 429) == 21
    for _ in range(3):
        assert _replay_run(1234) == first
    assert _replay_run(4321) != first

"""Workloads: named by import path or passed as callables, sync or async, with concurrency and
intervals; and the example agent driven as a workload under its experiment's faults."""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from aumai_chaos import (
    ChaosExperiment,
    ExperimentResult,
    ExperimentScheduler,
    ExperimentStatus,
    FaultConfig,
)
from aumai_chaos.experiments.workload import is_async_workload
from tests.experiments import workloads
from tests.experiments.support import experiment, of_experiment, spans, unique
from tests.helpers import REPO

AGENT_EXPERIMENT = REPO / "examples" / "experiments" / "agent-experiment.yaml"
#: One-sided tail probability of a 4-sigma bound on a normal distribution.
FOUR_SIGMA_TAIL = 3.17e-5


@pytest.fixture(autouse=True)
def _fresh_calls() -> Iterator[None]:
    workloads.calls.clear()
    yield
    workloads.calls.clear()


def run(exp: ChaosExperiment, **kwargs: Any) -> ExperimentResult:
    scheduler = ExperimentScheduler(**kwargs.pop("providers", {}))
    result = scheduler.run(scheduler.schedule(exp), **kwargs)
    assert result.status is ExperimentStatus.completed, result.error
    return result


# -- running workloads --------------------------------------------------------------------


def test_a_sync_workload_by_import_path_with_concurrency() -> None:
    exp = experiment(
        duration_seconds=0.3,
        workload={"target": "tests.experiments.workloads:sync_iteration", "concurrency": 4},
        faults=[FaultConfig(fault_type="error", probability=0.0)],
    )
    result = run(exp)
    wl = result.summary["workload"]
    assert wl["iterations"] == len(workloads.calls) > 8
    assert wl["failures"] == 0
    threads = {ident for _, ident in workloads.calls}
    assert len(threads) == 4
    assert threading.get_ident() not in threads
    iterations = [
        o for o in result.observations if (o.component, o.event) == ("workload", "iteration")
    ]
    assert len(iterations) == wl["iterations"]
    assert all(o.details["status"] == "ok" for o in iterations)
    assert set(wl["latency_ms"]) == {"p50", "p95", "p99"}
    assert wl["latency_ms"]["p50"] >= 1.0  # each iteration sleeps 1 ms


def test_an_async_workload_by_import_path_runs_on_one_private_loop() -> None:
    exp = experiment(
        duration_seconds=0.3,
        workload={"target": "tests.experiments.workloads:async_iteration", "concurrency": 3},
    )
    result = run(exp)
    assert result.summary["workload"]["iterations"] == len(workloads.calls) > 3
    threads = {ident for _, ident in workloads.calls}
    assert len(threads) == 1
    assert threading.get_ident() not in threads


def test_an_attribute_path_workload() -> None:
    result = run(
        experiment(duration_seconds=0.2, workload="tests.experiments.workloads:Agent.step")
    )
    assert result.summary["workload"]["iterations"] == len(workloads.calls) > 0
    assert {kind for kind, _ in workloads.calls} == {"step"}


def test_a_callable_overrides_the_experiments_workload() -> None:
    calls = 0

    def mine() -> None:
        nonlocal calls
        calls += 1
        time.sleep(0.001)

    exp = experiment(duration_seconds=0.2, workload="tests.experiments.workloads:sync_iteration")
    result = run(exp, workload=mine)
    assert result.summary["workload"]["iterations"] == calls > 0
    assert workloads.calls == []


def test_async_concurrency_is_the_number_of_tasks_in_flight() -> None:
    in_flight = 0
    peak = 0

    async def workload() -> None:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.01)
        in_flight -= 1

    exp = experiment(duration_seconds=0.3, workload={"target": "x.y:z", "concurrency": 5})
    result = run(exp, workload=workload)
    assert peak == 5
    assert result.summary["workload"]["iterations"] >= 5 * 10


def test_an_object_with_an_async_call_is_an_async_workload() -> None:
    class Step:
        def __init__(self) -> None:
            self.loops: set[int] = set()

        async def __call__(self) -> None:
            self.loops.add(id(asyncio.get_running_loop()))
            await asyncio.sleep(0.005)

    step = Step()
    assert is_async_workload(step)
    result = run(experiment(duration_seconds=0.2), workload=step)
    assert result.summary["workload"]["iterations"] > 0
    assert len(step.loops) == 1


def test_the_interval_spaces_each_workers_iterations() -> None:
    exp = experiment(
        duration_seconds=0.5,
        workload={"target": "x.y:z", "concurrency": 2, "interval_seconds": 0.1},
    )
    calls: list[float] = []
    result = run(exp, workload=lambda: calls.append(time.monotonic()))
    # Each worker: an iteration at 0, 0.1, ... 0.4 s (five), maybe a sixth at the very end.
    assert 2 * 4 <= result.summary["workload"]["iterations"] == len(calls) <= 2 * 6


def test_iterations_run_in_the_experiments_trace(
    tracer_provider: TracerProvider, span_exporter: InMemorySpanExporter
) -> None:
    tracer = tracer_provider.get_tracer("user")

    def workload() -> None:
        with tracer.start_as_current_span("user-step"):
            time.sleep(0.005)

    exp = experiment(duration_seconds=0.2)
    run(exp, workload=workload, providers={"tracer_provider": tracer_provider})
    [root] = of_experiment(spans(span_exporter, "chaos.experiment"), exp.experiment_id)
    steps = spans(span_exporter, "user-step")
    assert steps
    assert root.context is not None
    for step in steps:
        assert step.parent is not None
        assert step.parent.span_id == root.context.span_id
        assert step.context is not None
        assert step.context.trace_id == root.context.trace_id


# -- the example agent --------------------------------------------------------------------


def binomial_tail_bounds(n: int, p: float, tail: float = FOUR_SIGMA_TAIL) -> tuple[int, int]:
    """(lo, hi): a Binomial(n, p) count falls below ``lo`` or above ``hi`` with probability at
    most ``tail`` each: the exact form of a 4-sigma bound, right even where a normal
    approximation is not (small means)."""
    pmf = [math.comb(n, k) * p**k * (1 - p) ** (n - k) for k in range(n + 1)]
    lo, below = 0, 0.0
    while lo < n and below + pmf[lo] <= tail:
        below += pmf[lo]
        lo += 1
    hi, above = n, 0.0
    while hi > 0 and above + pmf[hi] <= tail:
        above += pmf[hi]
        hi -= 1
    return lo, hi


def agent_experiment(name: str) -> ChaosExperiment:
    data = yaml.safe_load(Path(AGENT_EXPERIMENT).read_text(encoding="utf-8"))
    data.update(experiment_id=unique(name), duration_seconds=2)
    return ChaosExperiment.model_validate(data)


def fault_probability(exp: ChaosExperiment, component: str, fault_type: str) -> float:
    [fault] = [
        f
        for f in exp.faults
        if component in f.affected_components and f.fault_type.value == fault_type
    ]
    return fault.probability


def check_agent_summary(
    result: ExperimentResult, exp: ChaosExperiment, exporter: InMemorySpanExporter
) -> None:
    """The summary shows, per component, fault counts, error rates and latency, and they
    agree with the spans."""
    faults = of_experiment(spans(exporter, "chaos.fault"), exp.experiment_id)
    assert len(faults) == result.summary["total_faults_fired"]
    components = result.summary["components"]
    assert set(components) == {"llm", "vector_db"}  # search_tool is not affected
    for name, stats in components.items():
        assert stats["faults"] == sum(
            1 for s in faults if (s.attributes or {})["chaos.component"] == name
        )
        assert stats["faults"] > 0
        assert stats["calls"] == len(spans(exporter, name))
        assert stats["error_rate"] == round(stats["errors"] / stats["calls"], 6)
        assert set(stats["latency_ms"]) == {"p50", "p95", "p99"}
        assert 0 < stats["latency_ms"]["p50"] <= stats["latency_ms"]["p95"]
        assert stats["latency_ms"]["p95"] <= stats["latency_ms"]["p99"]
    vector = components["vector_db"]
    lo, hi = binomial_tail_bounds(vector["calls"], fault_probability(exp, "vector_db", "error"))
    assert lo <= vector["errors"] <= hi
    assert vector["error_types"] == {"aumai_chaos.errors.ChaosError": vector["errors"]}


@pytest.mark.slow
def test_the_example_agent_rides_out_its_experiment(
    tracer_provider: TracerProvider, span_exporter: InMemorySpanExporter
) -> None:
    exp = agent_experiment("agent-robust")
    assert exp.workload is not None
    assert exp.workload.target == "examples.agent:run_once"
    result = run(exp, providers={"tracer_provider": tracer_provider})  # the file's own workload
    check_agent_summary(result, exp, span_exporter)
    wl = result.summary["workload"]
    n = wl["iterations"]
    assert n >= 20
    # An answer fails only when all LLM_ATTEMPTS attempts fail: each one fails when its latency
    # fault fires (past the agent's timeout) or its error fault does. vector_db errors never
    # fail an answer: the agent falls back.
    from examples.agent import LLM_ATTEMPTS

    attempt_fails = 1 - (1 - fault_probability(exp, "llm", "latency")) * (
        1 - fault_probability(exp, "llm", "error")
    )
    p_fail = attempt_fails**LLM_ATTEMPTS
    _, hi = binomial_tail_bounds(n, p_fail)
    assert wl["failures"] <= hi, wl
    assert set(wl["failure_types"]) <= {"TimeoutError", "aumai_chaos.errors.ChaosError"}
    llm = result.summary["components"]["llm"]
    # Timed-out LLM calls were cancelled by the agent's asyncio.wait_for, at 250 ms.
    assert llm["error_types"].get("asyncio.exceptions.CancelledError", 0) > 0
    assert llm["latency_ms"]["p99"] >= 240


@pytest.mark.slow
def test_the_fragile_agent_deviates_under_the_same_faults(
    tracer_provider: TracerProvider, span_exporter: InMemorySpanExporter
) -> None:
    from examples.agent import run_once_fragile

    exp = agent_experiment("agent-fragile")
    scheduler = ExperimentScheduler(tracer_provider=tracer_provider)
    result = scheduler.run(scheduler.schedule(exp), workload=run_once_fragile)
    # The file's stop condition (error rate over 50%) may end a fragile run early.
    assert result.status is ExperimentStatus.completed or (
        result.status is ExperimentStatus.aborted and result.stopped_by is not None
    )
    check_agent_summary(result, exp, span_exporter)
    wl = result.summary["workload"]
    n = wl["iterations"]
    assert n >= 10
    # Without fallback or retries, any vector_db or llm error fails the answer (the latency
    # fault only slows it: there is no timeout either).
    p_fail = 1 - (1 - fault_probability(exp, "vector_db", "error")) * (
        1 - fault_probability(exp, "llm", "error")
    )
    lo, hi = binomial_tail_bounds(n, p_fail)
    assert wl["failures"] > 0
    assert lo <= wl["failures"] <= hi, wl
    assert wl["failure_types"] == {"aumai_chaos.errors.ChaosError": wl["failures"]}
    assert result.summary["components"]["llm"]["latency_ms"]["p99"] >= 400  # nothing cut it


def test_the_binomial_bounds() -> None:
    lo, hi = binomial_tail_bounds(1000, 0.3)
    assert lo < 300 < hi
    assert 4 * math.sqrt(1000 * 0.3 * 0.7) - 5 <= 300 - lo <= 4 * math.sqrt(210) + 5
    assert binomial_tail_bounds(60, 0.0) == (0, 0)
    assert binomial_tail_bounds(10, 1.0) == (10, 10)


def test_async_generators_left_open_are_closed_with_the_workload_loop() -> None:
    """An SDK's stream reader that an iteration leaves open (the openai SDK breaks out of its
    SSE reader at ``[DONE]``) is closed before the private loop is, as ``asyncio.run`` does, so
    that the garbage collector never finalises it later against a closed loop."""
    import gc

    opened: list[Any] = []
    closed: list[int] = []

    async def events() -> Any:
        try:
            for i in range(10):
                yield i
        finally:
            closed.append(1)

    async def iteration() -> None:
        gen = events()
        opened.append(gen)  # kept alive, as a reference cycle in a client would
        async for _ in gen:
            break
        # A few hundred open readers, as a run of agent questions leaves; not the tens of
        # thousands a bare loop makes in 0.3 s, which a loaded machine cannot close within
        # the run's half-second grace.
        await asyncio.sleep(0.001)

    exp = experiment(
        duration_seconds=0.3, faults=[FaultConfig(fault_type="error", probability=0.0)]
    )
    run(exp, workload=iteration)
    assert opened
    assert len(closed) == len(opened)
    opened.clear()
    gc.collect()


def test_a_loop_whose_stop_waited_for_a_hung_iteration_is_still_closed() -> None:
    """An async iteration that hangs past the run's end keeps the private loop running after
    the run returns; once it ends, the loop's own thread closes the loop, so the garbage
    collector never finds it open (a ResourceWarning that failed an unrelated test under
    ``filterwarnings = error``)."""
    import gc
    import warnings

    release = threading.Event()

    async def hangs() -> None:
        release.wait(10)  # blocks the loop itself: cancelling the task cannot end it

    exp = experiment(
        duration_seconds=0.2, faults=[FaultConfig(fault_type="error", probability=0.0)]
    )
    before = {t for t in threading.enumerate() if t.name == "aumai-chaos-workload-loop"}
    run(exp, workload=hangs)
    [loop_thread] = [
        t
        for t in threading.enumerate()
        if t.name == "aumai-chaos-workload-loop" and t not in before
    ]
    assert loop_thread.is_alive()  # the hung iteration still holds the loop
    release.set()
    loop_thread.join(10)
    assert not loop_thread.is_alive()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gc.collect()
    assert not [w for w in caught if "unclosed event loop" in str(w.message)]

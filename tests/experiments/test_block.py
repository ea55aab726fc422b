"""``aumai_chaos.experiment(...)``: experiments scoped to a ``with`` / ``async with`` block, and
``trace_calls``; with the SDK's in-memory exporter and reader."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import aumai_chaos
from aumai_chaos import (
    ChaosError,
    ChaosExperiment,
    ExperimentStatus,
    Verdict,
    chaos_target,
)
from aumai_chaos.errors import ExperimentStateError
from tests.experiments.support import unique
from tests.helpers import counter_sum, fault_spans


@pytest.fixture
def providers(tracer_provider: TracerProvider, meter_provider: MeterProvider) -> dict[str, Any]:
    return {"tracer_provider": tracer_provider, "meter_provider": meter_provider}


def _target(name: str) -> Any:
    @chaos_target(name)
    def tool() -> str:
        return "ok"

    return tool


def test_a_sync_block_runs_an_experiment_with_the_same_telemetry(
    providers: dict[str, Any],
    span_exporter: InMemorySpanExporter,
    metric_reader: InMemoryMetricReader,
) -> None:
    name = unique("llm")
    tool = _target(name)
    outcomes = []
    with aumai_chaos.experiment(
        faults=[{"fault_type": "error", "error_code": 503, "times": 2}],
        target_components=[name],
        **providers,
    ) as run:
        for _ in range(4):
            try:
                outcomes.append(tool())
            except ChaosError as exc:
                outcomes.append(exc.error_code)
        assert run.fired() == 2
        assert run.fired(component=name, fault_type="error") == 2
        assert run.fired(fault_type="latency") == 0
        assert run.summary()["total_faults_fired"] == 2
        assert len(run.observations(event="fault_injected")) == 2
        assert run.result is None
    assert tool() == "ok"  # nothing after the block
    assert outcomes == [503, 503, "ok", "ok"]
    result = run.result
    assert result is not None
    assert result.status is ExperimentStatus.completed
    assert result.verdict is Verdict.passed
    assert result.summary["total_faults_fired"] == 2
    assert result.summary["components"][name]["calls"] == 4
    assert result.summary["faults"][0]["fired"] == 2
    spans = span_exporter.get_finished_spans()
    (exp_span,) = [s for s in spans if s.name == "chaos.experiment"]
    assert exp_span.attributes["chaos.experiment.id"] == run.experiment_id  # type: ignore[index]
    calls = [s for s in spans if s.name == name]
    assert len(calls) == 4
    assert all(s.parent is not None and s.parent.span_id == exp_span.context.span_id for s in calls)
    assert [s.attributes["chaos.fault.occurrence"] for s in fault_spans(span_exporter)] == [1, 2]  # type: ignore[index]
    assert (
        counter_sum(
            metric_reader, "chaos.fault.injections", {"chaos.experiment.id": run.experiment_id}
        )
        == 2
    )
    assert counter_sum(metric_reader, "chaos.experiment.runs") == 1


def test_an_async_block(providers: dict[str, Any]) -> None:
    name = unique("async-llm")

    @chaos_target(name)
    async def llm() -> str:
        await asyncio.sleep(0)
        return "ok"

    async def main() -> tuple[list[str], Any]:
        got = []
        async with aumai_chaos.experiment(
            ChaosExperiment(
                experiment_id=unique("async"),
                name="async block",
                duration_seconds=60,
                faults=[{"fault_type": "empty_output", "every": 2}],
                target_components=[name],
            ),
            **providers,
        ) as run:
            for _ in range(4):
                got.append(await llm())
            # tasks the block creates are in its scope
            got.append(await asyncio.create_task(llm()))
        return got, run

    got, run = asyncio.run(main())
    assert got == ["ok", "", "ok", "", "ok"]
    assert run.result.verdict is Verdict.passed
    assert run.result.summary["faults_by_type"] == {"empty_output": 2}


def test_two_blocks_in_two_threads_stay_independent() -> None:
    name = unique("shared")
    tool = _target(name)
    results: dict[str, list[Any]] = {}
    barrier = threading.Barrier(2)

    def worker(label: str, fault: dict[str, Any]) -> None:
        got: list[Any] = []
        with aumai_chaos.experiment(faults=[fault], target_components=[name]) as run:
            barrier.wait()
            for _ in range(20):
                try:
                    got.append(tool())
                except aumai_chaos.InjectedFaultError as exc:
                    got.append(type(exc).__name__)
            barrier.wait()
        results[label] = [*got, run.result.summary["total_faults_fired"]]  # type: ignore[union-attr]

    threads = [
        threading.Thread(target=worker, args=("a", {"fault_type": "error", "times": 3})),
        threading.Thread(target=worker, args=("b", {"fault_type": "timeout", "every": 5})),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert results["a"].count("ChaosError") == 3
    assert "ChaosTimeoutError" not in results["a"]
    assert results["a"][-1] == 3
    assert results["b"].count("ChaosTimeoutError") == 4
    assert "ChaosError" not in results["b"]
    assert results["b"][-1] == 4


def test_process_scope_reaches_other_threads() -> None:
    name = unique("proc")
    tool = _target(name)
    errors = []

    def other() -> None:
        try:
            tool()
        except ChaosError:
            errors.append(1)

    with aumai_chaos.experiment(faults=[{"fault_type": "error"}], target_components=[name]):
        t = threading.Thread(target=other)
        t.start()
        t.join(10)
    assert errors == []
    with aumai_chaos.experiment(
        faults=[{"fault_type": "error"}], target_components=[name], scope="process"
    ):
        t = threading.Thread(target=other)
        t.start()
        t.join(10)
    assert errors == [1]


def test_leaving_by_exception_fails_the_run_and_stops_the_faults() -> None:
    name = unique("boom")
    tool = _target(name)
    block = aumai_chaos.experiment(faults=[{"fault_type": "error"}], target_components=[name])
    with pytest.raises(RuntimeError, match="test failed"), block:
        raise RuntimeError("test failed")
    assert block.result is not None
    assert block.result.status is ExperimentStatus.failed
    assert block.result.verdict is Verdict.failed
    assert "RuntimeError: test failed" in (block.result.error or "")
    assert tool() == "ok"
    with pytest.raises(ExperimentStateError), block:
        pass


def test_keyboard_interrupt_aborts_the_run() -> None:
    block = aumai_chaos.experiment(faults=[{"fault_type": "error"}])
    with pytest.raises(KeyboardInterrupt), block:
        raise KeyboardInterrupt
    assert block.result is not None
    assert block.result.status is ExperimentStatus.aborted


def test_cancellation_aborts_the_run_and_wakes_its_delays() -> None:
    name = unique("slow")

    @chaos_target(name)
    async def slow() -> str:
        return "ok"

    holder: list[Any] = []

    async def body() -> None:
        async with aumai_chaos.experiment(
            faults=[{"fault_type": "latency", "duration_ms": 60_000}], target_components=[name]
        ) as run:
            holder.append(run)
            await slow()

    async def main() -> None:
        task = asyncio.create_task(body())
        await asyncio.sleep(0.1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(task, 10)

    asyncio.run(main())
    assert holder[0].result.status is ExperimentStatus.aborted


def test_a_block_refuses_a_workload_and_a_baseline() -> None:
    with pytest.raises(ValueError, match="workload"):
        aumai_chaos.experiment(workload="tests.experiments.workloads:noop")
    with pytest.raises(TypeError):
        aumai_chaos.experiment(
            ChaosExperiment(experiment_id="x", name="x", duration_seconds=1), faults=[]
        )


def test_trace_calls_faults_times_calls_without_spans(
    tracer_provider: TracerProvider, span_exporter: InMemorySpanExporter
) -> None:
    name = unique("quiet")
    tool = _target(name)
    with aumai_chaos.experiment(
        faults=[{"fault_type": "error", "every": 4}],
        target_components=[name],
        trace_calls="faults",
        tracer_provider=tracer_provider,
    ) as run:
        for _ in range(10):
            with contextlib.suppress(ChaosError):
                tool()
    calls = [s for s in span_exporter.get_finished_spans() if s.name == name]
    assert len(calls) == 2  # only the calls a fault fired on
    stats = run.result.summary["components"][name]  # type: ignore[union-attr]
    assert stats["calls"] == 10
    assert stats["errors"] == 2
    assert stats["latency_ms"]["p50"] >= 0
    # a call timed without a span keeps no observation: only the two that a fault fired on
    assert len(run.observations(component=name, event="call")) == 2


def test_trace_calls_in_yaml_is_validated() -> None:
    with pytest.raises(ValueError, match="trace_calls"):
        ChaosExperiment(experiment_id="x", name="x", duration_seconds=1, trace_calls="some")


def test_a_stop_condition_stops_the_faults_of_a_block() -> None:
    name = unique("stopped")
    tool = _target(name)
    with aumai_chaos.experiment(
        faults=[{"fault_type": "error"}],
        target_components=[name],
        stop_conditions=[
            {"component": name, "max_error_rate": 0.5, "min_calls": 3, "window_seconds": 30}
        ],
    ) as run:
        for _ in range(600):  # bounded: the watcher polls every 0.1 s
            try:
                tool()
            except ChaosError:
                threading.Event().wait(0.01)
            else:
                break
        assert run.aborted
        assert tool() == "ok"
    assert run.result is not None
    assert run.result.status is ExperimentStatus.aborted
    assert run.result.stopped_by is not None


def test_a_generator_never_iterated_leaves_no_span_open(
    tracer_provider: TracerProvider, span_exporter: InMemorySpanExporter
) -> None:
    name = unique("gen")

    @chaos_target(name)
    def tokens() -> Any:
        yield 1

    with aumai_chaos.experiment(
        faults=[{"fault_type": "error", "probability": 0.0}],
        target_components=[name],
        tracer_provider=tracer_provider,
    ) as run:
        tokens()  # made, never iterated: not a call
        assert list(tokens()) == [1]
    assert [s.name for s in span_exporter.get_finished_spans()].count(name) == 1
    assert run.result.summary["components"][name]["calls"] == 1  # type: ignore[union-attr]

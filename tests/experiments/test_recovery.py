"""Did the agent recover? Scripted agents with known behaviour give exact outcome counts.

Each agent meets an ``error`` fault with ``times: 2`` on its model (the first two calls fail)
and answers four questions, each in a unit of work. What it does with the failure decides the
outcome: retry the same component, fall back to another, absorb it, or let it out.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import threading
from collections.abc import Callable
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import aumai_chaos
from aumai_chaos import chaos_target
from aumai_chaos.experiments.recovery import MAX_FAULTS_PER_UNIT, UnitLedger
from tests.experiments.support import unique
from tests.helpers import counter_by_attributes, counter_sum, points

QUESTIONS = 4
KINDS = ("retry", "fallback", "absorbed", "propagated")


class AgentFailedError(Exception):
    pass


def _components() -> tuple[str, str, Callable[[], str], Callable[[], str]]:
    llm_name, search_name = unique("llm"), unique("search")

    @chaos_target(llm_name)
    def llm() -> str:
        return "answer"

    @chaos_target(search_name)
    def search() -> str:
        return "document"

    return llm_name, search_name, llm, search


def _answer(kind: str, llm: Callable[[], str], search: Callable[[], str]) -> str:
    """One question, as each scripted agent handles a failing model."""
    if kind == "retry":
        for _ in range(3):
            try:
                return llm()
            except aumai_chaos.ChaosError:
                continue
        raise AgentFailedError("three failures")
    try:
        return llm()
    except aumai_chaos.ChaosError as exc:
        if kind == "fallback":
            return search()
        if kind == "absorbed":
            return "I don't know"
        raise AgentFailedError("the model failed") from exc


def _watching(search_name: str) -> list[dict[str, Any]]:
    """An objective on the fallback's component: the experiment observes its calls (a fallback
    into a component the experiment does not observe looks like ``absorbed``)."""
    return [{"component": search_name, "min_calls": 0}]


def _expected(kind: str, llm_name: str) -> dict[str, Any]:
    mechanisms = dict.fromkeys(("retry", "fallback", "absorbed"), 0)
    recovered = 0 if kind == "propagated" else 2
    if kind != "propagated":
        mechanisms[kind] = 2
    rate = recovered / 2
    return {
        "fault_type": "error",
        "component": llm_name,
        "fired": 2,
        "recovered": recovered,
        "propagated": 2 - recovered,
        "unknown": 0,
        "mechanisms": mechanisms,
        "rate": rate,
        # Wilson 95% of 2/2 and 0/2, by hand: (2/(2+z^2), 1) and (0, z^2/(2+z^2)), z^2 =
        # 1.959964^2 = 3.841459: 2/5.841459 = 0.342380 and 3.841459/5.841459 = 0.657620.
        "rate_low": 0.34238 if recovered else 0.0,
        "rate_high": 1.0 if recovered else 0.65762,
    }


def _check(row: Any, kind: str, llm_name: str) -> None:
    got = row.model_dump()
    assert got.pop("recovery_ms_p50") >= 0
    assert got.pop("recovery_ms_p95") >= 0
    assert got == _expected(kind, llm_name)


@pytest.mark.parametrize("kind", KINDS)
def test_a_sync_agent_s_outcomes_are_exact(
    kind: str, tracer_provider: TracerProvider, meter_provider: MeterProvider
) -> None:
    llm_name, search_name, llm, search = _components()
    with aumai_chaos.experiment(
        faults=[{"fault_type": "error", "times": 2}],
        target_components=[llm_name],
        steady_state=_watching(search_name),
        seed=3,
        tracer_provider=tracer_provider,
        meter_provider=meter_provider,
    ) as run:
        for i in range(QUESTIONS):
            try:
                with run.unit(f"question {i}"):
                    _answer(kind, llm, search)
            except AgentFailedError:
                pass
    assert run.result is not None
    (row,) = run.result.summary.recovery
    _check(row, kind, llm_name)
    if kind != "propagated":
        assert row.recovery_ms_p50 > 0


@pytest.mark.parametrize("kind", KINDS)
def test_an_async_agent_s_outcomes_are_exact(kind: str) -> None:
    llm_name, search_name = unique("llm"), unique("search")

    @chaos_target(llm_name)
    async def llm() -> str:
        await asyncio.sleep(0)
        return "answer"

    @chaos_target(search_name)
    async def search() -> str:
        await asyncio.sleep(0)
        return "document"

    async def answer() -> str:
        if kind == "retry":
            for _ in range(3):
                try:
                    return await llm()
                except aumai_chaos.ChaosError:
                    continue
            raise AgentFailedError
        try:
            return await llm()
        except aumai_chaos.ChaosError as exc:
            if kind == "fallback":
                return await search()
            if kind == "absorbed":
                return "?"
            raise AgentFailedError from exc

    async def main() -> Any:
        async with aumai_chaos.experiment(
            faults=[{"fault_type": "error", "times": 2}],
            target_components=[llm_name],
            steady_state=_watching(search_name),
            seed=3,
        ) as run:

            async def question(i: int) -> None:
                try:
                    async with run.unit(f"question {i}"):
                        await answer()
                except AgentFailedError:
                    pass

            # One after the other: the first question meets both faults.
            for i in range(QUESTIONS):
                await question(i)
        return run.result

    result = asyncio.run(main())
    (row,) = result.summary.recovery
    _check(row, kind, llm_name)


@pytest.mark.parametrize("kind", KINDS)
def test_threads_in_a_process_scoped_block_each_have_their_units(kind: str) -> None:
    llm_name, search_name, llm, search = _components()
    with aumai_chaos.experiment(
        faults=[{"fault_type": "error", "times": 2}],
        target_components=[llm_name],
        steady_state=_watching(search_name),
        seed=3,
        scope="process",
    ) as run:
        barrier = threading.Barrier(2)

        def worker(i: int) -> None:
            barrier.wait(5)
            for q in range(QUESTIONS // 2):
                try:
                    with run.unit(f"thread {i} question {q}"):
                        _answer(kind, llm, search)
                except AgentFailedError:
                    pass

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
    assert run.result is not None
    (row,) = run.result.summary.recovery
    _check(row, kind, llm_name)


def test_a_fault_outside_every_unit_is_unknown_and_outcomes_sum_to_the_faults_fired(
    meter_provider: MeterProvider, metric_reader: InMemoryMetricReader
) -> None:
    llm_name, _, llm, search = _components()
    with aumai_chaos.experiment(
        faults=[{"fault_type": "error", "times": 3}],
        target_components=[llm_name],
        seed=3,
        meter_provider=meter_provider,
    ) as run:
        with contextlib.suppress(aumai_chaos.ChaosError):
            llm()  # outside any unit
        with run.unit("retrying"):
            _answer("retry", llm, search)
    assert run.result is not None
    (row,) = run.result.summary.recovery
    assert (row.fired, row.recovered, row.unknown) == (3, 2, 1)
    assert row.rate == pytest.approx(2 / 3, abs=1e-6)
    fired = run.result.summary.total_faults_fired
    assert counter_sum(metric_reader, "chaos.fault.outcomes") == fired == 3
    by = counter_by_attributes(metric_reader, "chaos.fault.outcomes")
    exp_id = run.experiment_id
    base = {"chaos.fault.type": "error", "chaos.component": llm_name, "chaos.experiment.id": exp_id}
    retry = {**base, "chaos.fault.outcome": "recovered", "chaos.fault.recovery": "retry"}
    unknown = {**base, "chaos.fault.outcome": "unknown"}
    assert by == {frozenset(retry.items()): 2, frozenset(unknown.items()): 1}
    (hist,) = points(metric_reader, "chaos.fault.recovery_time")
    assert hist.count == 2


def test_a_unit_still_open_at_the_end_leaves_its_faults_unknown() -> None:
    llm_name, _, llm, _search = _components()
    unit = None
    with aumai_chaos.experiment(
        faults=[{"fault_type": "error", "times": 1}], target_components=[llm_name]
    ) as run:
        unit = run.unit("never ends")
        unit.__enter__()
        with pytest.raises(aumai_chaos.ChaosError):
            llm()
    assert run.result is not None
    (row,) = run.result.summary.recovery
    assert (row.fired, row.unknown) == (1, 1)
    unit.__exit__(None, None, None)  # too late: changes nothing
    assert run.result.summary.recovery[0].unknown == 1


def test_an_invoke_agent_span_is_a_unit(
    tracer_provider: TracerProvider,
    meter_provider: MeterProvider,
    metric_reader: InMemoryMetricReader,
) -> None:
    llm_name, search_name, llm, search = _components()
    tracer = tracer_provider.get_tracer("my-agent")
    with aumai_chaos.experiment(
        faults=[{"fault_type": "error", "times": 2}],
        target_components=[llm_name],
        steady_state=_watching(search_name),
        seed=3,
        tracer_provider=tracer_provider,
        meter_provider=meter_provider,
    ) as run:
        for kind in ("fallback", "propagated"):
            try:
                with (
                    tracer.start_as_current_span(
                        f"invoke_agent {kind}", attributes={"gen_ai.operation.name": "invoke_agent"}
                    ),
                    tracer.start_as_current_span("a step inside"),
                ):
                    _answer(kind, llm, search)
            except AgentFailedError:
                pass
        with tracer.start_as_current_span("not an agent"):
            assert _answer("propagated", llm, search) == "answer"  # no fault left
    assert run.result is not None
    (row,) = run.result.summary.recovery
    assert (row.recovered, row.propagated, row.unknown) == (1, 1, 0)
    assert row.mechanisms["fallback"] == 1
    assert (
        counter_sum(metric_reader, "chaos.fault.outcomes", {"chaos.fault.outcome": "propagated"})
        == 1
    )
    (listed,) = run._run.recovery.propagated()
    assert str(listed.error_type).endswith("AgentFailedError")
    assert (listed.occurrence, listed.unit) == (2, "invoke_agent propagated")


def test_a_run_unit_s_outcome_events_go_to_the_span_around_it(
    tracer_provider: TracerProvider, span_exporter: InMemorySpanExporter
) -> None:
    llm_name, _, llm, search = _components()
    tracer = tracer_provider.get_tracer("mine")
    with (
        aumai_chaos.experiment(
            faults=[{"fault_type": "error", "times": 1}],
            target_components=[llm_name],
            tracer_provider=tracer_provider,
        ) as run,
        tracer.start_as_current_span("question"),
        run.unit("question"),
    ):
        _answer("retry", llm, search)
    (span,) = [s for s in span_exporter.get_finished_spans() if s.name == "question"]
    (event,) = [e for e in span.events if e.name == "chaos.fault.outcome"]
    assert event.attributes is not None
    assert event.attributes["chaos.fault.recovery"] == "retry"


def test_trace_calls_faults_still_gets_outcomes() -> None:
    llm_name, _, llm, search = _components()
    with aumai_chaos.experiment(
        faults=[{"fault_type": "error", "times": 2}],
        target_components=[llm_name],
        trace_calls="faults",
    ) as run:
        for i in range(QUESTIONS):
            with run.unit(f"q{i}"):
                _answer("retry", llm, search)
    assert run.result is not None
    (row,) = run.result.summary.recovery
    assert (row.fired, row.recovered, row.mechanisms["retry"]) == (2, 2, 2)


def test_a_latency_fault_on_a_call_that_succeeds_is_absorbed() -> None:
    llm_name, _, llm, _search = _components()
    with (
        aumai_chaos.experiment(
            faults=[{"fault_type": "latency", "duration_ms": 1, "times": 1}],
            target_components=[llm_name],
        ) as run,
        run.unit("slow"),
    ):
        llm()
    assert run.result is not None
    assert run.result.summary.recovery[0].mechanisms == {"retry": 0, "fallback": 0, "absorbed": 1}


def test_a_unit_s_memory_is_bounded_however_many_calls_and_faults() -> None:
    ledger = UnitLedger("busy")
    t = 0.0
    for i in range(1_000_000):
        t += 1.0
        if i % 2 == 0:
            ledger.fault("error", "llm", i, t)
        ledger.call("llm", i % 2 == 1, t)
    assert len(ledger.faults) == MAX_FAULTS_PER_UNIT
    assert sum(ledger.overflow.values()) == 500_000 - MAX_FAULTS_PER_UNIT
    assert not ledger.unplaced
    assert not ledger.retry.get("llm")
    assert not ledger.hit.get("llm")
    outcomes = ledger.close(None, t)
    assert sum(o.count for o in outcomes) == 500_000
    assert len(outcomes) == MAX_FAULTS_PER_UNIT + 1  # the rest counted in one
    judged = [o for o in outcomes if o.mechanism is not None]
    assert len(judged) == MAX_FAULTS_PER_UNIT
    assert {o.mechanism for o in judged} == {"retry"}
    assert all(o.recovery_ms == 1000.0 for o in judged)


def test_a_workload_iteration_is_a_unit() -> None:
    from aumai_chaos import ExperimentScheduler
    from tests.experiments import workloads
    from tests.experiments.support import experiment

    exp = experiment(
        faults=[{"fault_type": "error", "times": 3}],
        target_components=[workloads.COMPONENT],
        workload="tests.experiments.workloads:sync_iteration",
        seed=1,
    )
    scheduler = ExperimentScheduler()
    result = scheduler.run(scheduler.schedule(exp))
    (row,) = result.summary.recovery
    # sync_iteration lets the fault out: each faulted iteration failed with it.
    assert (row.fired, row.propagated, row.recovered) == (3, 3, 0)
    assert result.summary.workload is not None
    assert result.summary.workload.failures == 3


def test_a_unit_in_a_copied_context_is_still_judged() -> None:
    llm_name, _, llm, search = _components()
    with aumai_chaos.experiment(
        faults=[{"fault_type": "error", "times": 1}], target_components=[llm_name]
    ) as run:
        ctx = contextvars.copy_context()

        def question() -> None:
            with run.unit("copied"):
                _answer("retry", llm, search)

        ctx.run(question)
    assert run.result is not None
    assert run.result.summary.recovery[0].mechanisms["retry"] == 1
    assert trace.get_current_span() is trace.INVALID_SPAN


def test_a_unit_directly_in_a_block_puts_no_event_on_the_experiment_span(
    tracer_provider: TracerProvider, span_exporter: InMemorySpanExporter
) -> None:
    llm_name, _, llm, search = _components()
    with (
        aumai_chaos.experiment(
            faults=[{"fault_type": "error", "times": 1}],
            target_components=[llm_name],
            tracer_provider=tracer_provider,
        ) as run,
        run.unit("question"),
    ):
        _answer("retry", llm, search)
    (experiment_span,) = [
        s for s in span_exporter.get_finished_spans() if s.name == "chaos.experiment"
    ]
    assert not [e for e in experiment_span.events if e.name == "chaos.fault.outcome"]
    assert run.result is not None
    assert run.result.summary.recovery[0].mechanisms["retry"] == 1

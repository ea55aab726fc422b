"""A block's ``workload`` objective is judged over its units of work: each ``run.unit()`` that
ended is one iteration (failed when it raised), with its duration, exactly as a scheduled run's
workload iterations are; and a scheduled run's iterations are never counted twice."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

from opentelemetry.sdk.trace import TracerProvider

import aumai_chaos
from aumai_chaos import ChaosExperiment, Verdict, chaos_target
from tests.experiments.support import unique


class QuestionFailedError(Exception):
    pass


def _tool() -> tuple[str, Callable[[], str]]:
    name = unique("llm")

    @chaos_target(name)
    def tool() -> str:
        return "ok"

    return name, tool


def _block(name: str, objective: dict[str, Any], **extra: Any) -> aumai_chaos.ExperimentBlock:
    return aumai_chaos.experiment(
        faults=[{"fault_type": "latency", "duration_ms": 0, "affected_components": [name]}],
        steady_state=[{"component": "workload", **objective}],
        seed=5,
        **extra,
    )


def _four_units_one_failing(run: Any, tool: Callable[[], str]) -> None:
    for i in range(4):
        try:
            with run.unit(f"question {i}"):
                tool()
                if i == 2:
                    raise QuestionFailedError("no answer")
        except QuestionFailedError:
            pass


def test_a_block_s_units_are_its_workload_iterations() -> None:
    name, tool = _tool()
    with _block(name, {"max_error_rate": 0.5}) as run:
        _four_units_one_failing(run, tool)
    result = run.result
    assert result is not None
    assert result.verdict is Verdict.passed, result.verdict_reason
    wl = result.summary.workload
    assert wl is not None
    assert (wl.iterations, wl.failures, wl.failure_rate) == (4, 1, 0.25)
    assert wl.failure_types == {f"{__name__}.QuestionFailedError": 1}
    assert wl.first_errors == {f"{__name__}.QuestionFailedError": "no answer"}
    (judged,) = [o for o in result.objectives if o.component == "workload"]
    assert (judged.limit, judged.observed, judged.passed) == ("max_error_rate", 0.25, True)


def test_a_block_s_failing_units_deviate_with_the_observed_rate() -> None:
    name, tool = _tool()
    with _block(name, {"max_error_rate": 0.2}) as run:
        _four_units_one_failing(run, tool)
    result = run.result
    assert result is not None
    assert result.verdict is Verdict.deviated
    (judged,) = result.objectives
    assert (judged.component, judged.observed, judged.passed) == ("workload", 0.25, False)
    assert result.verdict_reason is not None
    assert "no units observed" not in result.verdict_reason


def test_every_workload_limit_is_judged_over_the_units() -> None:
    name, tool = _tool()
    objective = {
        "min_success_rate": 0.7,
        "min_calls": 5,
        "max_latency_p50_ms": 60_000.0,
        "max_latency_p95_ms": 60_000.0,
        "max_latency_p99_ms": 60_000.0,
    }
    with _block(name, objective) as run:
        _four_units_one_failing(run, tool)
    result = run.result
    assert result is not None
    by_limit = {o.limit: (o.observed, o.passed) for o in result.objectives}
    assert by_limit["min_success_rate"] == (0.75, True)
    assert by_limit["min_calls"] == (4.0, False)  # 4 units, 5 asked
    for limit in ("max_latency_p50_ms", "max_latency_p95_ms", "max_latency_p99_ms"):
        observed, passed = by_limit[limit]
        assert passed
        assert observed >= 0.0
    assert result.verdict is Verdict.deviated


def test_units_in_which_no_fault_fired_are_counted() -> None:
    name, _ = _tool()
    config = ChaosExperiment(
        experiment_id=unique("block"),
        name="quiet",
        duration_seconds=3600,
        faults=[{"fault_type": "error", "times": 1, "affected_components": [name]}],
        steady_state=[{"component": "workload", "min_calls": 3}],
        require_faults_fired=False,
    )
    with aumai_chaos.experiment(config) as run:
        for i in range(3):
            with run.unit(f"idle {i}"):
                pass  # no call at all: no fault can fire here
    result = run.result
    assert result is not None
    assert result.summary.workload is not None
    assert (result.summary.workload.iterations, result.summary.workload.failures) == (3, 0)
    assert result.summary.recovery == []  # no fault fired: nothing to judge for recovery
    assert result.verdict is Verdict.passed, result.verdict_reason


def test_async_units_are_iterations() -> None:
    name = unique("llm")

    @chaos_target(name)
    async def tool() -> str:
        return "ok"

    async def main() -> aumai_chaos.ExperimentBlock:
        async with _block(name, {"max_error_rate": 0.2}) as run:

            async def question(i: int) -> None:
                async with run.unit(f"question {i}"):
                    await tool()
                    if i == 0:
                        raise QuestionFailedError("no answer")

            await asyncio.gather(*(question(i) for i in range(4)), return_exceptions=True)
        return run

    run = asyncio.run(main())
    assert run.result is not None
    assert run.result.summary.workload is not None
    assert run.result.summary.workload.iterations == 4
    assert run.result.verdict is Verdict.deviated
    assert [o.observed for o in run.result.objectives] == [0.25]


def test_units_in_threads_of_a_process_scoped_block_are_iterations() -> None:
    name, tool = _tool()
    with _block(name, {"max_error_rate": 0.3}, scope="process") as run:
        barrier = threading.Barrier(2)

        def worker(i: int) -> None:
            barrier.wait(5)
            for q in range(3):
                try:
                    with run.unit(f"thread {i} question {q}"):
                        tool()
                        if (i, q) == (1, 2):
                            raise QuestionFailedError("no answer")
                except QuestionFailedError:
                    pass

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
    result = run.result
    assert result is not None
    wl = result.summary.workload
    assert wl is not None
    assert (wl.iterations, wl.failures) == (6, 1)
    assert result.verdict is Verdict.passed, result.verdict_reason


def test_a_unit_ending_after_the_block_is_not_counted() -> None:
    name, tool = _tool()
    with _block(name, {"max_error_rate": 0.5}) as run:
        with run.unit("in time"):
            tool()
        late = run.unit("late")
        late.__enter__()
    late.__exit__(None, None, None)
    assert run.result is not None
    assert run.result.summary.workload is not None
    assert run.result.summary.workload.iterations == 1


def test_a_block_without_units_is_still_inconclusive() -> None:
    name, tool = _tool()
    with _block(name, {"max_error_rate": 0.5}) as run:
        tool()
    assert run.result is not None
    assert run.result.verdict is Verdict.inconclusive
    assert "no units observed" in (run.result.verdict_reason or "")


def test_a_scheduled_run_counts_each_iteration_once() -> None:
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
    wl = result.summary.workload
    assert wl is not None
    iterations = [o for o in result.observations if o.event == "iteration"]
    assert result.dropped_observations == 0
    assert wl.iterations == len(iterations)
    assert wl.failures == sum(1 for o in iterations if o.details["status"] == "error") == 3


def test_an_invoke_agent_span_outside_every_unit_is_an_iteration_and_never_twice(
    tracer_provider: TracerProvider,
) -> None:
    name, tool = _tool()
    tracer = tracer_provider.get_tracer("my-agent")
    agent = {"gen_ai.operation.name": "invoke_agent"}
    with _block(name, {"max_error_rate": 0.5}, tracer_provider=tracer_provider) as run:
        # Two top-level agent runs (one fails); a sub-agent inside the first is not another.
        with (
            tracer.start_as_current_span("invoke_agent a", attributes=agent),
            tracer.start_as_current_span("invoke_agent sub", attributes=agent),
        ):
            tool()
        try:
            with tracer.start_as_current_span("invoke_agent b", attributes=agent):
                raise QuestionFailedError("no answer")
        except QuestionFailedError:
            pass
        # Inside a run.unit(): the unit is the iteration, the agent span is not another.
        with run.unit("question"), tracer.start_as_current_span("invoke_agent c", attributes=agent):
            tool()
    result = run.result
    assert result is not None
    wl = result.summary.workload
    assert wl is not None
    assert (wl.iterations, wl.failures) == (3, 1)
    assert wl.failure_types == {f"{__name__}.QuestionFailedError": 1}
    assert result.verdict is Verdict.passed, result.verdict_reason

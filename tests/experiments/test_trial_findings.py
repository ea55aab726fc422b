"""What a new user's trial found (issue 11), at the level of one experiment run: a broken
workload, the silent kill switch, misspelled components, and which observations a bounded store
keeps."""

from __future__ import annotations

import contextlib
import threading
import time
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider

import aumai_chaos
from aumai_chaos import (
    ChaosError,
    ExperimentObserver,
    ExperimentScheduler,
    ExperimentStatus,
    FaultConfig,
    Verdict,
    WorkloadError,
    chaos_target,
)
from aumai_chaos.experiments.workload import FAILURE_BACKOFF_SECONDS, load_workload
from tests.experiments import workloads
from tests.experiments.support import experiment, unique


def run(exp: Any, **kwargs: Any) -> Any:
    scheduler = ExperimentScheduler()
    return scheduler.run(scheduler.schedule(exp), **kwargs)


# -- 1. a workload that fails on every call --------------------------------------------------


def test_a_workload_that_needs_arguments_is_refused_when_it_loads() -> None:
    with pytest.raises(WorkloadError, match=r"no arguments.*needs_arg\(a: 'object'\)"):
        load_workload("tests.experiments.workloads:needs_arg")


def test_a_workload_callable_that_needs_arguments_fails_the_run() -> None:
    result = run(experiment(duration_seconds=0.2), workload=workloads.needs_arg)
    assert result.status is ExperimentStatus.failed
    assert "no arguments" in (result.error or "")


def test_a_workload_failing_on_every_iteration_fails_the_run_with_its_first_exception() -> None:
    exp = experiment(
        duration_seconds=0.3,
        faults=[FaultConfig(fault_type="error", probability=0.0, affected_components=["x"])],
        workload="tests.experiments.workloads:always_fails",
    )
    result = run(exp)
    assert result.status is ExperimentStatus.failed
    assert result.verdict is Verdict.failed
    expected = "RuntimeError: the workload forgot its configuration"
    assert "workload is broken" in (result.error or "")
    assert expected in (result.error or "")
    assert result.verdict_reason == result.error
    wl = result.summary["workload"]
    assert wl["failures"] == wl["iterations"] > 0
    assert wl["first_errors"] == {"RuntimeError": "the workload forgot its configuration"}
    # Failing iterations back off (1 ms doubling to 10 ms): no busy loop of 245,000 a second.
    assert wl["iterations"] <= 0.3 / FAILURE_BACKOFF_SECONDS[0] + 10


def test_a_workload_that_fails_only_after_faults_fire_is_not_called_broken() -> None:
    component = unique("dep")

    @chaos_target(component)
    def dep() -> None:
        return None

    exp = experiment(
        duration_seconds=0.3,
        faults=[FaultConfig(fault_type="error", probability=1.0, affected_components=[component])],
        require_faults_fired=False,
    )
    result = run(exp, workload=dep)
    assert result.status is ExperimentStatus.completed
    assert result.summary["workload"]["failure_rate"] == 1.0
    assert set(result.summary["workload"]["first_errors"]) == {"aumai_chaos.errors.ChaosError"}


# -- 2. the kill switch ---------------------------------------------------------------------


def test_with_the_kill_switch_on_calls_are_counted_and_the_verdict_blames_no_one() -> None:
    component = unique("llm")
    calls = 0

    @chaos_target(component)
    def llm() -> None:
        nonlocal calls
        calls += 1
        time.sleep(0.001)

    exp = experiment(
        duration_seconds=0.3,
        faults=[FaultConfig(fault_type="error", probability=1.0, affected_components=[component])],
        steady_state=[{"component": component, "max_error_rate": 0.0}],
    )
    aumai_chaos.disable()
    try:
        result = run(exp, workload=llm)
    finally:
        aumai_chaos.enable()
    assert result.injection_disabled is True
    assert result.summary["total_faults_fired"] == 0
    assert result.summary["components"][component]["calls"] == calls > 0
    assert result.verdict is Verdict.inconclusive
    assert "no fault could fire" in (result.verdict_reason or "")
    assert any("disabled" in n for n in result.summary["notes"])


def test_without_the_kill_switch_the_result_says_injection_was_on() -> None:
    result = run(experiment(duration_seconds=0.1))
    assert result.injection_disabled is False


# -- 5. misspelled components -------------------------------------------------------------


def test_a_component_no_call_reached_is_named_with_a_did_you_mean() -> None:
    real = unique("toolbox")

    @chaos_target(real)
    def tool() -> None:
        time.sleep(0.001)

    typo = real[:-1]  # "toolbox-N" without its last character
    exp = experiment(
        duration_seconds=0.2,
        faults=[FaultConfig(fault_type="latency", duration_ms=1, affected_components=[typo])],
    )
    result = run(exp, workload=tool)
    [note] = [n for n in result.summary["notes"] if typo in n]
    assert f"component {typo!r} (named by a fault) was never called" in note
    assert "did you mean" in note
    assert result.verdict is Verdict.inconclusive
    assert typo in (result.verdict_reason or "")


# -- 11. a bounded store keeps every fault up to its own bound ----------------------------


def test_calls_never_push_faults_out_of_a_bounded_store() -> None:
    provider = TracerProvider()
    observer = ExperimentObserver(max_observations=5)
    provider.add_span_processor(observer)
    for i in range(3):
        observer.record_fault({"chaos.fault.type": "latency", "chaos.component": f"c{i}"})
    for _ in range(100):
        observer.record_iteration(1.0, None)
    kept = observer.get_observations()
    faults = [o for o in kept if o.event == "fault_injected"]
    assert [o.component for o in faults] == ["c0", "c1", "c2"]
    assert len([o for o in kept if o.event == "iteration"]) == 5
    assert observer.dropped == 95
    assert len(observer) == 8
    # Oldest first, across kinds.
    assert [o.timestamp for o in kept] == sorted(o.timestamp for o in kept)
    provider.shutdown()


def test_faults_have_their_own_bound() -> None:
    observer = ExperimentObserver(max_observations=2)
    for i in range(4):
        observer.record_fault({"chaos.fault.type": "error", "chaos.component": f"c{i}"})
    assert [o.component for o in observer.get_observations()] == ["c2", "c3"]
    assert observer.dropped == 2


# -- 9. observer events encode no None as "null" ------------------------------------------


def test_observe_leaves_none_out_of_span_event_attributes() -> None:
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    observer = ExperimentObserver()
    with provider.get_tracer("t").start_as_current_span("work"), observer.scope("tool", "call"):
        pass
    [span] = exporter.get_finished_spans()
    [event] = span.events
    assert "error_type" not in event.attributes
    assert "null" not in event.attributes.values()
    assert observer.get_observations()[0].details["error_type"] is None
    provider.shutdown()


def test_a_raising_fault_message_is_kept_per_component() -> None:
    component = unique("api")

    @chaos_target(component)
    def api() -> None:
        return None

    def workload() -> None:
        with contextlib.suppress(ChaosError):
            api()
        threading.Event().wait(0.001)

    exp = experiment(
        duration_seconds=0.2,
        faults=[
            FaultConfig(
                fault_type="error",
                probability=1.0,
                error_message="upstream said no",
                affected_components=[component],
            )
        ],
    )
    result = run(exp, workload=workload)
    first = result.summary["components"][component]["first_errors"]
    [(kind, message)] = first.items()
    assert kind == "aumai_chaos.errors.ChaosError"
    assert "upstream said no" in message

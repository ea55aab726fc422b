"""ExperimentObserver: a span processor that keeps bounded, thread-safe observations."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Status, StatusCode

from aumai_chaos import (
    ChaosError,
    ExperimentObserver,
    ExperimentScheduler,
    FaultConfig,
    Observation,
    chaos_target,
)
from tests.experiments.support import experiment, spans, unique
from tests.helpers import run_python

OBSERVED = unique("obs.component")


@chaos_target(OBSERVED)
def observed_call(fail: bool = False) -> None:
    if fail:
        raise KeyError("own")


def is_utc(value: datetime) -> bool:
    return value.utcoffset() == timedelta(0)


def test_it_is_a_span_processor() -> None:
    assert issubclass(ExperimentObserver, SpanProcessor)
    observer = ExperimentObserver()
    assert observer.force_flush() is True
    observer.shutdown()


def test_it_records_fault_and_call_observations_from_spans(
    tracer_provider: TracerProvider, span_exporter: InMemorySpanExporter
) -> None:
    """Added to a provider by the user, it sees an experiment's spans like any processor."""
    observer = ExperimentObserver()
    tracer_provider.add_span_processor(observer)
    scheduler = ExperimentScheduler(tracer_provider=tracer_provider)
    exp = experiment(
        duration_seconds=0.2,
        seed=17,
        faults=[
            FaultConfig(fault_type="latency", probability=0.3, duration_ms=1),
            FaultConfig(fault_type="error", probability=0.3, error_code=429),
        ],
        target_components=[OBSERVED],
    )
    n = 0

    def workload() -> None:
        nonlocal n
        n += 1
        observed_call(fail=n % 5 == 0)

    result = scheduler.run(scheduler.schedule(exp), workload=workload)

    events = [e for s in spans(span_exporter) for e in s.events if e.name == "chaos.fault.injected"]
    faults = observer.get_observations(event="fault_injected")
    assert len(faults) == len(events) == result.summary["total_faults_fired"] > 0
    for obs, event in zip(faults, events, strict=True):
        assert obs.component == OBSERVED
        assert obs.details == dict(event.attributes or {})
        assert obs.details["chaos.experiment.id"] == exp.experiment_id
        assert is_utc(obs.timestamp)

    component_spans = spans(span_exporter, OBSERVED)
    calls = observer.get_observations(OBSERVED, "call")
    assert len(calls) == len(component_spans) == n
    for obs, span in zip(calls, component_spans, strict=True):
        assert span.end_time is not None
        assert span.start_time is not None
        assert obs.timestamp == datetime.fromtimestamp(span.end_time / 1e9, tz=UTC)
        assert obs.details["duration_ms"] == round((span.end_time - span.start_time) / 1e6, 3)
        if span.status.status_code is StatusCode.ERROR:
            assert obs.details["status"] == "error"
            assert obs.details["error_type"] == (span.attributes or {})["error.type"]
        else:
            assert obs.details == {**obs.details, "status": "ok", "error_type": None}
    assert {o.details["error_type"] for o in calls} >= {"KeyError"}
    # It took nothing from the chaos.experiment or chaos.fault spans themselves.
    assert {o.event for o in observer.get_observations()} == {"fault_injected", "call"}


def test_hand_made_spans_follow_the_same_rules(tracer_provider: TracerProvider) -> None:
    observer = ExperimentObserver()
    scoped = ExperimentObserver(experiment_id="mine")
    tracer_provider.add_span_processor(observer)
    tracer_provider.add_span_processor(scoped)
    tracer = tracer_provider.get_tracer("test")
    fault = {"chaos.fault.type": "error", "chaos.component": "db", "chaos.experiment.id": "mine"}
    with tracer.start_as_current_span(
        "db", attributes={"chaos.component": "db", "chaos.experiment.id": "mine"}
    ) as span:
        span.add_event("chaos.fault.injected", fault)
        span.set_status(Status(StatusCode.ERROR))
        span.set_attribute("error.type", "aumai_chaos.errors.ChaosError")
    with tracer.start_as_current_span(
        "db", attributes={"chaos.component": "db", "chaos.experiment.id": "theirs"}
    ) as span:
        span.add_event("chaos.fault.injected", {**fault, "chaos.experiment.id": "theirs"})
    with tracer.start_as_current_span("not-a-component", attributes={"chaos.component": "db"}):
        pass
    with tracer.start_as_current_span("plain"):
        pass

    assert [(o.component, o.event) for o in observer.get_observations()] == [
        ("db", "fault_injected"),
        ("db", "call"),
        ("db", "fault_injected"),
        ("db", "call"),
    ]
    assert [(o.component, o.event) for o in scoped.get_observations()] == [
        ("db", "fault_injected"),
        ("db", "call"),
    ]
    [call] = scoped.get_observations(event="call")
    assert call.details["status"] == "error"
    assert call.details["error_type"] == "aumai_chaos.errors.ChaosError"
    summary = scoped.summary()
    assert summary["total_faults_fired"] == 1
    assert summary["errors_by_type"] == {"error": 1}
    assert summary["components"]["db"]["calls"] == 1


def test_on_end_never_raises(tracer_provider: TracerProvider) -> None:
    class Broken:
        name = "x"
        attributes = None
        events = None  # not iterable: the observer's own code fails

    observer = ExperimentObserver()
    observer.on_end(Broken())  # type: ignore[arg-type]
    observer.on_start(None)  # type: ignore[arg-type]
    assert observer.get_observations() == []


# -- observe / scope -----------------------------------------------------------------------


def test_observe_works_without_any_span() -> None:
    observer = ExperimentObserver()
    before = datetime.now(UTC)
    obs = observer.observe("tool", "result", {"keys": ["a", "b"]})
    assert isinstance(obs, Observation)
    assert (obs.component, obs.event, obs.details) == ("tool", "result", {"keys": ["a", "b"]})
    assert is_utc(obs.timestamp)
    assert before <= obs.timestamp <= datetime.now(UTC)
    assert observer.get_observations() == [obs]
    assert observer.observe("tool", "bare").details == {}


def test_observe_adds_an_event_to_the_current_recording_span(
    tracer_provider: TracerProvider, span_exporter: InMemorySpanExporter
) -> None:
    observer = ExperimentObserver()
    tracer = tracer_provider.get_tracer("test")
    with tracer.start_as_current_span("work"):
        observer.observe(
            "tool", "result", {"n": 3, "ok": True, "keys": ["a"], "nested": {"b": [1, 2]}}
        )
        with observer.scope("tool", "step"):
            pass
    [span] = spans(span_exporter, "work")
    result, step = span.events
    assert result.name == "result"
    assert dict(result.attributes or {}) == {
        "chaos.component": "tool",
        "n": 3,
        "ok": True,
        "keys": ("a",),
        "nested": json.dumps({"b": [1, 2]}),
    }
    assert step.name == "step"
    assert (step.attributes or {})["status"] == "ok"
    assert len(observer) == 2


def test_scope_times_a_block_and_lets_its_exception_through() -> None:
    observer = ExperimentObserver()
    with observer.scope("tool", "tool_call") as scope:
        time.sleep(0.02)
    assert scope is not None
    boom = KeyError("boom")
    with pytest.raises(KeyError) as info, observer.scope("tool", "tool_call"):
        raise boom
    assert info.value is boom
    ok, failed = observer.get_observations()
    assert ok.details["status"] == "ok"
    assert ok.details["error_type"] is None
    assert ok.details["duration_ms"] >= 20
    assert failed.details["status"] == "error"
    assert failed.details["error_type"] == "KeyError"
    assert all(is_utc(o.timestamp) for o in (ok, failed))


@pytest.mark.asyncio
async def test_scope_works_in_async_with() -> None:
    observer = ExperimentObserver()
    async with observer.scope("llm", "completion"):
        await asyncio.sleep(0.01)
    with pytest.raises(TimeoutError):
        async with observer.scope("llm", "completion"):
            raise TimeoutError
    ok, failed = observer.get_observations(event="completion")
    assert ok.details["status"] == "ok"
    assert ok.details["duration_ms"] >= 10
    assert failed.details["error_type"] == "TimeoutError"


def test_observe_and_scope_with_no_sdk_configured_at_all() -> None:
    result = run_python(
        """
        import asyncio, json
        from opentelemetry import trace
        from aumai_chaos import ExperimentObserver

        observer = ExperimentObserver()
        observer.observe("tool", "result", {"k": 1})
        with observer.scope("tool", "call"):
            pass
        try:
            with observer.scope("tool", "call"):
                raise ValueError("x")
        except ValueError:
            pass

        async def main():
            async with observer.scope("llm", "completion"):
                await asyncio.sleep(0)

        asyncio.run(main())
        print(json.dumps({
            "provider": type(trace.get_tracer_provider()).__name__,
            "observations": [[o.component, o.event, o.details.get("status")]
                             for o in observer.get_observations()],
            "utc": all(o.timestamp.utcoffset().total_seconds() == 0
                       for o in observer.get_observations()),
        }))
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    out = json.loads(result.stdout)
    assert out == {
        "provider": "ProxyTracerProvider",
        "observations": [
            ["tool", "result", None],
            ["tool", "call", "ok"],
            ["tool", "call", "error"],
            ["llm", "completion", "ok"],
        ],
        "utc": True,
    }


# -- the store ----------------------------------------------------------------------------


def test_the_store_is_bounded_and_counts_what_it_drops() -> None:
    observer = ExperimentObserver(max_observations=5)
    for i in range(20):
        observer.observe("c", "e", {"i": i})
    kept = observer.get_observations()
    assert len(kept) == len(observer) == 5
    assert [o.details["i"] for o in kept] == [15, 16, 17, 18, 19]  # the newest are kept
    assert observer.dropped == 15
    assert observer.summary()["observations_dropped"] == 15
    observer.clear()
    assert (len(observer), observer.dropped) == (0, 0)


def test_a_zero_bound_keeps_nothing_and_a_negative_one_is_refused() -> None:
    observer = ExperimentObserver(max_observations=0)
    for _ in range(3):
        observer.observe("c", "e")
    assert observer.get_observations() == []
    assert observer.dropped == 3
    with pytest.raises(ValueError, match="max_observations"):
        ExperimentObserver(max_observations=-1)


def test_tallies_stay_exact_when_observations_are_dropped() -> None:
    scheduler = ExperimentScheduler(max_observations=5)
    exp = experiment(
        duration_seconds=0.2,
        faults=[FaultConfig(fault_type="error", affected_components=[OBSERVED])],
    )
    calls = faults = 0

    def workload() -> None:
        nonlocal calls, faults
        for _ in range(10):
            calls += 1
            try:
                observed_call()
            except ChaosError:
                faults += 1

    result = scheduler.run(scheduler.schedule(exp), workload=workload)
    iterations = result.summary["workload"]["iterations"]
    assert iterations >= 1
    assert result.summary["total_faults_fired"] == faults > 0
    assert result.summary["components"][OBSERVED]["calls"] == calls
    # Observations made: one per fault, one per call, one per iteration. Faults are bounded on
    # their own (5 kept), calls and iterations share the other bound (5 kept).
    assert len(result.observations) == 10
    assert len([o for o in result.observations if o.event == "fault_injected"]) == 5
    assert result.dropped_observations == faults + calls + iterations - 10
    assert result.summary["observations_dropped"] == result.dropped_observations


@pytest.mark.parametrize("bound", [10_000, 1_000])
def test_observe_is_thread_safe(bound: int) -> None:
    observer = ExperimentObserver(max_observations=bound)
    start = threading.Barrier(8)

    def hammer(worker: int) -> None:
        start.wait()
        for i in range(1000):
            observer.observe(f"w{worker}", "tick", {"i": i})

    threads = [threading.Thread(target=hammer, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(observer.get_observations()) == min(bound, 8000)
    assert observer.dropped == 8000 - min(bound, 8000)
    if bound >= 8000:
        for w in range(8):
            mine = observer.get_observations(component=f"w{w}")
            assert [o.details["i"] for o in mine] == list(range(1000))


def test_get_observations_filters_and_snapshots() -> None:
    observer = ExperimentObserver()
    observer.observe("a", "x")
    observer.observe("b", "x")
    time.sleep(0.002)
    middle = datetime.now(UTC)
    time.sleep(0.002)
    observer.observe("a", "y")
    assert [o.component for o in observer.get_observations(event="x")] == ["a", "b"]
    assert [o.event for o in observer.get_observations("a")] == ["x", "y"]
    assert [o.event for o in observer.get_observations("a", "y")] == ["y"]
    assert [o.event for o in observer.get_observations(since=middle)] == ["y"]
    assert observer.get_observations("c") == []
    snapshot = observer.get_observations()
    observer.observe("c", "z")
    assert len(snapshot) == 3
    assert [o.component for o in observer] == ["a", "b", "a", "c"]

"""Faults in what we depend on: a tracer or meter provider that raises inside our code.

Each broken provider is a small subclass of an SDK or API class. Whatever breaks, decorated user
calls return their values and raise only the injected faults, ``FaultInjector`` works, and an
experiment completes on time with a truthful summary, leaving the caller's context clean.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

import pytest
from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import INVALID_SPAN

from aumai_chaos import (
    ChaosError,
    ChaosExperiment,
    ChaosTimeoutError,
    ExperimentScheduler,
    ExperimentStatus,
    FaultConfig,
    FaultInjector,
    InjectedFaultError,
    ResourceExhaustedError,
    chaos_monkey,
    chaos_target,
    resilience_test,
)
from tests.experiments.support import Background, unique


class BrokenError(Exception):
    """What the broken providers raise."""


# -- tracer side ---------------------------------------------------------------------------------


class GetTracerRaises(TracerProvider):
    """An SDK provider whose ``get_tracer`` raises."""

    def get_tracer(self, *args: Any, **kwargs: Any) -> Any:
        raise BrokenError("get_tracer")


class ApiGetTracerRaises(trace.NoOpTracerProvider):
    """An API provider (no SDK) whose ``get_tracer`` raises."""

    def get_tracer(self, *args: Any, **kwargs: Any) -> Any:
        raise BrokenError("get_tracer")


class StartSpanRaisesTracer(trace.NoOpTracer):
    def start_span(self, *args: Any, **kwargs: Any) -> Any:
        raise BrokenError("start_span")

    def start_as_current_span(self, *args: Any, **kwargs: Any) -> Any:
        raise BrokenError("start_as_current_span")


class StartSpanRaises(TracerProvider):
    """An SDK provider whose tracers' ``start_span`` raises."""

    def get_tracer(self, *args: Any, **kwargs: Any) -> Any:
        return StartSpanRaisesTracer()


class RaisingSpan(trace.NonRecordingSpan):
    """A span that says it records, and raises from everything else."""

    def __init__(self) -> None:
        super().__init__(INVALID_SPAN.get_span_context())

    def is_recording(self) -> bool:
        return True

    def _broken(self, *args: Any, **kwargs: Any) -> Any:
        raise BrokenError("span method")

    set_attribute = set_attributes = add_event = add_link = _broken
    update_name = set_status = record_exception = end = _broken


class SpanMethodsRaiseTracer(trace.NoOpTracer):
    def start_span(self, *args: Any, **kwargs: Any) -> Any:
        return RaisingSpan()


class SpanMethodsRaise(trace.NoOpTracerProvider):
    """An API provider whose spans raise from every method."""

    def get_tracer(self, *args: Any, **kwargs: Any) -> Any:
        return SpanMethodsRaiseTracer()


# -- meter side ----------------------------------------------------------------------------------


class GetMeterRaises(MeterProvider):
    """An SDK provider whose ``get_meter`` raises."""

    def get_meter(self, *args: Any, **kwargs: Any) -> Any:
        raise BrokenError("get_meter")


class RaisingCounter(metrics.NoOpCounter):
    def add(self, *args: Any, **kwargs: Any) -> None:
        raise BrokenError("add")


class RaisingUpDownCounter(metrics.NoOpUpDownCounter):
    def add(self, *args: Any, **kwargs: Any) -> None:
        raise BrokenError("add")


class RaisingHistogram(metrics.NoOpHistogram):
    def record(self, *args: Any, **kwargs: Any) -> None:
        raise BrokenError("record")


class RaisingInstrumentsMeter(metrics.NoOpMeter):
    def create_counter(self, name: str, *args: Any, **kwargs: Any) -> Any:
        return RaisingCounter(name)

    def create_up_down_counter(self, name: str, *args: Any, **kwargs: Any) -> Any:
        return RaisingUpDownCounter(name)

    def create_histogram(self, name: str, *args: Any, **kwargs: Any) -> Any:
        return RaisingHistogram(name)


class InstrumentsRaise(metrics.NoOpMeterProvider):
    """An API provider whose instruments raise from ``add`` and ``record``."""

    def get_meter(self, *args: Any, **kwargs: Any) -> Any:
        return RaisingInstrumentsMeter("broken")


class CreateCounterRaisesMeter(metrics.NoOpMeter):
    def create_counter(self, *args: Any, **kwargs: Any) -> Any:
        raise BrokenError("create_counter")


class CreateInstrumentRaises(MeterProvider):
    """An SDK provider whose meters cannot create instruments."""

    def get_meter(self, *args: Any, **kwargs: Any) -> Any:
        return CreateCounterRaisesMeter("broken")


TRACERS: dict[str, Callable[[], Any]] = {
    "sdk-get_tracer": lambda: GetTracerRaises(shutdown_on_exit=False),
    "api-get_tracer": ApiGetTracerRaises,
    "start_span": lambda: StartSpanRaises(shutdown_on_exit=False),
    "span-methods": SpanMethodsRaise,
}
METERS: dict[str, Callable[[], Any]] = {
    "get_meter": lambda: GetMeterRaises(shutdown_on_exit=False),
    "add-record": InstrumentsRaise,
    "create_counter": lambda: CreateInstrumentRaises(shutdown_on_exit=False),
}
CASES = [
    *[pytest.param(tp, None, id=f"tracer:{name}") for name, tp in TRACERS.items()],
    *[pytest.param(None, mp, id=f"meter:{name}") for name, mp in METERS.items()],
    pytest.param(TRACERS["start_span"], METERS["add-record"], id="both:start_span+add-record"),
    pytest.param(TRACERS["span-methods"], METERS["get_meter"], id="both:span-methods+get_meter"),
]


def build(factory: Callable[[], Any] | None) -> Any:
    return factory() if factory is not None else None


# -- decorators and the injector -------------------------------------------------------------------


@pytest.mark.parametrize(("tracer", "meter"), CASES)
def test_decorated_calls_return_their_values_and_raise_only_injected_faults(
    tracer: Callable[[], Any] | None, meter: Callable[[], Any] | None
) -> None:
    tp, mp = build(tracer), build(meter)
    providers = {"tracer_provider": tp, "meter_provider": mp}
    token = object()

    @chaos_monkey(fault_type="latency", duration_ms=1, **providers)
    def slow(value: object) -> object:
        return value

    @chaos_monkey(fault_type="error", error_code=503, **providers)
    def failing() -> None:
        raise AssertionError("the fault fires instead of the call")

    @resilience_test(
        faults=[
            FaultConfig(fault_type="latency", duration_ms=1),
            FaultConfig(fault_type="timeout", duration_ms=1),
        ],
        **providers,
    )
    def timing_out() -> None:
        raise AssertionError("the fault fires instead of the call")

    @chaos_monkey(fault_type="resource_exhaustion", **providers)
    async def exhausted() -> None:
        raise AssertionError("the fault fires instead of the call")

    @chaos_monkey(fault_type="latency", duration_ms=1, **providers)
    async def aslow(value: object) -> object:
        await asyncio.sleep(0)
        return value

    @chaos_monkey(fault_type="latency", duration_ms=1, **providers)
    def numbers(n: int) -> Any:
        yield from range(n)

    for _ in range(3):  # also after the first failure was logged
        assert slow(token) is token
        with pytest.raises(ChaosError) as info:
            failing()
        assert info.value.error_code == 503
        with pytest.raises(ChaosTimeoutError):
            timing_out()
        with pytest.raises(ResourceExhaustedError):
            asyncio.run(exhausted())
        assert asyncio.run(aslow(token)) is token
        assert list(numbers(3)) == [0, 1, 2]
    assert trace.get_current_span() is INVALID_SPAN  # nothing of ours left attached


@pytest.mark.parametrize(("tracer", "meter"), CASES)
def test_the_injector_works(
    tracer: Callable[[], Any] | None, meter: Callable[[], Any] | None
) -> None:
    injector = FaultInjector(seed=1, tracer_provider=build(tracer), meter_provider=build(meter))
    latency = FaultConfig(fault_type="latency", duration_ms=1)
    error = FaultConfig(fault_type="error", error_code=429)
    never = FaultConfig(fault_type="error", probability=0.0)
    assert injector.inject(latency) is True
    assert injector.inject(never) is False
    with pytest.raises(ChaosError) as info:
        injector.inject(error, component="llm")
    assert info.value.fault == error
    assert asyncio.run(injector.ainject(latency, component="llm")) is True
    with pytest.raises(ChaosTimeoutError):
        asyncio.run(injector.ainject(FaultConfig(fault_type="timeout", duration_ms=1)))


# -- experiments -----------------------------------------------------------------------------------

TARGET = unique("provider.target")
ATARGET = unique("provider.atarget")


@chaos_target(TARGET)
def target(value: int) -> int:
    return value * 2


@chaos_target(ATARGET)
async def atarget(value: int) -> int:
    await asyncio.sleep(0)
    return value * 3


@pytest.mark.parametrize(("tracer", "meter"), CASES)
def test_an_experiment_completes_truthfully_and_callers_are_unaffected(
    tracer: Callable[[], Any] | None,
    meter: Callable[[], Any] | None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    scheduler = ExperimentScheduler(tracer_provider=build(tracer), meter_provider=build(meter))
    exp = ChaosExperiment(
        experiment_id=unique("provider-exp"),
        name="broken providers",
        duration_seconds=0.3,
        tick_seconds=0.1,
        seed=11,
        faults=[
            FaultConfig(fault_type="error", probability=0.3, affected_components=[TARGET]),
            FaultConfig(fault_type="latency", duration_ms=1, affected_components=[TARGET]),
            FaultConfig(fault_type="timeout", duration_ms=1, probability=0.2),
        ],
        target_components=[TARGET, ATARGET],
    )
    unexpected: list[BaseException] = []
    calls = {"made": 0, "injected": 0}
    loop = asyncio.new_event_loop()

    def workload() -> None:
        for value, fn, expected in ((1, target, 2), (2, None, 6)):
            calls["made"] += 1
            try:
                got = fn(value) if fn is not None else loop.run_until_complete(atarget(value))
                assert got == expected
            except InjectedFaultError:
                calls["injected"] += 1
            except BaseException as exc:  # anything else reached the caller
                unexpected.append(exc)

    caplog.set_level(logging.WARNING, logger="aumai_chaos")
    t0 = time.perf_counter()
    background = Background(scheduler, scheduler.schedule(exp), workload=workload).start()
    result = background.join(10)
    elapsed = time.perf_counter() - t0
    loop.close()

    assert not unexpected, unexpected
    assert elapsed < 0.3 + 5.0, elapsed  # no hang on our telemetry
    assert not any("abandoned" in n for n in result.summary.get("notes", []))  # no grace spent
    assert result.status is ExperimentStatus.completed, result.error
    assert calls["made"] > 20
    assert calls["injected"] > 0
    # Truthful: the per-fault report, the summary and the callers agree.
    summary = result.summary
    total = summary["total_faults_fired"]
    assert sum(f["fired"] for f in summary["faults"]) == total > 0
    assert sum(summary["errors_by_type"].values()) == calls["injected"]
    assert summary["workload"]["iterations"] * 2 == calls["made"]
    calls_seen = sum(c["calls"] for c in summary["components"].values())
    assert calls_seen == calls["made"]
    # Failures are logged (once per kind for the hot path), never raised or logged as errors.
    assert all(r.levelno <= logging.WARNING for r in caplog.records)


def test_a_tracer_that_cannot_start_the_experiment_span_is_reported(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The run goes on through the private provider (observed, not exported) and says so."""
    scheduler = ExperimentScheduler(tracer_provider=StartSpanRaises(shutdown_on_exit=False))
    exp = ChaosExperiment(
        experiment_id=unique("provider-said"),
        name="said",
        duration_seconds=0.1,
        tick_seconds=0.05,
        faults=[FaultConfig(fault_type="error")],
    )
    caplog.set_level(logging.WARNING, logger="aumai_chaos")
    result = scheduler.run(scheduler.schedule(exp))
    assert result.status is ExperimentStatus.completed
    assert result.summary["total_faults_fired"] == 2  # one per tick, observed all the same
    messages = [r.getMessage() for r in caplog.records]
    assert any(
        "tracer failed to start experiment" in m and exp.experiment_id in m for m in messages
    ), messages


@pytest.mark.parametrize(("tracer", "meter"), CASES)
def test_a_run_leaves_the_callers_context_clean(
    tracer: Callable[[], Any] | None, meter: Callable[[], Any] | None
) -> None:
    scheduler = ExperimentScheduler(tracer_provider=build(tracer), meter_provider=build(meter))
    exp = ChaosExperiment(
        experiment_id=unique("provider-ticks"),
        name="ticks",
        duration_seconds=0.1,
        tick_seconds=0.02,
        faults=[FaultConfig(fault_type="error", affected_components=[TARGET])],
    )
    result = scheduler.run(scheduler.schedule(exp))
    assert result.status is ExperimentStatus.completed, result.error
    assert result.summary["total_faults_fired"] == result.summary["faults"][0]["fired"] > 0
    assert trace.get_current_span() is INVALID_SPAN


def test_a_broken_meter_does_not_cost_the_traces(
    tracer_provider: TracerProvider, span_exporter: Any
) -> None:
    """Every ``chaos.fault`` span that starts also ends, whatever the meter does."""

    @resilience_test(
        faults=[
            FaultConfig(fault_type="latency", duration_ms=1),
            FaultConfig(fault_type="error", error_code=502),
        ],
        tracer_provider=tracer_provider,
        meter_provider=InstrumentsRaise(),
    )
    def tool() -> None:
        raise AssertionError("the fault fires instead of the call")

    with pytest.raises(ChaosError):
        tool()
    faults = [s for s in span_exporter.get_finished_spans() if s.name == "chaos.fault"]
    assert sorted((s.attributes or {})["chaos.fault.type"] for s in faults) == ["error", "latency"]
    [error] = [s for s in faults if (s.attributes or {})["chaos.fault.type"] == "error"]
    assert error.status.status_code is trace.StatusCode.ERROR
    assert (error.attributes or {})["error.type"] == "aumai_chaos.errors.ChaosError"

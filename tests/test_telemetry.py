"""What a fault puts into OpenTelemetry (../shared/spec/telemetry.md), via the SDK's in-memory
exporter and reader handed to the decorators and the injector as tracer_provider=/meter_provider=.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    HistogramDataPoint,
    InMemoryMetricReader,
    NumberDataPoint,
)
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from aumai_chaos import (
    ChaosError,
    ChaosTimeoutError,
    FaultConfig,
    FaultInjector,
    FaultType,
    InjectedFaultError,
    ResourceExhaustedError,
    __version__,
    chaos_monkey,
    resilience_test,
)
from tests.helpers import (
    counter_by_attributes,
    counter_sum,
    fault_spans,
    metrics_by_name,
    points,
    run_python,
)

INJECTIONS = "chaos.fault.injections"
DELAY = "chaos.fault.delay"


@pytest.fixture
def providers(tracer_provider: TracerProvider, meter_provider: MeterProvider) -> dict[str, Any]:
    return {"tracer_provider": tracer_provider, "meter_provider": meter_provider}


def only_fault_span(exporter: InMemorySpanExporter) -> ReadableSpan:
    spans = fault_spans(exporter)
    assert len(spans) == 1, spans
    return spans[0]


def exact(attrs: Any) -> dict[str, tuple[type, Any]]:
    """Attributes with their exact types, so that 503 and 503.0 or 1 and 1.0 differ."""
    return {key: (type(value), value) for key, value in dict(attrs).items()}


# Each fault type with the span attributes and the exception it must produce.
FAULT_CASES = [
    pytest.param(
        {"fault_type": FaultType.latency, "probability": 1.0, "duration_ms": 5},
        {
            "chaos.fault.type": "latency",
            "chaos.fault.probability": 1.0,
            "chaos.fault.duration_ms": 5,
        },
        None,
        id="latency",
    ),
    pytest.param(
        {"fault_type": FaultType.error, "error_code": 503, "error_message": "Service degraded"},
        {
            "chaos.fault.type": "error",
            "chaos.fault.probability": 1.0,
            "chaos.fault.error_code": 503,
            "chaos.fault.error_message": "Service degraded",
        },
        ChaosError,
        id="error",
    ),
    pytest.param(
        {"fault_type": FaultType.error},
        {
            "chaos.fault.type": "error",
            "chaos.fault.probability": 1.0,
            "chaos.fault.error_code": 500,
        },
        ChaosError,
        id="error-defaults",
    ),
    pytest.param(
        {"fault_type": FaultType.timeout, "duration_ms": 5, "error_message": "upstream slow"},
        {
            "chaos.fault.type": "timeout",
            "chaos.fault.probability": 1.0,
            "chaos.fault.duration_ms": 5,
            "chaos.fault.error_message": "upstream slow",
        },
        ChaosTimeoutError,
        id="timeout",
    ),
    pytest.param(
        {"fault_type": FaultType.timeout},
        # duration_ms is set only when configured (telemetry.md: "when set").
        {"chaos.fault.type": "timeout", "chaos.fault.probability": 1.0},
        ChaosTimeoutError,
        id="timeout-no-duration",
    ),
    pytest.param(
        {"fault_type": FaultType.resource_exhaustion},
        {"chaos.fault.type": "resource_exhaustion", "chaos.fault.probability": 1.0},
        ResourceExhaustedError,
        id="resource_exhaustion",
    ),
]


@pytest.mark.parametrize(("config", "expected_attrs", "exc_type"), FAULT_CASES)
def test_fired_fault_span(
    config: dict[str, Any],
    expected_attrs: dict[str, Any],
    exc_type: type[InjectedFaultError] | None,
    providers: dict[str, Any],
    tracer_provider: TracerProvider,
    span_exporter: InMemorySpanExporter,
) -> None:
    @chaos_monkey(**config, component="llm", **providers)
    def tool() -> str:
        return "ok"

    tracer = tracer_provider.get_tracer("test")
    with tracer.start_as_current_span("agent.step") as parent:
        if exc_type is None:
            assert tool() == "ok"
        else:
            with pytest.raises(exc_type):
                tool()

    span = only_fault_span(span_exporter)
    # chaos.fault.occurrence: the first call into the component (telemetry.md)
    attrs = {**expected_attrs, "chaos.component": "llm", "chaos.fault.occurrence": 1}
    if exc_type is not None:
        attrs["error.type"] = f"aumai_chaos.errors.{exc_type.__name__}"
    assert exact(span.attributes) == exact(attrs)
    assert span.kind is SpanKind.INTERNAL
    assert span.instrumentation_scope is not None
    assert (span.instrumentation_scope.name, span.instrumentation_scope.version) == (
        "aumai_chaos",
        "0.1.0",
    )
    # a child of the span current when the fault fired
    assert span.parent is not None
    assert span.parent.span_id == parent.get_span_context().span_id
    assert span.context.trace_id == parent.get_span_context().trace_id

    if exc_type is None:
        assert span.status.status_code is StatusCode.UNSET
        assert list(span.events) == []
    else:
        assert span.status.status_code is StatusCode.ERROR
        [event] = span.events
        assert event.name == "exception"
        assert event.attributes is not None
        assert event.attributes["exception.type"] == attrs["error.type"]
        assert event.attributes["exception.message"] == span.status.description

    # the affected operation is tagged with the same attributes (the outcome is the span's)
    [parent_span] = [s for s in span_exporter.get_finished_spans() if s.name == "agent.step"]
    [injected] = parent_span.events
    assert injected.name == "chaos.fault.injected"
    assert exact(injected.attributes) == exact(
        {k: v for k, v in attrs.items() if k != "error.type"}
    )


def test_error_status_description(
    providers: dict[str, Any], span_exporter: InMemorySpanExporter
) -> None:
    @chaos_monkey(fault_type="error", error_code=429, error_message="Rate limited", **providers)
    def tool() -> None:
        return None

    with pytest.raises(ChaosError) as info:
        tool()
    span = only_fault_span(span_exporter)
    assert span.status.description == str(info.value) == "[429] Rate limited"


def test_configured_probability_is_a_double(
    providers: dict[str, Any], span_exporter: InMemorySpanExporter
) -> None:
    @chaos_monkey(fault_type="error", probability=0.75, rng=random.Random(1), **providers)
    def tool() -> None:
        return None

    for _ in range(50):
        try:
            tool()
        except ChaosError:
            break
    probability = fault_spans(span_exporter)[0].attributes["chaos.fault.probability"]
    assert type(probability) is float
    assert probability == 0.75


def test_no_current_span_makes_a_root_fault_span(
    providers: dict[str, Any], span_exporter: InMemorySpanExporter
) -> None:
    @chaos_monkey(fault_type="resource_exhaustion", **providers)
    def tool() -> None:
        return None

    with pytest.raises(ResourceExhaustedError):
        tool()
    assert only_fault_span(span_exporter).parent is None


def test_latency_span_covers_the_delay(
    providers: dict[str, Any], span_exporter: InMemorySpanExporter
) -> None:
    @chaos_monkey(fault_type="latency", duration_ms=60, **providers)
    def tool() -> None:
        return None

    tool()
    span = only_fault_span(span_exporter)
    assert span.end_time is not None
    assert span.start_time is not None
    duration = (span.end_time - span.start_time) / 1e9
    assert 0.059 <= duration < 0.5


@pytest.mark.asyncio
async def test_async_fault_span_is_child_of_the_current_span_and_covers_the_delay(
    providers: dict[str, Any],
    tracer_provider: TracerProvider,
    span_exporter: InMemorySpanExporter,
) -> None:
    @chaos_monkey(fault_type="latency", duration_ms=60, **providers)
    async def tool() -> None:
        return None

    with tracer_provider.get_tracer("test").start_as_current_span("agent.step") as parent:
        await tool()
    span = only_fault_span(span_exporter)
    assert span.parent is not None
    assert span.parent.span_id == parent.get_span_context().span_id
    assert span.end_time is not None
    assert span.start_time is not None
    assert (span.end_time - span.start_time) / 1e9 >= 0.059


def test_generator_fault_span_is_child_of_the_consumers_span(
    providers: dict[str, Any],
    tracer_provider: TracerProvider,
    span_exporter: InMemorySpanExporter,
) -> None:
    @chaos_monkey(fault_type="latency", duration_ms=0, **providers)
    def items() -> Iterator[int]:
        yield 1

    gen = items()  # created outside any span
    with tracer_provider.get_tracer("test").start_as_current_span("consume") as parent:
        assert list(gen) == [1]
    span = only_fault_span(span_exporter)
    assert span.parent is not None
    assert span.parent.span_id == parent.get_span_context().span_id


def test_metrics_count_exactly_the_firings(
    providers: dict[str, Any],
    span_exporter: InMemorySpanExporter,
    metric_reader: InMemoryMetricReader,
) -> None:
    @resilience_test(
        faults=[
            FaultConfig(fault_type="latency", probability=0.4, duration_ms=1),
            FaultConfig(fault_type="error", probability=0.3),
        ],
        component="vector_db",
        rng=random.Random(99),
        **providers,
    )
    def tool() -> None:
        return None

    errors = 0
    for _ in range(300):
        try:
            tool()
        except ChaosError:
            errors += 1
    latencies = [
        s for s in fault_spans(span_exporter) if s.attributes["chaos.fault.type"] == "latency"
    ]
    assert 0 < errors < 300
    assert 0 < len(latencies) < 300

    metrics = metrics_by_name(metric_reader)
    injections = metrics[INJECTIONS]
    assert injections.unit == "{injection}"
    assert injections.data.is_monotonic
    assert injections.data.aggregation_temporality is AggregationTemporality.CUMULATIVE
    assert counter_by_attributes(metric_reader, INJECTIONS) == {
        frozenset({"chaos.fault.type": "error", "chaos.component": "vector_db"}.items()): errors,
        frozenset({"chaos.fault.type": "latency", "chaos.component": "vector_db"}.items()): len(
            latencies
        ),
    }
    assert all(isinstance(p, NumberDataPoint) for p in points(metric_reader, INJECTIONS))

    delay = metrics[DELAY]
    assert delay.unit == "s"
    [point] = points(metric_reader, DELAY)
    assert isinstance(point, HistogramDataPoint)
    assert dict(point.attributes) == {"chaos.fault.type": "latency", "chaos.component": "vector_db"}
    assert point.count == len(latencies)
    assert point.sum == pytest.approx(0.001 * len(latencies))
    assert (point.min, point.max) == (0.001, 0.001)


def test_timeout_delay_is_recorded_in_seconds(
    providers: dict[str, Any], metric_reader: InMemoryMetricReader
) -> None:
    @chaos_monkey(fault_type="timeout", duration_ms=20, component="llm", **providers)
    def tool() -> None:
        return None

    with pytest.raises(ChaosTimeoutError):
        tool()
    [point] = points(metric_reader, DELAY)
    assert (point.count, point.sum) == (1, pytest.approx(0.02))
    assert counter_sum(metric_reader, INJECTIONS, {"chaos.fault.type": "timeout"}) == 1


def test_delay_histogram_buckets_are_made_for_seconds(
    providers: dict[str, Any], metric_reader: InMemoryMetricReader
) -> None:
    """The SDK's default buckets (0, 5, 10, ...) suit milliseconds: a 60 ms delay must land in
    a narrow bucket, or the dashboards' histogram_quantile() are meaningless."""

    @chaos_monkey(fault_type="latency", duration_ms=60, **providers)
    def tool() -> None:
        return None

    tool()
    [point] = points(metric_reader, DELAY)
    bounds = [0.0, *point.explicit_bounds, float("inf")]
    [index] = [i for i, count in enumerate(point.bucket_counts) if count]
    low, high = bounds[index], bounds[index + 1]
    assert low < 0.06 <= high
    assert high - low <= 0.05


@pytest.mark.parametrize("fault_type", ["error", "resource_exhaustion"])
def test_raising_only_faults_record_no_delay(
    fault_type: str, providers: dict[str, Any], metric_reader: InMemoryMetricReader
) -> None:
    @chaos_monkey(fault_type=fault_type, **providers)
    def tool() -> None:
        return None

    with pytest.raises(InjectedFaultError):
        tool()
    assert points(metric_reader, DELAY) == []
    assert counter_sum(metric_reader, INJECTIONS) == 1


def test_metric_scope(providers: dict[str, Any], metric_reader: InMemoryMetricReader) -> None:
    FaultInjector(**providers).inject(FaultConfig(fault_type="latency", duration_ms=0))
    data = metric_reader.get_metrics_data()
    assert data is not None
    scopes = [sm.scope for rm in data.resource_metrics for sm in rm.scope_metrics]
    assert [(s.name, s.version) for s in scopes] == [("aumai_chaos", __version__)]
    assert __version__ == "0.1.0"


def test_non_firing_calls_emit_nothing(
    providers: dict[str, Any],
    tracer_provider: TracerProvider,
    span_exporter: InMemorySpanExporter,
    metric_reader: InMemoryMetricReader,
) -> None:
    @chaos_monkey(fault_type="error", probability=0.0, **providers)
    def tool() -> str:
        return "ok"

    @chaos_monkey(fault_type="latency", probability=0.0, duration_ms=10, **providers)
    async def atool() -> str:
        return "ok"

    injector = FaultInjector(**providers)
    with tracer_provider.get_tracer("test").start_as_current_span("agent.step"):
        for _ in range(100):
            assert tool() == "ok"
            assert asyncio.run(atool()) == "ok"
            assert injector.inject(FaultConfig(fault_type="error", probability=0.0)) is False
    [parent] = span_exporter.get_finished_spans()
    assert parent.name == "agent.step"
    assert list(parent.events) == []
    assert points(metric_reader, INJECTIONS) == []
    assert points(metric_reader, DELAY) == []


def test_injector_telemetry_matches_the_decorators(
    providers: dict[str, Any],
    tracer_provider: TracerProvider,
    span_exporter: InMemorySpanExporter,
    metric_reader: InMemoryMetricReader,
) -> None:
    injector = FaultInjector(seed=1, **providers)
    fault = FaultConfig(fault_type="error", error_code=500, error_message="Random failure")
    with tracer_provider.get_tracer("test").start_as_current_span("tool_call") as parent:
        with pytest.raises(ChaosError):
            injector.inject(fault, component="search_tool")
        with pytest.raises(ChaosError):
            injector.inject(fault)  # no component: no chaos.component anywhere
    first, second = fault_spans(span_exporter)
    for span in (first, second):
        assert span.parent is not None
        assert span.parent.span_id == parent.get_span_context().span_id
        assert span.status.status_code is StatusCode.ERROR
        assert span.attributes["error.type"] == "aumai_chaos.errors.ChaosError"
    assert first.attributes["chaos.component"] == "search_tool"
    assert "chaos.component" not in second.attributes
    assert counter_by_attributes(metric_reader, INJECTIONS) == {
        frozenset({"chaos.fault.type": "error", "chaos.component": "search_tool"}.items()): 1,
        frozenset({"chaos.fault.type": "error"}.items()): 1,
    }


@pytest.mark.asyncio
async def test_async_injector_telemetry(
    providers: dict[str, Any],
    span_exporter: InMemorySpanExporter,
    metric_reader: InMemoryMetricReader,
) -> None:
    injector = FaultInjector(**providers)
    assert await injector.ainject(FaultConfig(fault_type="latency", duration_ms=30)) is True
    span = only_fault_span(span_exporter)
    assert span.end_time is not None
    assert span.start_time is not None
    assert (span.end_time - span.start_time) / 1e9 >= 0.029
    assert counter_sum(metric_reader, INJECTIONS) == 1


def test_exemplars_link_metrics_to_the_fault_span(
    providers: dict[str, Any],
    span_exporter: InMemorySpanExporter,
    metric_reader: InMemoryMetricReader,
) -> None:
    """The SDK's default trace-based exemplar filter keeps the sampled fault span's ids."""

    @chaos_monkey(fault_type="timeout", duration_ms=1, **providers)
    def tool() -> None:
        return None

    with pytest.raises(ChaosTimeoutError):
        tool()
    span = only_fault_span(span_exporter)
    collected = metrics_by_name(metric_reader)  # once: each collection resets the exemplars
    for name in (INJECTIONS, DELAY):
        [point] = points(collected, name)
        [exemplar] = point.exemplars
        assert exemplar.trace_id == span.context.trace_id, name
        assert exemplar.span_id == span.context.span_id, name


def test_telemetry_failure_never_changes_the_fault() -> None:
    """A broken tracer or meter must not raise into user code: the fault acts as configured."""
    from opentelemetry.metrics import NoOpMeterProvider
    from opentelemetry.trace import NoOpTracerProvider

    class BrokenError(Exception):
        pass

    class BrokenTracer:
        def start_span(self, *args: Any, **kwargs: Any) -> Any:
            raise BrokenError("tracer")

    class BrokenTracerProvider(NoOpTracerProvider):
        def get_tracer(self, *args: Any, **kwargs: Any) -> Any:
            return BrokenTracer()

    class BrokenCounter:
        def add(self, *args: Any, **kwargs: Any) -> None:
            raise BrokenError("counter")

        record = add

    class BrokenMeterProvider(NoOpMeterProvider):
        def get_meter(self, *args: Any, **kwargs: Any) -> Any:
            meter = super().get_meter(*args, **kwargs)

            class Meter:
                def __getattr__(self, name: str) -> Any:
                    if name in ("create_counter", "create_histogram"):
                        return lambda *a, **k: BrokenCounter()
                    return getattr(meter, name)

            return Meter()

    for tp, mp in (
        (BrokenTracerProvider(), None),
        (None, BrokenMeterProvider()),
        (BrokenTracerProvider(), BrokenMeterProvider()),
    ):

        @chaos_monkey(fault_type="error", error_code=502, tracer_provider=tp, meter_provider=mp)
        def tool() -> None:
            return None

        @chaos_monkey(fault_type="latency", duration_ms=1, tracer_provider=tp, meter_provider=mp)
        def slow() -> str:
            return "ok"

        with pytest.raises(ChaosError) as info:
            tool()
        assert info.value.error_code == 502
        assert slow() == "ok"


def test_no_sdk_configured() -> None:
    """With only the API's global no-op providers, faults fire and nothing else happens."""
    code = """
        import asyncio, json, time
        from opentelemetry import metrics, trace
        from aumai_chaos import (
            ChaosError, ChaosTimeoutError, FaultConfig, FaultInjector, chaos_monkey,
        )

        @chaos_monkey(fault_type="error", error_code=503)
        def err():
            return "ok"

        @chaos_monkey(fault_type="latency", duration_ms=30)
        async def slow():
            return "ok"

        out = {}
        try:
            err()
        except ChaosError as exc:
            out["error_code"] = exc.error_code
        start = time.perf_counter()
        out["slow"] = asyncio.run(slow())
        out["waited"] = time.perf_counter() - start >= 0.03
        try:
            FaultInjector().inject(FaultConfig(fault_type="timeout"))
        except ChaosTimeoutError:
            out["timeout"] = True
        out["tracer_provider"] = type(trace.get_tracer_provider()).__name__
        out["meter_provider"] = type(metrics.get_meter_provider()).__name__
        print(json.dumps(out))
    """
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert json.loads(result.stdout) == {
        "error_code": 503,
        "slow": "ok",
        "waited": True,
        "timeout": True,
        "tracer_provider": "ProxyTracerProvider",
        "meter_provider": "_ProxyMeterProvider",
    }

"""Behaviour with the process-wide OpenTelemetry providers.

The API lets a process set its global providers only once, so every check here runs in a fresh
subprocess; the test process itself never touches them (see tests/README.md).
"""

from __future__ import annotations

import json

from tests.helpers import run_python

PRELUDE = """
    import json
    from opentelemetry import metrics, trace
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from aumai_chaos import ChaosError, FaultConfig, FaultInjector, chaos_monkey

    def install():
        exporter, reader = InMemorySpanExporter(), InMemoryMetricReader()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        trace.set_tracer_provider(provider)
        metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))
        return exporter, reader

    def injections(reader):
        data = reader.get_metrics_data()
        return sum(
            point.value
            for rm in data.resource_metrics
            for sm in rm.scope_metrics if sm.scope.name == "aumai_chaos"
            for m in sm.metrics if m.name == "chaos.fault.injections"
            for point in m.data.data_points
        )
"""


def run(body: str) -> dict[str, object]:
    from textwrap import dedent

    result = run_python(dedent(PRELUDE) + dedent(body))
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def test_library_never_sets_the_global_providers() -> None:
    out = run(
        """
        @chaos_monkey(fault_type="error")
        def tool():
            return "ok"

        try:
            tool()
        except ChaosError:
            pass
        FaultInjector().inject(FaultConfig(fault_type="latency", duration_ms=0))
        print(json.dumps({
            "tracer": type(trace.get_tracer_provider()).__name__,
            "meter": type(metrics.get_meter_provider()).__name__,
        }))
        """
    )
    assert out == {"tracer": "ProxyTracerProvider", "meter": "_ProxyMeterProvider"}


def test_faults_decorated_before_the_sdk_is_installed_use_it_afterwards() -> None:
    """Decorators run at import time, usually before the application sets up OpenTelemetry."""
    out = run(
        """
        @chaos_monkey(fault_type="error", error_code=503, component="llm")
        def tool():
            return "ok"

        injector = FaultInjector()
        exporter, reader = install()  # after decorating and after building the injector
        with trace.get_tracer("test").start_as_current_span("agent.step"):
            try:
                tool()
            except ChaosError:
                pass
            injector.inject(FaultConfig(fault_type="latency", duration_ms=0))
        spans = exporter.get_finished_spans()
        print(json.dumps({
            "spans": [s.name for s in spans],
            "scopes": sorted({s.instrumentation_scope.name for s in spans}),
            "parented": all(s.parent is not None for s in spans if s.name == "chaos.fault"),
            "events": [e.name for s in spans if s.name == "agent.step" for e in s.events],
            "injections": injections(reader),
        }))
        """
    )
    assert out == {
        "spans": ["chaos.fault", "chaos.fault", "agent.step"],
        "scopes": ["aumai_chaos", "test"],
        "parented": True,
        "events": ["chaos.fault.injected", "chaos.fault.injected"],
        "injections": 2,
    }


def test_explicit_providers_win_over_the_global_ones() -> None:
    out = run(
        """
        exporter, reader = install()
        mine_exporter = InMemorySpanExporter()
        mine = TracerProvider()
        mine.add_span_processor(SimpleSpanProcessor(mine_exporter))

        @chaos_monkey(fault_type="latency", duration_ms=0, tracer_provider=mine)
        def tool():
            return "ok"

        tool()
        print(json.dumps({
            "global": len(exporter.get_finished_spans()),
            "mine": len(mine_exporter.get_finished_spans()),
            "injections": injections(reader),
        }))
        """
    )
    # spans went to the explicit tracer provider; metrics, given no meter_provider, to the global
    assert out == {"global": 0, "mine": 1, "injections": 1}

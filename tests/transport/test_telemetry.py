"""A transport fault's span, event and metrics: the telemetry contract plus the HTTP and GenAI
attributes (docs/telemetry.md)."""

from __future__ import annotations

import contextlib
import time

import openai
import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from aumai_chaos.faults import ConnectErrorFault, LatencyFault, RateLimitFault
from aumai_chaos.testing import ProviderServer
from aumai_chaos.transport import ChaosTransport
from tests.helpers import fault_spans, metrics_by_name
from tests.transport.support import chat, lib


def _client(server: ProviderServer, transport: ChaosTransport) -> openai.OpenAI:
    return openai.OpenAI(
        base_url=server.openai_base_url,
        api_key="t",
        max_retries=0,
        http_client=lib("httpx2").Client(transport=transport),
    )


def test_rate_limit_span_carries_http_and_genai_attributes(
    server: ProviderServer,
    tracer_provider: TracerProvider,
    span_exporter: InMemorySpanExporter,
    meter_provider: MeterProvider,
    metric_reader: InMemoryMetricReader,
) -> None:
    transport = ChaosTransport(
        faults=[RateLimitFault(times=2, retry_after_s=0.25)],
        tracer_provider=tracer_provider,
        meter_provider=meter_provider,
    )
    tracer = tracer_provider.get_tracer("test")
    with _client(server, transport) as client:
        for _ in range(3):
            with (
                tracer.start_as_current_span("agent step"),
                contextlib.suppress(openai.RateLimitError),
            ):
                chat(client)
    spans = fault_spans(span_exporter)
    assert [s.attributes["chaos.fault.occurrence"] for s in spans] == [1, 2]  # type: ignore[index]
    attrs = dict(spans[0].attributes or {})
    assert attrs == {
        "chaos.fault.type": "rate_limit",
        "chaos.fault.probability": 1.0,
        "chaos.fault.retry_after_s": 0.25,
        "chaos.fault.occurrence": 1,
        "chaos.component": "openai.chat.completions",
        "http.request.method": "POST",
        "server.address": "127.0.0.1",
        "http.response.status_code": 429,
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-test",
    }
    assert spans[0].status.status_code is StatusCode.UNSET  # it answered; it did not raise
    steps = [s for s in span_exporter.get_finished_spans() if s.name == "agent step"]
    events = [e for s in steps for e in s.events if e.name == "chaos.fault.injected"]
    assert [dict(e.attributes or {}) for e in events] == [dict(s.attributes or {}) for s in spans]
    points = list(metrics_by_name(metric_reader)["chaos.fault.injections"].data.data_points)
    assert [(dict(p.attributes), p.value) for p in points] == [  # type: ignore[attr-defined]
        ({"chaos.fault.type": "rate_limit", "chaos.component": "openai.chat.completions"}, 2)
    ]


def test_a_raising_fault_records_the_librarys_exception(
    server: ProviderServer, tracer_provider: TracerProvider, span_exporter: InMemorySpanExporter
) -> None:
    transport = ChaosTransport(faults=[ConnectErrorFault(times=1)], tracer_provider=tracer_provider)
    with _client(server, transport) as client, pytest.raises(openai.APIConnectionError):
        chat(client)
    (span,) = fault_spans(span_exporter)
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == "httpx2.ConnectError"  # type: ignore[index]
    assert "http.response.status_code" not in (span.attributes or {})
    assert [e.name for e in span.events] == ["exception"]


def test_a_latency_span_lasts_the_delay(
    server: ProviderServer, tracer_provider: TracerProvider, span_exporter: InMemorySpanExporter
) -> None:
    transport = ChaosTransport(
        faults=[LatencyFault(duration_ms=120, times=1)], tracer_provider=tracer_provider
    )
    with _client(server, transport) as client:
        started = time.perf_counter()
        assert chat(client) == "You said: hello"
        assert time.perf_counter() - started >= 0.12  # the request was held that long
    (span,) = fault_spans(span_exporter)
    assert span.end_time is not None
    assert span.start_time is not None
    # The delay is timed from the decision; the span opens just after it. Lower bound only.
    assert span.end_time - span.start_time >= 60_000_000
    assert span.attributes["chaos.fault.duration_ms"] == 120  # type: ignore[index]


def test_component_names_every_request_and_no_model_outside_provider_routes(
    server: ProviderServer, tracer_provider: TracerProvider, span_exporter: InMemorySpanExporter
) -> None:
    transport = ChaosTransport(
        component="catalog",
        faults=[RateLimitFault(times=1)],
        tracer_provider=tracer_provider,
    )
    with lib("httpx").Client(transport=transport) as http:
        response = http.post(f"{server.url}/search", json={"model": "not-a-provider"})
    assert response.status_code == 429
    assert response.json() == {"error": {"message": "Too Many Requests", "status": 429}}
    (span,) = fault_spans(span_exporter)
    attrs = span.attributes or {}
    assert attrs["chaos.component"] == "catalog"
    assert "gen_ai.provider.name" not in attrs
    assert "gen_ai.request.model" not in attrs

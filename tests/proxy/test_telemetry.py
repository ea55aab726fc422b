"""The proxy's server span continues the client's W3C trace, and the faults sit under it; the
run's result counts the proxied requests as component calls. In-process, with the SDK's
in-memory exporter (the cross-process behaviour is in the other proxy tests)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from aumai_chaos.experiments.models import ChaosExperiment
from aumai_chaos.proxy import Proxy, ProxyRun, parse_upstreams
from aumai_chaos.testing import ProviderServer

TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
PARENT_ID = "b7ad6b7169203331"


@pytest.fixture
def server() -> Iterator[ProviderServer]:
    with ProviderServer() as s:
        yield s


def test_one_trace_from_the_client_through_the_fault(
    server: ProviderServer,
    tracer_provider: TracerProvider,
    span_exporter: InMemorySpanExporter,
    meter_provider: object,
) -> None:
    exp = ChaosExperiment.model_validate(
        {
            "experiment_id": "proxy-otel",
            "name": "proxy otel",
            "duration_seconds": 60,
            "faults": [
                {
                    "fault_type": "rate_limit",
                    "times": 1,
                    "affected_components": ["openai.chat.completions"],
                }
            ],
        }
    )
    run = ProxyRun(exp, tracer_provider=tracer_provider, meter_provider=meter_provider)  # type: ignore[arg-type]
    proxy = Proxy(parse_upstreams([server.url]), tracer_provider=tracer_provider)
    run.start()
    proxy.start()
    try:
        headers = {"traceparent": f"00-{TRACE_ID}-{PARENT_ID}-01"}
        body = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
        url = proxy.url + "/v1/chat/completions"
        first = httpx.post(url, json=body, headers=headers, timeout=10)
        second = httpx.post(url, json=body, headers=headers, timeout=10)
    finally:
        run.close()
        proxy.stop()
        result = run.finish()
    assert (first.status_code, second.status_code) == (429, 200)
    assert server.request_count() == 1

    spans = span_exporter.get_finished_spans()
    servers = [s for s in spans if s.kind is SpanKind.SERVER]
    assert len(servers) == 2
    for span in servers:
        assert span.name == "POST"
        assert format(span.context.trace_id, "032x") == TRACE_ID
        assert span.parent is not None
        assert format(span.parent.span_id, "016x") == PARENT_ID
        assert span.attributes is not None
        assert span.attributes["url.path"] == "/v1/chat/completions"
    assert sorted(s.attributes["http.response.status_code"] for s in servers) == [200, 429]  # type: ignore[index]
    (fault,) = [s for s in spans if s.name == "chaos.fault"]
    assert format(fault.context.trace_id, "032x") == TRACE_ID
    by_id = {s.context.span_id: s for s in spans}
    ancestor = fault
    while ancestor.parent is not None and ancestor.parent.span_id in by_id:
        ancestor = by_id[ancestor.parent.span_id]
    assert ancestor.kind is SpanKind.SERVER  # the fault sits under the proxy's server span

    stats = result.summary.components["openai.chat.completions"]
    assert (stats.calls, stats.errors) == (2, 1)
    assert result.summary.total_faults_fired == 1

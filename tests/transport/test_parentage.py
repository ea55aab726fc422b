"""Where a transport fault's span sits: under the GenAI span of
``opentelemetry-instrumentation-openai-v2`` and under the HTTP client span of
``opentelemetry-instrumentation-httpx`` (whichever was applied first)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import openai
import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import aumai_chaos
from aumai_chaos.faults import ErrorFault, RateLimitFault
from aumai_chaos.testing import ProviderServer
from aumai_chaos.transport import ChaosTransport, instrument, uninstrument
from tests.helpers import fault_spans
from tests.transport.support import CHAT, chat, experiment, lib, run_experiment


@pytest.fixture
def genai(tracer_provider: TracerProvider) -> Iterator[None]:
    from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor

    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider)
    yield
    instrumentor.uninstrument()


def _ancestors(span: ReadableSpan, spans: dict[int, ReadableSpan]) -> list[str]:
    names = []
    parent = span.parent
    while parent is not None and parent.span_id in spans:
        ancestor = spans[parent.span_id]
        names.append(ancestor.name)
        parent = ancestor.parent
    return names


@pytest.mark.usefixtures("genai")
def test_the_fault_span_is_a_descendant_of_the_genai_chat_span(
    server: ProviderServer, tracer_provider: TracerProvider, span_exporter: InMemorySpanExporter
) -> None:
    instrument(tracer_provider=tracer_provider)
    with openai.OpenAI(base_url=server.openai_base_url, api_key="t", max_retries=0) as client:

        def work() -> None:
            with contextlib.suppress(openai.RateLimitError):
                chat(client)

        exp = experiment(RateLimitFault(times=1), seconds=1.5)
        run_experiment(exp, work, tracer_provider)
    spans = {s.context.span_id: s for s in span_exporter.get_finished_spans()}
    (fault,) = fault_spans(span_exporter)
    chain = _ancestors(fault, spans)
    assert chain[0] == CHAT  # the component-call span of the route
    assert "chat gpt-test" in chain  # the GenAI span of the SDK call
    assert chain[-1] == "chaos.experiment"


@pytest.mark.usefixtures("genai")
def test_a_transports_own_fault_sits_under_the_genai_span_with_its_event(
    server: ProviderServer, tracer_provider: TracerProvider, span_exporter: InMemorySpanExporter
) -> None:
    httpx2 = lib("httpx2")
    transport = ChaosTransport(faults=[RateLimitFault(times=1)], tracer_provider=tracer_provider)
    with (
        openai.OpenAI(
            base_url=server.openai_base_url,
            api_key="t",
            max_retries=0,
            http_client=httpx2.Client(transport=transport),
        ) as client,
        pytest.raises(openai.RateLimitError),
    ):
        chat(client)
    spans = {s.context.span_id: s for s in span_exporter.get_finished_spans()}
    (fault,) = fault_spans(span_exporter)
    parent = spans[fault.parent.span_id]  # type: ignore[union-attr]
    assert parent.name == "chat gpt-test"
    (event,) = [e for e in parent.events if e.name == "chaos.fault.injected"]
    assert event.attributes == fault.attributes


@pytest.mark.parametrize("ours_first", [True, False], ids=["chaos-first", "otel-first"])
def test_the_fault_span_is_a_child_of_the_http_client_span(
    server: ProviderServer,
    tracer_provider: TracerProvider,
    span_exporter: InMemorySpanExporter,
    ours_first: bool,
) -> None:
    """With OpenTelemetry's httpx instrumentation, whichever was applied first, the fault acts
    inside the HTTP client span, and both undo cleanly."""
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

    httpx = lib("httpx")
    original = httpx.HTTPTransport.__dict__["handle_request"]
    otel = HTTPXClientInstrumentor()
    if ours_first:
        instrument(tracer_provider=tracer_provider)
        otel.instrument(tracer_provider=tracer_provider)
    else:
        otel.instrument(tracer_provider=tracer_provider)
        instrument(tracer_provider=tracer_provider)
    statuses: list[int] = []

    def work() -> None:
        with httpx.Client() as http:
            statuses.append(http.get(f"{server.url}/v1/models").status_code)

    try:
        with aumai_chaos.experiment(
            target_components=["127.0.0.1"],
            faults=[ErrorFault(error_code=503, times=1)],
            tracer_provider=tracer_provider,
        ):
            work()
            work()
    finally:
        uninstrument()
        otel.uninstrument()
    assert statuses == [503, 200]
    assert httpx.HTTPTransport.__dict__["handle_request"] is original
    spans = {s.context.span_id: s for s in span_exporter.get_finished_spans()}
    (fault,) = fault_spans(span_exporter)
    chain = _ancestors(fault, spans)
    assert chain[0] == "127.0.0.1"  # the component-call span
    assert chain[1] == "GET"  # OpenTelemetry's HTTP client span
    call = spans[fault.parent.span_id]  # type: ignore[union-attr]
    http_span = spans[call.parent.span_id]  # type: ignore[union-attr]
    assert 503 in (http_span.attributes or {}).values()  # old or new HTTP conventions

"""Stream faults on the transport, with the real ``openai`` and ``anthropic`` SDKs against
``ProviderServer``: each SDK must see exactly what a misbehaving server would give it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import anthropic
import httpx
import httpx2
import openai
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from aumai_chaos.faults import FaultConfig
from aumai_chaos.testing import CutStream, ProviderServer, StallStream, TextReply
from aumai_chaos.transport import AsyncChaosTransport, ChaosTransport
from tests.sdk_observe import SDK, Mode, base_url, observe

USER: list[Any] = [{"role": "user", "content": "hello"}]
TEXT = "one two three four five six"
WORDS = ["one", " two", " three", " four", " five", " six"]


@pytest.fixture
def server() -> Iterator[ProviderServer]:
    with ProviderServer() as provider:
        yield provider


def _openai(server: ProviderServer, *faults: FaultConfig, timeout: float = 5.0, **kw: Any) -> Any:
    transport = ChaosTransport(faults=list(faults), **kw)
    http = httpx2.Client(transport=transport, timeout=timeout)
    return openai.OpenAI(
        base_url=server.openai_base_url, api_key="t", max_retries=2, http_client=http
    )


def _anthropic(server: ProviderServer, *faults: FaultConfig, timeout: float = 5.0) -> Any:
    http = httpx2.Client(transport=ChaosTransport(faults=list(faults)), timeout=timeout)
    return anthropic.Anthropic(
        base_url=server.anthropic_base_url, api_key="t", max_retries=2, http_client=http
    )


def _drain(stream: Any, into: list[Any]) -> None:
    for chunk in stream:
        into.append(chunk)


def _cut(after: int) -> FaultConfig:
    return FaultConfig(fault_type="stream_cut", after_chunks=after)


def _stall(after: int, ms: int) -> FaultConfig:
    return FaultConfig(fault_type="stream_stall", after_chunks=after, duration_ms=ms)


# -- stream_cut and stream_stall: the same failure as the real one, at the same chunk ---------
#
# Each test provokes the real failure (ProviderServer resets or stalls the socket after N
# events) and the injected one (a clean answer, the fault on the client's transport), and
# compares what the real SDK raised: the exception, its __cause__ chain down to the HTTP
# library's error, and the events it yielded first. What the SDK wraps is its own business:
# docs/streams-and-output.md shows what the installed versions do (make docs-sdk-table).

SDKS = [pytest.param("openai", id="openai"), pytest.param("anthropic", id="anthropic")]
MODES = [pytest.param("sync", id="sync"), pytest.param("async", id="async")]
# Events before the break as the SDK yields them: Anthropic's ping is sent but not yielded.
YIELDED = {"openai": 3, "anthropic": 2}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("sdk", SDKS)
def test_a_cut_fails_like_a_real_reset_at_the_same_chunk(
    server: ProviderServer, sdk: SDK, mode: Mode
) -> None:
    server.script([TextReply(TEXT, disrupt=CutStream(3, reset=True))])
    real = observe(sdk, mode, base_url(sdk, server))
    server.script([TextReply(TEXT)])
    injected = observe(sdk, mode, base_url(sdk, server), [_cut(3)])

    assert injected.visible == real.visible
    assert injected.received == real.received
    assert "httpx2.ReadError" in real.visible  # a reset, not some other failure
    assert len(real.received) == YIELDED[sdk]
    assert server.request_count() == 2  # neither broken stream was retried


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("sdk", SDKS)
def test_a_stall_past_the_read_timeout_fails_like_a_silent_server(
    server: ProviderServer, sdk: SDK, mode: Mode
) -> None:
    server.script([TextReply(TEXT, disrupt=StallStream(3, 30.0))])
    real = observe(sdk, mode, base_url(sdk, server), timeout=0.3)
    server.script([TextReply(TEXT)])
    injected = observe(sdk, mode, base_url(sdk, server), [_stall(3, 30_000)], timeout=0.3)

    assert injected.visible == real.visible
    assert injected.received == real.received
    assert "httpx2.ReadTimeout" in real.visible
    assert len(real.received) == YIELDED[sdk]
    assert server.request_count() == 2


def test_a_clean_stream_is_observed_without_an_error(server: ProviderServer) -> None:
    """The comparison above cannot pass on two streams that both went through."""
    server.script([TextReply(TEXT)])
    clean = observe("openai", "sync", base_url("openai", server))
    assert clean.error == ""
    assert "".join(clean.received) == TEXT


def test_the_next_request_on_the_same_client_succeeds(server: ProviderServer) -> None:
    fault = FaultConfig(fault_type="stream_cut", after_chunks=1, times=1)
    chunks: list[Any] = []
    with _openai(server, fault) as client:
        with pytest.raises(openai.APIConnectionError):
            _drain(client.chat.completions.create(model="m", messages=USER, stream=True), [])
        _drain(client.chat.completions.create(model="m", messages=USER, stream=True), chunks)
    assert chunks[-1].choices[0].finish_reason == "stop"


# -- stream_stall shorter than the timeout ----------------------------------------------------


def test_stall_shorter_than_the_read_timeout_resumes(server: ProviderServer) -> None:
    server.script([TextReply(TEXT)])
    received: list[Any] = []
    gaps: list[float] = []
    with _openai(server, _stall(3, 200), timeout=5.0) as client:
        last = time.perf_counter()
        for chunk in client.chat.completions.create(model="m", messages=USER, stream=True):
            now = time.perf_counter()
            gaps.append(now - last)
            last = now
            received.append(chunk)
    assert "".join(c.choices[0].delta.content or "" for c in received) == TEXT
    assert received[-1].choices[0].finish_reason == "stop"
    assert gaps[3] >= 0.2  # the fourth chunk waited out the stall, not the third


# -- truncated_stream, malformed_chunk, slow_stream --------------------------------------------


def test_truncated_openai_stream_has_no_finish_reason(server: ProviderServer) -> None:
    server.script([TextReply(TEXT)])
    fault = FaultConfig(fault_type="truncated_stream", after_chunks=100)
    received: list[Any] = []
    with _openai(server, fault) as client:
        _drain(client.chat.completions.create(model="m", messages=USER, stream=True), received)
    assert [c.choices[0].delta.content for c in received][1:] == WORDS
    assert all(c.choices[0].finish_reason is None for c in received)


def test_truncated_stream_after_n_events(server: ProviderServer) -> None:
    server.script([TextReply(TEXT)])
    fault = FaultConfig(fault_type="truncated_stream", after_chunks=3)
    received: list[Any] = []
    with _openai(server, fault) as client:
        _drain(client.chat.completions.create(model="m", messages=USER, stream=True), received)
    assert [c.choices[0].delta.content for c in received] == ["", "one", " two"]


def test_truncated_anthropic_stream_has_no_message_stop(server: ProviderServer) -> None:
    server.script([TextReply(TEXT)])
    fault = FaultConfig(fault_type="truncated_stream", after_chunks=1000)
    with _anthropic(server, fault) as client:
        events: list[Any] = []
        with client.messages.stream(model="c", max_tokens=9, messages=USER) as stream:
            _drain(stream, events)
            message = stream.get_final_message()
    types = [e.type for e in events]
    assert "message_stop" not in types
    assert "message_delta" not in types
    assert message.stop_reason is None
    assert message.content[0].text == TEXT  # type: ignore[union-attr]


def test_truncated_responses_stream_has_no_completed_event(server: ProviderServer) -> None:
    fault = FaultConfig(fault_type="truncated_stream", after_chunks=1000)
    with _openai(server, fault) as client:
        events: list[Any] = []
        _drain(client.responses.create(model="m", input="hello", stream=True), events)
    types = [e.type for e in events]
    assert types[0] == "response.created"
    assert "response.output_text.done" in types
    assert "response.completed" not in types


def test_malformed_chunk_fails_the_sdk_json_parse(server: ProviderServer) -> None:
    import json

    received: list[Any] = []
    with (
        _openai(server, FaultConfig(fault_type="malformed_chunk", after_chunks=2)) as client,
        pytest.raises(json.JSONDecodeError),
    ):
        _drain(client.chat.completions.create(model="m", messages=USER, stream=True), received)
    assert len(received) == 2


def test_slow_stream_first_only_delays_the_first_event(server: ProviderServer) -> None:
    fault = FaultConfig(fault_type="slow_stream", duration_ms=200, first_only=True)
    with _openai(server, fault) as client:
        started = time.perf_counter()
        stream = client.chat.completions.create(model="m", messages=USER, stream=True)
        first = next(iter(stream))
        waited = time.perf_counter() - started
        rest: list[Any] = []
        _drain(stream, rest)
    assert first.choices[0].delta.role == "assistant"
    assert waited >= 0.2
    assert rest[-1].choices[0].finish_reason == "stop"


def test_a_stream_fault_on_a_json_response_does_not_apply(
    server: ProviderServer, tracer_provider: TracerProvider, span_exporter: InMemorySpanExporter
) -> None:
    with _openai(server, _cut(0), tracer_provider=tracer_provider) as client:
        answer = client.chat.completions.create(model="m", messages=USER)
    assert answer.choices[0].message.content == "You said: hello"
    assert span_exporter.get_finished_spans() == ()


def test_a_stall_after_more_events_than_the_stream_has_does_not_count(
    server: ProviderServer, tracer_provider: TracerProvider, span_exporter: InMemorySpanExporter
) -> None:
    with _openai(server, _stall(500, 5_000), tracer_provider=tracer_provider) as client:
        _drain(client.chat.completions.create(model="m", messages=USER, stream=True), [])
    assert span_exporter.get_finished_spans() == ()


# -- telemetry: stamped at the chunk -----------------------------------------------------------


def test_a_stream_fault_is_stamped_at_the_chunk_where_it_acts(
    server: ProviderServer, tracer_provider: TracerProvider, span_exporter: InMemorySpanExporter
) -> None:
    tracer = tracer_provider.get_tracer("test")
    arrived: list[int] = []
    with (
        _openai(server, _stall(2, 100), tracer_provider=tracer_provider) as client,
        tracer.start_as_current_span("agent"),
    ):
        stream = client.chat.completions.create(model="m", messages=USER, stream=True)
        for _ in stream:
            arrived.append(time.time_ns())
    spans = {s.name: s for s in span_exporter.get_finished_spans()}
    fault, agent = spans["chaos.fault"], spans["agent"]
    assert fault.parent is not None
    assert fault.parent.span_id == agent.context.span_id
    assert fault.attributes is not None
    assert fault.attributes["chaos.fault.type"] == "stream_stall"
    assert fault.attributes["chaos.fault.after_chunks"] == 2
    assert fault.attributes["chaos.component"] == "openai.chat.completions"
    [event] = [e for e in agent.events if e.name == "chaos.fault.injected"]
    assert event.attributes is not None
    assert event.attributes["chaos.fault.after_chunks"] == 2
    # After the client had its second chunk, before the third: not at the request's start.
    assert arrived[1] <= event.timestamp <= arrived[2]
    assert fault.start_time is not None
    assert fault.end_time is not None
    assert arrived[1] <= fault.start_time
    assert fault.end_time <= arrived[2]
    assert arrived[2] - arrived[1] >= 100_000_000  # the client waited the whole stall
    # The span lasts the stall (less the bookkeeping before it, which counts towards the wait).
    assert fault.end_time - fault.start_time >= 50_000_000


def test_a_cut_span_records_the_read_error(
    server: ProviderServer, tracer_provider: TracerProvider, span_exporter: InMemorySpanExporter
) -> None:
    with (
        _openai(server, _cut(4), tracer_provider=tracer_provider) as client,
        pytest.raises(openai.APIConnectionError),
    ):
        _drain(client.chat.completions.create(model="m", messages=USER, stream=True), [])
    [span] = span_exporter.get_finished_spans()
    assert span.attributes is not None
    assert span.attributes["chaos.fault.after_chunks"] == 4
    assert span.attributes["error.type"] == "httpx2.ReadError"


# -- httpx 0.28 clients too --------------------------------------------------------------------


def test_httpx_client_sees_its_own_read_error(server: ProviderServer) -> None:
    body = {"model": "m", "messages": USER, "stream": True}
    transport = ChaosTransport(faults=[_cut(2)])
    with (
        httpx.Client(transport=transport) as client,
        client.stream("POST", f"{server.openai_base_url}/chat/completions", json=body) as r,
    ):
        lines: list[str] = []
        with pytest.raises(httpx.ReadError):
            _drain(r.iter_lines(), lines)
    assert len([x for x in lines if x.startswith("data:")]) == 2


@pytest.mark.asyncio
async def test_async_httpx_client_stall_times_out(server: ProviderServer) -> None:
    body = {"model": "m", "messages": USER, "stream": True}
    transport = AsyncChaosTransport(faults=[_stall(1, 30_000)])
    async with httpx.AsyncClient(transport=transport, timeout=0.3) as client:
        url = f"{server.openai_base_url}/chat/completions"
        async with client.stream("POST", url, json=body) as r:
            with pytest.raises(httpx.ReadTimeout):
                async for _ in r.aiter_bytes():
                    pass


# -- in an experiment --------------------------------------------------------------------------


def test_a_stream_fault_in_an_experiment_is_counted_and_stamped_where_the_stream_is_read(
    server: ProviderServer, tracer_provider: TracerProvider, span_exporter: InMemorySpanExporter
) -> None:
    from aumai_chaos import ChaosExperiment, ExperimentScheduler

    fault = FaultConfig(
        fault_type="stream_cut",
        after_chunks=2,
        times=3,
        affected_components=["openai.chat.completions"],
    )
    experiment = ChaosExperiment(
        experiment_id="stream-cut",
        name="stream cut",
        duration_seconds=1.0,
        seed=1,
        faults=[fault],
    )
    cuts: list[int] = []
    with openai.OpenAI(
        base_url=server.openai_base_url,
        api_key="t",
        http_client=httpx2.Client(transport=ChaosTransport()),
    ) as client:

        def once() -> None:
            received: list[Any] = []
            try:
                _drain(
                    client.chat.completions.create(model="m", messages=USER, stream=True), received
                )
            except openai.APIConnectionError:
                cuts.append(len(received))

        scheduler = ExperimentScheduler(tracer_provider=tracer_provider)
        result = scheduler.run(scheduler.schedule(experiment), workload=once)
    assert cuts == [2, 2, 2]
    assert result.summary["faults_by_type"] == {"stream_cut": 3}
    events = [
        e
        for s in span_exporter.get_finished_spans()
        for e in s.events
        if e.name == "chaos.fault.injected"
    ]
    assert len(events) == 3
    assert all(e.attributes and e.attributes["chaos.fault.after_chunks"] == 2 for e in events)


def test_under_the_genai_instrumentation_a_stream_fault_sits_on_the_chat_span(
    server: ProviderServer, tracer_provider: TracerProvider, span_exporter: InMemorySpanExporter
) -> None:
    from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor

    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider)
    try:
        received: list[Any] = []
        with (
            _openai(server, _cut(3), tracer_provider=tracer_provider) as client,
            pytest.raises(openai.APIConnectionError),
        ):
            _drain(
                client.chat.completions.create(model="gpt-test", messages=USER, stream=True),
                received,
            )
    finally:
        instrumentor.uninstrument()
    spans = {s.context.span_id: s for s in span_exporter.get_finished_spans()}
    [fault] = [s for s in spans.values() if s.name == "chaos.fault"]
    assert fault.parent is not None
    chat = spans[fault.parent.span_id]
    assert chat.name == "chat gpt-test"
    [event] = [e for e in chat.events if e.name == "chaos.fault.injected"]
    assert event.attributes is not None
    assert event.attributes["chaos.fault.after_chunks"] == 3
    assert len(received) == 3

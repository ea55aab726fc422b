"""An output fault on a stream forwards the provider's events as they come until it has something
to act on: with the real ``openai`` and ``anthropic`` SDKs, the client has its first chunk while
``ProviderServer`` still holds the rest of the stream back (a scripted stall that the test ends).
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import anthropic
import httpx2
import openai
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from aumai_chaos.faults import FaultConfig
from aumai_chaos.testing import ProviderServer, StallStream, TextReply, ToolCallReply
from aumai_chaos.transport import AsyncChaosTransport, ChaosTransport
from tests.helpers import fault_spans

USER: list[Any] = [{"role": "user", "content": "Find 3 papers on chaos"}]
SCHEMA = {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]}
TOOLS: list[Any] = [{"type": "function", "function": {"name": "search", "parameters": SCHEMA}}]
TEXT = "one two three four five six"
#: Bounds the test if the client never gets its first chunk during the stall.
STALL = StallStream(after_events=3, seconds=20.0)


def _stalled(server: ProviderServer) -> None:
    """The server is in its scripted stall: it has not sent the rest of the stream. (A client
    that got its chunk only after the stall would find it over: this fails, boundedly.)"""
    for _ in range(2000):
        if server.stalling == 1:
            return
        time.sleep(0.005)
    raise AssertionError("the server is not stalled: the client waited for the whole stream")


def _fault(kind: str = "malformed_tool_call") -> FaultConfig:
    return FaultConfig(fault_type=kind)


def _sync(server: ProviderServer, tracer_provider: TracerProvider, kind: str) -> openai.OpenAI:
    chaos = ChaosTransport(faults=[_fault(kind)], tracer_provider=tracer_provider)
    return openai.OpenAI(
        base_url=server.openai_base_url,
        api_key="t",
        max_retries=0,
        http_client=httpx2.Client(transport=chaos),
    )


def _async(
    server: ProviderServer, tracer_provider: TracerProvider, kind: str
) -> openai.AsyncOpenAI:
    chaos = AsyncChaosTransport(faults=[_fault(kind)], tracer_provider=tracer_provider)
    return openai.AsyncOpenAI(
        base_url=server.openai_base_url,
        api_key="t",
        max_retries=0,
        http_client=httpx2.AsyncClient(transport=chaos),
    )


@pytest.mark.parametrize("kind", ["malformed_tool_call", "unknown_tool_call"])
def test_a_tool_call_fault_does_not_hold_a_text_answer(
    server: ProviderServer,
    tracer_provider: TracerProvider,
    span_exporter: InMemorySpanExporter,
    kind: str,
) -> None:
    server.script([TextReply(TEXT, disrupt=STALL)])
    with _sync(server, tracer_provider, kind) as client:
        stream = client.chat.completions.create(model="m", messages=USER, tools=TOOLS, stream=True)
        chunks = iter(stream)
        role, first = next(chunks), next(chunks)
        # The server sent 3 events (the role chunk, two words) and holds the rest back: the
        # client already has the first word.
        assert role.choices[0].delta.role == "assistant"
        assert first.choices[0].delta.content == "one"
        _stalled(server)
        server.release()
        rest = list(chunks)
    text = "".join(c.choices[0].delta.content or "" for c in [first, *rest])
    assert text == TEXT
    assert rest[-1].choices[0].finish_reason == "stop"
    assert fault_spans(span_exporter) == []


def test_a_tool_call_fault_does_not_hold_a_text_answer_async(
    server: ProviderServer, tracer_provider: TracerProvider, span_exporter: InMemorySpanExporter
) -> None:
    async def main() -> str:
        server.script([TextReply(TEXT, disrupt=STALL)])
        async with _async(server, tracer_provider, "malformed_tool_call") as client:
            stream = await client.chat.completions.create(
                model="m", messages=USER, tools=TOOLS, stream=True
            )
            chunks = [await stream.__anext__(), await stream.__anext__()]
            assert chunks[1].choices[0].delta.content == "one"
            _stalled(server)
            server.release()
            chunks += [chunk async for chunk in stream]
        return "".join(c.choices[0].delta.content or "" for c in chunks)

    assert asyncio.run(main()) == TEXT
    assert fault_spans(span_exporter) == []


def test_a_tool_call_fault_holds_from_the_first_tool_call_event(
    server: ProviderServer, tracer_provider: TracerProvider, span_exporter: InMemorySpanExporter
) -> None:
    """The role chunk comes at once; the call, held from its first event, comes rewritten."""
    server.script([ToolCallReply("search", {"query": "chaos engineering"}, disrupt=STALL)])
    with _sync(server, tracer_provider, "malformed_tool_call") as client:
        stream = client.chat.completions.create(model="m", messages=USER, tools=TOOLS, stream=True)
        first = next(iter(stream))
        assert first.choices[0].delta.role == "assistant"
        assert not first.choices[0].delta.tool_calls
        _stalled(server)
        server.release()
        rest = list(stream)
    arguments = "".join(
        (call.function.arguments or "")
        for chunk in rest
        for call in chunk.choices[0].delta.tool_calls or []
        if call.function is not None
    )
    assert '{"query": "chaos engineering"}'.startswith(arguments)
    with pytest.raises(json.JSONDecodeError):
        json.loads(arguments)
    assert len(fault_spans(span_exporter)) == 1


def test_an_anthropic_tool_call_fault_does_not_hold_a_text_answer(
    server: ProviderServer, tracer_provider: TracerProvider, span_exporter: InMemorySpanExporter
) -> None:
    server.script([TextReply(TEXT, disrupt=StallStream(after_events=4, seconds=20.0))])
    chaos = ChaosTransport(faults=[_fault()], tracer_provider=tracer_provider)
    tools: list[Any] = [{"name": "search", "input_schema": SCHEMA}]
    client = anthropic.Anthropic(
        base_url=server.anthropic_base_url,
        api_key="t",
        max_retries=0,
        http_client=httpx2.Client(transport=chaos),
    )
    with (
        client,
        client.messages.stream(model="c", max_tokens=99, messages=USER, tools=tools) as events,
    ):
        seen = []
        for event in events:
            seen.append(event.type)
            if event.type == "content_block_start":
                # message_start, ping (skipped by the SDK), content_block_start: sent.
                _stalled(server)
                server.release()
        message = events.get_final_message()
    assert message.content[0].text == TEXT  # type: ignore[union-attr]
    assert seen[0] == "message_start"
    assert fault_spans(span_exporter) == []


def test_a_text_fault_forwards_the_preamble_and_renumbers_responses_events(
    server: ProviderServer, tracer_provider: TracerProvider, span_exporter: InMemorySpanExporter
) -> None:
    """``truncated_output`` on the Responses API: the rewritten events continue the original
    numbering, and the SDK assembles the cut answer."""
    server.script([TextReply(TEXT)])
    with _sync(server, tracer_provider, "truncated_output") as client:
        events = list(client.responses.create(model="m", input="hi", stream=True))
    numbers = [e.sequence_number for e in events]
    assert numbers == list(range(len(events)))
    final = events[-1]
    assert final.type == "response.incomplete"
    assert final.response.output_text == "one two three"  # type: ignore[union-attr]
    assert len(fault_spans(span_exporter)) == 1

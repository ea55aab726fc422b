"""The example agent under each of the demo's faults, injected by aumai-chaos's own transport.

One fault at a time, on the first request(s) only (``times``), through an
``AsyncChaosTransport`` in the SDK's HTTP client: the robust agent answers, the fragile one
fails with the error a real outage gives. The model is ProviderServer; the SDK is the real one.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from typing import Any

import httpx2
import openai
import pytest
from examples.agent_openai.agent import FRAGILE, ROBUST, Agent, Resilience, make_client
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import aumai_chaos
from aumai_chaos import FaultConfig
from aumai_chaos.testing import ProviderServer
from aumai_chaos.transport import AsyncChaosTransport

pytestmark = pytest.mark.asyncio(loop_scope="function")

CHAT = "/v1/chat/completions"
QUESTION = "Use the calculator: what is 6 * 7?"
ANSWER = "The tool returned: 42"


@pytest.fixture
def server() -> Iterator[ProviderServer]:
    with ProviderServer() as srv:
        yield srv


async def ask(server: ProviderServer, resilience: Resilience, **fault: Any) -> str:
    transport = AsyncChaosTransport(faults=[FaultConfig(**fault)], seed=7)
    async with make_client(
        resilience,
        base_url=server.openai_base_url,
        api_key="dummy",
        http_client=httpx2.AsyncClient(transport=transport),
    ) as client:
        return await Agent(client, resilience).answer(QUESTION)


async def test_rate_limits_the_sdk_retries(server: ProviderServer) -> None:
    limit = {"fault_type": "rate_limit", "times": 2, "retry_after_s": 0.05}
    assert await ask(server, ROBUST, **limit) == ANSWER
    # The two 429s never reached the server: the transport answered them.
    assert server.request_count(CHAT) == 2
    with pytest.raises(openai.RateLimitError) as caught:
        await ask(server, FRAGILE, **limit)
    # RFC 9110: whole seconds, rounded up, in retry-after; the exact wait in retry-after-ms,
    # which the SDK reads first.
    assert caught.value.response.headers["retry-after"] == "1"
    assert caught.value.response.headers["retry-after-ms"] == "50"


async def test_malformed_tool_arguments_are_asked_for_again(server: ProviderServer) -> None:
    malformed = {"fault_type": "malformed_tool_call", "times": 1}
    assert await ask(server, ROBUST, **malformed) == ANSWER
    assert server.request_count(CHAT) == 3  # the garbled tool call, the re-ask, the answer
    with pytest.raises(json.JSONDecodeError):
        await ask(server, FRAGILE, **malformed)


async def test_a_stalled_stream_times_out_and_is_asked_again(server: ProviderServer) -> None:
    quick = dataclasses.replace(ROBUST, timeout_s=0.3)
    stall = {"fault_type": "stream_stall", "times": 1, "after_chunks": 1, "duration_ms": 5000}
    assert await ask(server, quick, **stall) == ANSWER
    assert server.request_count(CHAT) == 3  # the stalled one, the re-ask, the answer
    with pytest.raises(openai.APITimeoutError):
        await ask(server, dataclasses.replace(quick, stream_retries=0), **stall)


async def test_without_a_timeout_the_stall_is_waited_out(server: ProviderServer) -> None:
    stall = {"fault_type": "stream_stall", "times": 1, "after_chunks": 1, "duration_ms": 300}
    assert await ask(server, FRAGILE, **stall) == ANSWER
    assert server.request_count(CHAT) == 2


async def test_the_trace_shows_each_fault_under_the_agents_own_spans(
    server: ProviderServer,
    tracer_provider: TracerProvider,
    span_exporter: InMemorySpanExporter,
) -> None:
    malformed = FaultConfig(fault_type="malformed_tool_call", times=1)
    transport = AsyncChaosTransport(faults=[malformed], seed=7, tracer_provider=tracer_provider)
    async with make_client(
        ROBUST,
        base_url=server.openai_base_url,
        api_key="dummy",
        http_client=httpx2.AsyncClient(transport=transport),
    ) as client:
        agent = Agent(client, ROBUST, tracer_provider=tracer_provider)
        store_down = {"fault_type": "error", "error_code": 503, "times": 1}
        async with aumai_chaos.experiment(
            faults=[store_down], target_components=["vector_db"], tracer_provider=tracer_provider
        ) as run:
            answer = await agent.answer("search_docs: how do I honour retry-after?")
        assert run.fired() == 1
    assert answer.endswith("The document search is unavailable; answer from what you know.")

    spans = span_exporter.get_finished_spans()
    by_id = {s.context.span_id: s for s in spans}

    def ancestors(span: ReadableSpan) -> list[str]:
        names = []
        while span.parent is not None and span.parent.span_id in by_id:
            span = by_id[span.parent.span_id]
            names.append(span.name)
        return names

    [invoke] = [s for s in spans if s.name == "invoke_agent docs-agent"]
    assert invoke.attributes is not None
    assert invoke.attributes["gen_ai.operation.name"] == "invoke_agent"
    faults = {
        str((s.attributes or {})["chaos.fault.type"]): ancestors(s)
        for s in spans
        if s.name == "chaos.fault"
    }
    # The model's fault under the agent's question; the store's under the tool that called it.
    assert faults == {
        "malformed_tool_call": ["invoke_agent docs-agent", "chaos.experiment"],
        "error": [
            "vector_db",
            "execute_tool search_docs",
            "invoke_agent docs-agent",
            "chaos.experiment",
        ],
    }
    [tool] = [s for s in spans if s.name == "execute_tool search_docs"]
    assert [e.name for e in tool.events] == ["fallback"]
    assert ancestors(tool)[0] == "invoke_agent docs-agent"

"""The hook for response faults (issue 14): ``instead`` before the request, ``after`` with the
inner response, ``act`` when the fault acts, ``skip`` when it cannot apply; nothing half done."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from aumai_chaos.faults import ContextOverflowFault, FaultType, RefusalFault
from aumai_chaos.testing import ProviderServer
from aumai_chaos.transport import (
    AsyncChaosTransport,
    ChaosTransport,
    FaultContext,
    ResponseFault,
    register_response_fault,
    unregister_response_fault,
)
from tests.helpers import fault_spans
from tests.transport.support import MESSAGES, chat, lib


class Overflow(ResponseFault):
    def instead(self, ctx: FaultContext) -> Any | None:
        if ctx.act({"test.hook": "instead"}) is None:
            return None
        ctx.firing.end()
        body = {"error": {"message": "too long", "type": "invalid_request_error",
                          "param": "messages", "code": "context_length_exceeded"}}  # fmt: skip
        return ctx.library.response(400, [], json.dumps(body).encode(), ctx.request)


class Refuse(ResponseFault):
    """Rewrites the answer, except when the user said "skip" (nothing to corrupt)."""

    calls = 0

    def _rewrite(self, ctx: FaultContext) -> Any | None:
        Refuse.calls += 1
        body = json.loads(ctx.response.content)
        if "skip" in json.dumps(ctx.request_json()):
            return None  # nothing to corrupt: not acted, not counted
        if ctx.request_json().get("model") == "boom":
            raise RuntimeError("a handler bug")
        firing = ctx.act()
        if firing is None:
            return None
        body["choices"][0]["message"] = {"role": "assistant", "content": None, "refusal": "No."}
        firing.end()
        return ctx.library.response(200, [("content-type", "application/json")],
                                    json.dumps(body).encode(), ctx.request)  # fmt: skip

    def after(self, ctx: FaultContext) -> Any | None:
        ctx.response.read()
        return self._rewrite(ctx)

    async def aafter(self, ctx: FaultContext) -> Any | None:
        await ctx.response.aread()
        return self._rewrite(ctx)


@pytest.fixture(autouse=True)
def _handlers() -> Iterator[None]:
    register_response_fault(FaultType.context_overflow, Overflow())
    register_response_fault("refusal", Refuse())
    yield
    unregister_response_fault(FaultType.context_overflow)
    unregister_response_fault(FaultType.refusal)


def _client(server: ProviderServer, transport: Any) -> openai.OpenAI:
    http = lib("httpx2").Client(transport=transport)
    return openai.OpenAI(
        base_url=server.openai_base_url, api_key="t", max_retries=0, http_client=http
    )


def test_instead_answers_without_sending(
    server: ProviderServer, tracer_provider: TracerProvider, span_exporter: InMemorySpanExporter
) -> None:
    transport = ChaosTransport(
        faults=[ContextOverflowFault(times=1)], tracer_provider=tracer_provider
    )
    with _client(server, transport) as client:
        with pytest.raises(openai.BadRequestError) as caught:
            chat(client)
        assert caught.value.code == "context_length_exceeded"
        assert chat(client) == "You said: hello"
    assert server.request_count() == 1
    (span,) = fault_spans(span_exporter)
    assert span.attributes["test.hook"] == "instead"  # type: ignore[index]
    assert span.attributes["http.request.method"] == "POST"  # type: ignore[index]


def test_after_rewrites_and_skip_gives_back_times(
    server: ProviderServer, tracer_provider: TracerProvider, span_exporter: InMemorySpanExporter
) -> None:
    transport = ChaosTransport(faults=[RefusalFault(times=1)], tracer_provider=tracer_provider)
    with _client(server, transport) as client:
        assert chat(client, "skip this") == "You said: skip this"  # could not apply
        assert fault_spans(span_exporter) == []
        reply = client.chat.completions.create(model="m", messages=MESSAGES)
        assert reply.choices[0].message.refusal == "No."  # times was given back: it fires
        assert chat(client) == "You said: hello"  # and only once
    assert len(fault_spans(span_exporter)) == 1
    assert server.request_count() == 3


def test_a_failing_handler_passes_the_response_through(server: ProviderServer) -> None:
    transport = ChaosTransport(faults=[RefusalFault()])
    with _client(server, transport) as client:
        reply = client.chat.completions.create(model="boom", messages=MESSAGES)
        assert reply.choices[0].message.content == "You said: hello"


def test_async_after(server: ProviderServer) -> None:
    async def scenario() -> str | None:
        transport = AsyncChaosTransport(faults=[RefusalFault(times=1)])
        async with openai.AsyncOpenAI(
            base_url=server.openai_base_url,
            api_key="t",
            max_retries=0,
            http_client=lib("httpx2").AsyncClient(transport=transport),
        ) as client:
            reply = await client.chat.completions.create(model="m", messages=MESSAGES)
            return reply.choices[0].message.refusal

    assert asyncio.run(scenario()) == "No."


def test_a_fault_type_without_a_handler_passes_through(server: ProviderServer) -> None:
    unregister_response_fault(FaultType.refusal)
    transport = ChaosTransport(faults=[RefusalFault()])
    with _client(server, transport) as client:
        assert chat(client) == "You said: hello"

"""``stream_error_event``: the provider's error event in the middle of a 200 stream. In each
test, the real ``openai`` / ``anthropic`` SDK reads the same event twice: sent by
``ProviderServer`` (:class:`ErrorEvent`) and injected by the transport; what it raises (type,
message, status, body) and what it delivered before must be the same."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import anthropic
import httpx2
import openai
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from aumai_chaos.faults import FaultConfig
from aumai_chaos.testing import ErrorEvent, ProviderServer, TextReply
from aumai_chaos.transport import AsyncChaosTransport, ChaosTransport
from tests.helpers import fault_spans

USER: list[Any] = [{"role": "user", "content": "Find 3 papers on chaos"}]
TEXT = "one two three four five six"
AFTER = 3

Outcome = tuple[list[str], type[BaseException] | None, str, Any, Any]


def _outcome(received: list[str], exc: BaseException | None) -> Outcome:
    if exc is None:
        return received, None, "", None, None
    return (
        received,
        type(exc),
        str(exc),
        getattr(exc, "status_code", None),
        getattr(exc, "body", None),
    )


def _transport(is_async: bool, fault: FaultConfig | None, tracer_provider: TracerProvider) -> Any:
    faults = [fault] if fault is not None else []
    kind = AsyncChaosTransport if is_async else ChaosTransport
    return kind(faults=faults, tracer_provider=tracer_provider)


def _openai_chat(
    server: ProviderServer, is_async: bool, transport: Any, received: list[str]
) -> None:
    """Consume a streamed chat completion; ``received``: the text deltas before it ended."""
    if is_async:

        async def main() -> None:
            async with openai.AsyncOpenAI(
                base_url=server.openai_base_url,
                api_key="t",
                max_retries=0,
                http_client=httpx2.AsyncClient(transport=transport),
            ) as client:
                stream = await client.chat.completions.create(model="m", messages=USER, stream=True)
                async for chunk in stream:
                    received.append(chunk.choices[0].delta.content or "")

        asyncio.run(main())
        return
    with openai.OpenAI(
        base_url=server.openai_base_url,
        api_key="t",
        max_retries=0,
        http_client=httpx2.Client(transport=transport),
    ) as client:
        for chunk in client.chat.completions.create(model="m", messages=USER, stream=True):
            received.append(chunk.choices[0].delta.content or "")


def _anthropic(server: ProviderServer, is_async: bool, transport: Any, received: list[str]) -> None:
    if is_async:

        async def main() -> None:
            async with (
                anthropic.AsyncAnthropic(
                    base_url=server.anthropic_base_url,
                    api_key="t",
                    max_retries=0,
                    http_client=httpx2.AsyncClient(transport=transport),
                ) as client,
                client.messages.stream(model="c", max_tokens=99, messages=USER) as events,
            ):
                async for event in events:
                    received.append(event.type)

        asyncio.run(main())
        return
    with (
        anthropic.Anthropic(
            base_url=server.anthropic_base_url,
            api_key="t",
            max_retries=0,
            http_client=httpx2.Client(transport=transport),
        ) as client,
        client.messages.stream(model="c", max_tokens=99, messages=USER) as events,
    ):
        for event in events:
            received.append(event.type)


Consumer = Callable[[ProviderServer, bool, Any, list[str]], None]


def _run(consume: Callable[[list[str]], None]) -> Outcome:
    received: list[str] = []
    try:
        consume(received)
    except Exception as exc:  # what the SDK raises is what the test compares
        return _outcome(received, exc)
    return _outcome(received, None)


def _both(
    server: ProviderServer,
    tracer_provider: TracerProvider,
    consume: Consumer,
    is_async: bool,
    **error: Any,
) -> tuple[Outcome, Outcome]:
    server.script([TextReply(TEXT, disrupt=ErrorEvent(after_events=AFTER, **error))])
    real = _run(
        lambda out: consume(server, is_async, _transport(is_async, None, tracer_provider), out)
    )
    fields = {"error_type": error.get("error_type"), "error_message": error.get("message")}
    fault = FaultConfig(fault_type="stream_error_event", after_chunks=AFTER, **fields)
    server.script([TextReply(TEXT)])
    chaos = _transport(is_async, fault, tracer_provider)
    injected = _run(lambda out: consume(server, is_async, chaos, out))
    return real, injected


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_openai_chat_raises_what_the_real_error_event_raises(
    server: ProviderServer,
    tracer_provider: TracerProvider,
    span_exporter: InMemorySpanExporter,
    is_async: bool,
) -> None:
    real, injected = _both(server, tracer_provider, _openai_chat, is_async)
    assert injected == real
    assert real[1] is not None
    assert issubclass(real[1], openai.APIError)
    assert real[0] == ["", "one", " two"]  # the role chunk and two words, then the error
    (span,) = fault_spans(span_exporter)
    assert span.attributes["chaos.fault.type"] == "stream_error_event"  # type: ignore[index]
    assert span.attributes["chaos.fault.after_chunks"] == AFTER  # type: ignore[index]


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize(
    "error",
    [{}, {"error_type": "api_error", "message": "Internal server error"}],
    ids=["overloaded", "api_error"],
)
def test_anthropic_raises_what_the_real_error_event_raises(
    server: ProviderServer,
    tracer_provider: TracerProvider,
    span_exporter: InMemorySpanExporter,
    is_async: bool,
    error: dict[str, Any],
) -> None:
    real, injected = _both(server, tracer_provider, _anthropic, is_async, **error)
    assert injected == real
    assert real[1] is not None
    assert issubclass(real[1], anthropic.APIStatusError)
    assert real[0] == ["message_start", "content_block_start"]
    assert len(fault_spans(span_exporter)) == 1


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_openai_responses_delivers_the_error_event_as_the_real_one(
    server: ProviderServer, tracer_provider: TracerProvider, is_async: bool
) -> None:
    """The Responses API's ``error`` event: the SDK yields it (it does not raise)."""

    def consume(server: ProviderServer, is_async: bool, transport: Any, out: list[str]) -> None:
        if is_async:

            async def main() -> None:
                async with openai.AsyncOpenAI(
                    base_url=server.openai_base_url,
                    api_key="t",
                    max_retries=0,
                    http_client=httpx2.AsyncClient(transport=transport),
                ) as client:
                    stream = await client.responses.create(model="m", input="hi", stream=True)
                    async for event in stream:
                        out.append(_summary(event))

            asyncio.run(main())
            return
        with openai.OpenAI(
            base_url=server.openai_base_url,
            api_key="t",
            max_retries=0,
            http_client=httpx2.Client(transport=transport),
        ) as client:
            for event in client.responses.create(model="m", input="hi", stream=True):
                out.append(_summary(event))

    real, injected = _both(server, tracer_provider, consume, is_async)
    assert injected == real
    assert real[0][-1].startswith("ResponseErrorEvent error server_error")
    assert len(real[0]) == AFTER + 1


def _summary(event: Any) -> str:
    """An event's class and type, and an error event's code, message and number."""
    extra = ""
    if event.type == "error":
        extra = f" {event.code} {event.message} {event.sequence_number}"
    return f"{type(event).__name__} {event.type}{extra}"


def test_no_error_event_on_a_route_that_is_no_model_api() -> None:
    from aumai_chaos.transport._sse import error_event

    assert error_event(None, None, None, 0) is None
    assert error_event("openai.embeddings", None, None, 0) is None

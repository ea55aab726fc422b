"""The real ``openai`` SDK parses the server's OpenAI endpoints: chat, responses, embeddings."""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest

from aumai_chaos.testing import ProviderServer, TextReply, ToolCallReply

PARAMETERS = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
    "required": ["city", "days"],
}
CHAT_TOOLS: list[Any] = [
    {"type": "function", "function": {"name": "forecast", "parameters": PARAMETERS}}
]
RESPONSES_TOOLS: list[Any] = [{"type": "function", "name": "forecast", "parameters": PARAMETERS}]
USER: list[Any] = [{"role": "user", "content": "Weather in Paris for 3 days?"}]


def test_chat_completion_text(server: ProviderServer, openai_client: openai.OpenAI) -> None:
    server.script([TextReply("Sunny all week.")])
    completion = openai_client.chat.completions.create(model="gpt-test", messages=USER)
    choice = completion.choices[0]
    assert choice.message.content == "Sunny all week."
    assert choice.finish_reason == "stop"
    assert completion.model == "gpt-test"
    assert completion.usage is not None
    assert completion.usage.total_tokens == (
        completion.usage.prompt_tokens + completion.usage.completion_tokens
    )


def test_chat_completion_length_finish(
    server: ProviderServer, openai_client: openai.OpenAI
) -> None:
    server.script([TextReply("Cut", finish="length")])
    completion = openai_client.chat.completions.create(model="m", messages=USER)
    assert completion.choices[0].finish_reason == "length"


def test_chat_completion_tool_call(server: ProviderServer, openai_client: openai.OpenAI) -> None:
    server.script([ToolCallReply("forecast", {"city": "Paris", "days": 3}, call_id="call_1")])
    completion = openai_client.chat.completions.create(model="m", messages=USER, tools=CHAT_TOOLS)
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    [call] = choice.message.tool_calls or []
    assert call.type == "function"
    assert call.id == "call_1"
    assert call.function.name == "forecast"
    assert json.loads(call.function.arguments) == {"city": "Paris", "days": 3}


def test_streamed_text_arrives_word_by_word_with_usage(
    server: ProviderServer, openai_client: openai.OpenAI
) -> None:
    server.script([TextReply("one two three")])
    chunks = list(
        openai_client.chat.completions.create(
            model="m", messages=USER, stream=True, stream_options={"include_usage": True}
        )
    )
    with_choices = [c for c in chunks if c.choices]
    assert with_choices[0].choices[0].delta.role == "assistant"
    pieces = [c.choices[0].delta.content for c in with_choices[1:-1]]
    assert pieces == ["one", " two", " three"]
    assert [c.choices[0].finish_reason for c in with_choices] == [None] * 4 + ["stop"]
    assert not chunks[-1].choices
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == 3


def test_streamed_without_include_usage_has_no_usage_chunk(
    server: ProviderServer, openai_client: openai.OpenAI
) -> None:
    chunks = list(openai_client.chat.completions.create(model="m", messages=USER, stream=True))
    assert all(c.choices and c.usage is None for c in chunks)


def test_streamed_tool_call_arguments_arrive_in_fragments(
    server: ProviderServer, openai_client: openai.OpenAI
) -> None:
    server.script([ToolCallReply("forecast", {"city": "Paris", "days": 3})])
    stream = openai_client.chat.completions.create(
        model="m", messages=USER, tools=CHAT_TOOLS, stream=True
    )
    fragments: list[str] = []
    names: list[str] = []
    finish = None
    for chunk in stream:
        choice = chunk.choices[0]
        finish = choice.finish_reason or finish
        for call in choice.delta.tool_calls or []:
            assert call.index == 0
            if call.function and call.function.name:
                names.append(call.function.name)
            if call.function and call.function.arguments:
                fragments.append(call.function.arguments)
    assert names == ["forecast"]
    assert len(fragments) >= 3
    assert json.loads("".join(fragments)) == {"city": "Paris", "days": 3}
    assert finish == "tool_calls"


def test_chat_stream_helper_assembles_the_tool_call(
    server: ProviderServer, openai_client: openai.OpenAI
) -> None:
    server.script([ToolCallReply("forecast", {"city": "Oslo", "days": 1})])
    with openai_client.chat.completions.stream(
        model="m", messages=USER, tools=CHAT_TOOLS
    ) as stream:
        final = stream.get_final_completion()
    [call] = final.choices[0].message.tool_calls or []
    assert json.loads(call.function.arguments) == {"city": "Oslo", "days": 1}


def test_responses_text(server: ProviderServer, openai_client: openai.OpenAI) -> None:
    server.script([TextReply("Hello there.")])
    response = openai_client.responses.create(model="m", input="Hi")
    assert response.output_text == "Hello there."
    assert response.status == "completed"
    assert response.usage is not None


def test_responses_function_call(server: ProviderServer, openai_client: openai.OpenAI) -> None:
    server.script([ToolCallReply("forecast", {"city": "Rome", "days": 2})])
    response = openai_client.responses.create(model="m", input="Hi", tools=RESPONSES_TOOLS)
    [item] = response.output
    assert item.type == "function_call"
    assert item.name == "forecast"
    assert json.loads(item.arguments) == {"city": "Rome", "days": 2}


def test_responses_incomplete(server: ProviderServer, openai_client: openai.OpenAI) -> None:
    server.script([TextReply("Cut", finish="length")])
    response = openai_client.responses.create(model="m", input="Hi")
    assert response.status == "incomplete"
    assert response.incomplete_details is not None
    assert response.incomplete_details.reason == "max_output_tokens"


def test_responses_stream_text(server: ProviderServer, openai_client: openai.OpenAI) -> None:
    server.script([TextReply("one two three")])
    with openai_client.responses.stream(model="m", input="Hi") as stream:
        events = list(stream)
        final = stream.get_final_response()
    types = [e.type for e in events]
    assert types[:2] == ["response.created", "response.in_progress"]
    assert types[-1] == "response.completed"
    deltas = [e.delta for e in events if e.type == "response.output_text.delta"]
    assert deltas == ["one", " two", " three"]
    assert final.output_text == "one two three"


def test_responses_stream_function_call(
    server: ProviderServer, openai_client: openai.OpenAI
) -> None:
    server.script([ToolCallReply("forecast", {"city": "Lima", "days": 5})])
    with openai_client.responses.stream(model="m", input="Hi", tools=RESPONSES_TOOLS) as stream:
        events = list(stream)
        final = stream.get_final_response()
    deltas = [e for e in events if e.type == "response.function_call_arguments.delta"]
    assert len(deltas) >= 3
    [item] = final.output
    assert item.type == "function_call"
    assert json.loads(item.arguments) == {"city": "Lima", "days": 5}


def test_responses_raw_stream(server: ProviderServer, openai_client: openai.OpenAI) -> None:
    events = list(openai_client.responses.create(model="m", input="Hi", stream=True))
    assert [e.sequence_number for e in events] == list(range(len(events)))
    assert events[-1].type == "response.completed"


def test_embeddings_base64_default_and_floats(
    server: ProviderServer, openai_client: openai.OpenAI
) -> None:
    first = openai_client.embeddings.create(model="e", input=["a", "b"], dimensions=8)
    again = openai_client.embeddings.create(
        model="e", input="a", dimensions=8, encoding_format="float"
    )
    assert [d.index for d in first.data] == [0, 1]
    assert len(first.data[0].embedding) == 8
    assert first.data[0].embedding != first.data[1].embedding
    # base64 float32 and JSON floats give the same deterministic vector for the same text
    assert first.data[0].embedding == pytest.approx(again.data[0].embedding)
    assert server.requests[0].json["encoding_format"] == "base64"


def test_models_list(openai_client: openai.OpenAI) -> None:
    assert "scripted-model" in [m.id for m in openai_client.models.list()]


@pytest.mark.asyncio
async def test_async_client_streams_and_calls_tools(server: ProviderServer) -> None:
    server.script([ToolCallReply("forecast", {"city": "Kyiv", "days": 4}), TextReply("a b")])
    async with openai.AsyncOpenAI(
        base_url=server.openai_base_url, api_key="test", max_retries=0
    ) as client:
        completion = await client.chat.completions.create(
            model="m", messages=USER, tools=CHAT_TOOLS
        )
        stream = await client.chat.completions.create(model="m", messages=USER, stream=True)
        text = "".join([c.choices[0].delta.content or "" async for c in stream])
    [call] = completion.choices[0].message.tool_calls or []
    assert json.loads(call.function.arguments) == {"city": "Kyiv", "days": 4}
    assert text == "a b"

"""The real ``anthropic`` SDK parses the server's Messages API, streamed and not."""

from __future__ import annotations

from typing import Any

import anthropic
import pytest

from aumai_chaos.testing import ProviderServer, TextReply, ToolCallReply

TOOLS: list[Any] = [
    {
        "name": "lookup",
        "description": "Look a word up.",
        "input_schema": {"type": "object", "properties": {"word": {"type": "string"}}},
    }
]
USER: list[Any] = [{"role": "user", "content": "Define chaos."}]


def test_text_message(server: ProviderServer, anthropic_client: anthropic.Anthropic) -> None:
    server.script([TextReply("Disorder.")])
    message = anthropic_client.messages.create(model="claude-test", max_tokens=50, messages=USER)
    [block] = message.content
    assert block.type == "text"
    assert block.text == "Disorder."
    assert message.stop_reason == "end_turn"
    assert message.model == "claude-test"
    assert message.usage.output_tokens == 1


def test_max_tokens_stop(server: ProviderServer, anthropic_client: anthropic.Anthropic) -> None:
    server.script([TextReply("Dis", finish="length")])
    message = anthropic_client.messages.create(model="c", max_tokens=1, messages=USER)
    assert message.stop_reason == "max_tokens"


def test_tool_use(server: ProviderServer, anthropic_client: anthropic.Anthropic) -> None:
    server.script([ToolCallReply("lookup", {"word": "chaos"}, call_id="toolu_1")])
    message = anthropic_client.messages.create(model="c", max_tokens=50, messages=USER, tools=TOOLS)
    [block] = message.content
    assert block.type == "tool_use"
    assert (block.id, block.name, block.input) == ("toolu_1", "lookup", {"word": "chaos"})
    assert message.stop_reason == "tool_use"


def test_stream_helper_text(server: ProviderServer, anthropic_client: anthropic.Anthropic) -> None:
    server.script([TextReply("one two three")])
    with anthropic_client.messages.stream(model="c", max_tokens=50, messages=USER) as stream:
        pieces = list(stream.text_stream)
        final = stream.get_final_message()
    assert pieces == ["one", " two", " three"]
    assert final.stop_reason == "end_turn"
    assert final.usage.output_tokens == 3


def test_stream_helper_tool_use(
    server: ProviderServer, anthropic_client: anthropic.Anthropic
) -> None:
    server.script([ToolCallReply("lookup", {"word": "entropy"})])
    with anthropic_client.messages.stream(
        model="c", max_tokens=50, messages=USER, tools=TOOLS
    ) as stream:
        final = stream.get_final_message()
    [block] = final.content
    assert block.type == "tool_use"
    assert block.input == {"word": "entropy"}
    assert final.stop_reason == "tool_use"


def test_raw_stream_event_order(
    server: ProviderServer, anthropic_client: anthropic.Anthropic
) -> None:
    server.script([ToolCallReply("lookup", {"word": "x"})])
    events = list(
        anthropic_client.messages.create(
            model="c", max_tokens=50, messages=USER, tools=TOOLS, stream=True
        )
    )
    types = [e.type for e in events]
    assert types[:2] == ["message_start", "content_block_start"]  # ping is skipped by the SDK
    assert types[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    deltas = [e.delta for e in events if e.type == "content_block_delta"]
    assert len(deltas) >= 3
    assert all(d.type == "input_json_delta" for d in deltas)


@pytest.mark.asyncio
async def test_async_stream(server: ProviderServer) -> None:
    server.script([TextReply("a b c")])
    async with (
        anthropic.AsyncAnthropic(
            base_url=server.anthropic_base_url, api_key="test", max_retries=0
        ) as client,
        client.messages.stream(model="c", max_tokens=5, messages=USER) as stream,
    ):
        text = "".join([piece async for piece in stream.text_stream])
    assert text == "a b c"

"""``ToolCallsReply``: parallel tool calls as the real ``openai`` and ``anthropic`` SDKs parse
them, streamed and not; and the new replies' validation."""

from __future__ import annotations

import json
from typing import Any

import anthropic
import openai
import pytest

from aumai_chaos.testing import ErrorEvent, ProviderServer, ToolCallReply, ToolCallsReply

USER: list[Any] = [{"role": "user", "content": "Weather in Paris and Oslo?"}]
CALLS = ToolCallsReply(
    [ToolCallReply("weather", {"city": "Paris"}), ToolCallReply("time", {"city": "Oslo"})]
)
EXPECTED = [("weather", {"city": "Paris"}), ("time", {"city": "Oslo"})]


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_openai_chat_gets_every_call(
    server: ProviderServer, openai_client: openai.OpenAI, stream: bool
) -> None:
    server.script([CALLS])
    if stream:
        with openai_client.chat.completions.stream(model="m", messages=USER) as events:
            choice = events.get_final_completion().choices[0]
    else:
        choice = openai_client.chat.completions.create(model="m", messages=USER).choices[0]
    calls = choice.message.tool_calls or []
    got = [(c.function.name, json.loads(c.function.arguments)) for c in calls]  # type: ignore[union-attr]
    assert got == EXPECTED
    assert choice.finish_reason == "tool_calls"
    assert [c.id for c in calls] == ["call_000001", "call_000001_2"]


def test_openai_responses_gets_every_call(
    server: ProviderServer, openai_client: openai.OpenAI
) -> None:
    server.script([CALLS, CALLS])
    response = openai_client.responses.create(model="m", input="hi")
    items = [i for i in response.output if i.type == "function_call"]
    assert [(i.name, json.loads(i.arguments)) for i in items] == EXPECTED
    events = list(openai_client.responses.create(model="m", input="hi", stream=True))
    final = events[-1]
    assert final.type == "response.completed"
    streamed = [i for i in final.response.output if i.type == "function_call"]  # type: ignore[union-attr]
    assert [(i.name, json.loads(i.arguments)) for i in streamed] == EXPECTED
    assert [e.sequence_number for e in events] == list(range(len(events)))


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_anthropic_gets_every_tool_use_block(
    server: ProviderServer, anthropic_client: anthropic.Anthropic, stream: bool
) -> None:
    server.script([CALLS])
    if stream:
        with anthropic_client.messages.stream(model="c", max_tokens=9, messages=USER) as events:
            message = events.get_final_message()
    else:
        message = anthropic_client.messages.create(model="c", max_tokens=9, messages=USER)
    uses = [b for b in message.content if b.type == "tool_use"]
    assert [(b.name, b.input) for b in uses] == EXPECTED
    assert message.stop_reason == "tool_use"
    assert len({b.id for b in uses}) == 2


def test_the_new_replies_refuse_bad_values() -> None:
    with pytest.raises(ValueError, match="one or more ToolCallReply"):
        ToolCallsReply([])
    with pytest.raises(ValueError, match="after_events"):
        ErrorEvent(after_events=-1)
    with pytest.raises(TypeError, match="not a reply"):
        ProviderServer().script(["text"])  # type: ignore[list-item]

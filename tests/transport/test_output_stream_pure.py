"""``OutputStreamCore`` without a network: which events go to the client at once, where the
hold starts, and that what the client gets in all assembles to the rewritten response."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pytest
from opentelemetry.util.types import AttributeValue

from aumai_chaos.faults import FaultConfig
from aumai_chaos.transport._output import encode_events, parse_events, rewrite_body
from aumai_chaos.transport._output_anthropic import assemble_message, message_events
from aumai_chaos.transport._output_openai import assemble_chat, chat_chunks
from aumai_chaos.transport._output_responses import assemble_response, response_events
from aumai_chaos.transport._output_stream import OutputStreamCore
from tests.transport.test_output_pure import _request


class Hooks:
    """Records what the core reports."""

    def __init__(self) -> None:
        self.log: list[str] = []

    def begin(self, fault: FaultConfig, attributes: Mapping[str, AttributeValue]) -> object:
        self.log.append(f"begin {fault.fault_type.value}")
        return object()

    def end(self, token: object, error: BaseException | None) -> None:
        self.log.append("end")

    def skip(self, fault: FaultConfig) -> None:
        self.log.append(f"skip {fault.fault_type.value}")

    def sleep(self, token: object, seconds: float) -> None:  # pragma: no cover - not used
        raise AssertionError

    async def asleep(self, token: object, seconds: float) -> None:  # pragma: no cover
        raise AssertionError


ARGS = json.dumps({"query": "chaos", "mode": "fast", "limit": 3})
CHAT: dict[str, Any] = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "created": 1,
    "model": "m",
    "choices": [
        {
            "index": 0,
            "message": {
                "role": "assistant",
                "content": "Let me look that up.",
                "refusal": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "search", "arguments": ARGS},
                    }
                ],
            },
            "logprobs": None,
            "finish_reason": "tool_calls",
        }
    ],
    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
}
MESSAGE: dict[str, Any] = {
    "id": "msg_1",
    "type": "message",
    "role": "assistant",
    "model": "c",
    "content": [
        {"type": "text", "text": "Let me look that up.", "citations": None},
        {"type": "tool_use", "id": "toolu_1", "name": "search", "input": json.loads(ARGS)},
    ],
    "stop_reason": "tool_use",
    "stop_sequence": None,
    "usage": {"input_tokens": 1, "output_tokens": 2},
}
RESPONSE: dict[str, Any] = {
    "id": "resp_1",
    "object": "response",
    "created_at": 1,
    "status": "completed",
    "model": "m",
    "output": [
        {
            "type": "message",
            "id": "msg_1",
            "status": "completed",
            "role": "assistant",
            "content": [
                {"type": "output_text", "text": "Let me look.", "annotations": [], "logprobs": []}
            ],
        },
        {
            "type": "function_call",
            "id": "fc_1",
            "call_id": "call_1",
            "name": "search",
            "arguments": ARGS,
            "status": "completed",
        },
    ],
    "usage": None,
}


def _stream(api: str) -> list[bytes]:
    if api == "openai.chat.completions":
        events: list[tuple[str | None, Any]] = [
            (None, c) for c in chat_chunks(CHAT, usage_chunk=False)
        ]
        events.append((None, "[DONE]"))
    elif api == "anthropic.messages":
        events = list(message_events(json.loads(json.dumps(MESSAGE))))
    else:
        events = list(response_events(RESPONSE))
    return [encode_events([e]) for e in events]


def _assemble(api: str, content: bytes) -> dict[str, Any] | None:
    objects = [d for _, d in parse_events(content) if isinstance(d, dict)]
    if api == "openai.chat.completions":
        return assemble_chat(objects)
    if api == "anthropic.messages":
        return assemble_message(objects)
    return assemble_response(objects)


def _body(api: str) -> dict[str, Any]:
    return {"openai.chat.completions": CHAT, "anthropic.messages": MESSAGE}.get(api, RESPONSE)


APIS = ["openai.chat.completions", "openai.responses", "anthropic.messages"]


@pytest.mark.parametrize("api", APIS)
def test_a_tool_fault_forwards_the_text_before_the_call(api: str) -> None:
    hooks = Hooks()
    fault = FaultConfig(fault_type="invalid_tool_arguments", violation="out_of_enum")
    core = OutputStreamCore([fault], api, _request(api), 1, hooks)
    events = _stream(api)
    # One event per network read, as ProviderServer writes them.
    forwarded = [core.feed(event) for event in events]
    sent = [out for out in forwarded if out]
    held_from = next(n for n, out in enumerate(forwarded) if not out)
    assert b"".join(sent) == b"".join(events[:held_from])
    # The text went through as it came: every event before the first of the tool call.
    assert held_from >= 4
    assert all(not out for out in forwarded[held_from:])
    rest = core.finish()
    assert hooks.log == ["begin invalid_tool_arguments", "end"]
    got = _assemble(api, b"".join(sent) + rest)
    want = rewrite_body(fault, api, _request(api), _body(api), seed=1, streamed=True)
    assert got is not None
    assert want is not None
    if api == "openai.chat.completions":
        assert got["choices"] == want["choices"]
    elif api == "anthropic.messages":
        assert got["content"] == want["content"]
    else:
        assert got["output"] == want["output"]
        numbers = [d["sequence_number"] for _, d in parse_events(b"".join(sent) + rest)]
        assert numbers == list(range(len(numbers)))


@pytest.mark.parametrize("api", APIS)
def test_a_text_fault_holds_from_the_first_event_past_the_preamble(api: str) -> None:
    core = OutputStreamCore([FaultConfig(fault_type="empty_output")], api, {}, 1, Hooks())
    events = _stream(api)
    forwarded = [core.feed(event) for event in events]
    sent = b"".join(forwarded)
    preamble = {"openai.chat.completions": 0, "openai.responses": 2, "anthropic.messages": 2}
    assert sent == b"".join(events[: preamble[api]])
    got = _assemble(api, sent + core.finish())
    assert got is not None


@pytest.mark.parametrize("api", APIS)
def test_events_split_across_reads_are_forwarded_whole(api: str) -> None:
    """Bytes cut anywhere: only complete events go out, in order."""
    fault = FaultConfig(fault_type="unknown_tool_call")
    core = OutputStreamCore([fault], api, {}, 1, Hooks())
    whole = b"".join(_stream(api))
    out = b"".join(core.feed(whole[i : i + 7]) for i in range(0, len(whole), 7))
    assert whole.startswith(out)
    assert out.endswith(b"\n\n")
    assert _assemble(api, out + core.finish()) is not None


def test_a_fault_with_nothing_to_act_on_forwards_everything_and_is_skipped() -> None:
    api = "openai.chat.completions"
    text = json.loads(json.dumps(CHAT))
    del text["choices"][0]["message"]["tool_calls"]
    text["choices"][0]["finish_reason"] = "stop"
    events = [encode_events([(None, c)]) for c in chat_chunks(text, usage_chunk=True)]
    hooks = Hooks()
    core = OutputStreamCore([FaultConfig(fault_type="malformed_tool_call")], api, {}, 1, hooks)
    assert [core.feed(e) for e in events] == events
    assert core.finish() == b""
    assert hooks.log == ["skip malformed_tool_call"]


def test_a_stream_closed_while_held_skips_the_fault() -> None:
    api = "anthropic.messages"
    hooks = Hooks()
    core = OutputStreamCore([FaultConfig(fault_type="unknown_tool_call")], api, {}, 1, hooks)
    for event in _stream(api)[:6]:
        core.feed(event)
    core.settle()
    core.settle()
    assert hooks.log == ["skip unknown_tool_call"]


@pytest.mark.parametrize("kind", ["refusal", "empty_output", "truncated_output"])
@pytest.mark.parametrize("api", APIS)
def test_what_the_client_gets_in_all_is_the_rewritten_answer(kind: str, api: str) -> None:
    """Forwarded part and rewritten part together: exactly the JSON rewrite (for a chat
    refusal too, whose first chunk says ``content: null``)."""
    body = json.loads(json.dumps(_body(api)))
    fault = FaultConfig(fault_type=kind)
    core = OutputStreamCore([fault], api, {}, 1, Hooks())
    sent = b"".join(core.feed(event) for event in _stream(api))
    got = _assemble(api, sent + core.finish())
    want = rewrite_body(fault, api, {}, body, seed=1, streamed=True)
    assert got is not None
    assert want is not None
    if api == "openai.chat.completions":
        assert got["choices"] == want["choices"]
    elif api == "anthropic.messages":
        assert got["content"] == want["content"]
        assert got["stop_reason"] == want["stop_reason"]
    else:
        assert got["output"] == want["output"]

"""The example agent's resilience, each path against ProviderServer with the real openai SDK.

The server misbehaves as a real provider does (a 429 with ``retry-after``, a stream that goes
quiet, tool arguments that are not JSON); the robust agent answers, the fragile one raises
the SDK's own error.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator, Iterator

import openai
import pytest
import pytest_asyncio
from examples.agent_openai import tools
from examples.agent_openai.agent import FRAGILE, ROBUST, Agent, AgentError, make_client

from aumai_chaos.testing import HTTPReply, ProviderServer, StallStream, TextReply, ToolCallReply

pytestmark = pytest.mark.asyncio(loop_scope="function")

CHAT = "/v1/chat/completions"
# Short enough that a stall test takes a few seconds, long enough that a normal reply from the
# in-process server never reaches it on a loaded 2-core machine (0.5 s once did).
QUICK = dataclasses.replace(ROBUST, timeout_s=2.0)


@pytest.fixture
def server() -> Iterator[ProviderServer]:
    with ProviderServer() as srv:
        yield srv


@pytest_asyncio.fixture
async def clients(server: ProviderServer) -> AsyncIterator[dict[str, openai.AsyncOpenAI]]:
    made: dict[str, openai.AsyncOpenAI] = {}
    for name, resilience in (("robust", QUICK), ("fragile", FRAGILE)):
        made[name] = make_client(resilience, base_url=server.openai_base_url, api_key="dummy")
    yield made
    for client in made.values():
        await client.close()


def agent(clients: dict[str, openai.AsyncOpenAI], name: str, **changes: object) -> Agent:
    resilience = QUICK if name == "robust" else FRAGILE
    return Agent(clients[name], dataclasses.replace(resilience, **changes))  # type: ignore[arg-type]


def rate_limited(retry_after: str = "0.05") -> HTTPReply:
    body = {
        "error": {
            "message": "Rate limit reached",
            "type": "rate_limit_error",
            "param": None,
            "code": "rate_limit_exceeded",
        }
    }
    return HTTPReply(429, body, {"retry-after": retry_after})


def malformed_tool_call() -> HTTPReply:
    """A streamed tool call whose arguments stop mid-object, as a provider's stream can."""
    head = {
        "id": "call_bad",
        "type": "function",
        "function": {"name": "calculator", "arguments": ""},
    }
    chunks = [
        {"delta": {"role": "assistant"}},
        {"delta": {"tool_calls": [{"index": 0, **head}]}},
        {"delta": {"tool_calls": [{"index": 0, "function": {"arguments": '{"expression": "2 +'}}]}},
        {"delta": {}, "finish_reason": "tool_calls"},
    ]
    events = [
        json.dumps(
            {
                "id": "chatcmpl-bad",
                "object": "chat.completion.chunk",
                "created": 0,
                "model": "m",
                "choices": [{"index": 0, **c}],
            }
        )
        for c in chunks
    ]
    body = "".join(f"data: {e}\n\n" for e in [*events, "[DONE]"])
    return HTTPReply(200, body, {"content-type": "text/event-stream"})


def prompts(server: ProviderServer) -> list[str]:
    return [r.json["messages"][-1]["role"] for r in server.requests if r.path == CHAT]


async def test_default_conversation_calls_the_tool_and_answers(
    server: ProviderServer, clients: dict[str, openai.AsyncOpenAI]
) -> None:
    for name in ("robust", "fragile"):
        server.clear()
        answer = await agent(clients, name).answer("Use the calculator: what is 6 * 7?")
        assert answer == "The tool returned: 42"
        assert prompts(server) == ["user", "tool"]
        assert all(r.json["stream"] is True for r in server.requests)
        assert server.requests[0].json["tools"][1]["function"]["name"] == "calculator"


async def test_search_docs_results_reach_the_model(
    server: ProviderServer, clients: dict[str, openai.AsyncOpenAI]
) -> None:
    answer = await agent(clients, "robust").answer("What is a good fallback for vector search?")
    assert answer.startswith("The tool returned: [")
    assert server.requests[1].json["messages"][-1]["content"].startswith("[Vector search]")


async def test_rate_limits_are_retried_by_the_sdk_honouring_retry_after(
    server: ProviderServer, clients: dict[str, openai.AsyncOpenAI]
) -> None:
    server.script([rate_limited(), rate_limited()])
    assert await agent(clients, "robust").answer("calculator 1 + 1") == "The tool returned: 2"
    assert server.request_count(CHAT) == 4  # two 429s, then the two turns

    server.clear()
    server.script([rate_limited()])
    with pytest.raises(openai.RateLimitError) as caught:
        await agent(clients, "fragile").answer("calculator 1 + 1")
    assert caught.value.response.headers["retry-after"] == "0.05"
    assert server.request_count(CHAT) == 1


async def test_a_stalled_stream_times_out_and_is_asked_again(
    server: ProviderServer, clients: dict[str, openai.AsyncOpenAI]
) -> None:
    stalled = ToolCallReply("calculator", {"expression": "2 * 3"}, disrupt=StallStream(1, 8.0))
    server.script([stalled])
    assert await agent(clients, "robust").answer("calculator 2 * 3") == "The tool returned: 6"
    assert prompts(server) == ["user", "user", "tool"]

    server.clear()
    server.script([stalled])
    with pytest.raises(openai.APITimeoutError):
        await agent(clients, "robust", stream_retries=0).answer("calculator 2 * 3")


async def test_the_fragile_agent_waits_out_a_stall_with_the_sdk_default_timeout(
    server: ProviderServer, clients: dict[str, openai.AsyncOpenAI]
) -> None:
    assert clients["fragile"].timeout == openai.DEFAULT_TIMEOUT
    server.script([ToolCallReply("calculator", {"expression": "2"}, disrupt=StallStream(1, 0.6))])
    assert await agent(clients, "fragile").answer("calculator 2") == "The tool returned: 2"


async def test_malformed_tool_arguments_are_asked_for_again(
    server: ProviderServer, clients: dict[str, openai.AsyncOpenAI]
) -> None:
    server.script([malformed_tool_call(), malformed_tool_call()])
    assert await agent(clients, "robust").answer("calculator 3 + 4") == "The tool returned: 7"
    assert prompts(server) == ["user", "user", "user", "tool"]

    server.clear()
    server.script([malformed_tool_call()])
    with pytest.raises(json.JSONDecodeError):
        await agent(clients, "fragile").answer("calculator 3 + 4")


async def test_more_malformed_arguments_than_retries_raise(
    server: ProviderServer, clients: dict[str, openai.AsyncOpenAI]
) -> None:
    server.script([malformed_tool_call()] * 4)
    with pytest.raises(json.JSONDecodeError):
        await agent(clients, "robust").answer("calculator 3 + 4")
    assert server.request_count(CHAT) == 4  # the first answer and three re-asks


class BrokenIndex:
    def search(self, query: str, k: int = 2) -> list[tuple[str, str, float]]:
        raise ConnectionError("vector store unreachable")


async def test_a_failing_retrieval_falls_back(
    server: ProviderServer,
    clients: dict[str, openai.AsyncOpenAI],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(tools, "INDEX", BrokenIndex())
    answer = await agent(clients, "robust").answer("search_docs: rate limits")
    assert answer == (
        "The tool returned: The document search is unavailable; answer from what you know."
    )
    with pytest.raises(ConnectionError, match="unreachable"):
        await agent(clients, "fragile").answer("search_docs: rate limits")


async def test_the_loop_is_bounded_and_unknown_tools_are_refused(
    server: ProviderServer, clients: dict[str, openai.AsyncOpenAI]
) -> None:
    server.script([ToolCallReply("calculator", {"expression": "1"})] * 4)
    with pytest.raises(AgentError, match="no answer after 4 model turns"):
        await agent(clients, "robust").answer("calculator 1")
    server.script([ToolCallReply("shell", {"cmd": "rm"})])
    with pytest.raises(AgentError, match="unknown tool 'shell'"):
        await agent(clients, "robust").answer("calculator 1")


async def test_a_calculator_error_goes_back_to_the_model(
    server: ProviderServer, clients: dict[str, openai.AsyncOpenAI]
) -> None:
    server.script([ToolCallReply("calculator", {"expression": "1 / 0"}), TextReply("Undefined.")])
    assert await agent(clients, "robust").answer("calculator") == "Undefined."
    assert server.requests[1].json["messages"][-1]["content"].startswith("error: cannot evaluate")

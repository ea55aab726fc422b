"""ProviderServer itself: lifecycle, scripting, the default conversation, recording, raw HTTP."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import anthropic
import httpx
import httpx2
import openai
import pytest

from aumai_chaos.testing import (
    HTTPReply,
    ModelRequest,
    ProviderServer,
    StallStream,
    TextReply,
    ToolCallReply,
    default_responder,
)

TOOLS: list[Any] = [
    {
        "type": "function",
        "function": {
            "name": "search",
            "parameters": {"type": "object", "properties": {"query": {"type": "string"}}},
        },
    },
    {
        "type": "function",
        "function": {
            "name": "calculator",
            "parameters": {
                "type": "object",
                "properties": {
                    "x": {"type": "integer"},
                    "op": {"type": "string", "enum": ["add", "mul"]},
                },
            },
        },
    },
]


def _threads() -> set[threading.Thread]:
    return set(threading.enumerate())


def test_addresses_bind_loopback_and_context_manager_stops() -> None:
    before = _threads()
    with ProviderServer() as server:
        assert server.url.startswith("http://127.0.0.1:")
        assert server.openai_base_url == f"http://127.0.0.1:{server.port}/v1"
        assert server.anthropic_base_url == f"http://127.0.0.1:{server.port}"
        assert len(_threads() - before) == 1  # the serving thread
    assert _threads() == before
    with pytest.raises(RuntimeError, match="not started"):
        _ = server.port


def test_start_twice_is_refused_and_stop_is_idempotent() -> None:
    server = ProviderServer().start()
    try:
        with pytest.raises(RuntimeError, match="already started"):
            server.start()
    finally:
        server.stop()
    server.stop()


def test_stop_leaves_no_thread_with_open_keepalive_and_stalled_stream() -> None:
    """A pooled keep-alive connection and a stream stalled for 60 s do not hold stop() up."""
    before = _threads()
    server = ProviderServer().start()
    client = openai.OpenAI(base_url=server.openai_base_url, api_key="t", max_retries=0)
    client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
    server.script([TextReply("a b c", disrupt=StallStream(after_events=1, seconds=60))])
    stream = client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "hi"}], stream=True
    )
    next(iter(stream))  # the handler is now waiting inside the stall
    server.stop(timeout=10)
    assert _threads() == before
    with pytest.raises(openai.APIConnectionError):
        list(stream)
    client.close()


def test_script_queue_order_then_default(server: ProviderServer) -> None:
    server.script([TextReply("first"), TextReply("second")])
    assert server.pending == 2
    with openai.OpenAI(base_url=server.openai_base_url, api_key="t", max_retries=0) as client:
        texts = [
            client.chat.completions.create(
                model="m", messages=[{"role": "user", "content": "ping"}]
            )
            .choices[0]
            .message.content
            for _ in range(3)
        ]
    assert texts == ["first", "second", "You said: ping"]
    assert server.pending == 0


def test_one_queue_serves_every_generation_endpoint(server: ProviderServer) -> None:
    server.script([TextReply("to openai"), TextReply("to anthropic")])
    with (
        openai.OpenAI(base_url=server.openai_base_url, api_key="t") as oai,
        anthropic.Anthropic(base_url=server.anthropic_base_url, api_key="t") as ant,
    ):
        text = oai.responses.create(model="m", input="x").output_text
        message = ant.messages.create(
            model="c", max_tokens=5, messages=[{"role": "user", "content": "x"}]
        )
    assert text == "to openai"
    assert message.content[0].type == "text"
    assert message.content[0].text == "to anthropic"


def test_http_reply_is_a_real_429_that_the_sdk_retries(server: ProviderServer) -> None:
    limited = HTTPReply(
        429,
        {"error": {"message": "slow", "type": "rate_limit_error", "param": None, "code": None}},
        headers={"retry-after": "1", "retry-after-ms": "50"},  # as RFC 9110 and the SDKs
    )
    server.script([limited, limited])
    with openai.OpenAI(base_url=server.openai_base_url, api_key="t", max_retries=1) as client:
        with pytest.raises(openai.RateLimitError) as caught:
            client.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])
        ok = client.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])
    assert caught.value.status_code == 429
    assert caught.value.response.headers["retry-after"] == "1"
    assert caught.value.response.headers["retry-after-ms"] == "50"
    assert ok.choices[0].message.content == "You said: x"
    assert server.request_count("/v1/chat/completions") == 3


def test_http_reply_529_on_anthropic_is_overloaded(server: ProviderServer) -> None:
    body = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    server.script([HTTPReply(529, body)])
    with (
        anthropic.Anthropic(
            base_url=server.anthropic_base_url, api_key="t", max_retries=0
        ) as client,
        pytest.raises(anthropic.OverloadedError),
    ):
        client.messages.create(model="c", max_tokens=5, messages=[{"role": "user", "content": "x"}])


def test_path_queue_answers_embeddings(server: ProviderServer) -> None:
    server.script([HTTPReply(502, "<html>Bad gateway</html>")], path="/v1/embeddings")
    with openai.OpenAI(base_url=server.openai_base_url, api_key="t", max_retries=0) as client:
        with pytest.raises(openai.InternalServerError) as caught:
            client.embeddings.create(model="e", input="x")
        assert len(client.embeddings.create(model="e", input="x").data) == 1
    assert caught.value.status_code == 502
    with pytest.raises(TypeError, match="only an HTTPReply"):
        server.script([TextReply("no")], path="/v1/embeddings")
    with pytest.raises(TypeError, match="not a reply"):
        server.script(["text"])  # type: ignore[list-item]


def test_default_conversation_calls_a_tool_then_answers_with_its_result(
    server: ProviderServer,
) -> None:
    messages: list[Any] = [{"role": "user", "content": "Use the calculator on 6 and 7"}]
    with openai.OpenAI(base_url=server.openai_base_url, api_key="t", max_retries=0) as client:
        first = client.chat.completions.create(model="m", messages=messages, tools=TOOLS)
        [call] = first.choices[0].message.tool_calls or []
        assert call.function.name == "calculator"  # named in the user's text
        assert json.loads(call.function.arguments) == {"x": 6, "op": "add"}
        messages += [
            first.choices[0].message.model_dump(exclude_none=True),
            {"role": "tool", "tool_call_id": call.id, "content": "42"},
        ]
        second = client.chat.completions.create(model="m", messages=messages, tools=TOOLS)
    assert second.choices[0].message.content == "The tool returned: 42"
    assert second.choices[0].finish_reason == "stop"


def test_default_responder_picks_first_tool_and_is_deterministic() -> None:
    request = ModelRequest(
        api="messages",
        model="c",
        stream=False,
        tools=("search", "calculator"),
        tool_schemas={"search": {"properties": {"query": {"type": "string"}}}, "calculator": {}},
        last_kind="user",
        last_text="find chaos papers",
        tool_result=None,
        body={},
    )
    expected = ToolCallReply("search", {"query": "find chaos papers"})
    assert default_responder(request) == default_responder(request) == expected


def test_default_conversation_on_responses_and_anthropic(server: ProviderServer) -> None:
    parameters = TOOLS[0]["function"]["parameters"]
    with (
        openai.OpenAI(base_url=server.openai_base_url, api_key="t") as oai,
        anthropic.Anthropic(base_url=server.anthropic_base_url, api_key="t") as ant,
    ):
        response = oai.responses.create(
            model="m",
            input=[
                {"role": "user", "content": "look it up"},
                {"type": "function_call_output", "call_id": "call_1", "output": "found 3"},
            ],
            tools=[{"type": "function", "name": "search", "parameters": parameters}],
        )
        message = ant.messages.create(
            model="c",
            max_tokens=50,
            tools=[{"name": "search", "input_schema": parameters}],
            messages=[
                {"role": "user", "content": "look it up"},
                {
                    "role": "assistant",
                    "content": [
                        {"type": "tool_use", "id": "toolu_1", "name": "search", "input": {}}
                    ],
                },
                {
                    "role": "user",
                    "content": [
                        {"type": "tool_result", "tool_use_id": "toolu_1", "content": "found 4"}
                    ],
                },
            ],
        )
    assert response.output_text == "The tool returned: found 3"
    assert message.content[0].type == "text"
    assert message.content[0].text == "The tool returned: found 4"


def test_custom_responder(server: ProviderServer) -> None:
    server.responder = lambda request: TextReply(f"{request.api}:{request.model}")
    with openai.OpenAI(base_url=server.openai_base_url, api_key="t") as client:
        reply = client.chat.completions.create(model="x1", messages=[])
    assert reply.choices[0].message.content == "chat.completions:x1"


def test_requests_are_recorded_with_body_and_headers(server: ProviderServer) -> None:
    with openai.OpenAI(base_url=server.openai_base_url, api_key="sk-test") as client:
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": "a"}])
        client.embeddings.create(model="e", input="a")
        client.models.list()
    methods_paths = [(r.method, r.path) for r in server.requests]
    assert methods_paths == [
        ("POST", "/v1/chat/completions"),
        ("POST", "/v1/embeddings"),
        ("GET", "/v1/models"),
    ]
    first = server.requests[0]
    assert first.json["messages"] == [{"role": "user", "content": "a"}]
    assert first.headers["authorization"] == "Bearer sk-test"
    assert json.loads(first.body) == first.json
    assert server.request_count() == 3
    assert server.request_count("/v1/embeddings") == 1
    server.clear()
    assert server.request_count() == 0


def test_recording_is_thread_safe(server: ProviderServer) -> None:
    def call() -> None:
        with httpx2.Client(base_url=server.url) as client:
            for _ in range(10):
                client.post("/v1/embeddings", json={"model": "e", "input": "x"})

    workers = [threading.Thread(target=call) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(30)
    assert server.request_count("/v1/embeddings") == 40


def test_errors_in_the_provider_format(server: ProviderServer) -> None:
    with httpx2.Client(base_url=server.url) as client:
        missing = client.post("/v1/nothing", json={})
        bad_json = client.post("/v1/chat/completions", content=b"{not json")
        bad_anthropic = client.post("/v1/messages", content=b"[]")
    assert missing.status_code == 404
    assert missing.json()["error"]["type"] == "invalid_request_error"
    assert bad_json.status_code == 400
    assert bad_anthropic.json()["type"] == "error"


@pytest.mark.parametrize("library", [httpx, httpx2], ids=["httpx", "httpx2"])
def test_stream_events_reach_the_client_one_by_one(server: ProviderServer, library: Any) -> None:
    """The first events arrive while the server is still stalled: nothing waits for the end."""
    server.script([TextReply("a b c d", disrupt=StallStream(after_events=2, seconds=30))])
    received: list[bytes] = []
    body = {"model": "m", "stream": True, "messages": [{"role": "user", "content": "x"}]}
    timeout = library.Timeout(10.0, read=1.0)
    with (
        library.Client(base_url=server.url, timeout=timeout) as client,
        client.stream("POST", "/v1/chat/completions", json=body) as response,
    ):
        assert response.headers["transfer-encoding"] == "chunked"
        assert response.headers["content-type"].startswith("text/event-stream")

        def read() -> None:
            received.extend(line.encode() for line in response.iter_lines() if line)

        with pytest.raises(library.ReadTimeout):
            read()
    assert len(received) == 2
    assert all(line.startswith(b"data: {") for line in received)


def test_stall_shorter_than_timeout_resumes(server: ProviderServer) -> None:
    server.script([TextReply("a b", disrupt=StallStream(after_events=1, seconds=0.2))])
    with openai.OpenAI(base_url=server.openai_base_url, api_key="t", timeout=10) as client:
        started = time.monotonic()
        chunks = list(
            client.chat.completions.create(
                model="m", messages=[{"role": "user", "content": "x"}], stream=True
            )
        )
    assert time.monotonic() - started >= 0.2
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "a b"


def test_disruption_arguments_are_validated() -> None:
    with pytest.raises(ValueError, match="seconds"):
        StallStream(seconds=61)
    with pytest.raises(ValueError, match="after_events"):
        StallStream(after_events=-1)
    with pytest.raises(ValueError, match="status"):
        HTTPReply(600)

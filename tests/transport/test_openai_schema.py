"""What the transport injects on OpenAI routes is valid under OpenAI's own published schema.

The schemas are OpenAI's OpenAPI spec (https://github.com/openai/openai-openapi), the components
the tests need extracted by ``scripts/openai_schemas.py`` into
``tests/data/openai-openapi/schemas.json`` (source, commit and date inside it and in
tests/data/README.md). Every injected error body must be an ``ErrorResponse``; every body and
stream event an output fault rewrites must be a ``CreateChatCompletionResponse`` /
``CreateChatCompletionStreamResponse`` or, on the Responses API, a ``Response`` /
``ResponseStreamEvent``. The answers come through a real ``httpx2`` client on a
``ChaosTransport`` in front of ``ProviderServer``, whose clean answers are held to the same
schemas.

The spec is read as published but for one documented correction (tests/openai_spec.py).
"""

from __future__ import annotations

import json
from typing import Any

import httpx2
import pytest

from aumai_chaos.faults import (
    ContextOverflowFault,
    EmptyOutputFault,
    FaultConfig,
    HttpErrorFault,
    InvalidToolArgumentsFault,
    MalformedToolCallFault,
    RateLimitFault,
    RefusalFault,
    ResourceExhaustionFault,
    StreamErrorEventFault,
    TruncatedOutputFault,
    TruncatedStreamFault,
    UnknownToolCallFault,
    WrongToolArgumentsFault,
)
from aumai_chaos.testing import ProviderServer
from aumai_chaos.transport import ChaosTransport
from tests.openai_spec import SCHEMAS
from tests.openai_spec import problems as _problems

USER = [{"role": "user", "content": "Use the calculator: what is 6 * 7?"}]
CHAT_TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "calculator",
            "description": "Evaluate an arithmetic expression.",
            "parameters": {
                "type": "object",
                "properties": {
                    "expression": {"type": "string"},
                    "digits": {"type": "integer", "minimum": 0, "maximum": 10},
                },
                "required": ["expression", "digits"],
            },
        },
    }
]
RESPONSES_TOOLS = [
    {
        "type": "function",
        "name": "calculator",
        "description": "Evaluate an arithmetic expression.",
        "parameters": CHAT_TOOLS[0]["function"]["parameters"],
        "strict": False,
    }
]


def _events(body: bytes) -> list[Any]:
    lines = body.decode().splitlines()
    return [json.loads(line[6:]) for line in lines if line.startswith("data: {")]


def _post(server: ProviderServer, path: str, body: dict[str, Any], *faults: FaultConfig) -> Any:
    with httpx2.Client(transport=ChaosTransport(faults=list(faults))) as http:
        return http.post(f"{server.openai_base_url}{path}", json=body)


def _chat(stream: bool) -> dict[str, Any]:
    body: dict[str, Any] = {"model": "gpt-test", "messages": USER, "tools": CHAT_TOOLS}
    if stream:
        body.update(stream=True, stream_options={"include_usage": True})
    return body


def _responses(stream: bool) -> dict[str, Any]:
    body: dict[str, Any] = {"model": "gpt-test", "input": USER[0]["content"]}
    body["tools"] = RESPONSES_TOOLS
    if stream:
        body["stream"] = True
    return body


def test_the_vendored_schemas_name_their_source() -> None:
    document = json.loads(SCHEMAS.read_text(encoding="utf-8"))
    assert document["source"].startswith("https://github.com/openai/openai-openapi/blob/")
    assert document["commit"] in document["source"]
    assert len(document["commit"]) == 40
    assert {"ErrorResponse", "CreateChatCompletionStreamResponse", "Response"} <= set(
        document["components"]["schemas"]
    )


def test_the_schemas_are_not_vacuous() -> None:
    assert _problems("ErrorResponse", {"error": {"message": "x", "type": "y"}}) != []
    chunk = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m"}
    assert _problems("CreateChatCompletionStreamResponse", {**chunk, "choices": [{}]}) != []


# -- error bodies ------------------------------------------------------------------------------

ERROR_FAULTS = [
    pytest.param(RateLimitFault(retry_after_s=1.0), 429, id="rate_limit"),
    pytest.param(RateLimitFault(quota=True), 429, id="rate_limit-quota"),
    pytest.param(ResourceExhaustionFault(), 429, id="resource_exhaustion"),
    pytest.param(ContextOverflowFault(), 400, id="context_overflow"),
    *(
        pytest.param(HttpErrorFault(status_code=code), code, id=f"http_error-{code}")
        for code in (400, 401, 403, 404, 409, 422, 429, 500, 503, 504)
    ),
]


@pytest.mark.parametrize("path", ["/chat/completions", "/responses"])
@pytest.mark.parametrize(("fault", "status"), ERROR_FAULTS)
def test_an_injected_error_body_is_an_openai_error_response(
    server: ProviderServer, fault: FaultConfig, status: int, path: str
) -> None:
    body = _chat(False) if path == "/chat/completions" else _responses(False)
    answer = _post(server, path, body, fault)
    assert answer.status_code == status
    assert answer.headers["content-type"].startswith("application/json")
    assert _problems("ErrorResponse", answer.json()) == []
    assert server.request_count() == 0  # the transport answered


# -- chat completions, JSON and streamed -------------------------------------------------------

OUTPUT_FAULTS = [
    pytest.param(None, id="clean"),
    pytest.param(EmptyOutputFault(), id="empty_output"),
    pytest.param(TruncatedOutputFault(), id="truncated_output"),
    pytest.param(MalformedToolCallFault(), id="malformed_tool_call"),
    pytest.param(UnknownToolCallFault(), id="unknown_tool_call"),
    pytest.param(WrongToolArgumentsFault(), id="wrong_tool_arguments"),
    pytest.param(InvalidToolArgumentsFault(), id="invalid_tool_arguments"),
    pytest.param(RefusalFault(), id="refusal"),
]


@pytest.mark.parametrize("fault", OUTPUT_FAULTS)
def test_a_rewritten_chat_completion_is_valid(
    server: ProviderServer, fault: FaultConfig | None
) -> None:
    faults = [fault] if fault is not None else []
    answer = _post(server, "/chat/completions", _chat(False), *faults)
    assert answer.status_code == 200
    assert _problems("CreateChatCompletionResponse", answer.json()) == []
    clean = _post(server, "/chat/completions", _chat(False)).json()
    assert (_content(answer.json()) != _content(clean)) is (fault is not None)  # it acted


@pytest.mark.parametrize(
    "fault", [*OUTPUT_FAULTS, pytest.param(TruncatedStreamFault(after_chunks=3), id="truncated")]
)
def test_every_rewritten_chat_chunk_is_valid(
    server: ProviderServer, fault: FaultConfig | None
) -> None:
    faults = [fault] if fault is not None else []
    events = _events(_post(server, "/chat/completions", _chat(True), *faults).content)
    assert events
    problems = {n: _problems("CreateChatCompletionStreamResponse", e) for n, e in enumerate(events)}
    assert {n: p for n, p in problems.items() if p} == {}
    clean = _events(_post(server, "/chat/completions", _chat(True)).content)
    assert ([_content(e) for e in events] != [_content(e) for e in clean]) is (fault is not None)


# -- the Responses API -------------------------------------------------------------------------


@pytest.mark.parametrize("fault", OUTPUT_FAULTS)
def test_a_rewritten_response_is_valid(server: ProviderServer, fault: FaultConfig | None) -> None:
    faults = [fault] if fault is not None else []
    answer = _post(server, "/responses", _responses(False), *faults)
    assert answer.status_code == 200
    assert _problems("Response", answer.json()) == []
    clean = _post(server, "/responses", _responses(False)).json()
    assert (_content(answer.json()) != _content(clean)) is (fault is not None)


@pytest.mark.parametrize("fault", OUTPUT_FAULTS)
def test_every_rewritten_response_event_is_valid(
    server: ProviderServer, fault: FaultConfig | None
) -> None:
    faults = [fault] if fault is not None else []
    events = _events(_post(server, "/responses", _responses(True), *faults).content)
    assert events
    problems = {e["type"]: _problems("ResponseStreamEvent", e) for e in events}
    assert {n: p for n, p in problems.items() if p} == {}
    clean = _events(_post(server, "/responses", _responses(True)).content)
    assert ([_content(e) for e in events] != [_content(e) for e in clean]) is (fault is not None)


def _content(value: Any) -> Any:
    """``value`` without its ids and timestamps, which differ between any two answers."""
    if isinstance(value, dict):
        skip = {"id", "item_id", "created", "created_at", "call_id"}
        return {k: _content(v) for k, v in value.items() if k not in skip}
    if isinstance(value, list):
        return [_content(v) for v in value]
    return value


# -- stream_error_event: the provider's error event in a 200 stream ----------------------------


def test_the_chat_error_event_is_an_openai_error_response_after_valid_chunks(
    server: ProviderServer,
) -> None:
    fault = StreamErrorEventFault(after_chunks=2)
    events = _events(_post(server, "/chat/completions", _chat(True), fault).content)
    *chunks, error = events
    assert len(chunks) == 2
    assert [_problems("CreateChatCompletionStreamResponse", c) for c in chunks] == [[], []]
    assert _problems("ErrorResponse", error) == []


def test_the_responses_error_event_is_a_response_stream_event(server: ProviderServer) -> None:
    fault = StreamErrorEventFault(after_chunks=2)
    events = _events(_post(server, "/responses", _responses(True), fault).content)
    assert events[-1]["type"] == "error"
    assert {e["type"]: _problems("ResponseStreamEvent", e) for e in events} == {
        e["type"]: [] for e in events
    }

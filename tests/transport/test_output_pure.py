"""Output rewriters without a network: every fault on every API, streamed and not, and the
cases where a fault cannot apply."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from aumai_chaos.faults import FaultConfig
from aumai_chaos.testing import TextReply, ToolCallReply
from aumai_chaos.testing._script import ModelRequest
from aumai_chaos.testing._sse import Ids
from aumai_chaos.testing._wire_anthropic import messages_body, messages_events
from aumai_chaos.testing._wire_openai import chat_body, chat_events
from aumai_chaos.testing._wire_responses import responses_body, responses_events
from aumai_chaos.transport._output import (
    overflow_error,
    parse_events,
    rewrite_body,
    rewrite_content,
)
from aumai_chaos.transport._tools import cut_arguments, perturb_arguments, unknown_tool_name

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "query": {"type": "string"},
        "source": {"type": "string"},
        "limit": {"type": "integer", "minimum": 1, "maximum": 10},
        "ratio": {"type": "number"},
        "mode": {"type": "string", "enum": ["fast", "deep", "exhaustive"]},
        "strict": {"type": "boolean"},
        "id": {"type": "string", "pattern": "^[a-z]+$"},
        "filters": {
            "type": "object",
            "properties": {"year": {"type": "integer", "minimum": 2000, "maximum": 2030}},
        },
    },
    "required": ["query", "mode"],
}
ARGS = {
    "query": "chaos",
    "source": "arxiv",
    "limit": 3,
    "ratio": 0.5,
    "mode": "fast",
    "strict": True,
    "id": "abc",
    "filters": {"year": 2024},
}
APIS = ["openai.chat.completions", "openai.responses", "anthropic.messages"]


def _request(api: str) -> dict[str, Any]:
    if api == "openai.chat.completions":
        tools = [{"type": "function", "function": {"name": "search", "parameters": SCHEMA}}]
        return {"model": "m", "messages": [{"role": "user", "content": "hi"}], "tools": tools}
    if api == "openai.responses":
        return {
            "model": "m",
            "input": "hi",
            "tools": [{"type": "function", "name": "search", "parameters": SCHEMA}],
        }
    return {"model": "c", "messages": [], "tools": [{"name": "search", "input_schema": SCHEMA}]}


def _model_request(api: str, stream: bool) -> ModelRequest:
    body = _request(api)
    short = {"openai.chat.completions": "chat.completions", "openai.responses": "responses"}
    return ModelRequest(
        api=short.get(api, "messages"),  # type: ignore[arg-type]
        model="m",
        stream=stream,
        tools=("search",),
        tool_schemas={"search": SCHEMA},
        last_kind="user",
        last_text="hi",
        tool_result=None,
        body=body,
    )


def _body(api: str, reply: TextReply | ToolCallReply) -> dict[str, Any]:
    make = {"openai.chat.completions": chat_body, "openai.responses": responses_body}
    return make.get(api, messages_body)(reply, _model_request(api, False), Ids(7, 1_700_000_000))


def _events(api: str, reply: TextReply | ToolCallReply) -> bytes:
    make = {"openai.chat.completions": chat_events, "openai.responses": responses_events}
    fn = make.get(api, messages_events)
    return b"".join(fn(reply, _model_request(api, True), Ids(7, 1_700_000_000)))


TEXT = TextReply("The quick brown fox jumps over the lazy dog")
TOOL = ToolCallReply("search", ARGS)


def _fault(kind: str, **kw: Any) -> FaultConfig:
    return FaultConfig(fault_type=kind, **kw)


def _text_of(api: str, body: dict[str, Any]) -> str | None:
    if api == "openai.chat.completions":
        content: str | None = body["choices"][0]["message"]["content"]
        return content
    if api == "openai.responses":
        parts = [p for item in body["output"] for p in item.get("content", [])]
        return "".join(p.get("text", "") for p in parts)
    return "".join(b.get("text", "") for b in body["content"])


def _call_of(api: str, body: dict[str, Any]) -> tuple[str, str]:
    """(name, arguments text) of the first tool call."""
    if api == "openai.chat.completions":
        function = body["choices"][0]["message"]["tool_calls"][0]["function"]
        return function["name"], function["arguments"]
    if api == "openai.responses":
        call = next(i for i in body["output"] if i["type"] == "function_call")
        return call["name"], call["arguments"]
    use = next(b for b in body["content"] if b["type"] == "tool_use")
    return use["name"], json.dumps(use["input"])


@pytest.mark.parametrize("api", APIS)
def test_empty_output(api: str) -> None:
    out = rewrite_body(_fault("empty_output"), api, _request(api), _body(api, TEXT))
    assert out is not None
    assert _text_of(api, out) in ("", None)


@pytest.mark.parametrize("api", APIS)
def test_truncated_output_marks_the_length_stop(api: str) -> None:
    fault = _fault("truncated_output", keep_fraction=0.5)
    out = rewrite_body(fault, api, _request(api), _body(api, TEXT))
    assert out is not None
    assert _text_of(api, out) == TEXT.text[: len(TEXT.text) // 2]
    if api == "openai.chat.completions":
        assert out["choices"][0]["finish_reason"] == "length"
    elif api == "openai.responses":
        assert out["status"] == "incomplete"
        assert out["incomplete_details"] == {"reason": "max_output_tokens"}
    else:
        assert out["stop_reason"] == "max_tokens"


@pytest.mark.parametrize("api", APIS[:2])
def test_malformed_tool_call_arguments_do_not_parse(api: str) -> None:
    out = rewrite_body(_fault("malformed_tool_call"), api, _request(api), _body(api, TOOL))
    assert out is not None
    name, arguments = _call_of(api, out)
    assert name == "search"
    with pytest.raises(json.JSONDecodeError):
        json.loads(arguments)


def test_malformed_anthropic_input_keeps_only_the_keys_before_the_cut() -> None:
    api = "anthropic.messages"
    out = rewrite_body(_fault("malformed_tool_call"), api, _request(api), _body(api, TOOL))
    assert out is not None
    assert out["content"][0]["input"] == {k: ARGS[k] for k in list(ARGS)[:4]}


@pytest.mark.parametrize("api", APIS)
def test_unknown_tool_call_names_a_tool_not_offered(api: str) -> None:
    out = rewrite_body(_fault("unknown_tool_call"), api, _request(api), _body(api, TOOL))
    assert out is not None
    assert _call_of(api, out)[0] == "lookup_records"
    named = rewrite_body(
        _fault("unknown_tool_call", tool_name="launch"), api, _request(api), _body(api, TOOL)
    )
    assert named is not None
    assert _call_of(api, named)[0] == "launch"


@pytest.mark.parametrize("api", APIS)
def test_wrong_tool_arguments_match_the_schema_with_other_values(api: str) -> None:
    fault = _fault("wrong_tool_arguments")
    out = rewrite_body(fault, api, _request(api), _body(api, TOOL), seed=3)
    assert out is not None
    wrong = json.loads(_call_of(api, out)[1])
    _check_schema(wrong, SCHEMA)
    assert wrong != ARGS
    assert set(wrong) == set(ARGS)
    assert wrong["mode"] != "fast"
    assert wrong["limit"] != 3
    assert wrong["strict"] is False
    assert (wrong["query"], wrong["source"]) == ("arxiv", "chaos")  # swapped
    assert wrong["id"] == "abc"  # a pattern-constrained string is never swapped
    again = rewrite_body(fault, api, _request(api), _body(api, TOOL), seed=3)
    assert again == out  # seeded: the same wrong values


def _check_schema(value: Any, schema: dict[str, Any]) -> None:
    """The constraints SCHEMA uses: types, enum, minimum/maximum, nested objects."""
    kind = schema.get("type")
    if "enum" in schema:
        assert value in schema["enum"]
    if kind == "object":
        assert isinstance(value, dict)
        for key, sub in schema.get("properties", {}).items():
            if key in value:
                _check_schema(value[key], sub)
    elif kind == "integer":
        assert isinstance(value, int)
        assert not isinstance(value, bool)
    elif kind == "number":
        assert isinstance(value, int | float)
    elif kind == "string":
        assert isinstance(value, str)
    elif kind == "boolean":
        assert isinstance(value, bool)
    if "minimum" in schema:
        assert value >= schema["minimum"]
    if "maximum" in schema:
        assert value <= schema["maximum"]


@pytest.mark.parametrize("seed", range(50))
def test_perturbed_arguments_always_match_the_schema(seed: int) -> None:
    wrong = perturb_arguments(ARGS, SCHEMA, random.Random(seed))
    assert wrong is not None
    assert wrong != ARGS
    _check_schema(wrong, SCHEMA)


def test_nothing_to_perturb() -> None:
    schema = {"type": "object", "properties": {"q": {"type": "string"}}}
    assert perturb_arguments({"q": "x"}, schema, random.Random(0)) is None
    assert perturb_arguments({"q": "x"}, {}, random.Random(0)) is None


@pytest.mark.parametrize("api", APIS)
def test_refusal(api: str) -> None:
    out = rewrite_body(_fault("refusal"), api, _request(api), _body(api, TOOL))
    assert out is not None
    if api == "openai.chat.completions":
        message = out["choices"][0]["message"]
        assert message["content"] is None
        assert message["refusal"]
        assert "tool_calls" not in message
    elif api == "openai.responses":
        assert out["output"][0]["content"] == [
            {"type": "refusal", "refusal": "I'm sorry, but I can't help with that request."}
        ]
    else:
        assert out["stop_reason"] == "refusal"
        assert out["content"] == []


@pytest.mark.parametrize("api", APIS)
@pytest.mark.parametrize(
    "kind", ["malformed_tool_call", "unknown_tool_call", "wrong_tool_arguments"]
)
def test_tool_faults_do_not_apply_to_an_answer_without_tool_calls(api: str, kind: str) -> None:
    assert rewrite_body(_fault(kind), api, _request(api), _body(api, TEXT)) is None
    assert (
        rewrite_content(_fault(kind), api, _request(api), _events(api, TEXT), stream=True) is None
    )


def test_other_routes_and_bodies_do_not_apply() -> None:
    fault = _fault("empty_output")
    assert rewrite_body(fault, "openai.embeddings", {}, {"data": []}) is None
    assert rewrite_body(fault, None, {}, {"choices": []}) is None
    assert rewrite_content(fault, "openai.chat.completions", {}, b"not json") is None
    assert rewrite_content(fault, "openai.chat.completions", {}, b"[1]") is None
    assert rewrite_body(_fault("latency", duration_ms=1), "anthropic.messages", {}, {}) is None


@pytest.mark.parametrize("api", APIS)
@pytest.mark.parametrize("reply", [TEXT, TOOL], ids=["text", "tool"])
@pytest.mark.parametrize(
    "kind",
    [
        "empty_output",
        "truncated_output",
        "malformed_tool_call",
        "unknown_tool_call",
        "wrong_tool_arguments",
        "refusal",
    ],
)
def test_a_streamed_response_gets_the_same_fault_as_the_body(
    api: str, reply: Any, kind: str
) -> None:
    """The rewritten stream assembles to what the non-streamed rewrite gives."""
    from aumai_chaos.transport._output_anthropic import assemble_message
    from aumai_chaos.transport._output_openai import assemble_chat
    from aumai_chaos.transport._output_responses import assemble_response

    fault = _fault(kind)
    streamed = rewrite_content(fault, api, _request(api), _events(api, reply), seed=1, stream=True)
    body = rewrite_body(fault, api, _request(api), _body(api, reply), seed=1)
    assert (streamed is None) == (body is None)
    if streamed is None or body is None:
        return
    if api == "anthropic.messages" and reply is TOOL and kind in CUTS_INPUT:
        return  # streamed, the input_json_delta is cut mid-object: it does not assemble
    objects = [d for _, d in parse_events(streamed) if isinstance(d, dict)]
    assemble = {"openai.chat.completions": assemble_chat, "openai.responses": assemble_response}
    again = assemble.get(api, assemble_message)(objects)
    assert again is not None
    if api == "openai.chat.completions":
        assert again["choices"] == body["choices"]
        assert parse_events(streamed)[-1] == (None, "[DONE]")
    elif api == "openai.responses":
        assert again == body
    else:
        assert again["content"] == body["content"]
        assert again["stop_reason"] == body["stop_reason"]


CUTS_INPUT = ("malformed_tool_call", "truncated_output")


def test_anthropic_streamed_malformed_input_is_cut_mid_object() -> None:
    api = "anthropic.messages"
    out = rewrite_content(
        _fault("malformed_tool_call"), api, _request(api), _events(api, TOOL), stream=True
    )
    assert out is not None
    fragments = [
        d["delta"]["partial_json"]
        for _, d in parse_events(out)
        if isinstance(d, dict) and d.get("type") == "content_block_delta"
    ]
    text = "".join(fragments)
    assert json.dumps(ARGS).startswith(text)
    with pytest.raises(json.JSONDecodeError):
        json.loads(text)


def test_a_stream_that_did_not_finish_is_not_rewritten() -> None:
    api = "openai.chat.completions"
    events = _events(api, TEXT).split(b"\n\n")
    unfinished = b"\n\n".join(events[:3]) + b"\n\n"
    assert (
        rewrite_content(_fault("empty_output"), api, _request(api), unfinished, stream=True) is None
    )


def test_cut_arguments() -> None:
    assert cut_arguments('{"a": 1, "b": [1, 2]}') == '{"a": 1, "'
    assert cut_arguments("{}") == "{"
    assert cut_arguments("[1]") is None
    assert cut_arguments("") is None


def test_unknown_tool_name_is_never_an_offered_one() -> None:
    assert unknown_tool_name({}, None) == "lookup_records"
    assert unknown_tool_name({"search": {}}, "search") == "lookup_records"
    offered = {
        key: {}
        for key in ["lookup_records", "fetch_document", "run_query", "send_message", "delete_file"]
    }
    assert unknown_tool_name(offered, None) == "unknown_tool_0"


def test_context_overflow_bodies() -> None:
    fault = _fault("context_overflow", context_window=8192)
    status, headers, body = overflow_error(fault, "openai.chat.completions", {"messages": []})  # type: ignore[misc]
    error = json.loads(body)["error"]
    assert status == 400
    assert headers["content-length"] == str(len(body))
    assert error["code"] == "context_length_exceeded"
    assert error["type"] == "invalid_request_error"
    assert error["param"] == "messages"
    assert error["message"].startswith("This model's maximum context length is 8192 tokens.")
    _, _, body = overflow_error(fault, "anthropic.messages", {})  # type: ignore[misc]
    assert json.loads(body) == {
        "type": "error",
        "error": {
            "type": "invalid_request_error",
            "message": "prompt is too long: 8193 tokens > 8192 maximum",
        },
    }
    _, _, body = overflow_error(fault, "openai.responses", {})  # type: ignore[misc]
    assert json.loads(body)["error"]["param"] == "input"
    assert overflow_error(fault, "openai.embeddings", {}) is None


def test_the_docs_example_runs() -> None:
    from pathlib import Path

    from tests.helpers import run_python

    page = Path(__file__).resolve().parents[2] / "docs" / "streams-and-output.md"
    example = page.read_text(encoding="utf-8").split("```python\n", 1)[1].split("```", 1)[0]
    result = run_python(example)
    assert result.returncode == 0, result.stderr
    assert "the agent must cope with" in result.stdout
    assert "went quiet after 2 chunks" in result.stdout


def test_the_tool_results_example_runs() -> None:
    """The decorators' example (faults on a tool's return value) prints what it says."""
    from pathlib import Path

    from tests.helpers import run_python

    page = Path(__file__).resolve().parents[2] / "docs" / "streams-and-output.md"
    section = page.read_text(encoding="utf-8").split("## The same for plain Python code", 1)[1]
    example = section.split("```python\n", 1)[1].split("```", 1)[0]
    result = run_python(example)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "cut tool result: Chaos engineerin",
        "search results: ['paper-1', 'paper-2', 'paper-3'] []",
        "reordered: ['c', 'b', 'a']",
    ]

"""Tool-call faults on every call of a turn, through the real ``openai`` and ``anthropic`` SDKs
against ``ProviderServer``'s parallel tool calls, streamed and not: what the agent gets is
checked with ``jsonschema`` against the tool's own schema."""

from __future__ import annotations

import json
from typing import Any

import anthropic
import httpx2
import jsonschema
import openai
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from aumai_chaos.faults import FaultConfig
from aumai_chaos.testing import ProviderServer, ToolCallReply, ToolCallsReply
from aumai_chaos.transport import ChaosTransport
from tests.helpers import fault_spans

USER: list[Any] = [{"role": "user", "content": "Weather in Paris and Oslo?"}]
SCHEMA = {
    "type": "object",
    "properties": {
        "city": {"type": "string"},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        "days": {"type": "integer", "minimum": 1},
    },
    "required": ["city", "unit"],
}
CALLS = ToolCallsReply(
    [
        ToolCallReply("weather", {"city": "Paris", "unit": "celsius", "days": 2}),
        ToolCallReply("weather", {"city": "Oslo", "unit": "fahrenheit", "days": 1}),
    ]
)


def _chaos(**fault: Any) -> httpx2.Client:
    return httpx2.Client(transport=ChaosTransport(faults=[FaultConfig(**fault)], seed=7))


def _openai_arguments(server: ProviderServer, stream: bool, **fault: Any) -> list[str]:
    tools: list[Any] = [{"type": "function", "function": {"name": "weather", "parameters": SCHEMA}}]
    server.script([CALLS])
    with openai.OpenAI(
        base_url=server.openai_base_url, api_key="t", max_retries=0, http_client=_chaos(**fault)
    ) as client:
        if stream:
            with client.chat.completions.stream(model="m", messages=USER, tools=tools) as events:
                message = events.get_final_completion().choices[0].message
        else:
            message = (
                client.chat.completions.create(model="m", messages=USER, tools=tools)
                .choices[0]
                .message
            )
    return [call.function.arguments for call in message.tool_calls or []]  # type: ignore[union-attr]


def _responses_arguments(server: ProviderServer, **fault: Any) -> list[str]:
    tools: list[Any] = [{"type": "function", "name": "weather", "parameters": SCHEMA}]
    server.script([CALLS])
    with openai.OpenAI(
        base_url=server.openai_base_url, api_key="t", max_retries=0, http_client=_chaos(**fault)
    ) as client:
        response = client.responses.create(model="m", input="hi", tools=tools)
    return [item.arguments for item in response.output if item.type == "function_call"]


def _anthropic_inputs(server: ProviderServer, stream: bool, **fault: Any) -> list[Any]:
    tools: list[Any] = [{"name": "weather", "input_schema": SCHEMA}]
    server.script([CALLS])
    with anthropic.Anthropic(
        base_url=server.anthropic_base_url,
        api_key="t",
        max_retries=0,
        http_client=_chaos(**fault),
    ) as client:
        if stream:
            with client.messages.stream(
                model="c", max_tokens=99, messages=USER, tools=tools
            ) as events:
                message = events.get_final_message()
        else:
            message = client.messages.create(model="c", max_tokens=99, messages=USER, tools=tools)
    return [block.input for block in message.content if block.type == "tool_use"]


def _invalid(arguments: Any) -> list[str]:
    value = json.loads(arguments) if isinstance(arguments, str) else arguments
    return [e.validator for e in jsonschema.Draft202012Validator(SCHEMA).iter_errors(value)]  # type: ignore[misc]


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
@pytest.mark.parametrize(
    ("violation", "validator"),
    [("missing_required", "required"), ("wrong_type", "type"), ("out_of_enum", "enum")],
)
def test_invalid_tool_arguments_on_every_call(
    server: ProviderServer, stream: bool, violation: str, validator: str
) -> None:
    fault = {"fault_type": "invalid_tool_arguments", "violation": violation, "tool_calls": "all"}
    results = [
        _openai_arguments(server, stream, **fault),
        _anthropic_inputs(server, stream, **fault),
    ]
    if not stream:
        results.append(_responses_arguments(server, **fault))
    for arguments in results:
        assert len(arguments) == 2
        assert [_invalid(a) for a in arguments] == [[validator], [validator]]


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_malformed_tool_call_on_the_first_call_only_by_default(
    server: ProviderServer, stream: bool
) -> None:
    arguments = _openai_arguments(server, stream, fault_type="malformed_tool_call")
    with pytest.raises(json.JSONDecodeError):
        json.loads(arguments[0])
    assert json.loads(arguments[1]) == {"city": "Oslo", "unit": "fahrenheit", "days": 1}
    every = _openai_arguments(server, stream, fault_type="malformed_tool_call", tool_calls="all")
    for text in every:
        with pytest.raises(json.JSONDecodeError):
            json.loads(text)


def test_random_calls_repeat_with_the_seed(server: ProviderServer) -> None:
    runs = [
        _openai_arguments(server, True, fault_type="wrong_tool_arguments", tool_calls="random")
        for _ in range(2)
    ]
    assert runs[0] == runs[1]
    assert all(_invalid(a) == [] for a in runs[0])  # wrong values, still schema-valid


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
@pytest.mark.parametrize(("which", "indexes"), [("first", (0,)), ("all", (0, 1))])
def test_the_span_names_the_calls_that_were_changed(
    server: ProviderServer,
    tracer_provider: TracerProvider,
    span_exporter: InMemorySpanExporter,
    stream: bool,
    which: str,
    indexes: tuple[int, ...],
) -> None:
    fault = FaultConfig(fault_type="unknown_tool_call", tool_calls=which)
    chaos = ChaosTransport(faults=[fault], tracer_provider=tracer_provider)
    tools: list[Any] = [{"name": "weather", "input_schema": SCHEMA}]
    server.script([CALLS])
    with anthropic.Anthropic(
        base_url=server.anthropic_base_url,
        api_key="t",
        max_retries=0,
        http_client=httpx2.Client(transport=chaos),
    ) as client:
        if stream:
            with client.messages.stream(
                model="c", max_tokens=99, messages=USER, tools=tools
            ) as events:
                message = events.get_final_message()
        else:
            message = client.messages.create(model="c", max_tokens=99, messages=USER, tools=tools)
    names = [block.name for block in message.content if block.type == "tool_use"]
    assert [n for n, name in enumerate(names) if name != "weather"] == list(indexes)
    (span,) = fault_spans(span_exporter)
    assert span.attributes is not None
    assert span.attributes["chaos.fault.tool_calls"] == indexes

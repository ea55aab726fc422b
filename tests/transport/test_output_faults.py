"""Model-output faults on the transport, with the real ``openai`` and ``anthropic`` SDKs against
``ProviderServer``; and an agent loop under ``malformed_tool_call`` in an experiment."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import anthropic
import httpx2
import openai
import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from aumai_chaos import ChaosExperiment, ExperimentScheduler
from aumai_chaos.experiments.steady_state import Objective, Verdict
from aumai_chaos.faults import FaultConfig
from aumai_chaos.testing import ProviderServer, TextReply, ToolCallReply
from aumai_chaos.transport import AsyncChaosTransport, ChaosTransport

USER: list[Any] = [{"role": "user", "content": "Find 3 papers on chaos"}]
SCHEMA = {
    "type": "object",
    "properties": {"query": {"type": "string"}, "limit": {"type": "integer"}},
    "required": ["query"],
}
TOOLS: list[Any] = [{"type": "function", "function": {"name": "search", "parameters": SCHEMA}}]
ATOOLS: list[Any] = [{"name": "search", "input_schema": SCHEMA}]
ARGS = {"query": "chaos", "limit": 3}


@pytest.fixture
def server() -> Iterator[ProviderServer]:
    with ProviderServer() as provider:
        yield provider


def _openai(server: ProviderServer, *faults: FaultConfig, **kw: Any) -> openai.OpenAI:
    http = httpx2.Client(transport=ChaosTransport(faults=list(faults), **kw))
    return openai.OpenAI(
        base_url=server.openai_base_url, api_key="t", max_retries=2, http_client=http
    )


def _anthropic(server: ProviderServer, *faults: FaultConfig) -> anthropic.Anthropic:
    http = httpx2.Client(transport=ChaosTransport(faults=list(faults)))
    return anthropic.Anthropic(
        base_url=server.anthropic_base_url, api_key="t", max_retries=2, http_client=http
    )


def _fault(kind: str, **kw: Any) -> FaultConfig:
    return FaultConfig(fault_type=kind, **kw)


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_truncated_output_is_a_length_stop_in_openai(server: ProviderServer, stream: bool) -> None:
    server.script([TextReply("one two three four five six")])
    with _openai(server, _fault("truncated_output")) as client:
        if stream:
            chunks = list(client.chat.completions.create(model="m", messages=USER, stream=True))
            finish = chunks[-1].choices[0].finish_reason
            text = "".join(c.choices[0].delta.content or "" for c in chunks)
        else:
            choice = client.chat.completions.create(model="m", messages=USER).choices[0]
            finish, text = choice.finish_reason, choice.message.content or ""
    assert finish == "length"
    assert text == "one two three"


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_truncated_output_is_a_max_tokens_stop_in_anthropic(
    server: ProviderServer, stream: bool
) -> None:
    server.script([TextReply("one two three four five six")])
    with _anthropic(server, _fault("truncated_output")) as client:
        if stream:
            with client.messages.stream(model="c", max_tokens=99, messages=USER) as events:
                message = events.get_final_message()
        else:
            message = client.messages.create(model="c", max_tokens=99, messages=USER)
    assert message.stop_reason == "max_tokens"
    assert message.content[0].text == "one two three"  # type: ignore[union-attr]


def test_truncated_output_in_the_responses_api(server: ProviderServer) -> None:
    server.script([TextReply("one two three four five six")])
    with _openai(server, _fault("truncated_output")) as client:
        response = client.responses.create(model="m", input="hi")
    assert response.status == "incomplete"
    assert response.incomplete_details is not None
    assert response.incomplete_details.reason == "max_output_tokens"
    assert response.output_text == "one two three"


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_malformed_tool_call_arguments_do_not_parse(server: ProviderServer, stream: bool) -> None:
    server.script([ToolCallReply("search", ARGS)])
    with _openai(server, _fault("malformed_tool_call")) as client:
        if stream:
            with client.chat.completions.stream(model="m", messages=USER, tools=TOOLS) as events:
                message = events.get_final_completion().choices[0].message
        else:
            message = (
                client.chat.completions.create(model="m", messages=USER, tools=TOOLS)
                .choices[0]
                .message
            )
    assert message.tool_calls is not None
    call = message.tool_calls[0]
    assert call.function.name == "search"  # type: ignore[union-attr]
    with pytest.raises(json.JSONDecodeError):
        json.loads(call.function.arguments)  # type: ignore[union-attr]


def test_malformed_tool_call_in_an_anthropic_stream(server: ProviderServer) -> None:
    """The SDK parses tool input leniently: it keeps what parsed before the cut."""
    server.script([ToolCallReply("search", ARGS)])
    with (
        _anthropic(server, _fault("malformed_tool_call")) as client,
        client.messages.stream(model="c", max_tokens=99, messages=USER, tools=ATOOLS) as events,
    ):
        message = events.get_final_message()
    use = message.content[0]
    assert use.type == "tool_use"
    assert use.input != ARGS


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_unknown_tool_call_names_a_tool_not_offered(server: ProviderServer, stream: bool) -> None:
    server.script([ToolCallReply("search", ARGS)])
    with _anthropic(server, _fault("unknown_tool_call")) as client:
        if stream:
            with client.messages.stream(
                model="c", max_tokens=99, messages=USER, tools=ATOOLS
            ) as events:
                message = events.get_final_message()
        else:
            message = client.messages.create(model="c", max_tokens=99, messages=USER, tools=ATOOLS)
    use = message.content[0]
    assert use.type == "tool_use"
    assert use.name not in {t["name"] for t in ATOOLS}
    assert use.input == ARGS


def test_wrong_tool_arguments_are_valid_and_different(server: ProviderServer) -> None:
    server.script([ToolCallReply("search", ARGS)])
    with _openai(server, _fault("wrong_tool_arguments")) as client:
        message = (
            client.chat.completions.create(model="m", messages=USER, tools=TOOLS).choices[0].message
        )
    assert message.tool_calls is not None
    arguments = json.loads(message.tool_calls[0].function.arguments)  # type: ignore[union-attr]
    assert arguments["query"] == "chaos"
    assert isinstance(arguments["limit"], int)
    assert arguments["limit"] != 3


def test_empty_output_and_refusal(server: ProviderServer) -> None:
    with _openai(
        server, _fault("empty_output", times=1), _fault("refusal", after_calls=1)
    ) as client:
        empty = client.chat.completions.create(model="m", messages=USER).choices[0]
        refused = client.chat.completions.create(model="m", messages=USER).choices[0]
    assert empty.message.content == ""
    assert empty.finish_reason == "stop"
    assert refused.message.content is None
    assert refused.message.refusal


def test_anthropic_refusal(server: ProviderServer) -> None:
    with _anthropic(server, _fault("refusal")) as client:
        message = client.messages.create(model="c", max_tokens=99, messages=USER)
    assert message.stop_reason == "refusal"


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_context_overflow_is_the_providers_400(server: ProviderServer, stream: bool) -> None:
    with (
        _openai(server, _fault("context_overflow", context_window=8192)) as client,
        pytest.raises(openai.BadRequestError) as caught,
    ):
        client.chat.completions.create(model="m", messages=USER, stream=stream)
    assert caught.value.code == "context_length_exceeded"
    assert caught.value.status_code == 400
    assert "maximum context length is 8192 tokens" in caught.value.message
    assert server.request_count() == 0  # the request never reached the provider


def test_anthropic_context_overflow(server: ProviderServer) -> None:
    with (
        _anthropic(server, _fault("context_overflow", context_window=200_000)) as client,
        pytest.raises(anthropic.BadRequestError) as caught,
    ):
        client.messages.create(model="c", max_tokens=9, messages=USER)
    assert "prompt is too long" in caught.value.message
    assert "> 200000 maximum" in caught.value.message


@pytest.mark.asyncio
async def test_async_clients_get_the_same_rewrite(server: ProviderServer) -> None:
    server.script([ToolCallReply("search", ARGS), ToolCallReply("search", ARGS)])
    http = httpx2.AsyncClient(transport=AsyncChaosTransport(faults=[_fault("malformed_tool_call")]))
    async with openai.AsyncOpenAI(
        base_url=server.openai_base_url, api_key="t", http_client=http
    ) as client:
        answer = await client.chat.completions.create(model="m", messages=USER, tools=TOOLS)
        stream = await client.chat.completions.create(
            model="m", messages=USER, tools=TOOLS, stream=True
        )
        fragments = [
            c.choices[0].delta.tool_calls[0].function.arguments or ""  # type: ignore[union-attr,index]
            async for c in stream
            if c.choices and c.choices[0].delta.tool_calls
        ]
    assert answer.choices[0].message.tool_calls is not None
    for arguments in (
        answer.choices[0].message.tool_calls[0].function.arguments,
        "".join(fragments),
    ):  # type: ignore[union-attr]
        with pytest.raises(json.JSONDecodeError):
            json.loads(arguments)


# -- not applicable: untouched and not counted -------------------------------------------------


def test_a_tool_fault_on_a_text_answer_passes_untouched_and_is_not_counted(
    server: ProviderServer,
    tracer_provider: TracerProvider,
    span_exporter: InMemorySpanExporter,
    meter_provider: MeterProvider,
    metric_reader: InMemoryMetricReader,
) -> None:
    fault = _fault("malformed_tool_call", times=1)
    server.script([TextReply("plain text"), ToolCallReply("search", ARGS)])
    with _openai(
        server, fault, tracer_provider=tracer_provider, meter_provider=meter_provider
    ) as client:
        text = client.chat.completions.create(model="m", messages=USER, tools=TOOLS)
        call = client.chat.completions.create(model="m", messages=USER, tools=TOOLS)
    assert text.choices[0].message.content == "plain text"
    assert call.choices[0].message.tool_calls is not None
    # times=1 was not used up by the text answer: the second, with a tool call, got it.
    with pytest.raises(json.JSONDecodeError):
        json.loads(call.choices[0].message.tool_calls[0].function.arguments)  # type: ignore[union-attr]
    assert len(span_exporter.get_finished_spans()) == 1
    data = metric_reader.get_metrics_data()
    assert data is not None
    points = [
        p
        for rm in data.resource_metrics
        for sm in rm.scope_metrics
        for m in sm.metrics
        if m.name == "chaos.fault.injections"
        for p in m.data.data_points  # type: ignore[union-attr]
    ]
    assert sum(p.value for p in points) == 1  # type: ignore[attr-defined]


# -- telemetry ---------------------------------------------------------------------------------

ALL_OUTPUT = [
    ("empty_output", TextReply("some text")),
    ("truncated_output", TextReply("some longer text")),
    ("malformed_tool_call", ToolCallReply("search", ARGS)),
    ("unknown_tool_call", ToolCallReply("search", ARGS)),
    ("wrong_tool_arguments", ToolCallReply("search", ARGS)),
    ("refusal", TextReply("some text")),
    ("context_overflow", TextReply("some text")),
]


@pytest.mark.parametrize(("kind", "reply"), ALL_OUTPUT, ids=[k for k, _ in ALL_OUTPUT])
def test_every_output_fault_is_a_span_and_an_event(
    server: ProviderServer,
    tracer_provider: TracerProvider,
    span_exporter: InMemorySpanExporter,
    kind: str,
    reply: Any,
) -> None:
    server.script([reply])
    tracer = tracer_provider.get_tracer("test")
    with (
        _openai(server, _fault(kind), tracer_provider=tracer_provider) as client,
        tracer.start_as_current_span("agent"),
    ):
        try:
            client.chat.completions.create(model="m", messages=USER, tools=TOOLS)
        except openai.BadRequestError:
            assert kind == "context_overflow"
    spans = {s.name: s for s in span_exporter.get_finished_spans()}
    fault, agent = spans["chaos.fault"], spans["agent"]
    assert fault.attributes is not None
    assert fault.attributes["chaos.fault.type"] == kind
    assert fault.attributes["chaos.component"] == "openai.chat.completions"
    assert fault.attributes["gen_ai.provider.name"] == "openai"
    assert fault.parent is not None
    assert fault.parent.span_id == agent.context.span_id
    [event] = [e for e in agent.events if e.name == "chaos.fault.injected"]
    assert event.attributes is not None
    assert event.attributes["chaos.fault.type"] == kind


# -- an agent loop under malformed_tool_call, in an experiment ---------------------------------


class Agent:
    """A small tool-calling agent on the real ``openai`` client: ask, run the tool, answer."""

    def __init__(self, client: openai.OpenAI, *, retries: int) -> None:
        self.client = client
        self.retries = retries

    def run_once(self) -> str:
        messages: list[Any] = list(USER)
        for _attempt in range(self.retries + 1):
            first = self.client.chat.completions.create(model="m", messages=messages, tools=TOOLS)
            call = (first.choices[0].message.tool_calls or [None])[0]
            assert call is not None
            try:
                arguments = json.loads(call.function.arguments)  # type: ignore[union-attr]
                break
            except json.JSONDecodeError:
                if _attempt == self.retries:
                    raise
        messages += [
            first.choices[0].message.model_dump(exclude_none=True),
            {
                "role": "tool",
                "tool_call_id": call.id,
                "content": f"3 papers on {arguments['query']}",
            },
        ]
        second = self.client.chat.completions.create(model="m", messages=messages, tools=TOOLS)
        return second.choices[0].message.content or ""


def _experiment(name: str) -> ChaosExperiment:
    return ChaosExperiment(
        experiment_id=f"agent-{name}",
        name=f"agent loop, {name}",
        duration_seconds=2.0,
        seed=7,
        faults=[
            FaultConfig(
                fault_type="malformed_tool_call",
                probability=0.3,
                affected_components=["openai.chat.completions"],
            )
        ],
        steady_state=[Objective(component="workload", max_error_rate=0.02, min_calls=5)],
    )


@pytest.mark.parametrize(("retries", "verdict"), [(4, Verdict.passed), (0, Verdict.deviated)])
def test_an_agent_with_a_retry_survives_malformed_tool_calls(
    server: ProviderServer, retries: int, verdict: Verdict
) -> None:
    with openai.OpenAI(
        base_url=server.openai_base_url,
        api_key="t",
        http_client=httpx2.Client(transport=ChaosTransport()),
    ) as client:
        agent = Agent(client, retries=retries)
        scheduler = ExperimentScheduler()
        run_id = scheduler.schedule(_experiment(f"retries-{retries}"))
        result = scheduler.run(run_id, workload=agent.run_once)
    assert result.summary["faults_by_type"].get("malformed_tool_call", 0) > 0
    assert result.verdict is verdict, result.objectives


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_an_httpx_client_gets_the_rewrite_too(server: ProviderServer, stream: bool) -> None:
    import httpx

    server.script([TextReply("one two three four")])
    body = {"model": "m", "messages": USER, "stream": stream}
    url = f"{server.openai_base_url}/chat/completions"
    transport = ChaosTransport(faults=[_fault("truncated_output")])
    with httpx.Client(transport=transport) as client:
        response = client.post(url, json=body)
    assert response.status_code == 200
    if stream:
        assert b'"finish_reason":"length"' in response.content
        assert response.content.endswith(b"data: [DONE]\n\n")
    else:
        assert response.headers["content-length"] == str(len(response.content))
        assert response.json()["choices"][0]["finish_reason"] == "length"
        assert response.json()["choices"][0]["message"]["content"] == "one two t"

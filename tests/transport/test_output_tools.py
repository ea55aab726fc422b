"""Tool-call output faults without a network: how much ``truncated_output`` keeps of a call's
arguments, schema-breaking arguments (``invalid_tool_arguments``), and which calls of a turn
with several a fault acts on (``tool_calls``)."""

from __future__ import annotations

import json
import random
from typing import Any

import jsonschema
import pytest

from aumai_chaos.faults import FaultConfig
from aumai_chaos.testing import ToolCallReply, ToolCallsReply
from aumai_chaos.transport._output import parse_events, rewrite_body, rewrite_content
from aumai_chaos.transport._tools import break_arguments, pick_calls
from tests.transport.test_output_pure import ARGS, SCHEMA, _body, _events, _request

APIS = ["openai.chat.completions", "openai.responses", "anthropic.messages"]
TOOL = ToolCallReply("search", ARGS)
FRACTIONS = (0.2, 0.5, 0.8)


def _arguments(api: str, body: dict[str, Any]) -> Any:
    if api == "openai.chat.completions":
        return body["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"]
    if api == "openai.responses":
        return next(i for i in body["output"] if i["type"] == "function_call")["arguments"]
    return next(b for b in body["content"] if b["type"] == "tool_use")["input"]


@pytest.mark.parametrize("api", APIS[:2])
def test_truncated_output_keeps_its_fraction_of_the_arguments(api: str) -> None:
    whole = json.dumps(ARGS)
    seen = set()
    for keep in FRACTIONS:
        fault = FaultConfig(fault_type="truncated_output", keep_fraction=keep)
        out = rewrite_body(fault, api, _request(api), _body(api, TOOL))
        assert out is not None
        cut = _arguments(api, out)
        assert cut == whole[: int(len(whole) * keep)]
        with pytest.raises(json.JSONDecodeError):
            json.loads(cut)
        seen.add(cut)
    assert len(seen) == len(FRACTIONS)


def test_truncated_output_keeps_its_fraction_of_an_anthropic_input() -> None:
    api = "anthropic.messages"
    whole = json.dumps(ARGS)
    keys = list(ARGS)
    for keep in FRACTIONS:
        fault = FaultConfig(fault_type="truncated_output", keep_fraction=keep)
        out = rewrite_body(fault, api, _request(api), _body(api, TOOL))
        assert out is not None
        assert _arguments(api, out) == {k: ARGS[k] for k in keys[: int(len(keys) * keep)]}
        streamed = rewrite_content(fault, api, _request(api), _events(api, TOOL), stream=True)
        assert streamed is not None
        fragments = [
            d["delta"]["partial_json"]
            for _, d in parse_events(streamed)
            if isinstance(d, dict) and d.get("type") == "content_block_delta"
        ]
        assert "".join(fragments) == whole[: int(len(whole) * keep)]


# -- invalid_tool_arguments ----------------------------------------------------------------------

VALIDATOR = {
    "missing_required": "required",
    "wrong_type": "type",
    "out_of_enum": "enum",
}


def _parsed(api: str, body: dict[str, Any], index: int = 0) -> Any:
    """The arguments of call ``index`` as the SDK's user gets them (parsed JSON)."""
    if api == "openai.chat.completions":
        text = body["choices"][0]["message"]["tool_calls"][index]["function"]["arguments"]
        return json.loads(text)
    if api == "openai.responses":
        calls = [i for i in body["output"] if i["type"] == "function_call"]
        return json.loads(calls[index]["arguments"])
    return [b for b in body["content"] if b["type"] == "tool_use"][index]["input"]


def _assembled(api: str, streamed: bytes) -> dict[str, Any]:
    from aumai_chaos.transport._output_anthropic import assemble_message
    from aumai_chaos.transport._output_openai import assemble_chat
    from aumai_chaos.transport._output_responses import assemble_response

    objects = [d for _, d in parse_events(streamed) if isinstance(d, dict)]
    assemble = {"openai.chat.completions": assemble_chat, "openai.responses": assemble_response}
    body = assemble.get(api, assemble_message)(objects)
    assert body is not None
    return body


@pytest.mark.parametrize("api", APIS)
@pytest.mark.parametrize("violation", list(VALIDATOR))
@pytest.mark.parametrize("seed", range(5))
def test_invalid_tool_arguments_are_json_that_breaks_the_schema(
    api: str, violation: str, seed: int
) -> None:
    jsonschema.validate(ARGS, SCHEMA)  # the model's own arguments are valid
    fault = FaultConfig(fault_type="invalid_tool_arguments", violation=violation)
    body = rewrite_body(fault, api, _request(api), _body(api, TOOL), seed=seed)
    assert body is not None
    streamed = rewrite_content(
        fault, api, _request(api), _events(api, TOOL), seed=seed, stream=True
    )
    assert streamed is not None
    for arguments in (_parsed(api, body), _parsed(api, _assembled(api, streamed))):
        errors = list(jsonschema.Draft202012Validator(SCHEMA).iter_errors(arguments))
        assert [e.validator for e in errors] == [VALIDATOR[violation]]
    # The same seed, the same broken arguments; streamed and not alike.
    assert _parsed(api, _assembled(api, streamed)) == _parsed(api, body)
    again = rewrite_body(fault, api, _request(api), _body(api, TOOL), seed=seed)
    assert again == body


def test_invalid_tool_arguments_draw_each_violation_the_schema_allows() -> None:
    api = "openai.chat.completions"
    fault = FaultConfig(fault_type="invalid_tool_arguments")
    seen = set()
    for seed in range(40):
        body = rewrite_body(fault, api, _request(api), _body(api, TOOL), seed=seed)
        assert body is not None
        errors = list(jsonschema.Draft202012Validator(SCHEMA).iter_errors(_parsed(api, body)))
        assert len(errors) == 1
        seen.add(errors[0].validator)
    assert seen == set(VALIDATOR.values())


def test_break_arguments_needs_something_to_break() -> None:
    rng = random.Random(1)
    assert break_arguments({"a": 1}, {"type": "object"}, rng) is None
    no_enum = {"type": "object", "properties": {"a": {"type": "integer"}}}
    assert break_arguments({"a": 1}, no_enum, rng, "out_of_enum") is None
    assert break_arguments({"a": 1}, no_enum, rng, "wrong_type") == {"a": "1"}
    untyped = {"properties": {"a": {"description": "anything"}}, "required": ["b"]}
    assert break_arguments({"a": 1}, untyped, rng) is None


@pytest.mark.parametrize(
    ("schema", "value"),
    [
        ({"type": "string"}, "x"),
        ({"type": "number"}, 1.5),
        ({"type": "boolean"}, True),
        ({"type": ["string", "integer"]}, 3),
        ({"type": ["string", "number", "boolean"]}, "x"),
        ({"type": "array", "items": {"type": "string"}}, ["a"]),
        ({"type": "object"}, {"k": 1}),
    ],
)
def test_a_wrong_type_is_never_one_the_schema_allows(schema: dict[str, Any], value: Any) -> None:
    whole = {"type": "object", "properties": {"a": schema}}
    jsonschema.validate({"a": value}, whole)
    out = break_arguments({"a": value}, whole, random.Random(0), "wrong_type")
    assert out is not None
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(out, whole)


def test_the_request_without_the_tool_schema_gets_no_invalid_arguments() -> None:
    api = "openai.chat.completions"
    fault = FaultConfig(fault_type="invalid_tool_arguments")
    request = {"model": "m", "messages": []}
    assert rewrite_body(fault, api, request, _body(api, TOOL)) is None


# -- tool_calls: first, all, random --------------------------------------------------------------

CALLS = ToolCallsReply(
    [
        ToolCallReply("search", {**ARGS, "query": "one"}),
        ToolCallReply("search", {**ARGS, "query": "two"}),
        ToolCallReply("search", {**ARGS, "query": "three"}),
    ]
)
TOOL_FAULTS = ["malformed_tool_call", "unknown_tool_call", "wrong_tool_arguments"]


def _calls(api: str, body: dict[str, Any]) -> list[tuple[str, str]]:
    """(name, arguments as text) of every tool call."""
    if api == "openai.chat.completions":
        return [
            (c["function"]["name"], c["function"]["arguments"])
            for c in body["choices"][0]["message"]["tool_calls"]
        ]
    if api == "openai.responses":
        return [(i["name"], i["arguments"]) for i in body["output"] if i["type"] == "function_call"]
    return [(b["name"], json.dumps(b["input"])) for b in body["content"] if b["type"] == "tool_use"]


def _changed(api: str, kind: str, which: str, seed: int, *, streamed: bool) -> list[int]:
    fault = FaultConfig(fault_type=kind, tool_calls=which)
    before = _calls(api, _body(api, CALLS))
    if streamed:
        out = rewrite_content(
            fault, api, _request(api), _events(api, CALLS), seed=seed, stream=True
        )
        assert out is not None
        if api == "anthropic.messages" and kind == "malformed_tool_call":
            return _cut_blocks(out)
        after = _calls(api, _assembled(api, out))
    else:
        body = rewrite_body(fault, api, _request(api), _body(api, CALLS), seed=seed)
        assert body is not None
        after = _calls(api, body)
    assert len(after) == len(before)
    return [n for n, (old, new) in enumerate(zip(before, after, strict=True)) if old != new]


def _cut_blocks(streamed: bytes) -> list[int]:
    """Anthropic blocks whose streamed input no longer parses."""
    raw: dict[int, str] = {}
    for _, data in parse_events(streamed):
        if isinstance(data, dict) and data.get("type") == "content_block_delta":
            raw[data["index"]] = raw.get(data["index"], "") + data["delta"]["partial_json"]
    out = []
    for index, text in sorted(raw.items()):
        try:
            json.loads(text)
        except ValueError:
            out.append(index)
    return out


@pytest.mark.parametrize("api", APIS)
@pytest.mark.parametrize("kind", TOOL_FAULTS)
@pytest.mark.parametrize("streamed", [False, True], ids=["json", "stream"])
def test_first_and_all(api: str, kind: str, streamed: bool) -> None:
    assert _changed(api, kind, "first", 1, streamed=streamed) == [0]
    assert _changed(api, kind, "all", 1, streamed=streamed) == [0, 1, 2]


@pytest.mark.parametrize("api", APIS)
@pytest.mark.parametrize("kind", TOOL_FAULTS)
def test_random_is_a_seeded_non_empty_subset(api: str, kind: str) -> None:
    picks = {}
    for seed in range(12):
        picked = _changed(api, kind, "random", seed, streamed=False)
        assert picked
        assert picked == _changed(api, kind, "random", seed, streamed=False)
        assert picked == _changed(api, kind, "random", seed, streamed=True)
        picks[seed] = tuple(picked)
    assert len(set(picks.values())) > 2  # not always the same calls


def test_pick_calls() -> None:
    rng = random.Random(3)
    assert pick_calls(0, "all", rng) == []
    assert pick_calls(4, "first", rng) == [0]
    assert pick_calls(4, "all", rng) == [0, 1, 2, 3]
    assert all(pick_calls(1, "random", random.Random(s)) == [0] for s in range(10))

"""Tool-call output faults without a network: how much ``truncated_output`` keeps of a call's
arguments, schema-breaking arguments (``invalid_tool_arguments``), and which calls of a turn
with several a fault acts on (``tool_calls``)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from aumai_chaos.faults import FaultConfig
from aumai_chaos.testing import ToolCallReply
from aumai_chaos.transport._output import parse_events, rewrite_body, rewrite_events
from tests.transport.test_output_pure import ARGS, _body, _events, _request

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
        streamed = rewrite_events(fault, api, _request(api), _events(api, TOOL))
        assert streamed is not None
        fragments = [
            d["delta"]["partial_json"]
            for _, d in parse_events(streamed)
            if isinstance(d, dict) and d.get("type") == "content_block_delta"
        ]
        assert "".join(fragments) == whole[: int(len(whole) * keep)]

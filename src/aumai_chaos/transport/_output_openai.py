"""Output faults on OpenAI chat completions: the ``chat.completion`` object, and its stream of
``chat.completion.chunk`` events assembled into one and written out again.

Field by field what ``openai`` parses (``ChatCompletion``, ``ChatCompletionMessage`` with
``content``, ``refusal`` and ``tool_calls``; ``ChatCompletionChunk`` with ``ChoiceDelta``). Only
the first choice is rewritten; a tool-call fault acts on the calls its ``tool_calls`` picks.
"""

from __future__ import annotations

import json
import random
from typing import Any

from aumai_chaos.faults import FaultConfig, FaultType
from aumai_chaos.transport._tools import (
    cut_arguments,
    offered_tools,
    on_tool_calls,
    pick_calls,
    unknown_tool_name,
    wrong_arguments,
)

__all__ = ["DEFAULT_REFUSAL", "assemble_chat", "chat_chunks", "rewrite_chat", "split_text"]

DEFAULT_REFUSAL = "I'm sorry, but I can't help with that request."


def split_text(text: str, pieces: int = 8) -> list[str]:
    """``text`` in about ``pieces`` parts that join back to it (a stream's deltas)."""
    if not text:
        return []
    size = max(1, -(-len(text) // pieces))
    return [text[i : i + size] for i in range(0, len(text), size)]


def _keep(text: str, fraction: float) -> str:
    return text[: int(len(text) * fraction)]


def rewrite_chat(
    fault: FaultConfig,
    body: dict[str, Any],
    request: Any,
    rng: random.Random,
    acted: list[int] | None = None,
) -> dict[str, Any] | None:
    """The ``chat.completion`` with the fault applied, or ``None`` when it cannot apply; the
    indexes of the tool calls it changed are added to ``acted``."""
    choices = body.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        return None
    out: dict[str, Any] = json.loads(json.dumps(body))
    choice = out["choices"][0]
    message = choice.get("message")
    if not isinstance(message, dict):
        return None
    calls = [c for c in message.get("tool_calls") or [] if isinstance(c, dict)]
    kind = fault.fault_type
    if kind is FaultType.empty_output:
        message.update(content="", refusal=None)
        message.pop("tool_calls", None)
        choice["finish_reason"] = "stop"
    elif kind is FaultType.truncated_output:
        text = message.get("content")
        if isinstance(text, str) and text:
            message["content"] = _keep(text, getattr(fault, "keep_fraction", 0.5))
            message.pop("tool_calls", None)  # cut off before the model got to them
        elif calls:
            function = calls[0].get("function") or {}
            keep = getattr(fault, "keep_fraction", 0.5)
            cut = cut_arguments(str(function.get("arguments", "")), keep)
            if cut is None:
                return None
            function["arguments"] = cut
            message["tool_calls"] = calls[:1]
        else:
            return None
        choice["finish_reason"] = "length"
    elif kind is FaultType.refusal:
        message.update(
            content=None, refusal=getattr(fault, "error_message", None) or DEFAULT_REFUSAL
        )
        message.pop("tool_calls", None)
        choice["finish_reason"] = "stop"
    elif on_tool_calls(fault):
        picked = pick_calls(len(calls), getattr(fault, "tool_calls", "first"), rng)
        changed = [_tool_fault(fault, calls[index], request, rng) for index in picked]
        if not any(changed):
            return None
        if acted is not None:
            acted.extend(i for i, ok in zip(picked, changed, strict=True) if ok)
    else:
        return None
    return out


def _tool_fault(fault: FaultConfig, call: dict[str, Any], request: Any, rng: random.Random) -> bool:
    function = call.get("function")
    if not isinstance(function, dict):
        return False
    arguments = str(function.get("arguments", ""))
    kind = fault.fault_type
    if kind is FaultType.malformed_tool_call:
        cut = cut_arguments(arguments)
        if cut is None:
            return False
        function["arguments"] = cut
        return True
    offered = offered_tools("openai.chat.completions", request)
    if kind is FaultType.unknown_tool_call:
        function["name"] = unknown_tool_name(offered, getattr(fault, "tool_name", None))
        return True
    wrong = wrong_arguments(fault, arguments, offered.get(str(function.get("name"))), rng)
    if wrong is None:
        return False
    function["arguments"] = json.dumps(wrong)
    return True


def assemble_chat(chunks: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The ``chat.completion`` that a stream of chunk objects adds up to (first choice)."""
    if not chunks:
        return None
    head = chunks[0]
    message: dict[str, Any] = {"role": "assistant", "content": None, "refusal": None}
    calls: dict[int, dict[str, Any]] = {}
    finish: Any = None
    usage: Any = None
    for chunk in chunks:
        usage = chunk.get("usage") or usage
        for choice in chunk.get("choices") or []:
            if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                continue
            finish = choice.get("finish_reason") or finish
            delta = choice.get("delta") or {}
            for field in ("content", "refusal"):
                if isinstance(delta.get(field), str):
                    message[field] = (message[field] or "") + delta[field]
            for part in delta.get("tool_calls") or []:
                call = calls.setdefault(
                    part.get("index", 0),
                    {"id": None, "type": "function", "function": {"name": "", "arguments": ""}},
                )
                call["id"] = part.get("id") or call["id"]
                function = part.get("function") or {}
                call["function"]["name"] += function.get("name") or ""
                call["function"]["arguments"] += function.get("arguments") or ""
    if calls:
        message["tool_calls"] = [calls[i] for i in sorted(calls)]
    body = {k: v for k, v in head.items() if k not in ("choices", "usage", "object")}
    body.update(
        object="chat.completion",
        choices=[{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}],
        usage=usage,
    )
    return body


def chat_chunks(body: dict[str, Any], *, usage_chunk: bool) -> list[dict[str, Any]]:
    """The chunk objects of ``body`` streamed: a role chunk, content (or refusal) deltas, each
    tool call's head and argument fragments, the ``finish_reason`` chunk, then the usage chunk
    when the original stream had one (``stream_options.include_usage``)."""
    head = {k: v for k, v in body.items() if k not in ("choices", "usage", "object")}
    head["object"] = "chat.completion.chunk"
    extra = {"usage": None} if usage_chunk else {}
    choice = body["choices"][0]
    message = choice["message"]

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {
            **head,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
            **extra,
        }

    content = message.get("content")
    out = [chunk({"role": "assistant", "content": "" if content is not None else None})]
    out += [chunk({"content": piece}) for piece in split_text(content or "")]
    if message.get("refusal"):
        out += [chunk({"refusal": piece}) for piece in split_text(message["refusal"])]
    for index, call in enumerate(message.get("tool_calls") or []):
        function = call["function"]
        start = {"name": function["name"], "arguments": ""}
        out.append(
            chunk(
                {
                    "tool_calls": [
                        {"index": index, "id": call["id"], "type": "function", "function": start}
                    ]
                }
            )
        )
        for piece in split_text(function["arguments"], 3):
            out.append(chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]}))
    out.append(chunk({}, choice.get("finish_reason")))
    if usage_chunk:
        out.append({**head, "choices": [], "usage": body.get("usage")})
    return out

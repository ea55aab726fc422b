"""Output faults on Anthropic messages: the ``message`` object, and its stream of named events
assembled into one and written out again.

Field by field what ``anthropic`` parses: ``Message`` with ``content`` blocks (``text``,
``tool_use`` with ``input``), ``stop_reason`` (``end_turn``, ``max_tokens``, ``tool_use``,
``refusal``...), and the stream ``message_start``, ``content_block_start`` / ``_delta`` /
``_stop``, ``message_delta``, ``message_stop``.

Anthropic's API sends a non-streamed tool input as a parsed object, and the SDK parses a
streamed one leniently (``jiter`` in partial mode). So ``malformed_tool_call`` cuts the
``input_json_delta`` fragments mid-object on a stream (the SDK then holds only what parsed
before the cut), and on a non-streamed body keeps only the keys before the cut.
"""

from __future__ import annotations

import json
import random
from typing import Any

from aumai_chaos.faults import FaultConfig, FaultType
from aumai_chaos.transport._output_openai import split_text
from aumai_chaos.transport._tools import (
    cut_arguments,
    offered_tools,
    on_tool_calls,
    pick_calls,
    unknown_tool_name,
    wrong_arguments,
)

__all__ = ["RAW_INPUT", "assemble_message", "message_events", "rewrite_message"]

#: A ``tool_use`` block key, ours only: the exact JSON text to stream as its input.
RAW_INPUT = "__aumai_chaos_raw_input__"


def _cut_input(block: dict[str, Any], *, streamed: bool, keep: float = 0.5) -> bool:
    tool_input = block.get("input")
    if not isinstance(tool_input, dict) or not tool_input:
        return False
    cut = cut_arguments(json.dumps(tool_input), keep)
    if cut is None:  # pragma: no cover - a non-empty dict always dumps to an object
        return False
    if streamed:
        block[RAW_INPUT] = cut
    else:
        keys = list(tool_input)
        block["input"] = {k: tool_input[k] for k in keys[: int(len(keys) * keep)]}
    return True


def _truncate(blocks: list[dict[str, Any]], keep: float, *, streamed: bool) -> int | None:
    """Cut the first text block (or tool input) that has content; the index it is at."""
    for index, block in enumerate(blocks):
        if block.get("type") == "text" and block.get("text"):
            block["text"] = block["text"][: int(len(block["text"]) * keep)]
            return index
        if block.get("type") == "tool_use" and _cut_input(block, streamed=streamed, keep=keep):
            return index
    return None


def rewrite_message(
    fault: FaultConfig,
    body: dict[str, Any],
    request: Any,
    rng: random.Random,
    *,
    streamed: bool = False,
    acted: list[int] | None = None,
) -> dict[str, Any] | None:
    """The ``message`` with the fault applied, or ``None`` when it cannot apply; the indexes
    (among the ``tool_use`` blocks) of the calls it changed are added to ``acted``."""
    if not isinstance(body.get("content"), list):
        return None
    out: dict[str, Any] = json.loads(json.dumps(body))
    blocks: list[dict[str, Any]] = [b for b in out["content"] if isinstance(b, dict)]
    uses = [b for b in blocks if b.get("type") == "tool_use"]
    kind = fault.fault_type
    if kind is FaultType.empty_output:
        out.update(content=[], stop_reason="end_turn", stop_sequence=None)
    elif kind is FaultType.refusal:
        message = getattr(fault, "error_message", None)
        content = [{"type": "text", "text": message, "citations": None}] if message else []
        out.update(content=content, stop_reason="refusal", stop_sequence=None)
    elif kind is FaultType.truncated_output:
        last = _truncate(blocks, getattr(fault, "keep_fraction", 0.5), streamed=streamed)
        if last is None:
            return None
        out.update(content=blocks[: last + 1], stop_reason="max_tokens", stop_sequence=None)
    elif on_tool_calls(fault):
        picked = pick_calls(len(uses), getattr(fault, "tool_calls", "first"), rng)
        changed = [_tool_fault(fault, uses[i], request, rng, streamed=streamed) for i in picked]
        if not any(changed):
            return None
        if acted is not None:
            acted.extend(i for i, ok in zip(picked, changed, strict=True) if ok)
    else:
        return None
    return out


def _tool_fault(
    fault: FaultConfig, use: dict[str, Any], request: Any, rng: random.Random, *, streamed: bool
) -> bool:
    kind = fault.fault_type
    if kind is FaultType.malformed_tool_call:
        return _cut_input(use, streamed=streamed)
    offered = offered_tools("anthropic.messages", request)
    if kind is FaultType.unknown_tool_call:
        use["name"] = unknown_tool_name(offered, getattr(fault, "tool_name", None))
        return True
    wrong = wrong_arguments(fault, use.get("input"), offered.get(str(use.get("name"))), rng)
    if wrong is None:
        return False
    use["input"] = wrong
    return True


def assemble_message(events: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The ``message`` that a stream of event objects adds up to; ``None`` when the stream is
    not a whole message (no ``message_start``, or a tool input that is not JSON)."""
    message: dict[str, Any] | None = None
    raw: dict[int, str] = {}
    for event in events:
        kind = event.get("type")
        if kind == "message_start" and isinstance(event.get("message"), dict):
            message = json.loads(json.dumps(event["message"]))
            message["content"] = []
        elif message is None:
            continue
        elif kind == "content_block_start":
            message["content"].append(dict(event.get("content_block") or {}))
        elif kind == "content_block_delta" and message["content"]:
            index = int(event.get("index", len(message["content"]) - 1))
            block = message["content"][index]
            delta = event.get("delta") or {}
            if delta.get("type") == "text_delta":
                block["text"] = block.get("text", "") + str(delta.get("text", ""))
            elif delta.get("type") == "input_json_delta":
                raw[index] = raw.get(index, "") + str(delta.get("partial_json", ""))
            elif delta.get("type") == "thinking_delta":
                block["thinking"] = block.get("thinking", "") + str(delta.get("thinking", ""))
            elif delta.get("type") == "signature_delta":
                block["signature"] = str(delta.get("signature", ""))
        elif kind == "message_delta":
            message.update(event.get("delta") or {})
            message["usage"] = {**(message.get("usage") or {}), **(event.get("usage") or {})}
    if message is None:
        return None
    for index, text in raw.items():
        try:
            message["content"][index]["input"] = json.loads(text) if text else {}
        except ValueError:
            return None
    return message


def message_events(body: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """``(event name, payload)`` for ``body`` streamed, as the API sends them."""
    usage = dict(body.get("usage") or {})
    start = {**body, "content": [], "stop_reason": None, "stop_sequence": None}
    start["usage"] = {**usage, "output_tokens": 1}
    events: list[dict[str, Any]] = [{"type": "message_start", "message": start}, {"type": "ping"}]
    for index, block in enumerate(body.get("content") or []):
        events += _block_events(index, dict(block))
    events += [
        {
            "type": "message_delta",
            "delta": {
                "stop_reason": body.get("stop_reason"),
                "stop_sequence": body.get("stop_sequence"),
            },
            "usage": {"output_tokens": usage.get("output_tokens", 1)},
        },
        {"type": "message_stop"},
    ]
    return [(str(e["type"]), e) for e in events]


def _block_events(index: int, block: dict[str, Any]) -> list[dict[str, Any]]:
    kind = block.get("type")
    if kind == "text":
        start = {**block, "text": ""}
        deltas = [{"type": "text_delta", "text": p} for p in split_text(str(block.get("text", "")))]
    elif kind == "tool_use":
        raw = block.pop(RAW_INPUT, None)
        text = raw if isinstance(raw, str) else json.dumps(block.get("input") or {})
        start = {**block, "input": {}}
        deltas = [{"type": "input_json_delta", "partial_json": p} for p in split_text(text, 3)]
    else:
        start, deltas = block, []
    return [
        {"type": "content_block_start", "index": index, "content_block": start},
        *({"type": "content_block_delta", "index": index, "delta": d} for d in deltas),
        {"type": "content_block_stop", "index": index},
    ]

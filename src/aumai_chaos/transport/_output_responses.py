"""Output faults on the OpenAI Responses API: the ``response`` object, and its stream of events
assembled (the final ``response.completed`` / ``.incomplete`` event carries the whole object)
and written out again.

Field by field what ``openai`` parses: ``Response`` with ``status``, ``incomplete_details``,
``output`` items (``message`` with ``output_text`` / ``refusal`` parts, ``function_call`` with
``name``, ``call_id`` and ``arguments``), and the events ``ResponseStreamState`` assembles.
"""

from __future__ import annotations

import json
import random
from typing import Any

from aumai_chaos.faults import FaultConfig, FaultType
from aumai_chaos.transport._output_openai import DEFAULT_REFUSAL, split_text
from aumai_chaos.transport._tools import (
    cut_arguments,
    offered_tools,
    on_tool_calls,
    pick_calls,
    unknown_tool_name,
    wrong_arguments,
)

__all__ = ["assemble_response", "response_events", "rewrite_response"]

_FINAL = ("response.completed", "response.incomplete", "response.failed")


def _message(item_id: str, part: dict[str, Any], status: str = "completed") -> dict[str, Any]:
    return {
        "type": "message",
        "id": item_id,
        "status": status,
        "role": "assistant",
        "content": [part],
    }


def _text(text: str) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def rewrite_response(
    fault: FaultConfig,
    body: dict[str, Any],
    request: Any,
    rng: random.Random,
    acted: list[int] | None = None,
) -> dict[str, Any] | None:
    """The ``response`` with the fault applied, or ``None`` when it cannot apply; the indexes
    (among the ``function_call`` items) of the calls it changed are added to ``acted``."""
    output = body.get("output")
    if not isinstance(output, list) or body.get("status") not in ("completed", None):
        return None
    out: dict[str, Any] = json.loads(json.dumps(body))
    items: list[dict[str, Any]] = [i for i in out["output"] if isinstance(i, dict)]
    messages = [i for i in items if i.get("type") == "message"]
    calls = [i for i in items if i.get("type") == "function_call"]
    others = [i for i in items if i.get("type") not in ("message", "function_call")]
    item_id = str(messages[0].get("id") if messages else f"msg_{out.get('id', 'chaos')}")
    kind = fault.fault_type
    if kind is FaultType.empty_output:
        out["output"] = [*others, _message(item_id, _text(""))]
    elif kind is FaultType.refusal:
        message = getattr(fault, "error_message", None) or DEFAULT_REFUSAL
        out["output"] = [*others, _message(item_id, {"type": "refusal", "refusal": message})]
    elif kind is FaultType.truncated_output:
        if not _truncate(out, items, getattr(fault, "keep_fraction", 0.5)):
            return None
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


def _truncate(out: dict[str, Any], items: list[dict[str, Any]], keep: float) -> bool:
    """Cut the first text (or, with none, the first call's arguments) and end the output
    there: ``status: "incomplete"``, ``incomplete_details.reason: "max_output_tokens"``."""
    index = next((n for n, item in enumerate(items) if _cut_item(item, keep)), None)
    if index is None:
        return False
    items[index]["status"] = "incomplete"
    out["output"] = items[: index + 1]
    out["status"] = "incomplete"
    out["incomplete_details"] = {"reason": "max_output_tokens"}
    return True


def _cut_item(item: dict[str, Any], keep: float) -> bool:
    """Cut this item's text, or its arguments mid-object; whether it had any to cut."""
    parts = item.get("content") if item.get("type") == "message" else None
    texts = [p for p in parts or [] if isinstance(p, dict) and p.get("type") == "output_text"]
    if texts and texts[0].get("text"):
        texts[0]["text"] = texts[0]["text"][: int(len(texts[0]["text"]) * keep)]
        item["content"] = [texts[0]]
        return True
    if item.get("type") == "function_call":
        cut = cut_arguments(str(item.get("arguments", "")), keep)
        if cut is not None:
            item["arguments"] = cut
            return True
    return False


def _tool_fault(fault: FaultConfig, call: dict[str, Any], request: Any, rng: random.Random) -> bool:
    arguments = str(call.get("arguments", ""))
    kind = fault.fault_type
    if kind is FaultType.malformed_tool_call:
        cut = cut_arguments(arguments)
        if cut is None:
            return False
        call["arguments"] = cut
        return True
    offered = offered_tools("openai.responses", request)
    if kind is FaultType.unknown_tool_call:
        call["name"] = unknown_tool_name(offered, getattr(fault, "tool_name", None))
        return True
    wrong = wrong_arguments(fault, arguments, offered.get(str(call.get("name"))), rng)
    if wrong is None:
        return False
    call["arguments"] = json.dumps(wrong)
    return True


def assemble_response(events: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The ``response`` that the stream's final event carries, or ``None`` without one."""
    for event in reversed(events):
        if event.get("type") in _FINAL and isinstance(event.get("response"), dict):
            response: dict[str, Any] = event["response"]
            return response
    return None


def response_events(body: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """``(event name, payload)`` for ``body`` streamed, numbered by ``sequence_number``."""
    pending = {**body, "status": "in_progress", "output": [], "usage": None}
    pending["incomplete_details"] = None
    events: list[dict[str, Any]] = [
        {"type": "response.created", "response": pending},
        {"type": "response.in_progress", "response": pending},
    ]
    for index, item in enumerate(body.get("output") or []):
        events += _item_events(index, item)
    final = "response.incomplete" if body.get("status") == "incomplete" else "response.completed"
    events.append({"type": final, "response": body})
    return [(e["type"], {**e, "sequence_number": n}) for n, e in enumerate(events)]


def _item_events(index: int, item: dict[str, Any]) -> list[dict[str, Any]]:
    where = {"output_index": index, "item_id": item.get("id")}
    kind = item.get("type")
    if kind == "function_call":
        start = {**item, "arguments": "", "status": "in_progress"}
        arguments = str(item.get("arguments", ""))
        out = [{"type": "response.output_item.added", "output_index": index, "item": start}]
        out += [
            {"type": "response.function_call_arguments.delta", **where, "delta": piece}
            for piece in split_text(arguments, 3)
        ]
        out.append(
            {
                "type": "response.function_call_arguments.done",
                **where,
                "name": item.get("name"),
                "arguments": arguments,
            }
        )
    elif kind == "message":
        start = {**item, "content": [], "status": "in_progress"}
        out = [{"type": "response.output_item.added", "output_index": index, "item": start}]
        for part_index, part in enumerate(item.get("content") or []):
            out += _part_events({**where, "content_index": part_index}, part)
    else:
        out = [{"type": "response.output_item.added", "output_index": index, "item": item}]
    out.append({"type": "response.output_item.done", "output_index": index, "item": item})
    return out


def _part_events(where: dict[str, Any], part: dict[str, Any]) -> list[dict[str, Any]]:
    if part.get("type") == "refusal":
        text, empty = str(part.get("refusal", "")), {**part, "refusal": ""}
        deltas = [{"type": "response.refusal.delta", **where, "delta": p} for p in split_text(text)]
        done = {"type": "response.refusal.done", **where, "refusal": text}
    else:
        text, empty = str(part.get("text", "")), {**part, "text": ""}
        deltas = [
            {"type": "response.output_text.delta", **where, "delta": p, "logprobs": []}
            for p in split_text(text)
        ]
        done = {"type": "response.output_text.done", **where, "text": text, "logprobs": []}
    return [
        {"type": "response.content_part.added", **where, "part": empty},
        *deltas,
        done,
        {"type": "response.content_part.done", **where, "part": part},
    ]

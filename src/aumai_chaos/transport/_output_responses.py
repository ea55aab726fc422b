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
from dataclasses import dataclass
from typing import Any

from aumai_chaos.faults import FaultConfig
from aumai_chaos.transport._output_openai import DEFAULT_REFUSAL, split_text
from aumai_chaos.transport._tools import change_call, cut_arguments

__all__ = ["ResponseReply", "assemble_response", "response_events"]

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


@dataclass(slots=True)
class ResponseReply:
    """A ``response`` being rewritten: a copy of the body, its output items, the id of its
    message item and its ``function_call`` items."""

    body: dict[str, Any]
    items: list[dict[str, Any]]
    item_id: str
    calls: list[dict[str, Any]]

    @classmethod
    def open(cls, body: dict[str, Any], streamed: bool) -> ResponseReply | None:
        """A copy of ``body`` to rewrite, or ``None`` when it is no completed output."""
        output = body.get("output")
        if not isinstance(output, list) or body.get("status") not in ("completed", None):
            return None
        out: dict[str, Any] = json.loads(json.dumps(body))
        items: list[dict[str, Any]] = [i for i in out["output"] if isinstance(i, dict)]
        messages = [i for i in items if i.get("type") == "message"]
        item_id = str(messages[0].get("id") if messages else f"msg_{out.get('id', 'chaos')}")
        calls = [i for i in items if i.get("type") == "function_call"]
        return cls(out, items, item_id, calls)

    def _only(self, part: dict[str, Any]) -> None:
        """The output: the items that are neither message nor call, then one message."""
        others = [i for i in self.items if i.get("type") not in ("message", "function_call")]
        self.body["output"] = [*others, _message(self.item_id, part)]

    def empty(self) -> None:
        self._only(_text(""))

    def refuse(self, text: str | None) -> None:
        self._only({"type": "refusal", "refusal": text or DEFAULT_REFUSAL})

    def truncate(self, keep: float) -> bool:
        return _truncate(self.body, self.items, keep)

    def change(
        self, fault: FaultConfig, call: dict[str, Any], request: Any, rng: random.Random
    ) -> bool:
        return change_call(fault, call, "openai.responses", request, rng)


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

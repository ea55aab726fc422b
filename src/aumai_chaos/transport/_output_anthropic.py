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
from dataclasses import dataclass
from typing import Any

from aumai_chaos.faults import FaultConfig
from aumai_chaos.transport._output_openai import split_text
from aumai_chaos.transport._tools import change_call, cut_arguments

__all__ = ["RAW_INPUT", "MessageReply", "assemble_message", "message_events"]

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


@dataclass(slots=True)
class MessageReply:
    """A ``message`` being rewritten: a copy of the body, its content blocks and its
    ``tool_use`` blocks; ``streamed`` says how a tool input is cut (see the module)."""

    body: dict[str, Any]
    blocks: list[dict[str, Any]]
    calls: list[dict[str, Any]]
    streamed: bool

    @classmethod
    def open(cls, body: dict[str, Any], streamed: bool) -> MessageReply | None:
        """A copy of ``body`` to rewrite, or ``None`` when it has no content list."""
        if not isinstance(body.get("content"), list):
            return None
        out: dict[str, Any] = json.loads(json.dumps(body))
        blocks: list[dict[str, Any]] = [b for b in out["content"] if isinstance(b, dict)]
        uses = [b for b in blocks if b.get("type") == "tool_use"]
        return cls(out, blocks, uses, streamed)

    def _end(self, content: list[dict[str, Any]], stop_reason: str) -> None:
        self.body.update(content=content, stop_reason=stop_reason, stop_sequence=None)

    def empty(self) -> None:
        self._end([], "end_turn")

    def refuse(self, text: str | None) -> None:
        self._end([{"type": "text", "text": text, "citations": None}] if text else [], "refusal")

    def truncate(self, keep: float) -> bool:
        last = _truncate(self.blocks, keep, streamed=self.streamed)
        if last is None:
            return False
        self._end(self.blocks[: last + 1], "max_tokens")
        return True

    def change(
        self, fault: FaultConfig, call: dict[str, Any], request: Any, rng: random.Random
    ) -> bool:
        return change_call(
            fault, call, "anthropic.messages", request, rng, key="input", malformed=self._cut
        )

    def _cut(self, use: dict[str, Any]) -> bool:
        return _cut_input(use, streamed=self.streamed)


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

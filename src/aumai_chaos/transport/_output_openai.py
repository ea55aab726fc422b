"""Output faults on OpenAI chat completions: the ``chat.completion`` object, and its stream of
``chat.completion.chunk`` events assembled into one and written out again.

Field by field what ``openai`` parses (``ChatCompletion``, ``ChatCompletionMessage`` with
``content``, ``refusal`` and ``tool_calls``; ``ChatCompletionChunk`` with ``ChoiceDelta``). Only
the first choice is rewritten; a tool-call fault acts on the calls its ``tool_calls`` picks.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from typing import Any

from aumai_chaos.faults import FaultConfig
from aumai_chaos.transport._tools import change_call, cut_arguments

__all__ = ["DEFAULT_REFUSAL", "ChatReply", "assemble_chat", "chat_chunks", "split_text"]

DEFAULT_REFUSAL = "I'm sorry, but I can't help with that request."


def split_text(text: str, pieces: int = 8) -> list[str]:
    """``text`` in about ``pieces`` parts that join back to it (a stream's deltas)."""
    if not text:
        return []
    size = max(1, -(-len(text) // pieces))
    return [text[i : i + size] for i in range(0, len(text), size)]


def _keep(text: str, fraction: float) -> str:
    return text[: int(len(text) * fraction)]


@dataclass(slots=True)
class ChatReply:
    """A ``chat.completion`` being rewritten: a copy of the body, its first choice's message
    and that message's tool calls."""

    body: dict[str, Any]
    choice: dict[str, Any]
    message: dict[str, Any]
    calls: list[dict[str, Any]]

    @classmethod
    def open(cls, body: dict[str, Any], streamed: bool) -> ChatReply | None:
        """A copy of ``body`` to rewrite, or ``None`` when it has no first choice's message."""
        choices = body.get("choices")
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            return None
        out: dict[str, Any] = json.loads(json.dumps(body))
        choice = out["choices"][0]
        message = choice.get("message")
        if not isinstance(message, dict):
            return None
        calls = [c for c in message.get("tool_calls") or [] if isinstance(c, dict)]
        return cls(out, choice, message, calls)

    def empty(self) -> None:
        self.message.update(content="", refusal=None)
        self.message.pop("tool_calls", None)
        self.choice["finish_reason"] = "stop"

    def refuse(self, text: str | None) -> None:
        self.message.update(content=None, refusal=text or DEFAULT_REFUSAL)
        self.message.pop("tool_calls", None)
        self.choice["finish_reason"] = "stop"

    def truncate(self, keep: float) -> bool:
        """Cut the text (or, with none, the first call's arguments): ``finish_reason: length``."""
        message = self.message
        text = message.get("content")
        if isinstance(text, str) and text:
            message["content"] = _keep(text, keep)
            message.pop("tool_calls", None)  # cut off before the model got to them
        elif self.calls:
            function = self.calls[0].get("function") or {}
            cut = cut_arguments(str(function.get("arguments", "")), keep)
            if cut is None:
                return False
            function["arguments"] = cut
            message["tool_calls"] = self.calls[:1]
        else:
            return False
        self.choice["finish_reason"] = "length"
        return True

    def change(
        self, fault: FaultConfig, call: dict[str, Any], request: Any, rng: random.Random
    ) -> bool:
        function = call.get("function")
        if not isinstance(function, dict):
            return False
        return change_call(fault, function, "openai.chat.completions", request, rng)


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

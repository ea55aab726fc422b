"""OpenAI's Responses API wire format: the ``response`` object and its stream of events.

The event sequence is the one the real API sends and that ``openai``'s
``ResponseStreamState`` assembles: ``response.created``, ``response.in_progress``,
``response.output_item.added``, (``response.content_part.added``, ``response.output_text.delta``
..., ``response.output_text.done``, ``response.content_part.done``) or
(``response.function_call_arguments.delta`` ..., ``response.function_call_arguments.done``),
``response.output_item.done``, then ``response.completed`` (or ``response.incomplete``).
"""

from __future__ import annotations

import json
from typing import Any

from aumai_chaos.testing._script import (
    Generation,
    ModelRequest,
    TextReply,
    ToolCallReply,
    calls_of,
)
from aumai_chaos.testing._sse import Ids, count_tokens, split_json, split_words, sse

__all__ = ["responses_body", "responses_events"]


def _item(
    reply: TextReply | ToolCallReply, ids: Ids, *, done: bool, index: int = 0
) -> dict[str, Any]:
    status = "completed" if done else "in_progress"
    if isinstance(reply, ToolCallReply):
        suffix = f"_{index + 1}" if index else ""
        return {
            "type": "function_call",
            "id": ids.make("fc_") + suffix,
            "call_id": reply.call_id or ids.make("call_") + suffix,
            "name": reply.name,
            "arguments": json.dumps(dict(reply.arguments)) if done else "",
            "status": status,
        }
    content = [_part(reply.text)] if done else []
    if done and reply.finish == "length":
        status = "incomplete"
    return {
        "type": "message",
        "id": ids.make("msg_"),
        "status": status,
        "role": "assistant",
        "content": content,
    }


def _part(text: str) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def _items(reply: Generation) -> tuple[TextReply | ToolCallReply, ...]:
    return (reply,) if isinstance(reply, TextReply) else calls_of(reply)


def _response(reply: Generation, req: ModelRequest, ids: Ids, *, done: bool) -> dict[str, Any]:
    incomplete = isinstance(reply, TextReply) and reply.finish == "length"
    status = ("incomplete" if incomplete else "completed") if done else "in_progress"
    prompt = count_tokens(req.body.get("input", ""))
    completion = len(split_words(reply.text)) if isinstance(reply, TextReply) else 1
    return {
        "id": ids.make("resp_"),
        "object": "response",
        "created_at": ids.created,
        "status": status,
        "model": req.model,
        "output": [_item(r, ids, done=True, index=n) for n, r in enumerate(_items(reply))]
        if done
        else [],
        "error": None,
        "incomplete_details": {"reason": "max_output_tokens"} if done and incomplete else None,
        "instructions": req.body.get("instructions"),
        "metadata": {},
        "parallel_tool_calls": True,
        "temperature": 1.0,
        "top_p": 1.0,
        "tool_choice": "auto",
        "tools": list(req.body.get("tools") or []),
        "text": {"format": {"type": "text"}},
        "usage": {
            "input_tokens": prompt,
            "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
            "output_tokens": completion,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": prompt + completion,
        }
        if done
        else None,
    }


def responses_body(reply: Generation, req: ModelRequest, ids: Ids) -> dict[str, Any]:
    """A non-streamed ``response`` object."""
    return _response(reply, req, ids, done=True)


def responses_events(reply: Generation, req: ModelRequest, ids: Ids) -> list[bytes]:
    """The SSE events of a streamed response, each with ``event:`` and ``sequence_number``."""
    payloads: list[dict[str, Any]] = [
        {"type": "response.created", "response": _response(reply, req, ids, done=False)},
        {"type": "response.in_progress", "response": _response(reply, req, ids, done=False)},
    ]
    final = _response(reply, req, ids, done=True)
    for index, part in enumerate(_items(reply)):
        payloads += _item_events(part, ids, index, final["output"][index])
    payloads.append({"type": f"response.{final['status']}", "response": final})
    return [
        sse({**payload, "sequence_number": number}, payload["type"])
        for number, payload in enumerate(payloads)
    ]


def _item_events(
    reply: TextReply | ToolCallReply, ids: Ids, index: int, done: dict[str, Any]
) -> list[dict[str, Any]]:
    """The events of one output item, from ``output_item.added`` to ``output_item.done``."""
    start = _item(reply, ids, done=False, index=index)
    payloads: list[dict[str, Any]] = [
        {"type": "response.output_item.added", "output_index": index, "item": start}
    ]
    where = {"item_id": start["id"], "output_index": index}
    if isinstance(reply, TextReply):
        text_at = {**where, "content_index": 0}
        payloads.append({"type": "response.content_part.added", **text_at, "part": _part("")})
        payloads += [
            {"type": "response.output_text.delta", **text_at, "delta": piece, "logprobs": []}
            for piece in split_words(reply.text)
        ]
        payloads += [
            {"type": "response.output_text.done", **text_at, "text": reply.text, "logprobs": []},
            {"type": "response.content_part.done", **text_at, "part": _part(reply.text)},
        ]
    else:
        arguments = json.dumps(dict(reply.arguments))
        payloads += [
            {"type": "response.function_call_arguments.delta", **where, "delta": fragment}
            for fragment in split_json(arguments)
        ]
        payloads.append(
            {
                "type": "response.function_call_arguments.done",
                **where,
                "name": reply.name,
                "arguments": arguments,
            }
        )
    payloads.append({"type": "response.output_item.done", "output_index": index, "item": done})
    return payloads

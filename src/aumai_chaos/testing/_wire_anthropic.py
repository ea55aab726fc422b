"""Anthropic's Messages wire format: the ``message`` object and its named stream events.

Streamed: ``message_start``, ``ping``, ``content_block_start``, ``content_block_delta``
(``text_delta`` per word, or ``input_json_delta`` fragments), ``content_block_stop``,
``message_delta`` (``stop_reason`` and usage), ``message_stop``.
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

__all__ = ["messages_body", "messages_events"]

_STOP = {"stop": "end_turn", "length": "max_tokens"}


def _block(
    reply: TextReply | ToolCallReply, ids: Ids, *, done: bool, index: int = 0
) -> dict[str, Any]:
    if isinstance(reply, ToolCallReply):
        tool_input = dict(reply.arguments) if done else {}
        tool_id = reply.call_id or ids.make("toolu_") + (f"_{index + 1}" if index else "")
        return {"type": "tool_use", "id": tool_id, "name": reply.name, "input": tool_input}
    return {"type": "text", "text": reply.text if done else "", "citations": None}


def _blocks(reply: Generation) -> tuple[TextReply | ToolCallReply, ...]:
    return (reply,) if isinstance(reply, TextReply) else calls_of(reply)


def _stop_reason(reply: Generation) -> str:
    return _STOP[reply.finish] if isinstance(reply, TextReply) else "tool_use"


def _output_tokens(reply: Generation) -> int:
    return len(split_words(reply.text)) if isinstance(reply, TextReply) else 1


def _message(reply: Generation, req: ModelRequest, ids: Ids, *, done: bool) -> dict[str, Any]:
    return {
        "id": ids.make("msg_"),
        "type": "message",
        "role": "assistant",
        "model": req.model,
        "content": [_block(b, ids, done=True, index=n) for n, b in enumerate(_blocks(reply))]
        if done
        else [],
        "stop_reason": _stop_reason(reply) if done else None,
        "stop_sequence": None,
        "usage": {
            "input_tokens": count_tokens(req.body.get("messages", "")),
            "output_tokens": _output_tokens(reply) if done else 1,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
        },
    }


def messages_body(reply: Generation, req: ModelRequest, ids: Ids) -> dict[str, Any]:
    """A non-streamed ``message`` object."""
    return _message(reply, req, ids, done=True)


def messages_events(reply: Generation, req: ModelRequest, ids: Ids) -> list[bytes]:
    """The named SSE events of a streamed message."""
    payloads: list[dict[str, Any]] = [
        {"type": "message_start", "message": _message(reply, req, ids, done=False)},
        {"type": "ping"},
    ]
    for index, block in enumerate(_blocks(reply)):
        payloads.append(
            {
                "type": "content_block_start",
                "index": index,
                "content_block": _block(block, ids, done=False, index=index),
            }
        )
        if isinstance(block, TextReply):
            deltas = [{"type": "text_delta", "text": piece} for piece in split_words(block.text)]
        else:
            arguments = json.dumps(dict(block.arguments))
            deltas = [
                {"type": "input_json_delta", "partial_json": f} for f in split_json(arguments)
            ]
        payloads += [{"type": "content_block_delta", "index": index, "delta": d} for d in deltas]
        payloads.append({"type": "content_block_stop", "index": index})
    payloads += [
        {
            "type": "message_delta",
            "delta": {"stop_reason": _stop_reason(reply), "stop_sequence": None},
            "usage": {"output_tokens": _output_tokens(reply)},
        },
        {"type": "message_stop"},
    ]
    return [sse(payload, payload["type"]) for payload in payloads]

"""Anthropic's Messages wire format: the ``message`` object and its named stream events.

Streamed: ``message_start``, ``ping``, ``content_block_start``, ``content_block_delta``
(``text_delta`` per word, or ``input_json_delta`` fragments), ``content_block_stop``,
``message_delta`` (``stop_reason`` and usage), ``message_stop``.
"""

from __future__ import annotations

import json
from typing import Any

from aumai_chaos.testing._script import ModelRequest, TextReply, ToolCallReply
from aumai_chaos.testing._sse import Ids, count_tokens, split_json, split_words, sse

__all__ = ["messages_body", "messages_events"]

_STOP = {"stop": "end_turn", "length": "max_tokens"}


def _block(reply: TextReply | ToolCallReply, ids: Ids, *, done: bool) -> dict[str, Any]:
    if isinstance(reply, ToolCallReply):
        tool_input = dict(reply.arguments) if done else {}
        tool_id = reply.call_id or ids.make("toolu_")
        return {"type": "tool_use", "id": tool_id, "name": reply.name, "input": tool_input}
    return {"type": "text", "text": reply.text if done else "", "citations": None}


def _stop_reason(reply: TextReply | ToolCallReply) -> str:
    return "tool_use" if isinstance(reply, ToolCallReply) else _STOP[reply.finish]


def _output_tokens(reply: TextReply | ToolCallReply) -> int:
    return len(split_words(reply.text)) if isinstance(reply, TextReply) else 1


def _message(
    reply: TextReply | ToolCallReply, req: ModelRequest, ids: Ids, *, done: bool
) -> dict[str, Any]:
    return {
        "id": ids.make("msg_"),
        "type": "message",
        "role": "assistant",
        "model": req.model,
        "content": [_block(reply, ids, done=True)] if done else [],
        "stop_reason": _stop_reason(reply) if done else None,
        "stop_sequence": None,
        "usage": {
            "input_tokens": count_tokens(req.body.get("messages", "")),
            "output_tokens": _output_tokens(reply) if done else 1,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
        },
    }


def messages_body(reply: TextReply | ToolCallReply, req: ModelRequest, ids: Ids) -> dict[str, Any]:
    """A non-streamed ``message`` object."""
    return _message(reply, req, ids, done=True)


def messages_events(reply: TextReply | ToolCallReply, req: ModelRequest, ids: Ids) -> list[bytes]:
    """The named SSE events of a streamed message."""
    payloads: list[dict[str, Any]] = [
        {"type": "message_start", "message": _message(reply, req, ids, done=False)},
        {"type": "ping"},
        {
            "type": "content_block_start",
            "index": 0,
            "content_block": _block(reply, ids, done=False),
        },
    ]
    if isinstance(reply, TextReply):
        deltas = [{"type": "text_delta", "text": piece} for piece in split_words(reply.text)]
    else:
        arguments = json.dumps(dict(reply.arguments))
        deltas = [{"type": "input_json_delta", "partial_json": f} for f in split_json(arguments)]
    payloads += [{"type": "content_block_delta", "index": 0, "delta": d} for d in deltas]
    payloads += [
        {"type": "content_block_stop", "index": 0},
        {
            "type": "message_delta",
            "delta": {"stop_reason": _stop_reason(reply), "stop_sequence": None},
            "usage": {"output_tokens": _output_tokens(reply)},
        },
        {"type": "message_stop"},
    ]
    return [sse(payload, payload["type"]) for payload in payloads]

"""OpenAI's wire format for chat completions, embeddings and the model list.

Field by field what ``openai`` 3.x parses into ``ChatCompletion``, ``ChatCompletionChunk``,
``CreateEmbeddingResponse`` and ``Model``; streams end with ``data: [DONE]``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import struct
from typing import Any

from aumai_chaos.testing._script import (
    Generation,
    ModelRequest,
    TextReply,
    ToolCallReply,
    calls_of,
)
from aumai_chaos.testing._sse import Ids, count_tokens, split_json, split_words, sse

__all__ = ["chat_body", "chat_events", "embeddings_body", "models_body"]

MODEL_IDS = ("scripted-model", "scripted-embedding")
#: What OpenAI's published schema wants in ``system_fingerprint``: a string.
FINGERPRINT = "fp_scripted"


def _finish(reply: Generation) -> str:
    if not isinstance(reply, TextReply):
        return "tool_calls"
    return reply.finish


def _usage(req: ModelRequest, reply: Generation) -> dict[str, int]:
    prompt = count_tokens(req.body.get("messages", ""))
    completion = len(split_words(reply.text)) if isinstance(reply, TextReply) else 1
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def call_id(reply: ToolCallReply, ids: Ids, index: int = 0) -> str:
    """The call's own id, or the server's numbered one (``_2``, ``_3``... after the first)."""
    return reply.call_id or ids.make("call_") + (f"_{index + 1}" if index else "")


def chat_body(reply: Generation, req: ModelRequest, ids: Ids) -> dict[str, Any]:
    """A non-streamed ``chat.completion`` object."""
    message: dict[str, Any] = {"role": "assistant", "content": None, "refusal": None}
    if isinstance(reply, TextReply):
        message["content"] = reply.text
    else:
        message["tool_calls"] = [
            {
                "id": call_id(call, ids, index),
                "type": "function",
                "function": {"name": call.name, "arguments": json.dumps(dict(call.arguments))},
            }
            for index, call in enumerate(calls_of(reply))
        ]
    return {
        "id": ids.make("chatcmpl-"),
        "object": "chat.completion",
        "created": ids.created,
        "model": req.model,
        "system_fingerprint": FINGERPRINT,
        "choices": [
            {"index": 0, "message": message, "logprobs": None, "finish_reason": _finish(reply)}
        ],
        "usage": _usage(req, reply),
    }


def chat_events(reply: Generation, req: ModelRequest, ids: Ids) -> list[bytes]:
    """The SSE events of a streamed completion, ``[DONE]`` included.

    A role chunk, one chunk per word (or per tool call a head and three argument fragments), a
    chunk with ``finish_reason``, a usage chunk when ``stream_options.include_usage``, ``[DONE]``.
    """
    options = req.body.get("stream_options")
    include_usage = isinstance(options, dict) and bool(options.get("include_usage"))
    head = {
        "id": ids.make("chatcmpl-"),
        "object": "chat.completion.chunk",
        "created": ids.created,
        "model": req.model,
        "system_fingerprint": FINGERPRINT,
    }

    def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        extra = {"usage": None} if include_usage else {}
        return sse({**head, "choices": [choice], **extra})

    events = [chunk({"role": "assistant", "content": "" if isinstance(reply, TextReply) else None})]
    if isinstance(reply, TextReply):
        events += [chunk({"content": piece}) for piece in split_words(reply.text)]
    for index, call in enumerate(calls_of(reply)):
        function = {"name": call.name, "arguments": ""}
        head_delta = {
            "index": index,
            "id": call_id(call, ids, index),
            "type": "function",
            "function": function,
        }
        events.append(chunk({"tool_calls": [head_delta]}))
        for fragment in split_json(json.dumps(dict(call.arguments))):
            delta = {"tool_calls": [{"index": index, "function": {"arguments": fragment}}]}
            events.append(chunk(delta))
    events.append(chunk({}, _finish(reply)))
    if include_usage:
        events.append(sse({**head, "choices": [], "usage": _usage(req, reply)}))
    events.append(sse("[DONE]"))
    return events


def _vector(text: str, dimensions: int) -> list[float]:
    """A deterministic unit-free vector in [-1, 1) from the text's SHA-256 stream."""
    out: list[float] = []
    counter = 0
    while len(out) < dimensions:
        digest = hashlib.sha256(f"{counter}:{text}".encode()).digest()
        out += [(b - 128) / 128 for b in digest]
        counter += 1
    return out[:dimensions]


def embeddings_body(body: dict[str, Any]) -> dict[str, Any]:
    """A ``list`` of embeddings, one per input, as floats or base64 float32 like the real API.

    The ``openai`` SDK asks for ``encoding_format: "base64"`` unless told otherwise.
    """
    raw = body.get("input", "")
    inputs = [raw] if isinstance(raw, str) or not isinstance(raw, list) else raw
    if inputs and all(isinstance(x, int) for x in inputs):
        inputs = [inputs]  # one tokenised input
    dimensions = body.get("dimensions")
    dims = dimensions if isinstance(dimensions, int) and 0 < dimensions <= 4096 else 16
    data: list[dict[str, Any]] = []
    for index, item in enumerate(inputs):
        vector = _vector(json.dumps(item) if not isinstance(item, str) else item, dims)
        embedding: Any = vector
        if body.get("encoding_format") == "base64":
            embedding = base64.b64encode(struct.pack(f"<{dims}f", *vector)).decode()
        data.append({"object": "embedding", "index": index, "embedding": embedding})
    tokens = sum(count_tokens(x) for x in inputs)
    return {
        "object": "list",
        "data": data,
        "model": str(body.get("model", "scripted-embedding")),
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }


def models_body() -> dict[str, Any]:
    """``GET /v1/models``: the two model names the server answers to (it answers to any)."""
    data = [
        {"id": m, "object": "model", "created": 0, "owned_by": "aumai-chaos"} for m in MODEL_IDS
    ]
    return {"object": "list", "data": data}

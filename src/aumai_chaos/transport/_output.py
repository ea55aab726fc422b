"""Model-output faults, provider-aware: which rewriter serves which route, bodies and event
streams in and out, and the provider's own 400 for a context that is too long.

Pure functions over bytes and JSON, testable without a network; ``_output_io.py`` applies them
to ``httpx``/``httpx2`` responses. A fault that cannot apply returns ``None``: the caller passes
the response through untouched and does not count the fault. A streamed response is assembled
into the object that the non-streamed API would have returned, rewritten with the same code,
and streamed out again in the provider's event format: so a streamed and a non-streamed answer
get exactly the same fault.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Mapping
from typing import Any

from aumai_chaos.faults import Action, FaultConfig, Site, fault_classes
from aumai_chaos.transport._output_anthropic import (
    assemble_message,
    message_events,
    rewrite_message,
)
from aumai_chaos.transport._output_openai import assemble_chat, chat_chunks, rewrite_chat
from aumai_chaos.transport._output_responses import (
    assemble_response,
    response_events,
    rewrite_response,
)
from aumai_chaos.transport._sse import SSEFramer

__all__ = [
    "OUTPUT_APIS",
    "OUTPUT_FAULTS",
    "encode_events",
    "overflow_error",
    "parse_events",
    "rewrite_body",
    "rewrite_body_bytes",
    "rewrite_events",
    "rewritten_events",
]

OUTPUT_APIS = frozenset({"openai.chat.completions", "openai.responses", "anthropic.messages"})
#: The faults that rewrite a successful response: each type whose class acts ``after`` the
#: call at the ``transport`` site (``context_overflow`` answers ``instead``).
OUTPUT_FAULTS = frozenset(
    kind
    for kind, cls in fault_classes().items()
    if cls.action is Action.after and Site.transport in cls.sites
)

Rewriter = Callable[[FaultConfig, dict[str, Any], Any, random.Random], "dict[str, Any] | None"]


def _rng(seed: int | None) -> random.Random:
    return random.Random(0 if seed is None else seed)


def rewrite_body(
    fault: FaultConfig,
    api: str | None,
    request: Mapping[str, Any] | None,
    body: Mapping[str, Any],
    *,
    seed: int | None = None,
    streamed: bool = False,
    acted: list[int] | None = None,
) -> dict[str, Any] | None:
    """The response object ``body`` of route ``api`` with ``fault`` applied, or ``None``.

    ``request`` is the request's JSON body (its ``tools`` say what was offered); ``seed``
    makes ``wrong_tool_arguments`` repeatable (the same seed, the same wrong values). The
    indexes of the tool calls a tool-call fault changed are added to ``acted``.
    """
    if fault.fault_type not in OUTPUT_FAULTS or not isinstance(body, Mapping):
        return None
    rng = _rng(seed)
    data = dict(body)
    if api == "openai.chat.completions":
        return rewrite_chat(fault, data, request, rng, acted)
    if api == "openai.responses":
        return rewrite_response(fault, data, request, rng, acted)
    if api == "anthropic.messages":
        return rewrite_message(fault, data, request, rng, streamed=streamed, acted=acted)
    return None


def rewrite_body_bytes(
    fault: FaultConfig,
    api: str | None,
    request: Mapping[str, Any] | None,
    content: bytes,
    *,
    seed: int | None = None,
) -> bytes | None:
    """:func:`rewrite_body` on a JSON body's bytes; ``None`` also when it is not JSON."""
    try:
        body = json.loads(content)
    except ValueError:
        return None
    if not isinstance(body, dict):
        return None
    out = rewrite_body(fault, api, request, body, seed=seed)
    return None if out is None else json.dumps(out, separators=(",", ":")).encode()


def parse_events(content: bytes) -> list[tuple[str | None, Any]]:
    """An event stream's ``(event name, data)`` pairs; data is parsed JSON, or the raw text
    when it is not JSON (``[DONE]``)."""
    out: list[tuple[str | None, Any]] = []
    start = 0
    for end in [*SSEFramer().ends(content), len(content)]:
        block = content[start:end]
        start = end
        name: str | None = None
        data: list[str] = []
        for line in block.decode("utf-8", "replace").splitlines():
            field, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if field == "event":
                name = value
            elif field == "data":
                data.append(value)
        if not data:
            continue
        text = "\n".join(data)
        try:
            out.append((name, json.loads(text)))
        except ValueError:
            out.append((name, text))
    return out


def encode_events(events: list[tuple[str | None, Any]]) -> bytes:
    """``(event name, data)`` pairs as event-stream bytes (data: JSON, or text as it is)."""
    out = []
    for name, data in events:
        payload = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
        head = f"event: {name}\n" if name else ""
        out.append(f"{head}data: {payload}\n\n".encode())
    return b"".join(out)


def rewritten_events(
    fault: FaultConfig,
    api: str | None,
    request: Mapping[str, Any] | None,
    content: bytes,
    *,
    seed: int | None = None,
    acted: list[int] | None = None,
) -> list[tuple[str | None, Any]] | None:
    """The events of a whole streamed response (its event-stream bytes) with ``fault``
    applied, as ``(event name, data)`` pairs; ``None`` when it cannot apply.

    The events are assembled into the response object, rewritten by :func:`rewrite_body`, and
    streamed out again in the provider's format: OpenAI chat ``data:`` chunks (with the usage
    chunk when the original had one) and ``data: [DONE]``; Responses and Anthropic named events.
    A stream that does not assemble into a whole response (cut short, not JSON) is left alone.
    """
    events = parse_events(content)
    objects = [data for _, data in events if isinstance(data, dict)]
    if api == "openai.chat.completions":
        body = assemble_chat(objects)
        if body is None or body["choices"][0].get("finish_reason") is None:
            return None
        out = rewrite_body(fault, api, request, body, seed=seed, acted=acted)
        if out is None:
            return None
        usage = any(not d.get("choices") and d.get("usage") for d in objects)
        chunks: list[tuple[str | None, Any]] = [
            (None, c) for c in chat_chunks(out, usage_chunk=usage)
        ]
        return [*chunks, (None, "[DONE]")]
    if api == "openai.responses":
        body = assemble_response(objects)
    elif api == "anthropic.messages":
        body = assemble_message(objects)
        if body is not None and body.get("stop_reason") is None:
            return None
    else:
        return None
    if body is None:
        return None
    out = rewrite_body(fault, api, request, body, seed=seed, streamed=True, acted=acted)
    if out is None:
        return None
    named = response_events(out) if api == "openai.responses" else message_events(out)
    return list(named)


def rewrite_events(
    fault: FaultConfig,
    api: str | None,
    request: Mapping[str, Any] | None,
    content: bytes,
    *,
    seed: int | None = None,
) -> bytes | None:
    """:func:`rewritten_events` as event-stream bytes, or ``None``."""
    events = rewritten_events(fault, api, request, content, seed=seed)
    return None if events is None else encode_events(events)


def _estimate_tokens(request: Mapping[str, Any] | None) -> int:
    """A deterministic stand-in for the prompt's token count: a quarter of its JSON length."""
    try:
        return len(json.dumps(request or {})) // 4
    except (TypeError, ValueError):
        return 0


def overflow_error(
    fault: FaultConfig, api: str | None, request: Mapping[str, Any] | None
) -> tuple[int, dict[str, str], bytes] | None:
    """``(status, headers, body)`` of the provider's 400 for a prompt over
    ``fault.context_window`` tokens, or ``None`` on a route that is no model API."""
    window = int(getattr(fault, "context_window", 128_000))
    tokens = window + max(1, _estimate_tokens(request))
    message = getattr(fault, "error_message", None)
    body: dict[str, Any]
    if api == "openai.chat.completions" or api == "openai.responses":
        chat = api == "openai.chat.completions"
        default = (
            f"This model's maximum context length is {window} tokens. However, your messages "
            f"resulted in {tokens} tokens. Please reduce the length of the messages."
            if chat
            else "Your input exceeds the context window of this model. "
            "Please adjust your input and try again."
        )
        body = {
            "error": {
                "message": message or default,
                "type": "invalid_request_error",
                "param": "messages" if chat else "input",
                "code": "context_length_exceeded",
            }
        }
    elif api == "anthropic.messages":
        default = f"prompt is too long: {tokens} tokens > {window} maximum"
        body = {
            "type": "error",
            "error": {"type": "invalid_request_error", "message": message or default},
        }
    else:
        return None
    content = json.dumps(body).encode()
    headers = {"content-type": "application/json", "content-length": str(len(content))}
    return 400, headers, content

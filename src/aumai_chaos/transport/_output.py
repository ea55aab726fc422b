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
from dataclasses import dataclass
from typing import Any, Protocol

from aumai_chaos.faults import Action, FaultConfig, FaultType, Site, fault_classes
from aumai_chaos.transport._output_anthropic import (
    MessageReply,
    assemble_message,
    message_events,
)
from aumai_chaos.transport._output_openai import ChatReply, assemble_chat, chat_chunks
from aumai_chaos.transport._output_responses import (
    ResponseReply,
    assemble_response,
    response_events,
)
from aumai_chaos.transport._sse import SSEFramer, json_object
from aumai_chaos.transport._tools import change_calls, on_tool_calls

__all__ = [
    "OUTPUT_APIS",
    "OUTPUT_FAULTS",
    "encode_events",
    "overflow_error",
    "parse_events",
    "rewrite_body",
    "rewrite_content",
]

#: The faults that rewrite a successful response: each type whose class acts ``after`` the
#: call at the ``transport`` site (``context_overflow`` answers ``instead``).
OUTPUT_FAULTS = frozenset(
    kind
    for kind, cls in fault_classes().items()
    if cls.action is Action.after and Site.transport in cls.sites
)

Events = list[tuple[str | None, Any]]


class Reply(Protocol):
    """One provider's response object being rewritten (``ChatReply``, ``ResponseReply``,
    ``MessageReply``): what each output fault does to it, in that provider's fields."""

    body: dict[str, Any]
    calls: list[dict[str, Any]]

    def empty(self) -> None: ...
    def refuse(self, text: str | None) -> None: ...
    def truncate(self, keep: float) -> bool: ...
    def change(
        self, fault: FaultConfig, call: dict[str, Any], request: Any, rng: random.Random
    ) -> bool: ...


def _chat_events(body: dict[str, Any], objects: list[dict[str, Any]]) -> Events:
    """Chat ``data:`` chunks (with the usage chunk when the original had one), ``[DONE]``."""
    usage = any(not d.get("choices") and d.get("usage") for d in objects)
    return [*((None, c) for c in chat_chunks(body, usage_chunk=usage)), (None, "[DONE]")]


@dataclass(frozen=True, slots=True)
class _Provider:
    """What differs between the model APIs: how a body opens for rewriting, how a stream's
    events assemble into a body (and when that body is whole) and stream out again."""

    open: Callable[[dict[str, Any], bool], Reply | None]
    assemble: Callable[[list[dict[str, Any]]], dict[str, Any] | None]
    whole: Callable[[dict[str, Any]], bool]
    events: Callable[[dict[str, Any], list[dict[str, Any]]], Events]


_PROVIDERS = {
    "openai.chat.completions": _Provider(
        ChatReply.open,
        assemble_chat,
        lambda body: body["choices"][0].get("finish_reason") is not None,
        _chat_events,
    ),
    "openai.responses": _Provider(
        ResponseReply.open,
        assemble_response,
        lambda body: True,
        lambda body, objects: list(response_events(body)),
    ),
    "anthropic.messages": _Provider(
        MessageReply.open,
        assemble_message,
        lambda body: body.get("stop_reason") is not None,
        lambda body, objects: list(message_events(body)),
    ),
}
OUTPUT_APIS = frozenset(_PROVIDERS)


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
    provider = _PROVIDERS.get(api or "")
    if provider is None or fault.fault_type not in OUTPUT_FAULTS or not isinstance(body, Mapping):
        return None
    reply = provider.open(dict(body), streamed)
    if reply is None:
        return None
    kind = fault.fault_type
    if kind is FaultType.empty_output:
        reply.empty()
    elif kind is FaultType.refusal:
        reply.refuse(getattr(fault, "error_message", None))
    elif kind is FaultType.truncated_output:
        if not reply.truncate(getattr(fault, "keep_fraction", 0.5)):
            return None
    elif on_tool_calls(fault):
        rng = random.Random(0 if seed is None else seed)

        def change(call: dict[str, Any]) -> bool:
            return reply.change(fault, call, request, rng)

        if not change_calls(fault, reply.calls, change, rng, acted):
            return None
    else:
        return None
    return reply.body


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


def rewrite_content(
    fault: FaultConfig,
    api: str | None,
    request: Mapping[str, Any] | None,
    content: bytes,
    *,
    seed: int | None = None,
    stream: bool = False,
    acted: list[int] | None = None,
) -> bytes | None:
    """The bytes of a whole response with ``fault`` applied (by :func:`rewrite_body`), or
    ``None`` when it cannot apply or the body is no JSON object.

    With ``stream``, ``content`` is an event stream: its events are assembled into the
    response object, rewritten, and streamed out again in the provider's format: OpenAI chat
    ``data:`` chunks (with the usage chunk when the original had one) and ``data: [DONE]``;
    Responses and Anthropic named events. A stream that does not assemble into a whole
    response (cut short, not JSON) is left alone.
    """
    if not stream:
        body = json_object(content)
        out = None if body is None else rewrite_body(fault, api, request, body, seed=seed)
        return None if out is None else json.dumps(out, separators=(",", ":")).encode()
    provider = _PROVIDERS.get(api or "")
    if provider is None:
        return None
    objects = [data for _, data in parse_events(content) if isinstance(data, dict)]
    body = provider.assemble(objects)
    if body is None or not provider.whole(body):
        return None
    out = rewrite_body(fault, api, request, body, seed=seed, streamed=True, acted=acted)
    return None if out is None else encode_events(provider.events(out, objects))


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

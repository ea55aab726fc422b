"""What the scripted model answers: reply types, stream misbehaviour and the default responder.

Everything here is pure data and pure functions; the server (``_server.py``) reads a request,
asks :func:`default_responder` or the script queue for a :data:`Reply`, and the wire modules
render that reply in one provider's format.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

__all__ = [
    "API",
    "CutStream",
    "ErrorEvent",
    "HTTPReply",
    "ModelRequest",
    "Reply",
    "Responder",
    "StallStream",
    "TextReply",
    "ToolCallReply",
    "ToolCallsReply",
    "calls_of",
    "default_responder",
    "model_request",
]

API: TypeAlias = Literal["chat.completions", "responses", "messages"]
"""The generation endpoint a request came to: OpenAI chat, OpenAI Responses, Anthropic."""

#: The longest stall the server agrees to: every wait on a test machine stays bounded.
MAX_STALL_S = 60.0


@dataclass(frozen=True, slots=True)
class CutStream:
    """Close the connection after ``after_events`` events, without ending the body.

    With ``reset=True`` (the default) the socket is closed with ``SO_LINGER`` 0, so the client
    sees a TCP reset, as from a crashed peer or a load balancer dropping the flow. With
    ``reset=False`` it is a plain close (FIN) in the middle of the chunked body. A response that
    is not streamed is cut halfway through its JSON body (its ``content-length`` promises more).
    """

    after_events: int = 2
    reset: bool = True

    def __post_init__(self) -> None:
        if self.after_events < 0:
            raise ValueError(f"after_events must be >= 0, got {self.after_events}")


@dataclass(frozen=True, slots=True)
class StallStream:
    """Send ``after_events`` events, then nothing for ``seconds``, then the rest of the stream.

    A response that is not streamed sends its status line and headers, stalls, then sends the
    body. :meth:`ProviderServer.release` ends a stall early (a test paces the stream: it knows
    what the client received while the server held the rest back; ``ProviderServer.stalling``
    says how many replies are stalled). When the server stops during a stall, the connection
    is closed instead (the body never comes). ``seconds`` is at most 60.
    """

    after_events: int = 1
    seconds: float = 5.0

    def __post_init__(self) -> None:
        if self.after_events < 0:
            raise ValueError(f"after_events must be >= 0, got {self.after_events}")
        if not 0 <= self.seconds <= MAX_STALL_S:
            raise ValueError(f"seconds must be in [0, {MAX_STALL_S}], got {self.seconds}")


@dataclass(frozen=True, slots=True)
class ErrorEvent:
    """Send ``after_events`` events, then the provider's error event, then end the stream: the
    status stays 200, as when a provider fails mid-answer.

    Anthropic: ``event: error`` with ``{"type": "error", "error": {"type": error_type,
    "message": message}}`` (default ``overloaded_error``, ``"Overloaded"``). OpenAI chat: an
    unnamed ``data: {"error": {"message", "type", "param", "code"}}`` event (default type
    ``server_error``). OpenAI Responses: ``event: error`` with ``{"type": "error", "code",
    "message", "param", "sequence_number"}``. A response that is not streamed is not affected.
    """

    after_events: int = 2
    error_type: str | None = None
    message: str | None = None

    def __post_init__(self) -> None:
        if self.after_events < 0:
            raise ValueError(f"after_events must be >= 0, got {self.after_events}")


Disruption: TypeAlias = CutStream | StallStream | ErrorEvent


@dataclass(frozen=True, slots=True)
class TextReply:
    """The model answers ``text``. Streamed, the text arrives word by word.

    ``finish`` is the provider-neutral end reason: ``"stop"`` (OpenAI ``stop``, Responses
    ``completed``, Anthropic ``end_turn``) or ``"length"`` (``length``, ``incomplete``,
    ``max_tokens``).
    """

    text: str
    finish: Literal["stop", "length"] = "stop"
    disrupt: Disruption | None = None


@dataclass(frozen=True, slots=True)
class ToolCallReply:
    """The model calls tool ``name`` with ``arguments`` (serialised to JSON on the wire).

    Streamed, the JSON arguments arrive in several fragments. ``call_id`` defaults to an id
    numbered by the server's request counter, so runs are reproducible.
    """

    name: str
    arguments: Mapping[str, Any] = field(default_factory=dict)
    call_id: str | None = None
    disrupt: Disruption | None = None


@dataclass(frozen=True, slots=True)
class HTTPReply:
    """Answer with exactly this status, headers and body (a mapping is sent as JSON).

    For comparison tests: a real ``429`` with ``retry-after``, a ``529`` overload, an HTML
    ``502`` from a proxy.
    """

    status: int
    body: bytes | str | Mapping[str, Any] = b""
    headers: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not 100 <= self.status <= 599:
            raise ValueError(f"status must be in 100..599, got {self.status}")

    def encoded(self) -> tuple[bytes, dict[str, str]]:
        """The body as bytes and the headers, with a content type when none is given."""
        headers = {k.lower(): v for k, v in self.headers.items()}
        if isinstance(self.body, bytes):
            return self.body, headers
        if isinstance(self.body, str):
            headers.setdefault("content-type", "text/plain; charset=utf-8")
            return self.body.encode(), headers
        headers.setdefault("content-type", "application/json")
        return json.dumps(self.body).encode(), headers


@dataclass(frozen=True, slots=True)
class ToolCallsReply:
    """The model calls several tools in one turn (parallel tool calls), in the order given:
    several ``tool_calls`` (OpenAI chat), ``function_call`` items (Responses) or ``tool_use``
    blocks (Anthropic). A call without ``call_id`` gets the server's numbered id, with
    ``_2``, ``_3``... after the first."""

    calls: Sequence[ToolCallReply]
    disrupt: Disruption | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "calls", tuple(self.calls))
        if not self.calls or not all(isinstance(c, ToolCallReply) for c in self.calls):
            raise ValueError("calls must be one or more ToolCallReply")


Generation: TypeAlias = TextReply | ToolCallReply | ToolCallsReply
"""A reply that a generation endpoint renders in its wire format."""

Reply: TypeAlias = TextReply | ToolCallReply | ToolCallsReply | HTTPReply


def calls_of(reply: Generation) -> tuple[ToolCallReply, ...]:
    """The tool calls of a reply, in order (none for a text answer)."""
    if isinstance(reply, ToolCallsReply):
        return tuple(reply.calls)
    if isinstance(reply, ToolCallReply):
        return (reply,)
    return ()


@dataclass(frozen=True, slots=True)
class ModelRequest:
    """A provider-neutral view of one generation request, for responders.

    ``last_kind`` is ``"user"`` when the conversation ends with a user message, ``"tool"`` when
    it ends with a tool result (``tool_result`` holds its text), else ``"other"``.
    """

    api: API
    model: str
    stream: bool
    tools: tuple[str, ...]
    tool_schemas: Mapping[str, Mapping[str, Any]]
    last_kind: Literal["user", "tool", "other"]
    last_text: str
    tool_result: str | None
    body: Mapping[str, Any]


Responder: TypeAlias = Callable[[ModelRequest], Reply]
"""Decides the reply to a request when the script queue is empty."""


def _text_of(content: Any) -> str:
    """The text of a message ``content``: a string, or a list of typed parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, Sequence):
        parts: list[str] = []
        for part in content:
            if isinstance(part, Mapping):
                inner = part.get("text", part.get("content", part.get("output", "")))
                parts.append(_text_of(inner))
        return "".join(parts)
    return "" if content is None else str(content)


def _chat_last(messages: Sequence[Any]) -> tuple[Literal["user", "tool", "other"], str]:
    if not messages or not isinstance(messages[-1], Mapping):
        return "other", ""
    last = messages[-1]
    role = last.get("role")
    if role == "tool":
        return "tool", _text_of(last.get("content"))
    return ("user" if role == "user" else "other"), _text_of(last.get("content"))


def _responses_last(items: Any) -> tuple[Literal["user", "tool", "other"], str]:
    if isinstance(items, str):
        return "user", items
    if not isinstance(items, Sequence) or not items or not isinstance(items[-1], Mapping):
        return "other", ""
    last = items[-1]
    if last.get("type") == "function_call_output":
        return "tool", _text_of(last.get("output"))
    role = last.get("role")
    return ("user" if role == "user" else "other"), _text_of(last.get("content"))


def _messages_last(messages: Sequence[Any]) -> tuple[Literal["user", "tool", "other"], str]:
    if not messages or not isinstance(messages[-1], Mapping):
        return "other", ""
    last = messages[-1]
    content = last.get("content")
    if last.get("role") != "user":
        return "other", _text_of(content)
    if isinstance(content, Sequence) and not isinstance(content, str):
        results = [p for p in content if isinstance(p, Mapping) and p.get("type") == "tool_result"]
        if results:
            return "tool", _text_of(results[-1].get("content"))
    return "user", _text_of(content)


def _tool_schemas(api: API, tools: Any) -> dict[str, Mapping[str, Any]]:
    schemas: dict[str, Mapping[str, Any]] = {}
    for tool in tools if isinstance(tools, Sequence) else ():
        if not isinstance(tool, Mapping):
            continue
        spec = tool.get("function") if api == "chat.completions" else tool
        if not isinstance(spec, Mapping) or not isinstance(spec.get("name"), str):
            continue
        schema = spec.get("input_schema" if api == "messages" else "parameters") or {}
        schemas[spec["name"]] = schema if isinstance(schema, Mapping) else {}
    return schemas


def model_request(api: API, body: Mapping[str, Any]) -> ModelRequest:
    """Read the neutral :class:`ModelRequest` from a request body of endpoint ``api``."""
    if api == "chat.completions":
        kind, text = _chat_last(body.get("messages") or [])
    elif api == "responses":
        kind, text = _responses_last(body.get("input"))
    else:
        kind, text = _messages_last(body.get("messages") or [])
    schemas = _tool_schemas(api, body.get("tools"))
    return ModelRequest(
        api=api,
        model=str(body.get("model", "scripted-model")),
        stream=bool(body.get("stream", False)),
        tools=tuple(schemas),
        tool_schemas=schemas,
        last_kind=kind,
        last_text=text,
        tool_result=text if kind == "tool" else None,
        body=body,
    )


def _argument_for(schema: Mapping[str, Any], user_text: str) -> Any:
    """A deterministic value that fits a JSON-schema property."""
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind in ("number", "integer"):
        numbers = re.findall(r"-?\d+", user_text)
        return int(numbers[0]) if numbers else 1
    if kind == "boolean":
        return True
    if kind == "array":
        return []
    if kind == "object":
        return {}
    return user_text


def default_responder(request: ModelRequest) -> Reply:
    """The fixed tool-calling conversation that the server plays when nothing is scripted.

    - The conversation ends with a user message and tools are offered: call a tool. The tool is
      the first offered one whose name appears in the user's text (case-insensitive), else the
      first offered one. Each property of its schema gets a value: the first enum value; for
      numbers, the first integer in the user's text (else 1); ``true``; ``[]``; ``{}``; and for
      strings (or no type) the user's text itself.
    - It ends with a tool result: answer ``"The tool returned: <result>"``.
    - Otherwise: answer ``"You said: <text>"`` (``"Hello from the scripted model."`` if empty).
    """
    if request.last_kind == "user" and request.tools:
        lowered = request.last_text.lower()
        name = next((t for t in request.tools if t.lower() in lowered), request.tools[0])
        properties = request.tool_schemas[name].get("properties") or {}
        arguments = {
            key: _argument_for(spec if isinstance(spec, Mapping) else {}, request.last_text)
            for key, spec in properties.items()
        }
        return ToolCallReply(name=name, arguments=arguments)
    if request.last_kind == "tool":
        return TextReply(f"The tool returned: {request.tool_result}")
    if request.last_text:
        return TextReply(f"You said: {request.last_text}")
    return TextReply("Hello from the scripted model.")

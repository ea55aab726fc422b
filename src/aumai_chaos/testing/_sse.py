"""Pieces shared by the wire modules: SSE framing, deterministic ids, chunking and token counts."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

__all__ = ["Ids", "count_tokens", "error_sse", "sse", "split_json", "split_words"]


def sse(data: Any, event: str | None = None) -> bytes:
    """One server-sent event: an optional ``event:`` line and a ``data:`` line with JSON."""
    payload = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {payload}\n\n".encode()


def split_words(text: str) -> list[str]:
    """``"one two"`` -> ``["one", " two"]``: the pieces join back to the text exactly."""
    pieces = re.findall(r"\s*\S+", text)
    rest = text[len("".join(pieces)) :]
    if rest:
        pieces.append(rest)
    return pieces


def split_json(text: str, parts: int = 3) -> list[str]:
    """Cut a JSON string into about ``parts`` fragments, as providers stream tool arguments."""
    if not text:
        return [text]
    size = max(1, math.ceil(len(text) / parts))
    return [text[i : i + size] for i in range(0, len(text), size)]


def count_tokens(value: Any) -> int:
    """A deterministic stand-in for a tokenizer: whitespace-separated words of the JSON text."""
    text = value if isinstance(value, str) else json.dumps(value)
    return max(1, len(text.split()))


@dataclass(frozen=True, slots=True)
class Ids:
    """Ids numbered by the server's request counter, so that every run repeats them."""

    seq: int
    created: int

    def make(self, prefix: str) -> str:
        return f"{prefix}{self.seq:06d}"


_SERVER_ERROR = "The server had an error while processing your request. Sorry about that!"


def error_sse(api: str, error_type: str | None, message: str | None, number: int) -> bytes:
    """The error event that provider ``api`` sends in the middle of a stream (``number``: the
    event's position, the Responses API's ``sequence_number``)."""
    if api == "messages":
        error = {"type": error_type or "overloaded_error", "message": message or "Overloaded"}
        return sse({"type": "error", "error": error}, "error")
    if api == "responses":
        payload: dict[str, Any] = {
            "type": "error",
            "code": error_type or "server_error",
            "message": message or _SERVER_ERROR,
            "param": None,
            "sequence_number": number,
        }
        return sse(payload, "error")
    body: dict[str, Any] = {
        "message": message or _SERVER_ERROR,
        "type": error_type or "server_error",
        "param": None,
        "code": None,
    }
    return sse({"error": body})

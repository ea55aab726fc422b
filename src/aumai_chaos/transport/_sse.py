"""Server-sent events as bytes: where each event ends, which one is a provider's last, and how
to corrupt one. Pure, no I/O: the stream wrappers (``_streams.py``) call it on every chunk.

An event is a block of non-empty lines ended by a blank line (the SSE spec's dispatch point),
whatever the line endings (``\\n``, ``\\r\\n`` or ``\\r``) and however the bytes are cut into
chunks: an event may span several chunks and a chunk may hold several events. A block of only
comment lines (``: keep-alive``) counts as an event too, as on the wire; repeated blank lines
do not.
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any

__all__ = ["SSEFramer", "corrupt_event", "error_event", "is_terminal_event", "json_object"]

_TERM = re.compile(rb"\r\n|\r|\n")
_LF, _CR = 10, 13


class SSEFramer:
    """Counts events across arbitrary chunking; :meth:`ends` also says where each one ends.

    ``events`` is the number of complete events seen so far. The state between chunks is the
    position in the current line (at a line start or not), whether the last chunk ended with a
    ``\\r`` (whose ``\\n`` may open the next chunk), whether the current block has content,
    and whether that ``\\r`` ended a blank line: then the event ends only with the next
    chunk (after its ``\\n``, if it opens with one), as a client's line decoder sees it.
    """

    __slots__ = ("_content", "_cr", "_line_start", "_pending", "events")

    def __init__(self) -> None:
        self.events = 0
        self._line_start = True
        self._cr = False
        self._content = False
        self._pending = False

    def advance(self, chunk: bytes, room: int) -> int:
        """The fast path for plain ``\\n`` streams: count the events this chunk completes and
        take it, if they are fewer than ``room``; else ``-1``, the state untouched (then
        :meth:`ends` must look at the chunk). Also ``-1`` when the chunk needs :meth:`ends`
        (a ``\\r``, a run of blank lines)."""
        # (An int needle is a plain memchr; a bytes needle costs several times more.)
        if room <= 0 or not chunk or self._cr or _CR in chunk:
            return -1
        if self._line_start and chunk[0] == _LF:
            return -1
        # With no "\r", no run of three "\n" and no blank line continued from the last chunk,
        # every "\n\n" ends a non-empty line and then a block: one event each. The usual chunk
        # is one whole event, its first "\n\n" at its end: one scan decides it.
        end = len(chunk) - 2
        first = chunk.find(b"\n\n")
        if first < 0:
            found = 0
        elif first == end and (first == 0 or chunk[first - 1] != _LF):
            found = 1
        elif b"\n\n\n" in chunk:
            return -1
        else:
            found = chunk.count(b"\n\n")
        if found >= room:
            return -1
        last = chunk[-1] == _LF
        if found:
            # Bytes after the last blank line are content (a run of three "\n" is excluded).
            self._content = not (last and len(chunk) > 1 and chunk[-2] == _LF)
        elif not self._content:
            self._content = len(chunk) > chunk.count(_LF)
        self._line_start = last
        self.events += found
        return found

    def count(self, chunk: bytes) -> int:
        """How many events this chunk completes."""
        found = self.advance(chunk, sys.maxsize)
        return len(self.ends(chunk)) if found < 0 else found

    def ends(self, chunk: bytes) -> list[int]:
        """The offset just past each event that ends in this chunk, in order."""
        if not chunk:
            return []
        out: list[int] = []
        pos = 0
        if self._cr and chunk[0] == _LF:
            pos = 1  # the "\n" of a "\r\n" cut between two chunks
        if self._pending:
            out.append(pos)
            self._pending = False
        line_start = self._line_start
        content = self._content
        end = len(chunk)
        for match in _TERM.finditer(chunk, pos):
            start = match.start()
            if start == pos and line_start:
                if content:
                    if match.end() == end and chunk[-1] == _CR:
                        self._pending = True  # its "\n" may open the next chunk
                    else:
                        out.append(match.end())
                    content = False
            else:
                content = True
            line_start = True
            pos = match.end()
        if pos < end:
            line_start = False
            content = True
        self._cr = chunk[-1] == _CR
        self._line_start = line_start
        self._content = content
        self.events += len(out)
        return out

    def flush(self) -> int:
        """At the end of the stream: 1 if an event ended with its last ``\\r``, else 0."""
        if self._pending:
            self._pending = False
            self.events += 1
            return 1
        return 0


def _field(event: bytes, name: bytes) -> bytes | None:
    for line in event.splitlines():
        if line.startswith(name + b":"):
            value = line[len(name) + 1 :]
            return value[1:] if value.startswith(b" ") else value
    return None


#: Events after which the provider's response is complete, by route. OpenAI chat marks the end
#: with the chunk that carries ``finish_reason`` (then maybe a usage chunk, then ``[DONE]``);
#: Responses with ``response.completed`` / ``.incomplete`` / ``.failed``; Anthropic with
#: ``message_delta`` (``stop_reason``) and then ``message_stop``.
_TERMINAL_NAMES = {
    "openai.responses": (b"response.completed", b"response.incomplete", b"response.failed"),
    "anthropic.messages": (b"message_delta", b"message_stop"),
}


def json_object(text: bytes | str) -> dict[str, Any] | None:
    """``text`` parsed when it is a JSON object (an event's data, a response body), or ``None``."""
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def is_terminal_event(event: bytes, api: str | None) -> bool:
    """Whether ``event`` (one complete event's bytes) is, or follows, the provider's final
    event on route ``api``: the events that ``truncated_stream`` never delivers."""
    if api == "openai.chat.completions":
        data = _field(event, b"data")
        if data is None:
            return False
        if data.strip() == b"[DONE]":
            return True
        if b'"finish_reason"' not in data and b'"usage"' not in data:
            return False
        chunk = json_object(data)
        if chunk is None:
            return False
        choices = chunk.get("choices")
        if isinstance(choices, list) and not choices and chunk.get("usage"):
            return True  # the usage chunk, after the last choice
        return isinstance(choices, list) and any(
            isinstance(c, dict) and c.get("finish_reason") is not None for c in choices
        )
    names = _TERMINAL_NAMES.get(api or "")
    if names is None:
        return False
    name = _field(event, b"event")
    if name is None:  # no "event:" line: the type is in the data
        data = _field(event, b"data") or b""
        return any(b'"type":"' + n + b'"' in data.replace(b" ", b"") for n in names)
    return name.strip() in names


def corrupt_event(event: bytes) -> bytes | None:
    """The event with its JSON ``data`` cut in half, so that it no longer parses; ``None`` when
    its data is not JSON (``[DONE]``, a comment): then there is nothing to corrupt."""
    lines = event.splitlines(keepends=True)
    for index, line in enumerate(lines):
        if not line.startswith(b"data:"):
            continue
        body = line.rstrip(b"\r\n")
        ending = line[len(body) :]
        prefix = b"data: " if body.startswith(b"data: ") else b"data:"
        payload = body[len(prefix) :].strip()
        try:
            parsed = json.loads(payload)
        except ValueError:
            return None
        if not isinstance(parsed, dict | list):
            return None
        cut = payload[: max(1, len(payload) // 2)]
        lines[index] = prefix + cut + ending
        return b"".join(lines)
    return None


#: The error that each provider's stream carries by default, as ``(type, message)``.
_ERROR_DEFAULTS = {
    "anthropic.messages": ("overloaded_error", "Overloaded"),
    "openai.chat.completions": (
        "server_error",
        "The server had an error while processing your request. Sorry about that!",
    ),
    "openai.responses": (
        "server_error",
        "The server had an error while processing your request. Sorry about that!",
    ),
}


def error_event(
    api: str | None, error_type: str | None, message: str | None, sequence: int
) -> bytes | None:
    """The provider's error event in the middle of a 200 stream; ``None`` on a route that is no
    model API.

    - Anthropic: ``event: error`` with ``{"type": "error", "error": {"type", "message"}}``;
    - OpenAI chat completions: an unnamed ``data: {"error": {"message", "type", "param",
      "code"}}`` event;
    - OpenAI Responses: ``event: error`` with ``{"type": "error", "code", "message", "param",
      "sequence_number"}`` (``sequence`` is its number).
    """
    defaults = _ERROR_DEFAULTS.get(api or "")
    if defaults is None:
        return None
    kind = error_type or defaults[0]
    text = message or defaults[1]
    if api == "anthropic.messages":
        name: str | None = "error"
        data: dict[str, object] = {"type": "error", "error": {"type": kind, "message": text}}
    elif api == "openai.responses":
        name = "error"
        data = {
            "type": "error",
            "code": kind,
            "message": text,
            "param": None,
            "sequence_number": sequence,
        }
    else:
        name = None
        data = {"error": {"message": text, "type": kind, "param": None, "code": None}}
    head = f"event: {name}\n" if name else ""
    return f"{head}data: {json.dumps(data, separators=(',', ':'))}\n\n".encode()

"""An output fault on an event stream: forward the provider's events as they arrive until the
fault has something to act on, and hold only what it must rewrite.

Pure decisions over bytes, no I/O (the byte-stream classes of ``_output_io.py`` read and yield).
Each event is put in a *stage*: the preamble (OpenAI chat's role chunk, ``response.created``,
Anthropic's ``message_start`` and ``ping``), content (text, refusal, reasoning), a tool call, or
the end (``finish_reason``, the usage chunk, ``[DONE]``, ``response.completed``,
``message_delta``, ``message_stop``). A fault that acts on tool calls (its class has a
``tool_calls`` field) waits for the first tool-call event; any other output fault for the first
event past the preamble (on chat completions, the first chunk: its role chunk says whether there
is content, which such a fault may change). Until then every event goes to the client as it
arrives: a fault that finds nothing to act on (a tool-call fault on a text answer) costs the
client nothing. From that event on, the rest of the stream is held; when the provider's stream
ends, the whole response is assembled, rewritten (``_output.rewrite_content``) and the events
from that point on are sent in the provider's format (renumbered, for the Responses API). The
client gets the rewritten part at once, when the provider has finished: its time to the first
rewritten token is the provider's time to the last one.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from opentelemetry.util.types import AttributeValue

from aumai_chaos._engine.telemetry import ATTR_FAULT_TOOL_CALLS
from aumai_chaos.faults import FaultConfig
from aumai_chaos.transport._hooks import FaultHooks
from aumai_chaos.transport._output import encode_events, parse_events, rewrite_content
from aumai_chaos.transport._run import READ, Step
from aumai_chaos.transport._sse import SSEFramer
from aumai_chaos.transport._tools import on_tool_calls

__all__ = [
    "CONTENT",
    "END",
    "PREAMBLE",
    "TOOL",
    "OutputStreamCore",
    "Stager",
    "apply_each",
    "tool_call_attributes",
]

PREAMBLE, CONTENT, TOOL, END = 0, 1, 2, 3
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class _Named:
    """How a stream of typed events is staged: the event types of the preamble and of the
    end, and the event that opens a block or item (under ``key``, indexed by ``index``), a
    tool call when its ``type`` is ``tool``."""

    preamble: frozenset[str]
    end: frozenset[str]
    opens: str
    index: str
    key: str
    tool: str


_NAMED = {
    "anthropic.messages": _Named(
        frozenset({"message_start", "ping"}),
        frozenset({"message_delta", "message_stop", "error"}),
        "content_block_start",
        "index",
        "content_block",
        "tool_use",
    ),
    "openai.responses": _Named(
        frozenset({"response.created", "response.in_progress", "response.queued"}),
        frozenset({"response.completed", "response.incomplete", "response.failed", "error"}),
        "response.output_item.added",
        "output_index",
        "item",
        "function_call",
    ),
}


class Stager:
    """The stage of each event of one provider's stream, in order (it remembers which content
    block or output item is a tool call)."""

    __slots__ = ("api", "kinds", "named")

    def __init__(self, api: str | None) -> None:
        self.api = api
        self.named = _NAMED.get(api or "")
        self.kinds: dict[Any, int] = {}

    def stage(self, name: str | None, data: Any) -> int:
        if self.api == "openai.chat.completions":
            return _chat_stage(data)
        named = self.named
        if named is None or not isinstance(data, Mapping):
            return PREAMBLE
        kind = data.get("type", name)
        if kind in named.preamble:
            return PREAMBLE
        if kind in named.end:
            return END
        if kind == named.opens:
            opened = data.get(named.key)
            tool = isinstance(opened, Mapping) and opened.get("type") == named.tool
            self.kinds[data.get(named.index)] = TOOL if tool else CONTENT
        return self.kinds.get(data.get(named.index), CONTENT)


def _chat_stage(data: Any) -> int:
    if data == "[DONE]":
        return END
    if not isinstance(data, Mapping):
        return PREAMBLE
    choices = data.get("choices")
    if not isinstance(choices, list) or not choices:
        return END if data.get("usage") else PREAMBLE
    choice = choices[0]
    if not isinstance(choice, Mapping):
        return PREAMBLE
    if choice.get("finish_reason") is not None:
        return END
    delta = choice.get("delta")
    if not isinstance(delta, Mapping):
        return PREAMBLE
    if delta.get("tool_calls"):
        return TOOL
    if delta.get("content") or delta.get("refusal"):
        return CONTENT
    return PREAMBLE


def tool_call_attributes(acted: list[int]) -> dict[str, AttributeValue]:
    """``chaos.fault.tool_calls``: the indexes of the tool calls a fault changed, if any."""
    return {ATTR_FAULT_TOOL_CALLS: list(acted)} if acted else {}


def apply_each(
    faults: Sequence[FaultConfig],
    hooks: FaultHooks[Any],
    rewrite: Callable[[FaultConfig, T, list[int]], T | None],
    start: T,
) -> T | None:
    """``start`` rewritten by each fault in order (a body, or a stream's bytes), or ``None``
    when none acted. A fault that cannot apply is skipped, uncounted; one that does is stamped
    with the tool calls it changed (``rewrite`` adds their indexes to the list it is given)."""
    current, changed = start, False
    for fault in faults:
        acted: list[int] = []
        out = rewrite(fault, current, acted)
        if out is None:
            hooks.skip(fault)
            continue
        token = hooks.begin(fault, tool_call_attributes(acted))
        if token is None:
            continue
        current, changed = out, True
        hooks.end(token, None)
    return current if changed else None


@dataclass(slots=True, eq=False)
class OutputStreamCore:
    """The output faults of one event stream: :meth:`feed` says what to forward now,
    :meth:`finish` what to send when the provider's stream has ended."""

    faults: Sequence[FaultConfig]
    api: str | None
    request: dict[str, Any] | None
    seed: int | None
    hooks: FaultHooks[Any]
    framer: SSEFramer = field(init=False, default_factory=SSEFramer)
    stager: Stager = field(init=False)
    #: Every fault acts on tool calls: the content before the first call goes through.
    tools_only: bool = field(init=False)
    #: Chat's first chunk states the message's fields (``content: ""`` or ``null``), which a
    #: fault on the whole answer may change (a refusal has no content): held from there.
    from_start: bool = field(init=False)
    buf: bytes = field(init=False, default=b"")
    sent: list[bytes] = field(init=False, default_factory=list)
    held: list[bytes] | None = field(init=False, default=None)
    next_seq: int | None = field(init=False, default=None)
    settled: bool = field(init=False, default=False)
    #: No event goes to the client before :meth:`feed` has seen it.
    room: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        self.stager = Stager(self.api)
        self.tools_only = all(on_tool_calls(f) for f in self.faults)
        self.from_start = not self.tools_only and self.api == "openai.chat.completions"

    def _triggers(self, stage: int) -> bool:
        if self.tools_only:
            return stage == TOOL
        return self.from_start or stage != PREAMBLE

    def feed(self, chunk: bytes) -> bytes:
        """The bytes of ``chunk`` to hand to the client now (complete events before the first
        one that a fault acts on); the rest is kept."""
        if self.held is not None:
            self.held.append(chunk)
            return b""
        out: list[bytes] = []
        start = 0
        for end in self.framer.ends(chunk):
            unit = self.buf + chunk[start:end]
            self.buf = b""
            start = end
            if self.held is not None:
                self.held.append(unit)
                continue
            events = parse_events(unit)
            name, data = events[0] if events else (None, None)
            if self._triggers(self.stager.stage(name, data)):
                self.held = [unit]
                continue
            if isinstance(data, Mapping) and isinstance(data.get("sequence_number"), int):
                self.next_seq = data["sequence_number"] + 1
            out.append(unit)
        rest = chunk[start:]
        if self.held is not None:
            self.held.append(self.buf + rest)
            self.buf = b""
        else:
            self.buf += rest
        self.sent.extend(out)
        return b"".join(out)

    def finish(self) -> bytes:
        """What is left to send once the provider's stream has ended: the held events, with
        the faults applied to the whole response (or as they came, when none applies)."""
        tail, self.buf = self.buf, b""
        if self.held is None:
            self.settle()
            return tail
        held = b"".join(self.held) + tail
        self.held = None
        content = b"".join(self.sent) + held
        self.settled = True

        def rewrite(fault: FaultConfig, source: bytes, acted: list[int]) -> bytes | None:
            return rewrite_content(
                fault, self.api, self.request, source, seed=self.seed, stream=True, acted=acted
            )

        rewritten = apply_each(self.faults, self.hooks, rewrite, content)
        if rewritten is None:
            return held
        return encode_events(self._suffix(parse_events(rewritten)))

    def _suffix(self, events: list[tuple[str | None, Any]]) -> list[tuple[str | None, Any]]:
        """The rewritten events from the point where the original stream was held on."""
        stager = Stager(self.api)
        stages = [stager.stage(name, data) for name, data in events]
        start = next((n for n, s in enumerate(stages) if self._triggers(s)), None)
        if start is None:
            start = next((n for n, s in enumerate(stages) if s == END), len(events))
        out = events[start:]
        if self.next_seq is not None:
            first = self.next_seq
            out = [
                (name, {**data, "sequence_number": first + n} if isinstance(data, dict) else data)
                for n, (name, data) in enumerate(out)
            ]
        return out

    def advance(self, chunk: bytes, room: int) -> int:
        """No chunk goes through whole (``room`` is 0): each one is fed."""
        return -1

    def steps(self) -> Generator[Step, bytes | None, None]:
        """The stream as steps (see ``_streams.SyncStream``): each chunk read is fed, what
        may go out now is delivered; at the end, what :meth:`finish` sends."""
        while (chunk := (yield READ)) is not None:
            out = self.feed(chunk)
            if out:
                yield out
        last = self.finish()
        if last:
            yield last

    def settle(self) -> None:
        """Over without acting (nothing to act on, or the client stopped reading first): every
        fault is skipped, uncounted."""
        if not self.settled:
            self.settled = True
            for fault in self.faults:
                self.hooks.skip(fault)

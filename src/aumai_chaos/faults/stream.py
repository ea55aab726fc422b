"""Faults that act *during* a stream, after ``after_chunks`` chunks have been delivered.

A chunk is one server-sent event on an HTTP transport, and one yielded item of a decorated
generator or async generator. The fault acts exactly where a misbehaving server would: the
consumer has already received ``after_chunks`` chunks, and nothing is read ahead of it.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field, StringConstraints, model_validator

from aumai_chaos.faults.base import Action, DurationMs, FaultConfig, FaultType, Message, Site

__all__ = [
    "MalformedChunkFault",
    "SlowStreamFault",
    "StreamCutFault",
    "StreamErrorEventFault",
    "StreamStallFault",
    "TruncatedStreamFault",
]

AfterChunks = Annotated[int, Field(ge=0, le=1_000_000, strict=True)]


class _StreamFault(FaultConfig):
    action: ClassVar[Action] = Action.during

    after_chunks: AfterChunks = 0


class StreamStallFault(_StreamFault):
    """After ``after_chunks`` chunks, deliver nothing for ``duration_ms`` (required), then go
    on. A client whose read timeout is shorter times out, as it would against a silent server."""

    fault_type: Literal[FaultType.stream_stall] = FaultType.stream_stall
    duration_ms: DurationMs

    @property
    def delay_seconds(self) -> float:
        return self.duration_ms / 1000.0


class StreamCutFault(_StreamFault):
    """After ``after_chunks`` chunks, the connection drops: on a transport the client library
    raises the error a real peer reset gives; on a generator,
    :class:`~aumai_chaos.StreamCutError` is raised from the next iteration."""

    raises: ClassVar[bool] = True
    fails: ClassVar[bool] = True

    fault_type: Literal[FaultType.stream_cut] = FaultType.stream_cut
    error_message: Message | None = None


class TruncatedStreamFault(_StreamFault):
    """End the stream cleanly after ``after_chunks`` chunks, without the provider's final
    event (no ``finish_reason`` nor ``[DONE]`` for OpenAI, no ``message_stop`` for Anthropic);
    a generator simply stops early."""

    ends_stream: ClassVar[bool] = True

    fault_type: Literal[FaultType.truncated_stream] = FaultType.truncated_stream


class StreamErrorEventFault(_StreamFault):
    """After ``after_chunks`` chunks, the provider's own error event, then the end of the
    stream, on a response that began with HTTP 200: Anthropic ``event: error`` with
    ``{"type": "error", "error": {"type": error_type, "message": ...}}`` (default
    ``overloaded_error``), OpenAI chat ``data: {"error": {...}}`` (default ``server_error``),
    the Responses API's ``error`` event. The SDK raises what it raises for the real event."""

    sites: ClassVar[frozenset[Site]] = frozenset({Site.transport})
    site_reason: ClassVar[str] = (
        "it sends a provider's error event in a server-sent event stream; on a generator use "
        "stream_cut"
    )

    ends_stream: ClassVar[bool] = True
    fails: ClassVar[bool] = True

    fault_type: Literal[FaultType.stream_error_event] = FaultType.stream_error_event
    error_type: Annotated[str, StringConstraints(min_length=1, max_length=100)] | None = None
    error_message: Message | None = None


class SlowStreamFault(FaultConfig):
    """Delay every event by ``duration_ms`` (required), or only the first one with
    ``first_only`` (a slow time to first token)."""

    sites: ClassVar[frozenset[Site]] = frozenset({Site.transport})
    site_reason: ClassVar[str] = (
        "it paces server-sent events; on a generator use stream_stall or a latency fault"
    )

    action: ClassVar[Action] = Action.during

    fault_type: Literal[FaultType.slow_stream] = FaultType.slow_stream
    duration_ms: DurationMs
    first_only: Annotated[bool, Field(strict=True)] = False

    @model_validator(mode="after")
    def _positive(self) -> SlowStreamFault:
        if self.duration_ms == 0:
            raise ValueError("duration_ms must be greater than 0 for a slow_stream fault")
        return self


class MalformedChunkFault(_StreamFault):
    """Event number ``after_chunks`` (from 0) carries invalid JSON."""

    sites: ClassVar[frozenset[Site]] = frozenset({Site.transport})
    site_reason: ClassVar[str] = "it corrupts the JSON of a server-sent event"

    fault_type: Literal[FaultType.malformed_chunk] = FaultType.malformed_chunk

"""The SSE framing, terminal events and corrupted events, and the stream wrapper's decisions,
without a network: byte streams cut in every way, real ``httpx2``/``httpx`` requests."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator, Mapping
from typing import Any

import httpx
import httpx2
import pytest

from aumai_chaos.faults import FaultConfig
from aumai_chaos.transport._sse import SSEFramer, corrupt_event, is_terminal_event
from aumai_chaos.transport._streams import wrap_sync_stream

EVENTS = [
    b'data: {"a":1}\n\n',
    b"event: ping\ndata: {}\n\n",
    b": comment only\n\n",
    b'data: {"b":\ndata: 2}\n\n',
    b"data: [DONE]\n\n",
]


def _crlf(event: bytes) -> bytes:
    return event.replace(b"\n", b"\r\n")


def _cr(event: bytes) -> bytes:
    return event.replace(b"\n", b"\r")


def _chunks(data: bytes, rng: random.Random) -> Iterator[bytes]:
    at = 0
    while at < len(data):
        size = rng.choice((1, 2, 3, 5, 8, 13, 64))
        yield data[at : at + size]
        at += size


@pytest.mark.parametrize("ending", [lambda e: e, _crlf, _cr], ids=["lf", "crlf", "cr"])
@pytest.mark.parametrize("seed", range(25))
def test_events_are_counted_across_any_chunking(ending: Any, seed: int) -> None:
    data = b"".join(ending(e) for e in EVENTS)
    rng = random.Random(seed)
    fast, exact = SSEFramer(), SSEFramer()
    ends: list[int] = []
    offset = 0
    for chunk in _chunks(data, rng):
        fast.count(chunk)
        ends += [offset + e for e in exact.ends(chunk)]
        offset += len(chunk)
    fast.flush()
    ends += [offset] * exact.flush()
    assert fast.events == exact.events == len(EVENTS)
    boundaries = []
    at = 0
    for event in EVENTS:
        at += len(ending(event))
        boundaries.append(at)
    assert ends == boundaries


def test_repeated_blank_lines_are_not_events() -> None:
    framer = SSEFramer()
    assert framer.ends(b"\n\ndata: x\n\n\n\n\ndata: y\n\n") == [11, 23]
    assert framer.count(b"\n\n\n") == 0
    assert framer.events == 2


def test_advance_takes_a_chunk_only_with_room_for_its_events() -> None:
    framer = SSEFramer()
    chunk = b"data: 1\n\ndata: 2\n\ndata: 3"
    assert framer.advance(chunk, 2) == -1  # two events would reach the fault: not taken
    assert framer.events == 0
    assert framer.ends(chunk) == [9, 18]
    assert framer.advance(b"\n\n", 5) == 1  # the third event ends in the next chunk
    assert framer.advance(b"data: 4\r\n\r\n", 5) == -1  # a "\r": only ends() reads it
    assert framer.count(b"data: 4\r\n\r\n") == 1
    assert framer.events == 4


@pytest.mark.parametrize(
    ("event", "api", "terminal"),
    [
        (
            b'data: {"choices":[{"index":0,"finish_reason":null}]}\n\n',
            "openai.chat.completions",
            False,
        ),
        (
            b'data: {"choices":[{"index":0,"finish_reason":"stop"}]}\n\n',
            "openai.chat.completions",
            True,
        ),
        (b'data: {"choices":[],"usage":{"total_tokens":3}}\n\n', "openai.chat.completions", True),
        (b"data: [DONE]\n\n", "openai.chat.completions", True),
        (b"event: response.output_text.done\ndata: {}\n\n", "openai.responses", False),
        (b"event: response.completed\ndata: {}\n\n", "openai.responses", True),
        (b"event: response.incomplete\ndata: {}\n\n", "openai.responses", True),
        (b"event: content_block_stop\ndata: {}\n\n", "anthropic.messages", False),
        (b"event: message_delta\ndata: {}\n\n", "anthropic.messages", True),
        (b'data: {"type": "message_stop"}\n\n', "anthropic.messages", True),
        (b"data: [DONE]\n\n", None, False),
    ],
)
def test_terminal_events(event: bytes, api: str | None, terminal: bool) -> None:
    assert is_terminal_event(event, api) is terminal


def test_corrupt_event_cuts_the_json() -> None:
    event = b'event: x\ndata: {"id":"chatcmpl-1","choices":[]}\r\n\r\n'
    broken = corrupt_event(event)
    assert broken is not None
    assert broken.startswith(b"event: x\ndata: {")
    assert broken.endswith(b"\r\n\r\n")
    payload = broken.split(b"data: ")[1].strip()
    with pytest.raises(json.JSONDecodeError):
        json.loads(payload)
    assert corrupt_event(b"data: [DONE]\n\n") is None
    assert corrupt_event(b": ping\n\n") is None


# -- the wrapper on a real request, no network -------------------------------------------------


class Recorder:
    """FaultHooks that record what acted, at which event, and never wait."""

    def __init__(self, refuse: bool = False) -> None:
        self.refuse = refuse
        self.begun: list[tuple[str, Mapping[str, Any]]] = []
        self.ended: list[BaseException | None] = []
        self.slept: list[float] = []
        self.skipped: list[str] = []

    def begin(self, fault: FaultConfig, attributes: Mapping[str, Any]) -> object | None:
        if self.refuse:
            return None
        self.begun.append((fault.fault_type.value, dict(attributes)))
        return len(self.begun)

    def end(self, token: object, error: BaseException | None) -> None:
        self.ended.append(error)

    def skip(self, fault: FaultConfig) -> None:
        self.skipped.append(fault.fault_type.value)

    def sleep(self, token: object, seconds: float) -> None:
        self.slept.append(seconds)

    async def asleep(self, token: object, seconds: float) -> None:  # pragma: no cover
        self.slept.append(seconds)


class Inner:
    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks
        self.read = 0
        self.closed = False

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self.chunks:
            self.read += 1
            yield chunk

    def close(self) -> None:
        self.closed = True


def _request(lib: Any = httpx2, read: float | None = 5.0) -> Any:
    timeout = {"connect": 5.0, "read": read, "write": 5.0, "pool": 5.0}
    return lib.Request("POST", "http://x/v1/chat/completions", extensions={"timeout": timeout})


CHAT = [b'data: {"choices":[{"index":0,"finish_reason":null}]}\n\n'] * 4 + [
    b'data: {"choices":[{"index":0,"finish_reason":"stop"}]}\n\n',
    b"data: [DONE]\n\n",
]


def _wrap(faults: list[FaultConfig], chunks: list[bytes], hooks: Recorder, **kw: Any) -> Any:
    inner = Inner(chunks)
    request = kw.pop("request", None) or _request()
    stream = wrap_sync_stream(
        inner, faults, request=request, api="openai.chat.completions", hooks=hooks
    )
    return stream, inner


@pytest.mark.parametrize("lib", [httpx, httpx2])
def test_the_wrapper_is_the_libraries_own_byte_stream(lib: Any) -> None:
    inner = Inner(CHAT)
    stream = wrap_sync_stream(inner, [], request=_request(lib), api=None, hooks=Recorder())
    assert isinstance(stream, lib.SyncByteStream)
    assert b"".join(stream) == b"".join(CHAT)
    stream.close()
    assert inner.closed


def test_a_cut_never_reads_ahead_of_the_client() -> None:
    hooks = Recorder()
    stream, inner = _wrap([FaultConfig(fault_type="stream_cut", after_chunks=2)], CHAT, hooks)
    it = iter(stream)
    assert [next(it), next(it)] == CHAT[:2]
    assert inner.read == 2
    with pytest.raises(httpx2.ReadError, match="reset by peer"):
        next(it)
    assert inner.read == 2
    assert inner.closed
    assert hooks.begun == [("stream_cut", {"chaos.fault.after_chunks": 2})]
    assert isinstance(hooks.ended[0], httpx2.ReadError)


def test_events_split_across_chunks_are_delivered_whole_near_a_fault() -> None:
    data = b"".join(CHAT)
    chunks = [data[i : i + 7] for i in range(0, len(data), 7)]
    hooks = Recorder()
    stall = FaultConfig(fault_type="stream_stall", after_chunks=3, duration_ms=50)
    stream, _ = _wrap([stall], chunks, hooks)
    out = b"".join(stream)
    assert out == data
    assert hooks.slept == pytest.approx([0.05], abs=0.005)
    assert hooks.begun[0][1] == {"chaos.fault.after_chunks": 3}


def test_a_stall_past_the_read_timeout_waits_the_timeout_then_raises() -> None:
    hooks = Recorder()
    stall = FaultConfig(fault_type="stream_stall", after_chunks=1, duration_ms=10_000)
    stream, inner = _wrap([stall], CHAT, hooks, request=_request(read=0.25))
    it = iter(stream)
    next(it)
    with pytest.raises(httpx2.ReadTimeout):
        next(it)
    assert hooks.slept == pytest.approx([0.25], abs=0.005)
    assert inner.closed
    assert isinstance(hooks.ended[0], httpx2.ReadTimeout)


def test_no_read_timeout_means_the_whole_stall() -> None:
    hooks = Recorder()
    stall = FaultConfig(fault_type="stream_stall", after_chunks=0, duration_ms=1500)
    stream, _ = _wrap([stall], CHAT, hooks, request=_request(read=None))
    assert b"".join(stream) == b"".join(CHAT)
    assert hooks.slept == pytest.approx([1.5], abs=0.005)


def test_a_refused_fault_passes_everything_through() -> None:
    hooks = Recorder(refuse=True)
    faults = [
        FaultConfig(fault_type="stream_cut", after_chunks=1),
        FaultConfig(fault_type="malformed_chunk", after_chunks=0),
        FaultConfig(fault_type="slow_stream", duration_ms=5),
    ]
    stream, _ = _wrap(faults, CHAT, hooks)
    assert b"".join(stream) == b"".join(CHAT)
    assert hooks.slept == []
    assert hooks.ended == []


def test_slow_stream_waits_before_every_event() -> None:
    hooks = Recorder()
    stream, _ = _wrap([FaultConfig(fault_type="slow_stream", duration_ms=7)], CHAT, hooks)
    assert b"".join(stream) == b"".join(CHAT)
    assert hooks.slept == [0.007] * len(CHAT)
    assert hooks.begun == [("slow_stream", {"chaos.fault.after_chunks": 0})]
    assert hooks.ended == [None]  # one span for the whole pacing


def test_truncation_drops_the_finish_chunk_and_done() -> None:
    hooks = Recorder()
    fault = FaultConfig(fault_type="truncated_stream", after_chunks=50)
    stream, inner = _wrap([fault], CHAT, hooks)
    assert b"".join(stream) == b"".join(CHAT[:4])
    assert inner.closed
    assert hooks.begun == [("truncated_stream", {"chaos.fault.after_chunks": 4})]


def test_truncation_on_an_unknown_api_ends_after_n_events() -> None:
    hooks = Recorder()
    fault = FaultConfig(fault_type="truncated_stream", after_chunks=2)
    stream = wrap_sync_stream(Inner(CHAT), [fault], request=_request(), api=None, hooks=hooks)
    assert b"".join(stream) == b"".join(CHAT[:2])
    hooks2 = Recorder()
    fault = FaultConfig(fault_type="truncated_stream", after_chunks=99)
    stream = wrap_sync_stream(Inner(CHAT), [fault], request=_request(), api=None, hooks=hooks2)
    assert b"".join(stream) == b"".join(CHAT)
    assert hooks2.begun == []  # nothing to drop: it did not act
    assert hooks2.skipped == ["truncated_stream"]


def test_malformed_chunk_corrupts_exactly_one_event() -> None:
    hooks = Recorder()
    stream, _ = _wrap([FaultConfig(fault_type="malformed_chunk", after_chunks=1)], CHAT, hooks)
    out = list(stream)
    assert out[0] == CHAT[0]
    assert out[2:] == CHAT[2:]
    assert out[1] != CHAT[1]
    assert out[1].endswith(b"\n\n")
    with pytest.raises(json.JSONDecodeError):
        json.loads(out[1][len(b"data: ") :])
    hooks2 = Recorder()
    stream, _ = _wrap([FaultConfig(fault_type="malformed_chunk", after_chunks=5)], CHAT, hooks2)
    assert b"".join(stream) == b"".join(CHAT)  # event 5 is [DONE]: nothing to corrupt
    assert hooks2.begun == []
    assert hooks2.skipped == ["malformed_chunk"]


def test_faults_left_when_the_client_stops_reading_are_skipped() -> None:
    hooks = Recorder()
    faults = [
        FaultConfig(fault_type="stream_cut", after_chunks=4),
        FaultConfig(fault_type="stream_stall", after_chunks=1, duration_ms=5),
    ]
    stream, inner = _wrap(faults, CHAT, hooks)
    it = iter(stream)
    next(it)
    next(it)  # the stall acted before this one
    stream.close()
    assert inner.closed
    assert [kind for kind, _ in hooks.begun] == ["stream_stall"]
    assert hooks.skipped == ["stream_cut"]
    stream.close()
    assert hooks.skipped == ["stream_cut"]  # once


@pytest.mark.parametrize("ending", [lambda e: e, _crlf], ids=["lf", "crlf"])
@pytest.mark.parametrize("seed", range(10))
@pytest.mark.parametrize("after", [0, 1, 3, 5])
def test_a_stall_acts_after_exactly_n_whole_events_however_chunked(
    ending: Any, seed: int, after: int
) -> None:
    events = [ending(e) for e in EVENTS]
    data = b"".join(events)
    chunks = list(_chunks(data, random.Random(seed)))
    hooks = Recorder()
    stall = FaultConfig(fault_type="stream_stall", after_chunks=after, duration_ms=5)
    stream = wrap_sync_stream(Inner(chunks), [stall], request=_request(), api=None, hooks=hooks)
    delivered = b""
    at_stall: bytes | None = None
    for piece in stream:
        if hooks.slept and at_stall is None:
            at_stall = delivered
        delivered += piece
    if at_stall is None:  # the stall came after the last event
        at_stall = delivered
    assert delivered == data
    assert hooks.slept == pytest.approx([0.005], abs=0.005)
    assert at_stall == b"".join(events[:after])


class AsyncInner:
    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks
        self.closed = False

    async def __aiter__(self) -> Any:
        for chunk in self.chunks:
            yield chunk

    async def aclose(self) -> None:
        self.closed = True


@pytest.mark.asyncio
@pytest.mark.parametrize("lib", [httpx, httpx2])
async def test_the_async_wrapper_truncates_and_corrupts_like_the_sync_one(lib: Any) -> None:
    from aumai_chaos.transport._streams import wrap_async_stream

    hooks = Recorder()
    faults = [
        FaultConfig(fault_type="malformed_chunk", after_chunks=1),
        FaultConfig(fault_type="truncated_stream", after_chunks=50),
    ]
    inner = AsyncInner(CHAT)
    stream = wrap_async_stream(
        inner, faults, request=_request(lib), api="openai.chat.completions", hooks=hooks
    )
    assert isinstance(stream, lib.AsyncByteStream)
    out = [chunk async for chunk in stream]
    assert out[0] == CHAT[0]
    assert out[1] != CHAT[1]
    assert out[2:] == CHAT[2:4]
    assert inner.closed
    assert [kind for kind, _ in hooks.begun] == ["malformed_chunk", "truncated_stream"]

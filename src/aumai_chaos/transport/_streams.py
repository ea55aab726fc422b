"""Stream faults on a response's byte stream: stall, cut, slow, truncated, malformed event.

:func:`wrap_sync_stream` and :func:`wrap_async_stream` put a wrapper around the byte stream of
an ``httpx`` or ``httpx2`` response (``response.stream``), of the same library's
``SyncByteStream`` / ``AsyncByteStream`` class, so the client library reads it exactly as it
reads a misbehaving server:

- nothing is read ahead of the client: a fault "after N events" acts when the client, having
  received N events, asks for more, before the next chunk is read from the server;
- ``stream_stall`` waits, and when the request's read timeout is shorter it waits that long and
  raises the library's own ``ReadTimeout``, like a silent server;
- ``stream_cut`` closes the connection and raises the library's own ``ReadError``, the error a
  peer reset gives (``ProviderServer``'s ``CutStream(reset=True)``);
- ``truncated_stream`` ends the body cleanly before the provider's final event
  (:func:`~aumai_chaos.transport._sse.is_terminal_event`); ``stream_error_event`` ends it the
  same way, after the provider's own error event (:func:`~aumai_chaos.transport._sse.error_event`);
- ``slow_stream`` waits before each event (or the first); ``malformed_chunk`` cuts the JSON of
  one event.

While no fault is near, a chunk goes through as it came, after one count of its event ends in C
(``bytes.count``); near a fault, and for the faults that look at every event, whole events are
delivered. ``close()`` / ``aclose()`` always reach the inner stream.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Generator, Iterable, Iterator
from typing import Any, Protocol

from aumai_chaos.faults import FaultConfig
from aumai_chaos.transport._hooks import FaultHooks
from aumai_chaos.transport._run import CLOSE, READ, Run, Sleep, Step
from aumai_chaos.transport._stream_core import STREAM_FAULTS, StreamCore

__all__ = [
    "STREAM_FAULTS",
    "AsyncStream",
    "Stepped",
    "StreamCore",
    "SyncStream",
    "stream_class",
    "wrap_async_stream",
    "wrap_sync_stream",
]


class _Sleeps(Protocol):
    def sleep(self, token: object, seconds: float) -> None: ...
    async def asleep(self, token: object, seconds: float) -> None: ...


class Stepped(Protocol):
    """The decisions over one wrapped byte stream (:class:`StreamCore`, the output faults'
    ``OutputStreamCore``), as steps for :class:`SyncStream` / :class:`AsyncStream`."""

    #: How many events may go to the client whole, as they came, at a :data:`READ`; the
    #: driver takes off those it delivered.
    room: int

    @property
    def hooks(self) -> _Sleeps: ...
    def advance(self, chunk: bytes, room: int) -> int:
        """The events ``chunk`` completes, taken, if fewer than ``room``; else ``-1``."""
        ...

    def steps(self) -> Generator[Step, bytes | None, None]: ...
    def settle(self) -> None: ...


class _Wrapped:
    """An inner byte stream and the core that decides over it."""

    __slots__ = ("_core", "_inner")
    #: The name of the library's byte-stream base class this one stands in for.
    BASE = ""

    def __init__(self, inner: Any, core: Stepped) -> None:
        self._inner = inner
        self._core = core


class SyncStream(_Wrapped):
    """Carries out a core's steps over an inner ``SyncByteStream``, in a thread: at a
    :data:`READ`, chunks go to the client as they came while the core's ``advance`` takes
    them (the per-chunk path), and the first it refuses goes to the steps; closing settles
    the core (the faults that never acted are skipped) and closes the inner stream."""

    __slots__ = ()
    BASE = "SyncByteStream"

    def __iter__(self) -> Iterator[bytes]:
        core = self._core
        advance = core.advance
        chunks = iter(self._inner)
        run = Run(core.steps())
        try:
            while (step := run.next()) is not None:
                if step is READ:
                    room = core.room
                    for chunk in chunks:
                        found = advance(chunk, room)
                        if found < 0:
                            run.result = chunk
                            break
                        room -= found
                        yield chunk
                    core.room = room
                elif step.__class__ is bytes:
                    yield step
                elif step is CLOSE:
                    self.close()
                elif isinstance(step, Sleep):
                    try:
                        core.hooks.sleep(step.token, step.seconds)
                    except BaseException as err:
                        run.error = err
        finally:
            core.settle()

    def close(self) -> None:
        self._core.settle()
        self._inner.close()


class AsyncStream(_Wrapped):
    """The async twin of :class:`SyncStream`, over an ``AsyncByteStream``: waits yield to the
    event loop."""

    __slots__ = ()
    BASE = "AsyncByteStream"

    async def __aiter__(self) -> AsyncIterator[bytes]:
        core = self._core
        advance = core.advance
        chunks = self._inner.__aiter__()
        run = Run(core.steps())
        try:
            while (step := run.next()) is not None:
                if step is READ:
                    room = core.room
                    async for chunk in chunks:
                        found = advance(chunk, room)
                        if found < 0:
                            run.result = chunk
                            break
                        room -= found
                        yield chunk
                    core.room = room
                elif step.__class__ is bytes:
                    yield step
                elif step is CLOSE:
                    await self.aclose()
                elif isinstance(step, Sleep):
                    try:
                        await core.hooks.asleep(step.token, step.seconds)
                    except BaseException as err:
                        run.error = err
        finally:
            core.settle()

    async def aclose(self) -> None:
        self._core.settle()
        await self._inner.aclose()


def stream_class(lib: Any, impl: type[SyncStream] | type[AsyncStream]) -> type:
    """The wrapper class for this library: ``impl`` on the library's own byte stream base, so
    the client's ``isinstance(response.stream, SyncByteStream)`` holds."""
    key = (lib.__name__, impl)
    cls = _classes.get(key)
    if cls is None:
        cls = type(impl.__name__, (impl, getattr(lib, impl.BASE)), {"__slots__": ()})
        _classes[key] = cls
    return cls


_classes: dict[tuple[str, type], type] = {}


def wrap_sync_stream(
    stream: Any,
    faults: Iterable[FaultConfig],
    *,
    request: Any,
    api: str | None,
    hooks: FaultHooks[Any],
) -> Any:
    """``stream`` (an ``httpx``/``httpx2`` ``SyncByteStream``) with these stream faults.

    ``api`` is the route (``openai.chat.completions``, ``openai.responses``,
    ``anthropic.messages``; ``None`` for others), which says which event is the provider's last.
    """
    core = StreamCore(faults, request=request, api=api, hooks=hooks)
    return stream_class(core.lib, SyncStream)(stream, core)


def wrap_async_stream(
    stream: Any,
    faults: Iterable[FaultConfig],
    *,
    request: Any,
    api: str | None,
    hooks: FaultHooks[Any],
) -> Any:
    """The async twin of :func:`wrap_sync_stream`, for an ``AsyncByteStream``."""
    core = StreamCore(faults, request=request, api=api, hooks=hooks)
    return stream_class(core.lib, AsyncStream)(stream, core)

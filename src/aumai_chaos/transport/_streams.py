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

from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any

from aumai_chaos.faults import FaultConfig, FaultType
from aumai_chaos.transport._hooks import FaultHooks
from aumai_chaos.transport._stream_core import NEVER, STREAM_FAULTS, StreamCore

__all__ = ["STREAM_FAULTS", "StreamCore", "wrap_async_stream", "wrap_sync_stream"]


def _base(lib: Any, name: str, impl: type) -> type:
    """The wrapper class for this library: ``impl`` on the library's own byte stream base, so
    the client's ``isinstance(response.stream, SyncByteStream)`` holds."""
    key = (lib.__name__, name)
    cls = _classes.get(key)
    if cls is None:
        cls = type(name, (impl, getattr(lib, name)), {"__slots__": ()})
        _classes[key] = cls
    return cls


_classes: dict[tuple[str, str], type] = {}


class _SyncImpl:
    __slots__ = ("_core", "_inner")

    def __init__(self, inner: Any, core: StreamCore) -> None:
        self._inner = inner
        self._core = core

    def __iter__(self) -> Iterator[bytes]:
        core = self._core
        hooks = core.hooks
        advance = core.framer.advance
        try:
            acts = core.acts
            if acts and acts[-1].at <= 0 and self._act_due():
                if core.tail:
                    yield core.tail
                return
            for chunk in self._inner:
                if core.simple and not core.buf:
                    acts = core.acts
                    found = advance(chunk, (acts[-1].at if acts else NEVER) - core.delivered)
                    if found >= 0:
                        # Fewer events than the next fault's position: nothing is due after it.
                        core.delivered += found
                        yield chunk
                        continue
                for unit in core.units(chunk):
                    if self._act_due():
                        if core.tail:
                            yield core.tail
                        return
                    out, delay = core.event(unit)
                    if out is None:
                        self.close()
                        if core.tail:
                            yield core.tail
                        return
                    if delay > 0:
                        hooks.sleep(core.slow_token, delay)
                        core.paced()
                    yield out
                    core.delivered += 1
                # The client asks for more: act before the next chunk is read.
                acts = core.acts
                if acts and acts[-1].at <= core.delivered and self._act_due():
                    if core.tail:
                        yield core.tail
                    return
            if core.buf:
                tail, core.buf = core.buf, b""
                yield tail
            core.delivered += core.framer.flush()
            if self._act_due() and core.tail:
                yield core.tail
        finally:
            core.settle()

    def _act_due(self) -> bool:
        """Act on a stall, cut or truncation due now; ``True`` ends the stream cleanly."""
        core = self._core
        act = core.due()
        while act is not None:
            kind = act.fault.fault_type
            if kind is FaultType.stream_stall:
                token, wait, error = core.stall(act)
                if token is not None:
                    try:
                        core.hooks.sleep(token, wait)
                    finally:
                        core.hooks.end(token, error)
                    if error is not None:
                        self.close()
                        raise error
            elif kind is FaultType.stream_cut:
                error = core.cut(act)
                if error is not None:
                    self.close()
                    raise error
            elif core.truncate(act):
                self.close()
                return True
            act = core.due()
        return False

    def close(self) -> None:
        self._core.settle()
        self._inner.close()


class _AsyncImpl:
    __slots__ = ("_core", "_inner")

    def __init__(self, inner: Any, core: StreamCore) -> None:
        self._inner = inner
        self._core = core

    async def __aiter__(self) -> AsyncIterator[bytes]:
        core = self._core
        hooks = core.hooks
        advance = core.framer.advance
        try:
            acts = core.acts
            if acts and acts[-1].at <= 0 and await self._act_due():
                if core.tail:
                    yield core.tail
                return
            async for chunk in self._inner:
                if core.simple and not core.buf:
                    acts = core.acts
                    found = advance(chunk, (acts[-1].at if acts else NEVER) - core.delivered)
                    if found >= 0:
                        # Fewer events than the next fault's position: nothing is due after it.
                        core.delivered += found
                        yield chunk
                        continue
                for unit in core.units(chunk):
                    if await self._act_due():
                        if core.tail:
                            yield core.tail
                        return
                    out, delay = core.event(unit)
                    if out is None:
                        await self.aclose()
                        if core.tail:
                            yield core.tail
                        return
                    if delay > 0:
                        await hooks.asleep(core.slow_token, delay)
                        core.paced()
                    yield out
                    core.delivered += 1
                # The client asks for more: act before the next chunk is read.
                acts = core.acts
                if acts and acts[-1].at <= core.delivered and await self._act_due():
                    if core.tail:
                        yield core.tail
                    return
            if core.buf:
                tail, core.buf = core.buf, b""
                yield tail
            core.delivered += core.framer.flush()
            if await self._act_due() and core.tail:
                yield core.tail
        finally:
            core.settle()

    async def _act_due(self) -> bool:
        core = self._core
        act = core.due()
        while act is not None:
            kind = act.fault.fault_type
            if kind is FaultType.stream_stall:
                token, wait, error = core.stall(act)
                if token is not None:
                    try:
                        await core.hooks.asleep(token, wait)
                    finally:
                        core.hooks.end(token, error)
                    if error is not None:
                        await self.aclose()
                        raise error
            elif kind is FaultType.stream_cut:
                error = core.cut(act)
                if error is not None:
                    await self.aclose()
                    raise error
            elif core.truncate(act):
                await self.aclose()
                return True
            act = core.due()
        return False

    async def aclose(self) -> None:
        self._core.settle()
        await self._inner.aclose()


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
    return _base(core.lib, "SyncByteStream", _SyncImpl)(stream, core)


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
    return _base(core.lib, "AsyncByteStream", _AsyncImpl)(stream, core)

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
  (:func:`~aumai_chaos.transport._sse.is_terminal_event`);
- ``slow_stream`` waits before each event (or the first); ``malformed_chunk`` cuts the JSON of
  one event.

While no fault is near, a chunk goes through as it came, after one count of its event ends in C
(``bytes.count``); near a fault, and for the faults that look at every event, whole events are
delivered. ``close()`` / ``aclose()`` always reach the inner stream.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any

from aumai_chaos.faults import FaultConfig, FaultType
from aumai_chaos.transport._sse import SSEFramer, corrupt_event, is_terminal_event
from aumai_chaos.transport._stamp import ATTR_FAULT_AFTER_CHUNKS, FaultHooks

__all__ = ["STREAM_FAULTS", "StreamCore", "wrap_async_stream", "wrap_sync_stream"]

STREAM_FAULTS = frozenset(
    {
        FaultType.stream_stall,
        FaultType.stream_cut,
        FaultType.slow_stream,
        FaultType.truncated_stream,
        FaultType.malformed_chunk,
    }
)
_NEVER = sys.maxsize
#: What httpcore reports for a connection reset by the peer, which httpx re-raises as ReadError.
RESET_MESSAGE = "[Errno 104] Connection reset by peer"


def _library(request: Any) -> Any:
    """The ``httpx`` or ``httpx2`` module that ``request`` belongs to (already imported)."""
    return sys.modules[type(request).__module__.partition(".")[0]]


def _read_timeout(request: Any) -> float | None:
    try:
        value = request.extensions["timeout"]["read"]
    except (AttributeError, KeyError, TypeError):
        return None
    return float(value) if isinstance(value, int | float) else None


class _Act:
    __slots__ = ("at", "fault")

    def __init__(self, fault: FaultConfig, at: int) -> None:
        self.fault = fault
        self.at = at


class StreamCore:
    """The decisions of one wrapped stream, shared by the sync and async wrappers (which only
    read, sleep and raise). ``delivered`` is the number of complete events handed over."""

    __slots__ = (
        "acts",
        "api",
        "buf",
        "delivered",
        "framer",
        "hooks",
        "lib",
        "request",
        "settled",
        "slow",
        "slow_begun",
        "slow_token",
        "truncating",
    )

    def __init__(
        self, faults: Iterable[FaultConfig], *, request: Any, api: str | None, hooks: FaultHooks
    ) -> None:
        acts: list[_Act] = []
        self.slow: Any = None
        for fault in faults:
            if fault.fault_type is FaultType.slow_stream:
                self.slow = fault
            elif fault.fault_type in STREAM_FAULTS:
                acts.append(_Act(fault, getattr(fault, "after_chunks", 0)))
        # Latest first, so that the next one is acts[-1]; a stable sort keeps declared order.
        acts.sort(key=lambda a: a.at)
        acts.reverse()
        self.acts = acts
        self.truncating = any(a.fault.fault_type is FaultType.truncated_stream for a in acts)
        self.api = api
        self.request = request
        self.hooks = hooks
        self.lib = _library(request)
        self.framer = SSEFramer()
        self.delivered = 0
        self.buf = b""
        self.slow_token: object | None = None
        self.slow_begun = False
        self.settled = False

    # -- the per-chunk path -------------------------------------------------------------
    def fast(self, chunk: bytes) -> bool:
        """Whether ``chunk`` goes through whole: no fault can act inside or right after it."""
        if self.slow is not None or self.truncating or self.buf:
            return False
        framer = self.framer
        state = framer.state()
        found = framer.count(chunk)
        nxt = self.acts[-1].at if self.acts else _NEVER
        if self.delivered + found < nxt:
            self.delivered += found
            return True
        framer.restore(state)
        return False

    def units(self, chunk: bytes) -> list[bytes]:
        """The complete events that ``chunk`` ends; a trailing part is held in ``buf``."""
        out: list[bytes] = []
        start = 0
        for end in self.framer.ends(chunk):
            out.append(self.buf + chunk[start:end] if self.buf else chunk[start:end])
            self.buf = b""
            start = end
        if start < len(chunk):
            self.buf += chunk[start:]
        return out

    def due(self) -> _Act | None:
        """The stall, cut or truncation that acts now, before anything more is delivered."""
        acts = self.acts
        while acts and acts[-1].at <= self.delivered:
            act = acts[-1]
            if act.fault.fault_type is FaultType.malformed_chunk:
                if act.at < self.delivered:
                    acts.pop()  # its event went by before it could be read whole
                    continue
                return None
            acts.pop()
            return act
        return None

    def begin(self, fault: FaultConfig) -> object | None:
        return self.hooks.begin(fault, {ATTR_FAULT_AFTER_CHUNKS: self.delivered})

    def stall(self, act: _Act) -> tuple[object | None, float, BaseException | None]:
        """Begin a stall: how long to wait, and the ``ReadTimeout`` to raise after it, when
        the client's read timeout is the shorter."""
        token = self.begin(act.fault)
        if token is None:
            return None, 0.0, None
        wait = getattr(act.fault, "duration_ms", 0) / 1000.0
        limit = _read_timeout(self.request)
        if limit is not None and limit < wait:
            return token, limit, self.lib.ReadTimeout("timed out", request=self.request)
        return token, wait, None

    def cut(self, act: _Act) -> BaseException | None:
        token = self.begin(act.fault)
        if token is None:
            return None
        error: BaseException = self.lib.ReadError(RESET_MESSAGE, request=self.request)
        self.hooks.end(token, error)
        return error

    def truncate(self, act: _Act) -> bool:
        token = self.begin(act.fault)
        if token is None:
            return False
        self.hooks.end(token, None)
        return True

    def event(self, unit: bytes) -> tuple[bytes | None, float]:
        """Before a complete event goes out: ``None`` ends the stream here (truncation);
        otherwise the event, maybe corrupted, and the delay to wait before it."""
        acts = self.acts
        if self.truncating and is_terminal_event(unit, self.api):
            for act in acts:
                if act.fault.fault_type is FaultType.truncated_stream:
                    acts.remove(act)
                    if self.truncate(act):
                        return None, 0.0
                    break
            self.truncating = any(a.fault.fault_type is FaultType.truncated_stream for a in acts)
        if acts and acts[-1].at == self.delivered:
            fault = acts[-1].fault
            if fault.fault_type is FaultType.malformed_chunk:
                acts.pop()
                broken = corrupt_event(unit)
                if broken is None:
                    self.hooks.skip(fault)
                else:
                    token = self.begin(fault)
                    if token is not None:
                        unit = broken
                        self.hooks.end(token, None)
        return unit, self.pace()

    def pace(self) -> float:
        slow = self.slow
        if slow is None or (slow.first_only and self.delivered > 0):
            return 0.0
        if self.slow_token is None:
            self.slow_begun = True
            self.slow_token = self.begin(slow)
            if self.slow_token is None:
                self.slow = None
                return 0.0
        return float(slow.duration_ms) / 1000.0

    def paced(self) -> None:
        """After the wait before an event: a ``first_only`` slow stream is over."""
        if self.slow is not None and self.slow.first_only:
            self.end_slow()
            self.slow = None

    def end_slow(self) -> None:
        token, self.slow_token = self.slow_token, None
        if token is not None:
            self.hooks.end(token, None)

    def settle(self) -> None:
        """The stream is over: end a slow stream's span; the faults that never acted (the
        stream had fewer events, or the client stopped reading first) are skipped."""
        self.end_slow()
        if self.settled:
            return
        self.settled = True
        for act in self.acts:
            self.hooks.skip(act.fault)
        self.acts = []
        if self.slow is not None and not self.slow_begun:
            self.hooks.skip(self.slow)


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
        inner = iter(self._inner)
        try:
            while True:
                if self._act_due():
                    return
                chunk = next(inner, None)
                if chunk is None:
                    break
                if core.fast(chunk):
                    yield chunk
                    continue
                for unit in core.units(chunk):
                    if self._act_due():
                        return
                    out, delay = core.event(unit)
                    if out is None:
                        self.close()
                        return
                    if delay > 0:
                        hooks.sleep(core.slow_token, delay)
                        core.paced()
                    yield out
                    core.delivered += 1
            if core.buf:
                tail, core.buf = core.buf, b""
                yield tail
            core.delivered += core.framer.flush()
            self._act_due()
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
        inner = aiter(self._inner)
        try:
            while True:
                if await self._act_due():
                    return
                chunk = await anext(inner, None)
                if chunk is None:
                    break
                if core.fast(chunk):
                    yield chunk
                    continue
                for unit in core.units(chunk):
                    if await self._act_due():
                        return
                    out, delay = core.event(unit)
                    if out is None:
                        await self.aclose()
                        return
                    if delay > 0:
                        await hooks.asleep(core.slow_token, delay)
                        core.paced()
                    yield out
                    core.delivered += 1
            if core.buf:
                tail, core.buf = core.buf, b""
                yield tail
            core.delivered += core.framer.flush()
            await self._act_due()
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
    hooks: FaultHooks,
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
    hooks: FaultHooks,
) -> Any:
    """The async twin of :func:`wrap_sync_stream`, for an ``AsyncByteStream``."""
    core = StreamCore(faults, request=request, api=api, hooks=hooks)
    return _base(core.lib, "AsyncByteStream", _AsyncImpl)(stream, core)

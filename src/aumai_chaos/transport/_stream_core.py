"""The decisions of one wrapped stream: which stream fault acts at which event, what it does
(wait how long, raise what, end where, corrupt which event), and the bookkeeping of when it
acted. No I/O: :meth:`StreamCore.steps` says what to do as steps (read the next chunk, deliver
bytes, sleep, close), which the sync and async wrappers of ``_streams.py`` carry out.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Generator, Iterable
from typing import Any

from aumai_chaos._engine.telemetry import ATTR_FAULT_AFTER_CHUNKS
from aumai_chaos.faults import Action, FaultConfig, FaultType, Site, fault_classes, fault_types_that
from aumai_chaos.transport._hooks import FaultHooks
from aumai_chaos.transport._run import CLOSE, READ, Sleep, Step
from aumai_chaos.transport._sse import SSEFramer, corrupt_event, error_event, is_terminal_event

__all__ = ["ENDING", "NEVER", "RESET_MESSAGE", "STREAM_FAULTS", "StreamCore"]

#: The faults that act inside an event stream: each type whose class acts ``during`` the call
#: at the ``transport`` site.
STREAM_FAULTS = frozenset(
    kind
    for kind, cls in fault_classes().items()
    if cls.action is Action.during and Site.transport in cls.sites
)
#: The stream faults that end the stream early, at the latest at the provider's final event:
#: cleanly (``truncated_stream``) or with the provider's error event (``stream_error_event``).
ENDING = fault_types_that("ends_stream")
NEVER = sys.maxsize
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
        "advance",
        "api",
        "buf",
        "delivered",
        "framer",
        "hooks",
        "lib",
        "request",
        "room",
        "settled",
        "simple",
        "slow",
        "slow_begun",
        "slow_token",
        "tail",
        "truncating",
    )

    def __init__(
        self,
        faults: Iterable[FaultConfig],
        *,
        request: Any,
        api: str | None,
        hooks: FaultHooks[Any],
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
        self.truncating = any(a.fault.fault_type in ENDING for a in acts)
        self.simple = True
        self._simplify()
        self.api = api
        self.request = request
        self.hooks = hooks
        self.lib = _library(request)
        self.framer = SSEFramer()
        self.advance = self.framer.advance
        self.delivered = 0
        #: Events that may go through whole at the next :data:`READ` (see :meth:`_read`).
        self.room = 0
        self.buf = b""
        self.slow_token: object | None = None
        self.slow_begun = False
        self.settled = False
        #: What to send after the last event when a fault ends the stream (its error event).
        self.tail = b""

    # -- the steps ---------------------------------------------------------------------------
    def _read(self) -> Generator[Step, bytes | None, bytes | None]:
        """:data:`READ` the next chunk that must be looked at event by event. Before it, as
        many events as :attr:`room` says may go to the client whole, counted in C by the
        framer (``SSEFramer.advance``): while no fault looks at every event, those before
        the next fault's position."""
        room = 0
        if self.simple and not self.buf:
            acts = self.acts
            room = (acts[-1].at if acts else NEVER) - self.delivered
        self.room = room
        chunk = yield READ
        self.delivered += room - self.room
        return chunk

    def steps(self) -> Generator[Step, bytes | None, None]:
        """The stream as steps: :data:`READ` (see :meth:`_read`; ``None`` at the end),
        bytes to deliver, :class:`Sleep`, :data:`CLOSE`. Nothing is
        read ahead of the client: a fault due after N events acts when the client, having
        received them, asks for more. A stall's or a cut's error is raised from here."""
        acts = self.acts
        if not (acts and acts[-1].at <= 0 and (yield from self._act_due())):
            while (chunk := (yield from self._read())) is not None:
                if (yield from self._events(chunk)):
                    break
                # The client asks for more: act before the next chunk is read.
                acts = self.acts
                if acts and acts[-1].at <= self.delivered and (yield from self._act_due()):
                    break
            else:
                if self.buf:
                    tail, self.buf = self.buf, b""
                    yield tail
                self.delivered += self.framer.flush()
                if not (yield from self._act_due()):
                    return
        if self.tail:
            yield self.tail

    def _events(self, chunk: bytes) -> Generator[Step, Any, bool]:
        """The complete events of ``chunk``, one by one; ``True`` when the stream ends."""
        for unit in self.units(chunk):
            if (yield from self._act_due()):
                return True
            out, delay = self.event(unit)
            if out is None:
                yield CLOSE
                return True
            if delay > 0:
                yield Sleep(self.slow_token, delay)
                self.paced()
            yield out
            self.delivered += 1
        return False

    def _act_due(self) -> Generator[Step, Any, bool]:
        """Act on a stall, cut or truncation due now; ``True`` ends the stream cleanly."""
        act = self.due()
        while act is not None:
            kind = act.fault.fault_type
            if kind is FaultType.stream_stall:
                token, wait, error = self.stall(act)
                if token is not None:
                    try:
                        yield Sleep(token, wait)
                    finally:
                        self.hooks.end(token, error)
                    if error is not None:
                        yield CLOSE
                        raise error
            elif kind is FaultType.stream_cut:
                error = self.cut(act)
                if error is not None:
                    yield CLOSE
                    raise error
            elif self.truncate(act):
                yield CLOSE
                return True
            act = self.due()
        return False

    # -- the per-event decisions --------------------------------------------------------
    def _simplify(self) -> None:
        #: No fault looks at every event: chunks may go through whole.
        self.simple = self.slow is None and not self.truncating

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
                    self.hooks.skip(act.fault)
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
        started = time.perf_counter()
        token = self.begin(act.fault)
        if token is None:
            return None, 0.0, None
        wait = getattr(act.fault, "duration_ms", 0) / 1000.0
        limit = _read_timeout(self.request)
        error = None
        if limit is not None and limit < wait:
            wait, error = limit, self.lib.ReadTimeout("timed out", request=self.request)
        # The bookkeeping counts towards the stall: the client waits ``wait`` in all.
        return token, max(0.0, wait - (time.perf_counter() - started)), error

    def cut(self, act: _Act) -> BaseException | None:
        token = self.begin(act.fault)
        if token is None:
            return None
        error: BaseException = self.lib.ReadError(RESET_MESSAGE, request=self.request)
        self.hooks.end(token, error)
        return error

    def truncate(self, act: _Act) -> bool:
        """End the stream here (``truncated_stream``; ``stream_error_event`` after its event,
        left in :attr:`tail`); ``False`` when the fault does not act after all."""
        fault: Any = act.fault
        tail = b""
        if fault.fault_type is FaultType.stream_error_event:
            event = error_event(self.api, fault.error_type, fault.error_message, self.delivered)
            if event is None:  # no model API: no error event to send
                self.hooks.skip(fault)
                return False
            tail = event
        token = self.begin(fault)
        if token is None:
            return False
        self.tail = tail
        self.hooks.end(token, None)
        return True

    def event(self, unit: bytes) -> tuple[bytes | None, float]:
        """Before a complete event goes out: ``None`` ends the stream here (truncation);
        otherwise the event, maybe corrupted, and the delay to wait before it."""
        acts = self.acts
        if self.truncating and is_terminal_event(unit, self.api):
            for act in acts:
                if act.fault.fault_type in ENDING:
                    acts.remove(act)
                    if self.truncate(act):
                        return None, 0.0
                    break
            self.truncating = any(a.fault.fault_type in ENDING for a in acts)
            self._simplify()
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
                self._simplify()
                return 0.0
        return float(slow.duration_ms) / 1000.0

    def paced(self) -> None:
        """After the wait before an event: a ``first_only`` slow stream is over."""
        if self.slow is not None and self.slow.first_only:
            self.end_slow()
            self.slow = None
            self._simplify()

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

"""An experiment's firing window.

Every fault an experiment injects enters the window first (:meth:`Window.begin`) and leaves it
when done (:meth:`Window.end`). Closing the window refuses new faults, wakes every delay still
sleeping in it (sync and async alike), and lets the scheduler wait until the faults in flight
have finished before it writes the summary. So no fault of an experiment ever starts outside its
window, an abort takes effect at once, and the summary, the observations and the metrics count
the same faults.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time

__all__ = ["Window"]


class Window:
    __slots__ = (
        "_async_waiters",
        "_drained",
        "_inflight",
        "_lock",
        "_stop",
        "closed",
        "deadline",
        "fired",
        "max_total",
        "total",
    )

    def __init__(self, max_total: int | None = None) -> None:
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._drained = threading.Event()
        self._inflight = 0
        self._async_waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = set()
        self.closed = False
        #: Faults that entered the window, by ``id()`` of their FaultConfig, and in total.
        self.fired: dict[int, int] = {}
        self.total = 0
        #: No more faults than this enter the window (a ``max_injections`` stop condition).
        self.max_total = max_total
        #: ``time.monotonic()`` at which the window stops on its own: no fault starts after it
        #: and no delay outlasts it, whatever the thread that should close the window is doing.
        self.deadline: float | None = None

    def begin(self, key: int = 0) -> bool:
        """Enter the window for the fault at position ``key`` in its experiment; ``False``
        once it is closed or the cap on injections is reached (the fault must not fire)."""
        with self._lock:
            if self.closed or (self.max_total is not None and self.total >= self.max_total):
                return False
            if self.deadline is not None and time.monotonic() >= self.deadline:
                return False
            self._inflight += 1
            self.total += 1
            self.fired[key] = self.fired.get(key, 0) + 1
            return True

    def end(self) -> None:
        with self._lock:
            self._inflight -= 1
            if self.closed and self._inflight == 0:
                self._drained.set()

    def _cap(self, seconds: float) -> float:
        deadline = self.deadline
        if deadline is None:
            return seconds
        return max(0.0, min(seconds, deadline - time.monotonic()))

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds``, or less if the window closes (or its deadline passes) meanwhile."""
        self._stop.wait(self._cap(seconds))

    async def asleep(self, seconds: float) -> None:
        """Await ``seconds`` without blocking the loop, or less if the window closes meanwhile."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[None] = loop.create_future()
        key = (loop, fut)
        with self._lock:
            if self.closed:
                return
            self._async_waiters.add(key)
        handle = loop.call_later(self._cap(seconds), _wake, fut)
        try:
            await fut
        finally:
            handle.cancel()
            with self._lock:
                self._async_waiters.discard(key)

    def close(self) -> None:
        """Refuse new faults and wake every sleeping delay. Idempotent, any thread."""
        with self._lock:
            if self.closed:
                return
            self.closed = True
            self._stop.set()
            waiters = list(self._async_waiters)
            if self._inflight == 0:
                self._drained.set()
        for loop, fut in waiters:
            # A closed loop raises RuntimeError: nothing is waiting there any more.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_wake, fut)

    def wait_drained(self, timeout: float) -> bool:
        """After :meth:`close`, wait until no fault is in flight; ``False`` on timeout."""
        return self._drained.wait(timeout)

    @property
    def inflight(self) -> int:
        return self._inflight


def _wake(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)

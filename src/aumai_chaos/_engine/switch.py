"""The process's kill switch and routing flag: read on every firing path, written only by
``registry.enable()``/``disable()`` and the registry's routing bookkeeping.

Its own module so that both the decision (``calls``, ``registry``) and the act (``act``) can
read it without importing each other. "Stops injection at once" holds at the act too: a fault
decided just before :func:`~aumai_chaos.disable` was called begins only through
:meth:`_State.start_acting`, which refuses it once the switch is off, and ``disable()`` returns
only when every fault that had already begun is past its start (counted and recorded), so
nothing is recorded as fired after it returns. The cost is two uncontended lock operations per
fault that fires; a call on which nothing fires never comes here.
"""

from __future__ import annotations

import os
import threading

__all__ = ["DISABLED_ENV", "SWITCH_OFF_WAIT_S", "state"]

DISABLED_ENV = "AUMAI_CHAOS_DISABLED"


#: How long ``disable()`` waits for faults already starting (a span processor that blocks in
#: ``on_start`` must not hang the kill switch).
SWITCH_OFF_WAIT_S = 1.0


class _State:
    __slots__ = ("_cond", "_local", "_starting", "enabled", "routing")

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._starting = 0  # faults between start_acting() and done_starting(), all threads
        self._local = threading.local()  # .depth: those of the current thread
        #: Whether any experiment is routing anything now: the transport's cheapest check
        #: before it looks a component up. Stays true under the kill switch, whose experiments
        #: still observe (count and time) the calls they watch.
        self.routing = False
        self.enabled = os.environ.get(DISABLED_ENV, "").strip().lower() not in (
            "1",
            "true",
            "yes",
            "on",
        )

    def start_acting(self) -> bool:
        """A decided fault is about to act: ``False`` when the kill switch is off (it must
        not), else it is counted as starting until :meth:`done_starting`."""
        with self._cond:
            if not self.enabled:
                return False
            self._starting += 1
        local = self._local
        local.depth = getattr(local, "depth", 0) + 1
        return True

    def done_starting(self) -> None:
        self._local.depth -= 1
        with self._cond:
            self._starting -= 1
            if not self._starting:
                self._cond.notify_all()

    def switch(self, on: bool) -> None:
        """Turn injection on or off; off returns once the faults other threads had begun to
        start are past their start (at most :data:`SWITCH_OFF_WAIT_S`)."""
        own = getattr(self._local, "depth", 0)  # called from inside a start: not waited for
        with self._cond:
            self.enabled = on
            if not on:
                self._cond.wait_for(lambda: self._starting <= own, SWITCH_OFF_WAIT_S)


#: Read on the firing path of the decorators' gates; written only by enable()/disable().
state = _State()

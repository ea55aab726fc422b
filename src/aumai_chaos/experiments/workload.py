"""Workloads: the code an experiment exercises, called repeatedly while faults are active.

A workload is a callable taking no arguments, sync or async, given to
``ExperimentScheduler.run(..., workload=fn)`` or named in the experiment as
``"package.module:function"``. Each call is one *iteration*; an iteration that raises is an
outcome (a failure, counted with its exception type and the first message of that type), never a
crash of the experiment.

``interval_seconds`` pauses each worker between its iterations. At 0 they run back to back, but
after a failing iteration a worker pauses 1 ms, doubling on each further failure up to 10 ms
(:data:`FAILURE_BACKOFF_SECONDS`), until an iteration succeeds: a workload that fails at once,
every time, cannot spin a core at 100% for nothing.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import importlib
import inspect
import threading
import time
from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass, field
from types import TracebackType
from typing import Any

from opentelemetry import context as otel_context

from aumai_chaos._engine.telemetry import qualified_name
from aumai_chaos.errors import WorkloadError
from aumai_chaos.experiments.observer import ExperimentObserver
from aumai_chaos.experiments.units import RecoveryTracker

__all__ = [
    "FAILURE_BACKOFF_SECONDS",
    "WorkloadRunner",
    "check_no_arguments",
    "is_async_workload",
    "load_workload",
]

Workload = Callable[[], Any]
#: The first and the longest pause after consecutive failing iterations (interval 0 only).
FAILURE_BACKOFF_SECONDS = (0.001, 0.01)


def _backoff(failures: int) -> float:
    first, longest = FAILURE_BACKOFF_SECONDS
    return float(min(first * 2 ** min(failures - 1, 16), longest))


def _message(exc: BaseException) -> str:
    try:
        return str(exc)
    except Exception:  # an exception whose __str__ raises: never into the worker
        return f"<{type(exc).__name__} with an unprintable message>"


def check_no_arguments(fn: Any, target: str) -> None:
    """Raise :class:`WorkloadError` unless ``fn`` can be called with no arguments."""
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        return  # no signature to read (some builtins): the first iteration will tell
    try:
        signature.bind()
    except TypeError as exc:
        name = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or repr(fn)
        raise WorkloadError(
            f"workload {target!r} must be callable with no arguments, "
            f"but its signature is {name}{signature} ({exc})"
        ) from None


def load_workload(target: str) -> Workload:
    """Import ``"package.module:function"`` (attribute paths allowed after the colon)."""
    module_name, sep, attr_path = target.partition(":")
    if not sep or not module_name or not attr_path:
        raise WorkloadError(f"workload {target!r} must look like 'package.module:function'")
    try:
        obj: Any = importlib.import_module(module_name)
    except Exception as exc:
        raise WorkloadError(
            f"workload {target!r}: cannot import {module_name!r}: {type(exc).__name__}: {exc}"
        ) from exc
    for part in attr_path.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError as exc:
            raise WorkloadError(f"workload {target!r}: {module_name!r} has no {part!r}") from exc
    if not callable(obj):
        raise WorkloadError(f"workload {target!r} is not callable")
    check_no_arguments(obj, target)
    return obj  # type: ignore[no-any-return]


def is_async_workload(fn: Workload) -> bool:
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(
        getattr(fn, "__call__", None)  # noqa: B004 - an async __call__ makes an async workload
    )


def _serve_loop(loop: asyncio.AbstractEventLoop) -> None:
    """The workload's private loop thread: run ``loop`` until it is stopped, then close it, so
    that a loop whose stop waited for a hung iteration is still closed (never left for the
    garbage collector to find open)."""
    try:
        loop.run_forever()
    finally:
        loop.close()


@dataclass(eq=False, repr=False)
class WorkloadRunner:
    """Runs ``concurrency`` workers calling ``fn`` until :meth:`stop`.

    Sync workloads run on daemon threads; async ones as tasks on ``loop`` (the caller's loop
    under ``arun``) or on a private loop in a daemon thread. Each worker runs in ``ctx`` so that
    the spans of an iteration belong to the experiment's trace.
    """

    fn: Workload
    _: KW_ONLY
    concurrency: int
    interval: float
    observer: ExperimentObserver
    ctx: otel_context.Context
    loop: asyncio.AbstractEventLoop | None = None
    #: Each iteration is a unit of work of this tracker (the fault window's).
    units: RecoveryTracker | None = None
    is_async: bool = field(init=False)
    _stop: threading.Event = field(init=False, default_factory=threading.Event)
    _own_loop_thread: threading.Thread | None = field(init=False, default=None)
    _threads: list[threading.Thread] = field(init=False, default_factory=list)
    _futures: list[concurrent.futures.Future[None]] = field(init=False, default_factory=list)
    _astop: asyncio.Event | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self.is_async = is_async_workload(self.fn)

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> None:
        if not self.is_async:
            for i in range(self.concurrency):
                t = threading.Thread(
                    target=self._thread_worker, name=f"aumai-chaos-workload-{i}", daemon=True
                )
                self._threads.append(t)
                t.start()
            return
        loop = self.loop
        if loop is None:
            loop = asyncio.new_event_loop()
            self.loop = loop
            self._own_loop_thread = threading.Thread(
                target=_serve_loop, args=(loop,), name="aumai-chaos-workload-loop", daemon=True
            )
            self._own_loop_thread.start()
        for _ in range(self.concurrency):
            fut = asyncio.run_coroutine_threadsafe(self._task_worker(), loop)
            self._futures.append(fut)

    def stop(self) -> None:
        """Ask every worker to finish its current iteration and stop."""
        self._stop.set()
        loop = self.loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._set_astop)

    def join(self, timeout: float) -> int:
        """Wait up to ``timeout`` s for the workers; cancel what is left. Returns how many
        iterations were still unfinished (hung past the end)."""
        deadline = time.monotonic() + timeout
        hung = 0
        for t in self._threads:
            t.join(max(0.0, deadline - time.monotonic()))
            hung += t.is_alive()
        if self._futures:
            _, pending = concurrent.futures.wait(
                self._futures, timeout=max(0.0, deadline - time.monotonic())
            )
            hung += len(pending)
            for fut in pending:
                fut.cancel()
            if pending:
                concurrent.futures.wait(pending, timeout=0.2)
        if self._own_loop_thread is not None and self.loop is not None:
            loop = self.loop
            # As asyncio.run does: close the async generators still open (an SDK's stream
            # readers), or the garbage collector finalises them later against a closed loop.
            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(loop.shutdown_asyncgens(), loop).result(0.5)
            with contextlib.suppress(RuntimeError):  # the loop may have closed itself already
                loop.call_soon_threadsafe(loop.stop)
            # The loop's own thread closes it once it stops (_serve_loop), also when an
            # iteration that hung past the end only lets it stop later.
            self._own_loop_thread.join(0.5)
        return hung

    # -- workers -------------------------------------------------------------------------------

    def _thread_worker(self) -> None:
        token = otel_context.attach(self.ctx)
        try:
            fn, stop = self.fn, self._stop
            # Whatever an iteration raises is the workload's own outcome, even SystemExit or
            # KeyboardInterrupt: a worker thread never receives Ctrl-C.
            iteration = _Iterations(self, lambda exc: True)
            while not stop.is_set():
                with iteration:
                    fn()
                if iteration.pause > 0:
                    stop.wait(iteration.pause)
        finally:
            otel_context.detach(token)

    def _set_astop(self) -> None:
        if self._astop is not None:
            self._astop.set()

    async def _task_worker(self) -> None:
        if self._astop is None:
            self._astop = asyncio.Event()
            if self._stop.is_set():
                self._astop.set()
        astop = self._astop
        token = otel_context.attach(self.ctx)
        try:
            fn, stop = self.fn, self._stop
            iteration = _Iterations(self, _workloads_own)
            while not stop.is_set():
                with iteration:
                    await fn()
                if iteration.pause > 0:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(astop.wait(), iteration.pause)
                else:
                    await asyncio.sleep(0)
        finally:
            otel_context.detach(token)


def _workloads_own(exc: BaseException) -> bool:
    """In a task worker, whether ``exc`` is an outcome of the workload (an ``Exception``, or
    the cancellation of an inner task it cancelled), not the runner stopping this worker."""
    if isinstance(exc, asyncio.CancelledError):
        task = asyncio.current_task()
        return task is not None and not task.cancelling()
    return isinstance(exc, Exception)


class _Iterations:
    """One worker's iterations, for the thread and the task drivers alike: ``with`` around
    each call of the workload begins an iteration (its unit of work, its start time); leaving
    records its outcome and swallows what the workload raised (what ``owns`` says is its own).
    :attr:`pause` is then how long to wait before the next: the interval, else a backoff after
    a failure."""

    __slots__ = ("_owns", "_runner", "_t0", "_unit", "failures", "pause")

    def __init__(self, runner: WorkloadRunner, owns: Callable[[BaseException], bool]) -> None:
        self._runner = runner
        self._owns = owns
        self._unit: Any = None
        self._t0 = 0.0
        #: Failing iterations in a row.
        self.failures = 0
        self.pause = 0.0

    def __enter__(self) -> None:
        units = self._runner.units
        self._unit = units.begin("iteration") if units is not None else None
        self._t0 = time.perf_counter()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        if exc is not None and not self._owns(exc):
            return False
        runner = self._runner
        duration_ms = (time.perf_counter() - self._t0) * 1000.0
        error = None if exc is None else qualified_name(type(exc))
        if self._unit is not None and runner.units is not None:
            runner.units.end(self._unit, error)
        if exc is None:
            runner.observer.record_iteration(duration_ms, None)
            self.failures = 0
        else:
            runner.observer.record_iteration(duration_ms, error, _message(exc))
            self.failures += 1
        failures, interval = self.failures, runner.interval
        self.pause = interval if interval > 0 else _backoff(failures) if failures else 0.0
        return True

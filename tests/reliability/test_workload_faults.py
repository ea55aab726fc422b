"""A user's workload or hook that misbehaves: the run ends on time, reports ``completed`` or
``failed`` truthfully, and says what happened.

Already covered in tests/experiments/test_scheduler.py, and not repeated here: iterations that
raise ordinary exceptions (counted by type), sync and async iterations that hang past the end
(abandoned after the grace, with a note), a workload that cannot be loaded, and a progress hook
that raises (the run fails, saying why).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from aumai_chaos import (
    ChaosError,
    ChaosExperiment,
    ExperimentScheduler,
    ExperimentStatus,
    FaultConfig,
    chaos_target,
)
from tests.experiments.support import unique

DURATION = 0.3
GRACE = 1.0  # how long a finished run waits for iterations still in flight
SLACK = 0.3  # how long past its duration a run's window may stay open, at most (0.25 s)
TARGET = unique("wlfaults.target")


@chaos_target(TARGET)
def target() -> str:
    return "ok"


def experiment(concurrency: int = 1, **fields: Any) -> ChaosExperiment:
    return ChaosExperiment(
        experiment_id=unique("wlfaults"),
        name="workload faults",
        duration_seconds=DURATION,
        tick_seconds=0.05,
        seed=6,
        workload={"target": "unused.module:unused", "concurrency": concurrency},
        **fields,
    )


def timed_run(exp: ChaosExperiment, **kwargs: Any) -> tuple[Any, float]:
    scheduler = ExperimentScheduler()
    eid = scheduler.schedule(exp)
    t0 = time.perf_counter()
    result = scheduler.run(eid, **kwargs)
    return result, time.perf_counter() - t0


class Stop(BaseException):
    """A BaseException of the user's own."""


class BadStrError(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no str for you")

    def __repr__(self) -> str:
        raise RuntimeError("no repr either")


def raising(exc_factory: Callable[[], BaseException]) -> Callable[[], None]:
    def workload() -> None:
        time.sleep(0.002)
        raise exc_factory()

    return workload


@pytest.mark.parametrize(
    ("factory", "type_name"),
    [
        (KeyboardInterrupt, "KeyboardInterrupt"),
        (lambda: SystemExit(3), "SystemExit"),
        (Stop, f"{__name__}.Stop"),
        (BadStrError, f"{__name__}.BadStrError"),
        (lambda: ExceptionGroup("many", [ValueError(), ChaosError()]), "ExceptionGroup"),
        (lambda: StopIteration(), "StopIteration"),
    ],
    ids=["KeyboardInterrupt", "SystemExit", "BaseException", "bad-str", "group", "StopIteration"],
)
def test_every_iteration_that_raises_is_a_counted_failure(
    factory: Callable[[], BaseException], type_name: str
) -> None:
    """Whatever a sync iteration raises, even a BaseException (a worker thread never receives
    Ctrl-C, so all of it is the workload's), it is one failed iteration of that type, and the
    worker goes on."""
    result, _ = timed_run(experiment(concurrency=3), workload=raising(factory))
    # No fault is declared, and every iteration failed: the workload itself is broken (issue
    # 11), and the run says so with the first exception.
    assert result.status is ExperimentStatus.failed
    assert "the workload is broken" in (result.error or "")
    assert type_name in (result.error or "")
    workload = result.summary["workload"]
    assert workload["iterations"] == workload["failures"] > 3 * 3  # every worker kept going
    assert workload["failure_types"] == {type_name: workload["failures"]}
    assert "notes" not in result.summary


def test_an_async_iteration_raising_its_own_cancelled_error_is_a_counted_failure() -> None:
    """A ``CancelledError`` the workload raises itself (an inner task it cancelled, say) is a
    failed iteration; only the runner's own cancellation stops a worker."""
    count = 0

    async def workload() -> None:
        nonlocal count
        count += 1
        n = count
        await asyncio.sleep(0.002)
        if n % 2:
            inner = asyncio.ensure_future(asyncio.sleep(10))
            inner.cancel()
            await inner  # raises CancelledError into this iteration

    result, elapsed = timed_run(experiment(concurrency=2), workload=workload)
    assert result.status is ExperimentStatus.completed, result.error
    assert elapsed < DURATION + 10
    workload_stats = result.summary["workload"]
    assert workload_stats["iterations"] == count > 20
    assert workload_stats["failure_types"] == {
        "asyncio.exceptions.CancelledError": workload_stats["failures"]
    }
    assert abs(workload_stats["failures"] - count / 2) <= 2


def test_a_workload_with_the_wrong_signature_fails_the_run_and_says_why() -> None:
    def needs_an_argument(x: int) -> None:
        return None

    result, _ = timed_run(experiment(), workload=needs_an_argument)
    assert result.status is ExperimentStatus.failed
    assert "must be callable with no arguments" in (result.error or "")
    assert "needs_an_argument(x: 'int')" in (result.error or "")


@pytest.fixture
def leaked() -> Iterator[list[threading.Thread]]:
    threads: list[threading.Thread] = []
    yield threads
    for thread in threads:  # let the leaked threads finish before the next test
        thread.join(5)


def test_a_workload_that_leaks_threads_ends_on_time(leaked: list[threading.Thread]) -> None:
    """Each iteration starts a non-daemon thread that outlives the run: the run neither waits
    for them nor miscounts."""
    release = threading.Event()

    def workload() -> None:
        thread = threading.Thread(target=release.wait, args=(30.0,))  # non-daemon
        leaked.append(thread)
        thread.start()
        target()
        time.sleep(0.01)

    exp = experiment(
        faults=[FaultConfig(fault_type="error", probability=0.5, affected_components=[TARGET])]
    )
    result, elapsed = timed_run(exp, workload=workload)
    alive = sum(t.is_alive() for t in leaked)
    release.set()
    assert result.status is ExperimentStatus.completed, result.error
    assert elapsed < DURATION + 10, elapsed  # not the 30 s the threads would live
    assert alive == len(leaked) > 10  # they were all still running when the run returned
    workload_stats = result.summary["workload"]
    assert workload_stats["iterations"] == len(leaked)
    assert workload_stats["failures"] == result.summary["components"][TARGET]["errors"]
    assert "notes" not in result.summary


def test_an_async_workload_that_ignores_cancellation_ends_on_time() -> None:
    """An iteration that swallows every cancellation cannot hold the run past the grace."""
    started = threading.Event()

    async def stubborn() -> None:
        started.set()
        while True:
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                continue

    result, elapsed = timed_run(experiment(concurrency=2), workload=stubborn)
    assert started.is_set()
    assert result.status is ExperimentStatus.completed, result.error
    assert elapsed < DURATION + GRACE + 10, elapsed  # not forever
    assert result.summary["notes"] == [
        f"2 workload iteration(s) still running {GRACE:g}s after the end were abandoned"
    ]


def test_a_progress_hook_that_hangs_cannot_stretch_the_fault_window() -> None:
    """The run thread is the hook's to hold, but the faults stop when the duration is up (within
    a quarter of a second): the window closes on time however long the hook keeps the run from
    returning, and the result says the run ended late."""
    fired_after_end: list[float] = []
    deadline: list[float] = []
    stop = threading.Event()

    def progress(elapsed: float, total: float) -> None:
        if not deadline:
            deadline.append(time.monotonic() - elapsed + total)
        if elapsed > total * 0.5:
            time.sleep(DURATION + 1.5)  # hangs well past the end

    def caller() -> None:
        while not stop.is_set():
            try:
                target()
            except ChaosError:
                if deadline and time.monotonic() > deadline[0] + SLACK:
                    fired_after_end.append(time.monotonic() - deadline[0])
            time.sleep(0.001)

    thread = threading.Thread(target=caller, daemon=True)
    thread.start()
    try:
        exp = ChaosExperiment(
            experiment_id=unique("wlfaults-hook"),
            name="hanging hook",
            duration_seconds=DURATION,
            tick_seconds=0.05,
            faults=[FaultConfig(fault_type="error", affected_components=[TARGET])],
        )
        result, elapsed = timed_run(exp, progress=progress)
    finally:
        stop.set()
        thread.join(5)
    assert elapsed > DURATION + 1.0  # the hook held the run thread
    assert not fired_after_end, f"faults fired {fired_after_end[:3]} s after the end"
    assert result.status is ExperimentStatus.completed
    assert result.summary["total_faults_fired"] > 0
    assert any("late" in note for note in result.summary.get("notes", [])), result.summary

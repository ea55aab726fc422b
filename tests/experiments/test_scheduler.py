"""ExperimentScheduler: scheduling, running, aborting, inspecting, asyncio, and failed runs."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from aumai_chaos import (
    AumaiChaosError,
    ChaosError,
    ExperimentNotFoundError,
    ExperimentScheduler,
    ExperimentStateError,
    ExperimentStatus,
    FaultConfig,
    chaos_target,
)
from tests.experiments.support import Background, experiment, experiment_span, unique, wait_until

#: An abort returns long before the run (600 s) or a delay (600 s) would have ended, even on a
#: loaded machine. How fast (under 100 ms) is the benchmarks' enforced abort budget.
ABORT_LIMIT_S = 5.0

SLOW_SYNC = unique("sched.slow-sync")
SLOW_ASYNC = unique("sched.slow-async")
QUICK = unique("sched.quick")


@chaos_target(SLOW_SYNC)
def slow_sync() -> None:
    return None


@chaos_target(SLOW_ASYNC)
async def slow_async() -> None:
    return None


@chaos_target(QUICK)
def quick() -> None:
    return None


class BoomError(Exception):
    """A workload's own failure."""


@pytest.fixture
def scheduler() -> ExperimentScheduler:
    return ExperimentScheduler()


# -- schedule / run / state --------------------------------------------------------------------


def test_schedule_returns_the_id(scheduler: ExperimentScheduler) -> None:
    exp = experiment(experiment_id="sched-returns-id")
    assert scheduler.schedule(exp) == "sched-returns-id"
    assert scheduler.status("sched-returns-id") is ExperimentStatus.pending
    assert scheduler.get_experiment("sched-returns-id") is exp
    assert scheduler.get_observer("sched-returns-id") is None


def test_scheduling_an_id_twice_is_an_error(scheduler: ExperimentScheduler) -> None:
    first = experiment()
    scheduler.schedule(first)
    with pytest.raises(ExperimentStateError, match="already scheduled"):
        scheduler.schedule(experiment(experiment_id=first.experiment_id, name="other"))
    assert scheduler.get_experiment(first.experiment_id) is first
    assert list(scheduler.list_experiments()) == [first.experiment_id]


def test_schedule_needs_an_experiment(scheduler: ExperimentScheduler) -> None:
    with pytest.raises(TypeError):
        scheduler.schedule({"experiment_id": "x"})  # type: ignore[arg-type]


def test_unknown_id_raises_experiment_not_found(scheduler: ExperimentScheduler) -> None:
    """FAQ: ``ExperimentNotFoundError`` from ``scheduler.run(experiment_id)`` until scheduled."""
    with pytest.raises(ExperimentNotFoundError) as info:
        scheduler.run("never-scheduled")
    assert info.value.experiment_id == "never-scheduled"
    assert "schedule" in str(info.value)
    assert isinstance(info.value, KeyError)
    assert isinstance(info.value, AumaiChaosError)
    for method in (scheduler.abort, scheduler.get_result, scheduler.status):
        with pytest.raises(ExperimentNotFoundError):
            method("never-scheduled")


def test_running_twice_is_an_error(scheduler: ExperimentScheduler) -> None:
    eid = scheduler.schedule(experiment(duration_seconds=0.1))
    first = scheduler.run(eid)
    assert first.status is ExperimentStatus.completed
    with pytest.raises(ExperimentStateError, match="completed"):
        scheduler.run(eid)
    assert scheduler.get_result(eid) is first


def test_running_while_running_is_an_error(scheduler: ExperimentScheduler) -> None:
    eid = scheduler.schedule(experiment(duration_seconds=30))
    bg = Background(scheduler, eid).start()
    wait_until(lambda: scheduler.status(eid) is ExperimentStatus.running)
    with pytest.raises(ExperimentStateError, match="running"):
        scheduler.run(eid)
    scheduler.abort(eid)
    assert bg.join().status is ExperimentStatus.aborted


def test_list_experiments_in_scheduling_order(scheduler: ExperimentScheduler) -> None:
    ids = [scheduler.schedule(experiment(duration_seconds=0.1)) for _ in range(3)]
    assert scheduler.list_experiments() == dict.fromkeys(ids, ExperimentStatus.pending)
    scheduler.run(ids[1])
    scheduler.abort(ids[2])
    scheduler.run(ids[2])
    assert scheduler.list_experiments() == {
        ids[0]: ExperimentStatus.pending,
        ids[1]: ExperimentStatus.completed,
        ids[2]: ExperimentStatus.aborted,
    }


def test_get_result_while_running_is_a_running_snapshot(scheduler: ExperimentScheduler) -> None:
    exp = experiment(
        duration_seconds=30,
        seed=5,
        faults=[FaultConfig(fault_type="error", probability=1.0, affected_components=[QUICK])],
    )
    eid = scheduler.schedule(exp)
    pending = scheduler.get_result(eid)
    assert pending.status is ExperimentStatus.pending
    assert pending.start_time is None
    assert pending.summary == {}

    def workload() -> None:
        quick()
        time.sleep(0.005)

    bg = Background(scheduler, eid, workload=workload).start()
    wait_until(lambda: scheduler.get_result(eid).summary.get("total_faults_fired", 0) >= 3)
    snapshot = scheduler.get_result(eid)
    assert snapshot.status is ExperimentStatus.running
    assert snapshot.start_time is not None
    assert snapshot.end_time is None
    assert snapshot.seed == 5
    assert snapshot.summary["faults_by_type"]["error"] >= 3
    assert any(o.event == "fault_injected" for o in snapshot.observations)
    observer = scheduler.get_observer(eid)
    assert observer is not None
    scheduler.abort(eid)
    final = bg.join()
    assert final.status is ExperimentStatus.aborted
    assert scheduler.get_result(eid) is final
    assert final.summary["total_faults_fired"] >= snapshot.summary["total_faults_fired"]


# -- abort --------------------------------------------------------------------------------------


def _long_latency_sync() -> None:
    slow_sync()


async def _long_latency_async() -> None:
    await slow_async()


def _sleepy() -> None:
    time.sleep(0.002)


async def _asleepy() -> None:
    await asyncio.sleep(0.002)


ABORT_CASES: dict[str, tuple[Callable[[], Any] | None, list[FaultConfig]]] = {
    "no-workload": (None, [FaultConfig(fault_type="error", probability=0.5)]),
    "no-workload-in-a-long-synthetic-delay": (
        None,
        [FaultConfig(fault_type="latency", probability=1.0, duration_ms=600_000)],
    ),
    "sync-workload": (_sleepy, []),
    "async-workload": (_asleepy, []),
    "sync-workload-in-a-long-latency-fault": (
        _long_latency_sync,
        [
            FaultConfig(
                fault_type="latency",
                probability=1.0,
                duration_ms=600_000,
                affected_components=[SLOW_SYNC],
            )
        ],
    ),
    "async-workload-in-a-long-timeout-fault": (
        _long_latency_async,
        [
            FaultConfig(
                fault_type="timeout",
                probability=1.0,
                duration_ms=600_000,
                affected_components=[SLOW_ASYNC],
            )
        ],
    ),
}


@pytest.mark.parametrize("case", list(ABORT_CASES))
def test_abort_returns_within_100_ms(scheduler: ExperimentScheduler, case: str) -> None:
    workload, faults = ABORT_CASES[case]
    exp = experiment(duration_seconds=600, tick_seconds=0.05, seed=1, faults=faults)
    eid = scheduler.schedule(exp)
    kwargs = {"workload": workload} if workload is not None else {}
    bg = Background(scheduler, eid, **kwargs).start()
    wait_until(lambda: scheduler.status(eid) is ExperimentStatus.running)
    time.sleep(0.25)  # deep inside the run (and inside the 10-minute delays, where there are some)
    before = time.perf_counter()
    assert scheduler.abort(eid) is True
    result = bg.join(5)
    assert bg.returned_at is not None
    latency = bg.returned_at - before
    assert latency < ABORT_LIMIT_S, f"run() returned {latency * 1000:.1f} ms after abort()"
    assert result.status is ExperimentStatus.aborted
    assert result.summary["duration_seconds"] < 15  # not the 600 s it asked for
    assert "notes" not in result.summary  # nothing was left hanging
    if faults and faults[0].duration_ms == 600_000:
        assert result.summary["total_faults_fired"] >= 1  # a delay was cut short, not skipped


def test_abort_before_run_returns_at_once(scheduler: ExperimentScheduler) -> None:
    eid = scheduler.schedule(experiment(duration_seconds=600, tick_seconds=1))
    assert scheduler.abort(eid) is True
    t0 = time.perf_counter()
    result = scheduler.run(eid)
    assert time.perf_counter() - t0 < ABORT_LIMIT_S
    assert result.status is ExperimentStatus.aborted
    assert scheduler.abort(eid) is False  # already finished


def test_abort_after_completion_is_a_no_op(scheduler: ExperimentScheduler) -> None:
    eid = scheduler.schedule(experiment(duration_seconds=0.1))
    assert scheduler.run(eid).status is ExperimentStatus.completed
    assert scheduler.abort(eid) is False
    assert scheduler.status(eid) is ExperimentStatus.completed


def test_aborting_one_of_two_concurrent_runs_leaves_the_other(
    scheduler: ExperimentScheduler,
) -> None:
    short = experiment(duration_seconds=0.8, seed=2, faults=[FaultConfig(fault_type="error")])
    long = experiment(duration_seconds=600, seed=3, faults=[FaultConfig(fault_type="error")])
    a = Background(scheduler, scheduler.schedule(short)).start()
    b = Background(scheduler, scheduler.schedule(long)).start()
    wait_until(lambda: scheduler.status(long.experiment_id) is ExperimentStatus.running)
    observers = {
        scheduler.get_observer(short.experiment_id),
        scheduler.get_observer(long.experiment_id),
    }
    assert len(observers) == 2
    time.sleep(0.2)
    before = time.perf_counter()
    scheduler.abort(long.experiment_id)
    aborted = b.join(5)
    assert b.returned_at is not None
    assert b.returned_at - before < ABORT_LIMIT_S
    assert scheduler.status(short.experiment_id) is ExperimentStatus.running
    completed = a.join(5)
    assert aborted.status is ExperimentStatus.aborted
    assert completed.status is ExperimentStatus.completed
    assert completed.summary["duration_seconds"] >= 0.8
    # Each run saw only its own synthetic faults: one every tick (0.8 s of 0.1 s ticks).
    ticks = completed.summary["components"]["synthetic"]["calls"]
    assert 7 <= ticks <= 8
    assert completed.summary["total_faults_fired"] == ticks
    assert all(
        o.details["chaos.experiment.id"] == short.experiment_id
        for o in completed.observations
        if o.event == "fault_injected"
    )


# -- asyncio --------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_arun_runs_an_async_workload_on_the_callers_loop() -> None:
    exp = experiment(
        duration_seconds=0.8,
        seed=4,
        faults=[
            FaultConfig(
                fault_type="latency",
                probability=0.5,
                duration_ms=200,
                affected_components=[SLOW_ASYNC],
            )
        ],
    )
    scheduler = ExperimentScheduler()
    eid = scheduler.schedule(exp)
    loop = asyncio.get_running_loop()
    seen: list[tuple[asyncio.AbstractEventLoop, int]] = []

    async def workload() -> None:
        seen.append((asyncio.get_running_loop(), threading.get_ident()))
        await slow_async()

    gaps: list[float] = []
    stop = asyncio.Event()

    async def ticker() -> None:
        last = time.perf_counter()
        while not stop.is_set():
            await asyncio.sleep(0.005)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    ticking = asyncio.create_task(ticker())
    result = await scheduler.arun(eid, workload=workload)
    stop.set()
    await ticking

    assert result.status is ExperimentStatus.completed
    assert seen
    assert set(seen) == {(loop, threading.get_ident())}
    assert result.summary["workload"]["iterations"] == len(seen)
    assert result.summary["faults_by_type"]["latency"] >= 1
    # The loop kept ticking through 200 ms delays: it was never blocked.
    assert len(gaps) > 50
    assert max(gaps) < 0.1, f"the event loop stalled for {max(gaps) * 1000:.0f} ms"


@pytest.mark.asyncio
async def test_arun_with_a_sync_workload_and_without_one() -> None:
    scheduler = ExperimentScheduler()
    plain = scheduler.schedule(
        experiment(duration_seconds=0.2, faults=[FaultConfig(fault_type="error")])
    )
    with_sync = scheduler.schedule(experiment(duration_seconds=0.2))
    first = await scheduler.arun(plain)
    second = await scheduler.arun(with_sync, workload=_sleepy)
    assert first.status is second.status is ExperimentStatus.completed
    assert first.summary["total_faults_fired"] == 2
    assert second.summary["workload"]["iterations"] > 0


@pytest.mark.asyncio
async def test_cancelling_arun_aborts_the_run() -> None:
    exp = experiment(
        duration_seconds=600,
        faults=[FaultConfig(fault_type="error", probability=1.0, affected_components=[QUICK])],
    )
    scheduler = ExperimentScheduler()
    eid = scheduler.schedule(exp)

    async def workload() -> None:
        await asyncio.sleep(0.005)

    with pytest.raises(TimeoutError):
        await asyncio.wait_for(scheduler.arun(eid, workload=workload), 0.3)
    deadline = time.monotonic() + 1.0
    while scheduler.status(eid) is ExperimentStatus.running:
        assert time.monotonic() < deadline, "the run went on after arun() was cancelled"
        await asyncio.sleep(0.005)
    assert scheduler.status(eid) is ExperimentStatus.aborted
    assert scheduler.get_result(eid).error is None
    for _ in range(1000):
        quick()  # no fault of the cancelled run fires any more


# -- failed runs and failing iterations ------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("no_such_module_for_aumai_tests:run", "cannot import 'no_such_module_for_aumai_tests'"),
        ("tests.experiments.workloads:no_such_function", "has no 'no_such_function'"),
        ("tests.experiments.workloads:NOT_CALLABLE", "is not callable"),
    ],
)
def test_a_workload_that_cannot_load_fails_the_run(
    tracer_provider: TracerProvider,
    span_exporter: InMemorySpanExporter,
    target: str,
    expected: str,
) -> None:
    scheduler = ExperimentScheduler(tracer_provider=tracer_provider)
    exp = experiment(duration_seconds=30, workload=target, faults=[FaultConfig(fault_type="error")])
    eid = scheduler.schedule(exp)
    t0 = time.perf_counter()
    result = scheduler.run(eid)
    assert time.perf_counter() - t0 < 15.0  # failed at once, not after the 30 s
    assert result.status is ExperimentStatus.failed
    assert result.error is not None
    assert result.error.startswith("WorkloadError: ")
    assert expected in result.error
    assert result.end_time is not None
    assert scheduler.status(eid) is ExperimentStatus.failed
    assert scheduler.list_experiments()[eid] is ExperimentStatus.failed
    assert result.summary["total_faults_fired"] == 0
    span = experiment_span(span_exporter, eid)
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes is not None
    assert span.attributes["chaos.experiment.status"] == "failed"
    assert span.attributes["error.type"] == "aumai_chaos.errors.WorkloadError"


def test_a_failing_progress_hook_fails_the_run(scheduler: ExperimentScheduler) -> None:
    def progress(elapsed: float, total: float) -> None:
        if elapsed > 0.1:
            raise RuntimeError("hook bug")

    eid = scheduler.schedule(experiment(duration_seconds=30))
    result = scheduler.run(eid, progress=progress, workload=_sleepy)
    assert result.status is ExperimentStatus.failed
    assert result.error == "RuntimeError: hook bug"
    assert result.summary["duration_seconds"] < 15  # not the 30 s it asked for
    assert scheduler.status(eid) is ExperimentStatus.failed


def test_progress_is_reported(scheduler: ExperimentScheduler) -> None:
    calls: list[tuple[float, float]] = []
    eid = scheduler.schedule(experiment(duration_seconds=0.5))
    scheduler.run(eid, progress=lambda elapsed, total: calls.append((elapsed, total)))
    assert len(calls) >= 4
    assert all(total == 0.5 and 0 <= elapsed <= total for elapsed, total in calls)
    assert [e for e, _ in calls] == sorted(e for e, _ in calls)


def test_failing_iterations_are_outcomes(scheduler: ExperimentScheduler) -> None:
    outcomes: list[str] = []
    lock = threading.Lock()

    def workload() -> None:
        with lock:
            n = len(outcomes)
            outcomes.append("ok" if n % 3 == 0 else "boom" if n % 3 == 1 else "value")
        time.sleep(0.002)
        if n % 3 == 1:
            raise BoomError("iteration failed")
        if n % 3 == 2:
            raise ValueError("bad value")

    eid = scheduler.schedule(experiment(duration_seconds=0.3))
    result = scheduler.run(eid, workload=workload)
    assert result.status is ExperimentStatus.completed
    assert result.error is None
    wl = result.summary["workload"]
    assert wl["iterations"] == len(outcomes) > 6
    assert wl["failures"] == outcomes.count("boom") + outcomes.count("value")
    assert wl["failure_types"] == {
        f"{__name__}.BoomError": outcomes.count("boom"),
        "ValueError": outcomes.count("value"),
    }
    iterations = [o for o in result.observations if o.event == "iteration"]
    assert len(iterations) == len(outcomes)
    assert {o.details["error_type"] for o in iterations} == {
        None,
        f"{__name__}.BoomError",
        "ValueError",
    }


def test_injected_faults_in_iterations_are_counted_failures(scheduler: ExperimentScheduler) -> None:
    exp = experiment(
        duration_seconds=0.3,
        faults=[FaultConfig(fault_type="error", probability=1.0, affected_components=[QUICK])],
    )

    def workload() -> None:
        quick()

    result = scheduler.run(scheduler.schedule(exp), workload=workload)
    wl = result.summary["workload"]
    # p = 1: every iteration failed, but maybe the last (the run's end closed the window on it).
    assert wl["iterations"] - 1 <= wl["failures"] <= wl["iterations"]
    assert wl["failures"] > 10
    assert wl["failure_types"] == {f"{ChaosError.__module__}.ChaosError": wl["failures"]}


@pytest.fixture
def release() -> Iterator[threading.Event]:
    event = threading.Event()
    yield event
    event.set()  # let the abandoned iteration's thread finish


def test_a_sync_workload_that_hangs_ends_on_time(
    scheduler: ExperimentScheduler, release: threading.Event
) -> None:
    started = threading.Event()

    def workload() -> None:
        started.set()
        release.wait(60)

    eid = scheduler.schedule(experiment(duration_seconds=0.3))
    t0 = time.perf_counter()
    result = scheduler.run(eid, workload=workload)
    elapsed = time.perf_counter() - t0
    assert started.is_set()
    # The duration plus the 1 s grace, and not the 60 s the iteration would hang.
    assert 1.3 <= elapsed < 1.3 + 10, elapsed
    assert result.status is ExperimentStatus.completed
    assert result.summary["notes"] == [
        "1 workload iteration(s) still running 1s after the end were abandoned"
    ]
    assert result.summary["workload"]["iterations"] == 0


def test_an_async_workload_that_hangs_ends_on_time(scheduler: ExperimentScheduler) -> None:
    cancelled: list[bool] = []

    async def workload() -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    exp = experiment(duration_seconds=0.3, workload={"target": "x.y:z", "concurrency": 2})
    eid = scheduler.schedule(exp)
    t0 = time.perf_counter()
    result = scheduler.run(eid, workload=workload)
    elapsed = time.perf_counter() - t0
    assert 1.3 <= elapsed < 1.3 + 10, elapsed  # not the hour the iterations would sleep
    assert result.status is ExperimentStatus.completed
    assert result.summary["notes"] == [
        "2 workload iteration(s) still running 1s after the end were abandoned"
    ]
    assert cancelled == [True, True]

"""Load and concurrency: 16 threads and 1,000 asyncio tasks call targeted components for 11 s
while seeded experiments start, overlap, complete and are aborted around them.

Checked: no exception other than an injected fault reaches a caller; no fault fires outside its
experiment's window; each summary's counts equal that experiment's metric sums and spans; memory
stays flat (observations capped); no thread is left behind.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import gc
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from opentelemetry.context import Context
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider

from aumai_chaos import (
    ChaosExperiment,
    ExperimentResult,
    ExperimentScheduler,
    ExperimentStatus,
    FaultConfig,
    InjectedFaultError,
    chaos_target,
)
from tests.experiments.support import unique, wait_until
from tests.helpers import metrics_by_name, points

pytestmark = pytest.mark.slow

LOAD_SECONDS = 11.0
WARM_UP_SECONDS = 3.0
THREADS = 16
TASKS = 1000
MAX_OBSERVATIONS = 1000
RSS_GROWTH_LIMIT = 4 * 1024 * 1024
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

SYNC = [unique("stress.sync"), unique("stress.sync")]
ASYNC = [unique("stress.async"), unique("stress.async")]


@chaos_target(SYNC[0])
def sync_0(value: int) -> int:
    return value


@chaos_target(SYNC[1])
def sync_1(value: int) -> int:
    return value + 1


@chaos_target(ASYNC[0])
async def async_0(value: int) -> int:
    await asyncio.sleep(0)
    return value


@chaos_target(ASYNC[1])
async def async_1(value: int) -> int:
    return value + 1


def ns(value: datetime) -> int:
    """A datetime as integer nanoseconds since the epoch, exactly (no float rounding)."""
    return (value - EPOCH) // timedelta(microseconds=1) * 1000


def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096


# -- what the telemetry saw ----------------------------------------------------------------------


@dataclass
class FaultWindow:
    count: int = 0
    first_start: int = 2**63
    last_start: int = 0
    last_end: int = 0
    by_type: Counter[str] = field(default_factory=Counter)


class FaultSpans(SpanProcessor):
    """Aggregates ``chaos.fault`` spans per experiment (constant memory, unlike an exporter)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.by_experiment: dict[str, FaultWindow] = {}
        self.orphans = 0

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        return None

    def on_end(self, span: ReadableSpan) -> None:
        if span.name != "chaos.fault":
            return
        attrs = span.attributes or {}
        eid = attrs.get("chaos.experiment.id")
        with self.lock:
            if eid is None:
                self.orphans += 1
                return
            window = self.by_experiment.setdefault(str(eid), FaultWindow())
            window.count += 1
            window.first_start = min(window.first_start, span.start_time or 0)
            window.last_start = max(window.last_start, span.start_time or 2**63)
            window.last_end = max(window.last_end, span.end_time or 2**63)
            window.by_type[str(attrs["chaos.fault.type"])] += 1


# -- the callers ---------------------------------------------------------------------------------


@dataclass
class Callers:
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    calls: Counter[str] = field(default_factory=Counter)
    injected: Counter[str] = field(default_factory=Counter)
    unexpected: list[str] = field(default_factory=list)
    loop: asyncio.AbstractEventLoop = field(default_factory=asyncio.new_event_loop)
    threads: list[threading.Thread] = field(default_factory=list)

    def _unexpected(self, where: str, exc: BaseException) -> None:
        with self.lock:
            if len(self.unexpected) < 20:
                self.unexpected.append(f"{where}: {type(exc).__module__}.{exc!r}")
            else:
                self.unexpected[-1] = f"... and more ({exc!r})"

    def thread_caller(self, n: int) -> None:
        calls = injected = 0
        fn = sync_0 if n % 2 else sync_1
        expected = 0 if n % 2 else 1
        i = 0
        while not self.stop.is_set():
            i += 1
            calls += 1
            try:
                if fn(0) != expected:
                    raise AssertionError("wrong return value")
            except InjectedFaultError:
                injected += 1
            except BaseException as exc:
                self._unexpected("thread", exc)
            if i % 10 == 0:
                time.sleep(0.0002)  # like a caller that also waits on I/O
        with self.lock:
            self.calls["thread"] += calls
            self.injected["thread"] += injected

    async def task(self, n: int) -> None:
        fn = async_0 if n % 2 else async_1
        expected = 0 if n % 2 else 1
        calls = injected = 0
        while not self.stop.is_set():
            calls += 1
            try:
                if await fn(0) != expected:
                    raise AssertionError("wrong return value")
            except InjectedFaultError:
                injected += 1
            except asyncio.CancelledError:
                raise
            except BaseException as exc:
                self._unexpected("task", exc)
            await asyncio.sleep(0.001)
        with self.lock:
            self.calls["task"] += calls
            self.injected["task"] += injected

    def run_loop(self) -> None:
        asyncio.set_event_loop(self.loop)

        async def main() -> None:
            await asyncio.gather(*(self.task(n) for n in range(TASKS)))

        try:
            self.loop.run_until_complete(main())
        except BaseException as exc:
            self._unexpected("loop", exc)

    def start(self) -> None:
        for n in range(THREADS):
            self.threads.append(threading.Thread(target=self.thread_caller, args=(n,), daemon=True))
        self.threads.append(threading.Thread(target=self.run_loop, daemon=True))
        for thread in self.threads:
            thread.start()

    def join(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(15)
            assert not thread.is_alive(), thread
        self.loop.close()


# -- the experiments -------------------------------------------------------------------------------


@dataclass
class Run:
    """What the test keeps of a run: not its observations, which would weigh on the memory
    measurement (they are capped per run, but every run's would add up)."""

    experiment_id: str
    mode: str
    status: ExperimentStatus | None = None
    start_ns: int = 0
    end_ns: int = 0
    summary: dict[str, Any] = field(default_factory=dict)
    observations: int = 0
    dropped: int = 0
    error: str | None = None

    def keep(self, result: ExperimentResult) -> None:
        assert result.start_time is not None
        assert result.end_time is not None
        self.status = result.status
        self.start_ns = ns(result.start_time)
        self.end_ns = ns(result.end_time) + 1000  # datetime keeps only microseconds
        self.summary = result.summary
        self.observations = len(result.observations)
        self.dropped = result.dropped_observations


def random_faults(rng: random.Random) -> list[FaultConfig]:
    components = [*SYNC, *ASYNC]
    makers: list[Callable[[], FaultConfig]] = [
        lambda: FaultConfig(
            fault_type="latency", duration_ms=rng.randint(1, 5), probability=rng.uniform(0.05, 0.3)
        ),
        lambda: FaultConfig(fault_type="error", probability=rng.uniform(0.05, 0.3)),
        lambda: FaultConfig(
            fault_type="timeout", duration_ms=rng.randint(1, 3), probability=rng.uniform(0.05, 0.2)
        ),
        lambda: FaultConfig(fault_type="resource_exhaustion", probability=rng.uniform(0.01, 0.1)),
    ]
    faults = []
    for _ in range(rng.randint(1, 3)):
        fault = rng.choice(makers)()
        chosen = rng.sample(components, rng.randint(1, len(components)))
        faults.append(fault.model_copy(update={"affected_components": tuple(chosen)}))
    return faults


class Lanes:
    """Three lanes start experiments one after another, so that runs overlap; an aborter thread
    aborts some of them from outside (by ``abort()``, or by cancelling an ``arun`` task)."""

    def __init__(
        self,
        tracer_provider: TracerProvider,
        meter_provider: MeterProvider,
        loop: asyncio.AbstractEventLoop,
        deadline: float,
    ) -> None:
        self.providers = {"tracer_provider": tracer_provider, "meter_provider": meter_provider}
        self.loop = loop
        self.deadline = deadline
        self.runs: list[Run] = []
        self.lock = threading.Lock()
        self.aborts: list[tuple[float, Callable[[], object]]] = []
        self.threads = [
            threading.Thread(target=self.lane, args=(n, mode), daemon=True)
            for n, mode in enumerate(("workload", "ticks", "arun"))
        ]
        self.threads.append(threading.Thread(target=self.aborter, daemon=True))

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def join(self) -> None:
        for thread in self.threads:
            thread.join(30)
            assert not thread.is_alive(), thread

    def aborter(self) -> None:
        while time.monotonic() < self.deadline + 5:
            now = time.monotonic()
            with self.lock:
                due = [a for a in self.aborts if a[0] <= now]
                self.aborts = [a for a in self.aborts if a[0] > now]
            for _, abort in due:
                abort()
            time.sleep(0.005)

    def lane(self, n: int, mode: str) -> None:
        rng = random.Random(1000 + n)
        count = 0
        while time.monotonic() < self.deadline - 0.2:
            count += 1
            duration = rng.uniform(0.3, 1.5)
            exp = ChaosExperiment(
                experiment_id=f"stress-{mode}-{count}",
                name=f"stress {mode} {count}",
                duration_seconds=duration,
                tick_seconds=0.05,
                seed=rng.randrange(2**32),
                faults=random_faults(rng),
            )
            run = Run(exp.experiment_id, mode)
            with self.lock:
                self.runs.append(run)
            scheduler = ExperimentScheduler(max_observations=MAX_OBSERVATIONS, **self.providers)
            eid = scheduler.schedule(exp)
            abort_after = rng.uniform(0.05, duration * 0.8) if rng.random() < 0.4 else None
            try:
                run.keep(self.execute(scheduler, eid, mode, abort_after))
            except BaseException as exc:
                run.error = repr(exc)

    def execute(
        self, scheduler: ExperimentScheduler, eid: str, mode: str, abort_after: float | None
    ) -> ExperimentResult:
        if mode == "arun":

            async def workload() -> None:
                await asyncio.sleep(0.01)

            future = asyncio.run_coroutine_threadsafe(
                scheduler.arun(eid, workload=workload), self.loop
            )
            if abort_after is not None:
                self.schedule_abort(abort_after, future.cancel)
            try:
                return future.result(timeout=30)
            except concurrent.futures.CancelledError:
                wait_until(lambda: scheduler.status(eid).finished, 10)
                return scheduler.get_result(eid)
        if abort_after is not None:
            self.schedule_abort(abort_after, lambda: scheduler.abort(eid))
        if mode == "workload":
            return scheduler.run(eid, workload=lambda: time.sleep(0.01))
        return scheduler.run(eid)

    def schedule_abort(self, after: float, abort: Callable[[], object]) -> None:
        with self.lock:
            self.aborts.append((time.monotonic() + after, abort))


# -- the test --------------------------------------------------------------------------------------


def test_sixteen_threads_and_a_thousand_tasks_while_experiments_come_and_go() -> None:
    fault_spans = FaultSpans()
    tracer_provider = TracerProvider(shutdown_on_exit=False)
    tracer_provider.add_span_processor(fault_spans)
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader], shutdown_on_exit=False)
    threads_before = threading.active_count()

    callers = Callers()
    started = time.monotonic()
    lanes = Lanes(tracer_provider, meter_provider, callers.loop, started + LOAD_SECONDS)
    callers.start()
    lanes.start()
    try:
        time.sleep(WARM_UP_SECONDS)
        gc.collect()
        rss_warm = rss_bytes()
        lanes.join()
        gc.collect()
        rss_end = rss_bytes()
    finally:
        callers.join()
        lanes.join()
    elapsed = time.monotonic() - started

    # The callers: only injected faults reached them, and plenty did.
    assert not callers.unexpected, callers.unexpected
    assert callers.calls["thread"] > 10_000, callers.calls
    assert callers.calls["task"] > 10_000, callers.calls
    assert callers.injected["thread"] > 0, callers.injected
    assert callers.injected["task"] > 0, callers.injected
    assert elapsed >= 10.0

    # The runs: every one finished, several completed and several were aborted.
    runs = lanes.runs
    assert not [r for r in runs if r.error is not None], [r.error for r in runs]
    statuses = Counter(r.status for r in runs)
    assert statuses[ExperimentStatus.completed] >= 3, statuses
    assert statuses[ExperimentStatus.aborted] >= 3, statuses
    assert set(statuses) <= {ExperimentStatus.completed, ExperimentStatus.aborted}, statuses
    assert {r.mode for r in runs} == {"workload", "ticks", "arun"}

    # Each run: summary == per-fault report == metric sums == spans, all inside its window.
    collected = metrics_by_name(reader)
    injections: dict[str, Counter[str]] = {}
    for point in points(collected, "chaos.fault.injections"):
        attrs = dict(point.attributes)
        by_type = injections.setdefault(str(attrs["chaos.experiment.id"]), Counter())
        by_type[str(attrs["chaos.fault.type"])] += point.value
    assert fault_spans.orphans == 0
    assert set(fault_spans.by_experiment) <= {r.experiment_id for r in runs}
    fired_total = slow_drains = 0
    for run in runs:
        eid, summary = run.experiment_id, run.summary
        total = summary["total_faults_fired"]
        fired_total += total
        spans = fault_spans.by_experiment.get(eid, FaultWindow())
        metric = injections.get(eid, Counter())
        assert total == sum(f["fired"] for f in summary["faults"]) == spans.count, eid
        assert total == sum(metric.values()), eid
        assert Counter(summary["faults_by_type"]) == spans.by_type == metric, eid
        assert run.observations <= 2 * MAX_OBSERVATIONS  # faults and the rest: one bound each
        assert run.observations + run.dropped >= total
        # Under this load a run may abandon a workload iteration, or end before a delay it cut
        # short has finished unwinding in a starved thread; it says so.
        in_flight = [n for n in summary.get("notes", []) if "in flight" in n]
        slow_drains += bool(in_flight)
        if spans.count:  # every fault fired inside its run's window
            assert run.start_ns <= spans.first_start <= spans.last_start <= run.end_ns, eid
            assert in_flight or spans.last_end <= run.end_ns, eid
    assert fired_total > 1000

    # Memory stays flat once warm (observations capped, finished runs dropped).
    growth = rss_end - rss_warm
    assert growth < RSS_GROWTH_LIMIT, f"RSS grew {growth / 2**20:.1f} MiB after warm-up"
    print(
        f"\nstress: {len(runs)} runs {dict(statuses)}, calls {dict(callers.calls)}, "
        f"injected {dict(callers.injected)}, faults {fired_total}, slow drains {slow_drains}, "
        f"RSS {rss_warm / 2**20:.1f} -> {rss_end / 2**20:.1f} MiB, {elapsed:.1f}s"
    )

    # Nothing left behind.
    wait_until(lambda: threading.active_count() <= threads_before, 5)
    tracer_provider.shutdown()
    meter_provider.shutdown()

"""Counts kept in memory and added to their counters when a reader collects (PendingCount)."""

from __future__ import annotations

import threading

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider

from aumai_chaos import chaos_monkey
from aumai_chaos._engine.telemetry import FLUSH_INSTRUMENT, instruments_for
from tests.helpers import counter_sum, metrics_by_name

INJECTIONS = "chaos.fault.injections"


def test_every_collection_reads_the_exact_count_so_far(
    tracer_provider: TracerProvider,
    meter_provider: MeterProvider,
    metric_reader: InMemoryMetricReader,
) -> None:
    @chaos_monkey(
        fault_type="latency",
        duration_ms=0,
        component="counted",
        tracer_provider=tracer_provider,
        meter_provider=meter_provider,
    )
    def call() -> int:
        return 1

    seen = []
    for n in (1, 3, 0, 7):
        for _ in range(n):
            call()
        seen.append(counter_sum(metric_reader, INJECTIONS, {"chaos.component": "counted"}))
    assert seen == [1, 4, 4, 11]


def test_counts_from_many_threads_are_exact(
    tracer_provider: TracerProvider,
    meter_provider: MeterProvider,
    metric_reader: InMemoryMetricReader,
) -> None:
    @chaos_monkey(
        fault_type="latency",
        duration_ms=0,
        component="threads",
        tracer_provider=tracer_provider,
        meter_provider=meter_provider,
    )
    def call() -> int:
        return 1

    threads, per_thread = 4, 250
    barrier = threading.Barrier(threads)
    # A reader collecting while the threads count: no firing is lost or counted twice.
    stop = threading.Event()

    def collect() -> None:
        while not stop.is_set():
            metric_reader.get_metrics_data()

    def work() -> None:
        barrier.wait(5)
        for _ in range(per_thread):
            call()

    reader = threading.Thread(target=collect)
    reader.start()
    workers = [threading.Thread(target=work) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(30)
    stop.set()
    reader.join(30)
    total = counter_sum(metric_reader, INJECTIONS, {"chaos.component": "threads"})
    assert total == threads * per_thread


def test_the_flush_instrument_never_reports_a_point(
    meter_provider: MeterProvider, metric_reader: InMemoryMetricReader
) -> None:
    instruments = instruments_for(None, meter_provider)
    pending = instruments.pending(instruments.fault_injections, {"chaos.fault.type": "error"})
    assert instruments.pending(instruments.fault_injections, {"chaos.fault.type": "error"}) is (
        pending
    )
    pending.add(2)
    collected = metrics_by_name(metric_reader)
    assert FLUSH_INSTRUMENT not in collected
    assert [p.value for p in collected[INJECTIONS].data.data_points] == [2]
    assert pending.pending == 0


def test_instruments_sharing_a_meter_provider_are_all_counted(
    meter_provider: MeterProvider, metric_reader: InMemoryMetricReader
) -> None:
    """Two tracer providers with one meter provider: the meter keeps one flush instrument of
    the name, and it adds the pending counts of both."""
    first = instruments_for(TracerProvider(), meter_provider)
    second = instruments_for(TracerProvider(), meter_provider)
    assert first is not second
    first.pending(first.fault_injections, {"chaos.component": "shared"}).add(2)
    second.pending(second.fault_injections, {"chaos.component": "shared"}).add(3)
    assert counter_sum(metric_reader, INJECTIONS, {"chaos.component": "shared"}) == 5

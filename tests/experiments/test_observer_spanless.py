"""Calls a run records without spans (``ExperimentObserver.record_call``, as every run's
component calls are): exact counts however many threads record them, and memory that stays
bounded however long nothing reads the observer. Behaviour only: how the observer batches or
folds them in is its own business.
"""

from __future__ import annotations

import gc
import threading
import tracemalloc

from aumai_chaos import ExperimentObserver

COMPONENT = "spanless.search"


def _observer(cap: int) -> ExperimentObserver:
    return ExperimentObserver(max_observations=cap, faults_from_spans=False, calls_from_spans=False)


def _record(observer: ExperimentObserver, calls: int, every_error: int = 7) -> int:
    errors = 0
    for n in range(calls):
        failed = n % every_error == 0
        errors += failed
        observer.record_call(COMPONENT, 1.0, "KeyError" if failed else None, "boom")
    return errors


def test_calls_recorded_from_many_threads_are_counted_exactly() -> None:
    observer = _observer(cap=100)
    per_thread = 5_003  # not a multiple of any batch size
    errors: list[int] = []
    threads = [
        threading.Thread(target=lambda: errors.append(_record(observer, per_thread)))
        for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not any(t.is_alive() for t in threads)

    stats = observer.summary().components[COMPONENT]
    assert stats.calls == 4 * per_thread
    assert stats.errors == sum(errors) == 4 * len(range(0, per_thread, 7))
    assert stats.error_types == {"KeyError": sum(errors)}
    assert len(observer.get_observations(COMPONENT)) == 100
    assert observer.dropped == 4 * per_thread - 100


def test_a_few_calls_are_counted_without_waiting_for_more() -> None:
    observer = _observer(cap=100)
    _record(observer, 3)
    stats = observer.summary().components[COMPONENT]
    assert (stats.calls, stats.errors) == (3, 1)


def test_calls_after_the_seal_are_not_counted() -> None:
    observer = _observer(cap=100)
    _record(observer, 2_000)
    observer.seal()
    _record(observer, 2_000)
    assert observer.summary().components[COMPONENT].calls == 2_000


def test_memory_stays_bounded_while_nothing_reads_the_observer() -> None:
    """200,000 calls and no read: the store is capped, so memory after the first 20,000 calls
    must stay flat. Keeping each call until a read would hold ~30 MB."""
    observer = _observer(cap=1_000)
    _record(observer, 20_000)  # the store is full; every allocation path has run
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        _record(observer, 200_000)
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown < 1_000_000, f"{grown:,} bytes kept for 200,000 calls"
    assert observer.summary().components[COMPONENT].calls == 220_000

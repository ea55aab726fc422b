"""The recorder a run hands the engine (``ExperimentObserver.recorder``): the path every watched
call takes as it ends. Its counts must stay exact across threads, across ``clear()``, across the
series coarsening its step and after the seal, and agree with the summary's series."""

from __future__ import annotations

import threading
import time

from aumai_chaos import ExperimentObserver
from aumai_chaos._engine.act import RecordCall

COMPONENT = "recorder.search"


def _observer() -> ExperimentObserver:
    return ExperimentObserver(max_observations=50, faults_from_spans=False, calls_from_spans=False)


def _calls(
    observer: ExperimentObserver, n: int, every_error: int = 0, record: RecordCall | None = None
) -> int:
    """Record ``n`` calls of about 1 ms through a recorder; returns how many failed."""
    record = record or observer._recorder(COMPONENT)
    errors = 0
    for i in range(n):
        end = time.perf_counter()
        if every_error and i % every_error == 0:
            errors += 1
            record(end - 0.001, end, "KeyError", "boom", False)
        else:
            record(end - 0.001, end, None, None, False)
    return errors


def _series_calls(observer: ExperimentObserver) -> int:
    return sum(observer.summary().series.components[COMPONENT].calls)


def test_calls_from_many_threads_are_counted_exactly_and_agree_with_the_series() -> None:
    observer = _observer()
    per_thread = 4_001
    errors: list[int] = []
    threads = [
        threading.Thread(target=lambda: errors.append(_calls(observer, per_thread, 9)))
        for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not any(t.is_alive() for t in threads)

    stats = observer.summary().components[COMPONENT]
    assert stats.calls == 4 * per_thread == _series_calls(observer)
    assert stats.errors == sum(errors) == 4 * len(range(0, per_thread, 9))
    assert 0.99 <= stats.latency_ms.p50 <= 1.01
    # a call without a span keeps no observation (trace_calls: faults)
    assert observer.get_observations(COMPONENT, "call") == []


def test_traced_calls_keep_an_observation() -> None:
    observer = _observer()
    record = observer._recorder(COMPONENT)
    end = time.perf_counter()
    record(end - 0.002, end, None, None, True)
    record(end - 0.002, end, "ValueError", "bad", True)
    details = [o.details for o in observer.get_observations(COMPONENT, "call")]
    assert [(d["status"], d["error_type"]) for d in details] == [
        ("ok", None),
        ("error", "ValueError"),
    ]
    assert observer.summary().components[COMPONENT].calls == 2


def test_after_clear_the_same_recorder_counts_into_the_new_tallies() -> None:
    observer = _observer()
    record = observer._recorder(COMPONENT)
    for _ in range(10):
        end = time.perf_counter()
        record(end - 0.001, end, None, None, False)
    observer.clear()
    for _ in range(7):
        end = time.perf_counter()
        record(end - 0.001, end, None, None, False)
    assert observer.summary().components[COMPONENT].calls == 7 == _series_calls(observer)


def test_counts_stay_exact_when_the_series_coarsens_its_step() -> None:
    observer = _observer()
    record = observer._recorder(COMPONENT)
    _calls(observer, 100, record=record)
    # A run of more than MAX_BUCKETS seconds: the step doubles and buckets merge.
    observer.series.summary(duration_seconds=4 * 3_600.0)
    assert observer.series.step > 1
    _calls(observer, 100, record=record)
    assert observer.summary().components[COMPONENT].calls == 200 == _series_calls(observer)


def test_calls_after_the_seal_are_not_counted() -> None:
    observer = _observer()
    record = observer._recorder(COMPONENT)
    _calls(observer, 50, record=record)
    observer.seal()
    _calls(observer, 50, record=record)
    assert observer.summary().components[COMPONENT].calls == 50


def test_the_note_hears_every_call_with_its_outcome() -> None:
    observer = _observer()
    heard: list[tuple[str, bool]] = []
    record = observer._recorder(COMPONENT, lambda name, ok: heard.append((name, ok)))
    end = time.perf_counter()
    record(end - 0.001, end, None, None, False)
    record(end - 0.001, end, "KeyError", "boom", False)
    assert heard == [(COMPONENT, True), (COMPONENT, False)]

"""Helpers shared by the experiment tests: building experiments, running them in threads,
reading their spans. The OpenTelemetry readers in general live in ``tests.helpers``."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from aumai_chaos import ChaosExperiment, ExperimentResult, ExperimentScheduler

_ids = itertools.count()


def unique(prefix: str) -> str:
    """A name no other test in this process uses (experiment ids, component names)."""
    return f"{prefix}-{next(_ids)}"


def experiment(**fields: Any) -> ChaosExperiment:
    """A ``ChaosExperiment`` with a unique id, a name, a short duration and a tick of at most
    0.1 s unless given."""
    fields.setdefault("experiment_id", unique("exp"))
    fields.setdefault("name", "test experiment")
    fields.setdefault("duration_seconds", 0.3)
    fields.setdefault("tick_seconds", min(0.1, fields["duration_seconds"]))
    return ChaosExperiment(**fields)


class Background:
    """``scheduler.run(...)`` in a thread, remembering the result and when ``run`` returned."""

    def __init__(self, scheduler: ExperimentScheduler, experiment_id: str, **kwargs: Any) -> None:
        self.result: ExperimentResult | None = None
        self.error: BaseException | None = None
        self.returned_at: float | None = None  # time.perf_counter()
        self.returned_ns: int | None = None  # time.time_ns(), comparable with span times
        self._scheduler = scheduler
        self._id = experiment_id
        self._kwargs = kwargs
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            self.result = self._scheduler.run(self._id, **self._kwargs)
        except BaseException as exc:  # reported by join()
            self.error = exc
        finally:
            self.returned_at = time.perf_counter()
            self.returned_ns = time.time_ns()

    def start(self) -> Background:
        self.thread.start()
        return self

    def join(self, timeout: float = 30.0) -> ExperimentResult:
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "run() did not return"
        if self.error is not None:
            raise self.error
        assert self.result is not None
        return self.result


def wait_until(predicate: Callable[[], object], timeout: float = 5.0) -> None:
    """Poll ``predicate`` until it is true; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.002)


def spans(exporter: InMemorySpanExporter, name: str | None = None) -> list[ReadableSpan]:
    """Finished spans, all or those called ``name``."""
    return [s for s in exporter.get_finished_spans() if name is None or s.name == name]


def of_experiment(items: Sequence[ReadableSpan], experiment_id: str) -> list[ReadableSpan]:
    """The spans tagged with ``chaos.experiment.id == experiment_id``."""
    return [s for s in items if (s.attributes or {}).get("chaos.experiment.id") == experiment_id]


def experiment_span(exporter: InMemorySpanExporter, experiment_id: str) -> ReadableSpan:
    """The one ``chaos.experiment`` span of a run."""
    found = of_experiment(spans(exporter, "chaos.experiment"), experiment_id)
    assert len(found) == 1, found
    return found[0]

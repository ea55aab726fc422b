"""What the benchmarks run against: OpenTelemetry SDK providers and running experiments.

Experiments run the way users run them: ``ExperimentScheduler.run`` in a background thread, with
``abort`` from the caller's thread. Whether a component is affected yet is read from the
registry's slot of the component, the same list the decorators' gates read.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

__all__ = [
    "CountingProcessor",
    "RunningExperiment",
    "Sdk",
    "experiment_mode",
    "running_experiment",
    "sdk",
]


class CountingProcessor(SpanProcessor):
    """Counts ended spans and keeps none: for long runs where an in-memory exporter would grow."""

    def __init__(self) -> None:
        self.ended = 0

    def on_end(self, span: ReadableSpan) -> None:
        self.ended += 1


@dataclass
class Sdk:
    """An SDK tracer provider exporting to memory (or only counting), and a meter provider read
    from memory."""

    tracer_provider: TracerProvider
    meter_provider: MeterProvider
    exporter: InMemorySpanExporter
    reader: InMemoryMetricReader
    counter: CountingProcessor | None = None

    def clear(self) -> None:
        self.exporter.clear()

    def shutdown(self) -> None:
        self.tracer_provider.shutdown()
        self.meter_provider.shutdown()


def sdk(*, keep_spans: bool = True) -> Sdk:
    """Fresh providers. ``keep_spans=False`` counts ended spans instead of keeping them."""
    exporter = InMemorySpanExporter()
    counter = None if keep_spans else CountingProcessor()
    tp = TracerProvider()
    tp.add_span_processor(counter or SimpleSpanProcessor(exporter))
    reader = InMemoryMetricReader()
    mp = MeterProvider(metric_readers=[reader])
    return Sdk(tp, mp, exporter, reader, counter)


def experiment_mode() -> str:
    """``ExperimentScheduler``, or why experiments cannot run in this build."""
    try:
        from aumai_chaos import ExperimentScheduler  # noqa: F401
    except ImportError as exc:
        return f"unavailable ({exc})"
    return "ExperimentScheduler"


class RunningExperiment:
    """An experiment that ``ExperimentScheduler.run`` runs in a background thread."""

    def __init__(self, experiment: Any, tracer_provider: Any, meter_provider: Any) -> None:
        from aumai_chaos import ExperimentScheduler

        self.experiment = experiment
        self.id: str = experiment.experiment_id
        self.result: Any = None
        self.error: BaseException | None = None
        self.scheduler = ExperimentScheduler(
            tracer_provider=tracer_provider, meter_provider=meter_provider
        )
        self.scheduler.schedule(experiment)
        self.thread = threading.Thread(target=self._main, name=f"bench-{self.id}", daemon=True)

    def _main(self) -> None:
        try:
            self.result = self.scheduler.run(self.id)
        except BaseException as exc:
            self.error = exc

    def start(self, components: Sequence[str], timeout: float = 10.0) -> None:
        """Start, and return once every one of ``components`` is affected."""
        from aumai_chaos._engine.registry import slot_for

        self.thread.start()
        slots = [slot_for(c) for c in components]
        deadline = time.monotonic() + timeout
        while not all(slots):
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"experiment {self.id} did not start: {self.error!r}")
            time.sleep(0.001)

    def abort(self) -> None:
        self.scheduler.abort(self.id)

    def join(self, timeout: float = 10.0) -> Any:
        self.thread.join(timeout)
        if self.thread.is_alive():
            raise RuntimeError(f"experiment {self.id} did not stop within {timeout} s")
        return self.result


@contextlib.contextmanager
def running_experiment(
    experiment_id: str,
    faults: Sequence[Any],
    *,
    tracer_provider: Any = None,
    meter_provider: Any = None,
    duration_seconds: float = 3600.0,
    seed: int = 1,
    trace_calls: str = "all",
) -> Iterator[RunningExperiment]:
    """Run an experiment with ``faults`` (each naming its ``affected_components``) meanwhile."""
    from aumai_chaos.experiments.models import ChaosExperiment

    exp = ChaosExperiment(
        experiment_id=experiment_id,
        name=experiment_id,
        duration_seconds=duration_seconds,
        tick_seconds=duration_seconds,
        faults=list(faults),
        seed=seed,
        trace_calls=trace_calls,
    )
    running = RunningExperiment(exp, tracer_provider, meter_provider)
    components = [c for f in faults for c in f.affected_components]
    running.start(components)
    try:
        yield running
    finally:
        running.abort()
        running.join()

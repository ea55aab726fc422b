"""Helpers shared by the test modules: reading the in-memory OpenTelemetry data, subprocesses."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NoReturn

from opentelemetry.sdk.metrics.export import InMemoryMetricReader, Metric
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import INVALID_SPAN, NoOpTracer, NoOpTracerProvider, Span

REPO = Path(__file__).resolve().parent.parent
SCOPE = "aumai_chaos"


def fault_spans(exporter: InMemorySpanExporter) -> list[ReadableSpan]:
    """The finished ``chaos.fault`` spans, in the order they ended."""
    return [s for s in exporter.get_finished_spans() if s.name == "chaos.fault"]


def metrics_by_name(reader: InMemoryMetricReader, scope: str = SCOPE) -> dict[str, Metric]:
    """Every metric of the instrumentation scope ``scope`` the reader collects now, by name.

    Each collection starts new exemplar reservoirs: to check exemplars of several instruments,
    collect once with this and read the points from the result.
    """
    data = reader.get_metrics_data()
    found: dict[str, Metric] = {}
    if data is None:
        return found
    for resource_metrics in data.resource_metrics:
        for scope_metrics in resource_metrics.scope_metrics:
            if scope_metrics.scope.name != scope:
                continue
            for metric in scope_metrics.metrics:
                found[metric.name] = metric
    return found


def points(source: InMemoryMetricReader | Mapping[str, Metric], name: str) -> list[Any]:
    """The data points of one instrument (empty when it recorded nothing), collected now from a
    reader or taken from what :func:`metrics_by_name` collected."""
    collected = metrics_by_name(source) if isinstance(source, InMemoryMetricReader) else source
    metric = collected.get(name)
    return [] if metric is None else list(metric.data.data_points)


def _matches(point: Any, attributes: Mapping[str, Any] | None) -> bool:
    if attributes is None:
        return True
    attrs = dict(point.attributes or {})
    return all(attrs.get(key) == value for key, value in attributes.items())


def counter_sum(
    reader: InMemoryMetricReader, name: str, attributes: Mapping[str, Any] | None = None
) -> int | float:
    """Sum of a counter's points whose attributes include every item of ``attributes``."""
    return sum(p.value for p in points(reader, name) if _matches(p, attributes))


def counter_by_attributes(reader: InMemoryMetricReader, name: str) -> dict[frozenset[Any], Any]:
    """A counter's values keyed by the frozen set of each point's attribute items."""
    return {frozenset(dict(p.attributes or {}).items()): p.value for p in points(reader, name)}


class RecordingTracerProvider(NoOpTracerProvider):
    """A featherweight API-level tracer provider that remembers each started span's name and
    attributes; for statistical tests that need to see, per call, which faults fired."""

    def __init__(self) -> None:
        self.started: list[tuple[str, dict[str, Any]]] = []

    def get_tracer(self, *args: Any, **kwargs: Any) -> NoOpTracer:
        return _RecordingTracer(self.started)

    def fault_types(self) -> list[str]:
        """The ``chaos.fault.type`` of every ``chaos.fault`` span started so far, then forget."""
        types = [attrs["chaos.fault.type"] for name, attrs in self.started if name == "chaos.fault"]
        self.started.clear()
        return types


class _RecordingTracer(NoOpTracer):
    def __init__(self, started: list[tuple[str, dict[str, Any]]]) -> None:
        self._started = started

    def start_span(self, name: str, *args: Any, attributes: Any = None, **kwargs: Any) -> Span:
        self._started.append((name, dict(attributes or {})))
        return INVALID_SPAN


def within_sigmas(count: int, n: int, p: float, sigmas: float = 4.0) -> bool:
    """Whether ``count`` successes in ``n`` trials is within ``sigmas`` of Binomial(n, p)."""
    mean = n * p
    sd = (n * p * (1.0 - p)) ** 0.5
    return abs(count - mean) <= sigmas * sd


def clean_env(**overrides: str) -> dict[str, str]:
    """The environment for a subprocess: ours without the kill switch, plus ``overrides``."""
    env = {k: v for k, v in os.environ.items() if k != "AUMAI_CHAOS_DISABLED"}
    env.pop("OTEL_SDK_DISABLED", None)
    env.update(overrides)
    return env


def run_python(
    code: str | None = None,
    *,
    script: Path | None = None,
    env: Mapping[str, str] | None = None,
    args: Sequence[str] = (),
    cwd: Path | None = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    """Run ``code`` (dedented) or ``script`` with this interpreter in a fresh process."""
    if (code is None) == (script is None):
        raise ValueError("give code or script")
    argv = [sys.executable, "-X", "utf8"]
    argv += ["-c", textwrap.dedent(code)] if code is not None else [str(script)]
    return subprocess.run(
        [*argv, *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=dict(env) if env is not None else clean_env(),
        cwd=cwd or REPO,
        timeout=timeout,
        check=False,
    )


def missing_tool(message: str) -> NoReturn:
    """Fail in CI (``CI`` set, as ``.ci/run`` sets it), which must have every tool; elsewhere
    skip with the reason. A check that skips in CI would pass without testing anything."""
    import pytest

    if os.environ.get("CI"):
        pytest.fail(f"{message}; CI must provide it")
    pytest.skip(message)

"""Watching OTLP exports for the CLI: exporter wrappers that count failures, a log handler that
keeps the exporters' own messages instead of printing them, and a short reason built from those.
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.sdk.metrics.export import MetricExporter, MetricExportResult, MetricsData
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

__all__ = [
    "Capture",
    "Failures",
    "WatchedMetricExporter",
    "WatchedSpanExporter",
    "quietly",
    "reason",
]


class Capture(logging.Handler):
    """Keeps the first few warnings of the exporters instead of printing them."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if len(self.messages) < 20:
            try:
                self.messages.append(" ".join(record.getMessage().split()))
            except Exception:
                self.messages.append(record.msg if isinstance(record.msg, str) else "?")


@dataclass
class Failures:
    lock: threading.Lock = field(default_factory=threading.Lock)
    counts: dict[str, int] = field(default_factory=dict)

    def record(self, signal: str) -> None:
        with self.lock:
            self.counts[signal] = self.counts.get(signal, 0) + 1


class WatchedSpanExporter(SpanExporter):
    def __init__(self, inner: SpanExporter, failures: Failures) -> None:
        self.inner = inner
        self._failures = failures

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        try:
            result = self.inner.export(spans)
        except Exception:
            result = SpanExportResult.FAILURE
        if result is not SpanExportResult.SUCCESS:
            self._failures.record("traces")
        return result

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return self.inner.force_flush(timeout_millis)


class WatchedMetricExporter(MetricExporter):
    def __init__(self, inner: MetricExporter, failures: Failures) -> None:
        super().__init__(
            preferred_temporality=getattr(inner, "_preferred_temporality", None),
            preferred_aggregation=getattr(inner, "_preferred_aggregation", None),
        )
        self.inner = inner
        self._failures = failures

    def export(
        self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any
    ) -> MetricExportResult:
        try:
            result = self.inner.export(metrics_data, timeout_millis=timeout_millis, **kwargs)
        except Exception:
            result = MetricExportResult.FAILURE
        if result is not MetricExportResult.SUCCESS:
            self._failures.record("metrics")
        return result

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return self.inner.force_flush(timeout_millis)

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        self.inner.shutdown(timeout_millis=timeout_millis, **kwargs)


def quietly(fn: Callable[[], object]) -> Callable[[], None]:
    def run() -> None:
        with contextlib.suppress(Exception):
            fn()

    return run


def reason(messages: list[str]) -> str:
    """A few words on why exports failed, from the exporters' captured log messages."""
    text = " | ".join(messages)
    lowered = text.lower()
    status = re.search(r"code: (\d{3}), reason: ([^|]*)", text)
    if status:
        return f"HTTP {status.group(1)} {status.group(2).strip()}".strip()
    for needle, reason in (
        ("connection refused", "connection refused"),
        ("timed out", "timed out"),
        ("name or service not known", "unknown host"),
        ("nodename nor servname", "unknown host"),
        ("statuscode.unavailable", "collector unavailable"),
        ("deadline_exceeded", "timed out"),
    ):
        if needle in lowered:
            return reason
    transient = re.search(r"Transient error (.+?) encountered", text)
    if transient:
        return f"{transient.group(1)} (still failing after retries)"
    if "timeout" in lowered:
        return "timed out"
    first = messages[0] if messages else ""
    return first if len(first) <= 160 else first[:157] + "..."

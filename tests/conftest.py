"""Fixtures shared by every test: in-memory OpenTelemetry SDK providers and a clean kill switch."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import aumai_chaos

# pytester drives the pytest plugin's own tests (tests/pytest_plugin/); pytest accepts
# pytest_plugins only in the root conftest. tests.ci_skips fails every skip when CI is set.
pytest_plugins = ["pytester", "tests.ci_skips"]


@pytest.fixture
def span_exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def tracer_provider(span_exporter: InMemorySpanExporter) -> Iterator[TracerProvider]:
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(SimpleSpanProcessor(span_exporter))
    yield provider
    provider.shutdown()


@pytest.fixture
def metric_reader() -> InMemoryMetricReader:
    return InMemoryMetricReader()


@pytest.fixture
def meter_provider(metric_reader: InMemoryMetricReader) -> Iterator[MeterProvider]:
    provider = MeterProvider(metric_readers=[metric_reader], shutdown_on_exit=False)
    yield provider
    provider.shutdown()


@pytest.fixture(autouse=True)
def _kill_switch_reset() -> Iterator[None]:
    """Every test starts with injection on, and a test that disables it cannot leak."""
    aumai_chaos.enable()
    yield
    aumai_chaos.enable()


@pytest.fixture(autouse=True)
def _transport_reset() -> Iterator[None]:
    """A test that instruments the HTTP clients (``instrument()``, directly or through an
    example it runs) cannot leave them patched for the tests after it."""
    yield
    transport = sys.modules.get("aumai_chaos.transport")
    if transport is not None:
        transport.uninstrument()

"""OpenTelemetry SDK set-up for the ``aumai-chaos`` application (never used by the library).

- OTLP export when ``--otlp-endpoint`` is given, or when the standard ``OTEL_*`` variables ask
  for it: a ``TracerProvider`` with a ``BatchSpanProcessor`` and a ``MeterProvider`` with a
  ``PeriodicExportingMetricReader``, over http/protobuf (``/v1/traces``, ``/v1/metrics`` appended)
  or gRPC (``host:port``).
- A Prometheus endpoint with ``--prometheus-port``.
- :meth:`Telemetry.finish` flushes everything within a bounded time. A collector that is down,
  slow or refusing costs at most a few seconds and one warning line, never a wall of retries:
  the exporters' own log records are captured instead of printed.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    MetricExporter,
    MetricReader,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter

from aumai_chaos.cli._otel_export import (
    Capture,
    Failures,
    WatchedMetricExporter,
    WatchedSpanExporter,
    quietly,
    reason,
)
from aumai_chaos.cli._prometheus import PrometheusServer
from aumai_chaos.errors import ConfigError

__all__ = ["PROTOCOLS", "Telemetry", "install_globally", "setup_telemetry"]

PROTOCOLS = ("http/protobuf", "grpc")
DEFAULT_SERVICE_NAME = "aumai-chaos"
#: Per-request timeout of the OTLP exporters unless OTEL_EXPORTER_OTLP_*TIMEOUT says otherwise.
EXPORT_TIMEOUT_S = 3.0
#: The metric export interval unless OTEL_METRIC_EXPORT_INTERVAL says otherwise.
METRIC_INTERVAL_MS = 5_000
_SIGNAL_PATH = re.compile(r"/v1/(traces|metrics|logs)/?$")
_QUIET_LOGGERS = ("opentelemetry", "urllib3", "grpc")


@dataclass
class Telemetry:
    """The SDK providers of one CLI run (``None`` when nothing is exported) and their cleanup."""

    tracer_provider: TracerProvider | None = None
    meter_provider: MeterProvider | None = None
    prometheus: PrometheusServer | None = None
    otlp_target: str | None = None
    _exporters: list[SpanExporter | MetricExporter] = field(default_factory=list)
    _readers: list[MetricReader] = field(default_factory=list)
    _failures: Failures = field(default_factory=Failures)
    _capture: Capture | None = None
    _saved_loggers: list[tuple[logging.Logger, bool]] = field(default_factory=list)

    def finish(self, budget_s: float = 4.0) -> list[str]:
        """Flush and shut everything down within about ``budget_s``; returns warning lines."""
        warnings: list[str] = []
        work: list[Callable[[], None]] = []
        if self.tracer_provider is not None:
            tp = self.tracer_provider

            def traces() -> None:
                tp.force_flush()
                tp.shutdown()

            work.append(traces)
        if self.meter_provider is not None:
            mp = self.meter_provider
            work.append(lambda: mp.shutdown(timeout_millis=budget_s * 1000))
        threads = [threading.Thread(target=quietly(w), daemon=True) for w in work]
        for t in threads:
            t.start()
        deadline = time.monotonic() + budget_s
        for t in threads:
            t.join(max(0.0, deadline - time.monotonic()))
        stuck = any(t.is_alive() for t in threads)
        if stuck:
            # Shutting an exporter down cuts its retry back-off short.
            for exporter in self._exporters:
                quietly(exporter.shutdown)()
            for t in threads:
                t.join(0.5)
        problems: list[str] = []
        if self._failures.counts:
            what = ", ".join(
                f"{signal} ({n} failed export{'s' if n > 1 else ''})"
                for signal, n in sorted(self._failures.counts.items())
            )
            why = reason(self._capture.messages if self._capture else [])
            problems.append(what + (f": {why}" if why else ""))
        if stuck:
            problems.append(f"gave up flushing after {budget_s:g}s, some data may be lost")
        if problems:
            hint = ""
            if set(self._failures.counts) == {"metrics"} and not stuck:
                hint = " (for a collector that takes only traces, set OTEL_METRICS_EXPORTER=none)"
            warnings.append(
                f"could not export telemetry to {self.otlp_target}: " + "; ".join(problems) + hint
            )
        if self.prometheus is not None:
            quietly(self.prometheus.close)()
        if not stuck:
            # An export still stuck in a socket would log when it gives up: keep it quiet then.
            self._restore_loggers()
        return [" ".join(w.split()) for w in warnings]

    def _restore_loggers(self) -> None:
        for logger, propagate in self._saved_loggers:
            if self._capture is not None:
                logger.removeHandler(self._capture)
            logger.propagate = propagate
        self._saved_loggers.clear()


def _env(env: Mapping[str, str], *names: str) -> str | None:
    for name in names:
        value = env.get(name, "").strip()
        if value:
            return value
    return None


def _wants(env: Mapping[str, str], signal: str, endpoint_given: bool) -> bool:
    """Whether to export ``signal`` over OTLP: ``OTEL_<SIGNAL>_EXPORTER`` (``otlp`` or ``none``)
    decides when set; otherwise an endpoint, given or in the environment, asks for it."""
    exporter = (_env(env, f"OTEL_{signal.upper()}_EXPORTER") or "").lower()
    names = {e.strip() for e in exporter.split(",") if e.strip()}
    if "none" in names:
        return False
    if "otlp" in names:
        return True
    endpoint_var = f"OTEL_EXPORTER_OTLP_{signal.upper()}_ENDPOINT"
    return endpoint_given or _env(env, "OTEL_EXPORTER_OTLP_ENDPOINT", endpoint_var) is not None


def _resource(service_name: str | None) -> Resource:
    base = Resource.create({})
    extra: dict[str, str] = {}
    if service_name:
        extra["service.name"] = service_name
    elif str(base.attributes.get("service.name", "")).startswith("unknown_service"):
        extra["service.name"] = DEFAULT_SERVICE_NAME
    # service.version is the user's service's version: it comes only from the user
    # (OTEL_RESOURCE_ATTRIBUTES, OTEL_SERVICE_VERSION...), never from aumai-chaos's own version.
    return base.merge(Resource(extra))


def _check_endpoint(endpoint: str) -> tuple[str, bool]:
    """``endpoint`` without a signal path, and whether it is plain (insecure) HTTP."""
    url = endpoint.strip()
    if "://" not in url:
        url = "http://" + url
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            f"--otlp-endpoint: expected a URL such as http://localhost:4318, got {endpoint!r}"
        )
    try:
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise ConfigError(f"--otlp-endpoint: bad port in {endpoint!r}") from exc
    return _SIGNAL_PATH.sub("", url.rstrip("/")).rstrip("/"), parts.scheme == "http"


def _timeout(env: Mapping[str, str], signal: str) -> float | None:
    explicit = _env(
        env, f"OTEL_EXPORTER_OTLP_{signal.upper()}_TIMEOUT", "OTEL_EXPORTER_OTLP_TIMEOUT"
    )
    return None if explicit else EXPORT_TIMEOUT_S


def _exporters(
    endpoint: str | None, protocol: str, env: Mapping[str, str]
) -> tuple[SpanExporter, MetricExporter]:
    base, insecure = _check_endpoint(endpoint) if endpoint else (None, False)
    try:
        if protocol == "grpc":
            from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import (
                OTLPMetricExporter as GrpcMetricExporter,
            )
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
                OTLPSpanExporter as GrpcSpanExporter,
            )

            target = urlsplit(base).netloc if base else None
            secure = None if base is None else insecure
            return (
                GrpcSpanExporter(endpoint=target, insecure=secure, timeout=_timeout(env, "traces")),
                GrpcMetricExporter(
                    endpoint=target, insecure=secure, timeout=_timeout(env, "metrics")
                ),
            )
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import (
            OTLPMetricExporter as HttpMetricExporter,
        )
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
            OTLPSpanExporter as HttpSpanExporter,
        )
    except ImportError as exc:
        raise ConfigError(
            f"OTLP export over {protocol} needs the exporters: pip install 'aumai-chaos[otlp]'"
        ) from exc
    return (
        HttpSpanExporter(
            endpoint=f"{base}/v1/traces" if base else None, timeout=_timeout(env, "traces")
        ),
        HttpMetricExporter(
            endpoint=f"{base}/v1/metrics" if base else None, timeout=_timeout(env, "metrics")
        ),
    )


def _describe_target(endpoint: str | None, env: Mapping[str, str]) -> str:
    if endpoint:
        return endpoint
    return (
        _env(env, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
        or "the OTLP collector"
    )


def _quiet_exporter_logs(telemetry: Telemetry, *, grpc: bool) -> None:
    capture = Capture()
    telemetry._capture = capture
    for name in _QUIET_LOGGERS:
        logger = logging.getLogger(name)
        telemetry._saved_loggers.append((logger, logger.propagate))
        logger.addHandler(capture)
        logger.propagate = False
    if grpc:
        # gRPC's C core writes to stderr itself unless told otherwise (read when it starts).
        os.environ.setdefault("GRPC_VERBOSITY", "NONE")


def _prometheus_reader(host: str, port: int) -> tuple[MetricReader, PrometheusServer]:
    try:
        from opentelemetry.exporter.prometheus import PrometheusMetricReader
        from prometheus_client import CollectorRegistry
    except ImportError as exc:
        raise ConfigError(
            "--prometheus-port needs the Prometheus exporter: pip install 'aumai-chaos[prometheus]'"
        ) from exc
    registry = CollectorRegistry()
    reader = PrometheusMetricReader(registry=registry)
    try:
        server = PrometheusServer(registry, host, port)
    except OSError as exc:
        raise ConfigError(
            f"--prometheus-port: cannot serve on {host}:{port}: {exc.strerror or exc}"
        ) from exc
    return reader, server


def setup_telemetry(
    *,
    otlp_endpoint: str | None = None,
    otlp_protocol: str | None = None,
    service_name: str | None = None,
    prometheus_host: str = "127.0.0.1",
    prometheus_port: int | None = None,
    env: Mapping[str, str] | None = None,
) -> Telemetry:
    """Build the SDK providers the options and ``OTEL_*`` variables ask for (maybe none).

    Raises :class:`~aumai_chaos.ConfigError` for a bad endpoint or protocol, a missing exporter
    package, or a Prometheus port that cannot be bound.
    """
    env = os.environ if env is None else env
    telemetry = Telemetry()
    try:
        _build(telemetry, otlp_endpoint, otlp_protocol, service_name, env)
        readers: list[MetricReader] = list(telemetry._readers)
        if prometheus_port is not None:
            reader, telemetry.prometheus = _prometheus_reader(prometheus_host, prometheus_port)
            readers.append(reader)
        if readers:
            telemetry.meter_provider = MeterProvider(
                metric_readers=readers, resource=_resource(service_name), shutdown_on_exit=False
            )
    except BaseException:
        telemetry.finish(budget_s=0.5)
        raise
    return telemetry


def _build(
    telemetry: Telemetry,
    otlp_endpoint: str | None,
    otlp_protocol: str | None,
    service_name: str | None,
    env: Mapping[str, str],
) -> None:
    traces = _wants(env, "traces", otlp_endpoint is not None)
    metrics_ = _wants(env, "metrics", otlp_endpoint is not None)
    if not (traces or metrics_):
        return
    protocol = (
        otlp_protocol
        or _env(env, "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL")
        or "http/protobuf"
    )
    if protocol not in PROTOCOLS:
        raise ConfigError(f"unsupported OTLP protocol {protocol!r}; use {' or '.join(PROTOCOLS)}")
    telemetry.otlp_target = _describe_target(otlp_endpoint, env)
    _quiet_exporter_logs(telemetry, grpc=protocol == "grpc")
    span_exporter, metric_exporter = _exporters(otlp_endpoint, protocol, env)
    if traces:
        watched_spans = WatchedSpanExporter(span_exporter, telemetry._failures)
        telemetry._exporters.append(watched_spans)
        telemetry.tracer_provider = TracerProvider(
            resource=_resource(service_name), shutdown_on_exit=False
        )
        telemetry.tracer_provider.add_span_processor(BatchSpanProcessor(watched_spans))
    if metrics_:
        watched_metrics = WatchedMetricExporter(metric_exporter, telemetry._failures)
        telemetry._exporters.append(watched_metrics)
        interval = None if _env(env, "OTEL_METRIC_EXPORT_INTERVAL") else METRIC_INTERVAL_MS
        telemetry._readers.append(
            PeriodicExportingMetricReader(watched_metrics, export_interval_millis=interval)
        )


def install_globally(telemetry: Telemetry) -> None:
    """Make the providers the process-wide ones: the CLI is the application."""
    from opentelemetry import metrics, trace

    if telemetry.tracer_provider is not None:
        trace.set_tracer_provider(telemetry.tracer_provider)
    if telemetry.meter_provider is not None:
        metrics.set_meter_provider(telemetry.meter_provider)

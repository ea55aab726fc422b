"""The CLI's OpenTelemetry set-up without a network: what gets exported when, and where."""

from __future__ import annotations

import urllib.request

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import TracerProvider

from aumai_chaos import ConfigError
from aumai_chaos.cli._otel_export import reason
from aumai_chaos.cli._otel_setup import _check_endpoint, _resource, setup_telemetry


def test_nothing_is_exported_without_an_endpoint_or_otel_variables() -> None:
    telemetry = setup_telemetry(env={})
    assert telemetry.tracer_provider is None
    assert telemetry.meter_provider is None
    assert telemetry.prometheus is None
    assert telemetry.finish() == []


@pytest.mark.parametrize(
    ("env", "traces", "metrics"),
    [
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, True, True),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4318/v1/traces"}, True, False),
        ({"OTEL_TRACES_EXPORTER": "otlp"}, True, False),
        ({"OTEL_TRACES_EXPORTER": "otlp", "OTEL_METRICS_EXPORTER": "otlp"}, True, True),
        (
            {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://x:4318", "OTEL_TRACES_EXPORTER": "none"},
            False,
            True,
        ),
        ({"OTEL_TRACES_EXPORTER": "console"}, False, False),
    ],
)
def test_the_standard_variables_decide(env: dict[str, str], traces: bool, metrics: bool) -> None:
    telemetry = setup_telemetry(env=env)
    try:
        assert isinstance(telemetry.tracer_provider, TracerProvider) is traces
        assert isinstance(telemetry.meter_provider, MeterProvider) is metrics
    finally:
        telemetry.finish(budget_s=0.5)


def test_an_endpoint_option_exports_both_unless_a_signal_is_switched_off() -> None:
    telemetry = setup_telemetry(otlp_endpoint="http://127.0.0.1:1", env={})
    assert telemetry.tracer_provider is not None
    assert telemetry.meter_provider is not None
    telemetry.finish(budget_s=0.5)
    telemetry = setup_telemetry(
        otlp_endpoint="http://127.0.0.1:1", env={"OTEL_METRICS_EXPORTER": "none"}
    )
    assert telemetry.tracer_provider is not None
    assert telemetry.meter_provider is None
    telemetry.finish(budget_s=0.5)


@pytest.mark.parametrize(
    ("endpoint", "base", "insecure"),
    [
        ("http://localhost:4318", "http://localhost:4318", True),
        ("http://localhost:4318/", "http://localhost:4318", True),
        ("http://localhost:4318/v1/traces", "http://localhost:4318", True),
        ("https://collector.example:443/otlp", "https://collector.example:443/otlp", False),
        ("localhost:4317", "http://localhost:4317", True),
    ],
)
def test_endpoints(endpoint: str, base: str, insecure: bool) -> None:
    assert _check_endpoint(endpoint) == (base, insecure)


@pytest.mark.parametrize("endpoint", ["ftp://x:21", "http://", "http://host:notaport"])
def test_bad_endpoints(endpoint: str) -> None:
    with pytest.raises(ConfigError, match="--otlp-endpoint"):
        setup_telemetry(otlp_endpoint=endpoint, env={})


def test_an_unsupported_protocol_from_the_environment() -> None:
    with pytest.raises(ConfigError, match="unsupported OTLP protocol 'http/json'"):
        setup_telemetry(
            env={
                "OTEL_EXPORTER_OTLP_ENDPOINT": "http://x",
                "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json",
            }
        )


def test_the_service_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OTEL_SERVICE_NAME", raising=False)
    monkeypatch.delenv("OTEL_RESOURCE_ATTRIBUTES", raising=False)
    assert _resource(None).attributes["service.name"] == "aumai-chaos"
    # aumai-chaos's own version is not the user's service's: absent unless the user sets it.
    assert "service.version" not in _resource(None).attributes
    assert _resource("my-agent").attributes["service.name"] == "my-agent"
    monkeypatch.setenv("OTEL_SERVICE_NAME", "from-env")
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=ci,service.version=9")
    resource = _resource(None)
    assert resource.attributes["service.name"] == "from-env"
    assert resource.attributes["deployment.environment"] == "ci"
    assert resource.attributes["service.version"] == "9"
    assert _resource("flag-wins").attributes["service.name"] == "flag-wins"


def test_prometheus_on_an_ephemeral_port() -> None:
    telemetry = setup_telemetry(prometheus_port=0, env={})
    try:
        assert telemetry.meter_provider is not None
        assert telemetry.prometheus is not None
        assert telemetry.prometheus.port > 0
        counter = telemetry.meter_provider.get_meter("t").create_counter("chaos.test.things")
        counter.add(2)
        with urllib.request.urlopen(telemetry.prometheus.url, timeout=5) as response:
            body = response.read().decode()
        assert "chaos_test_things_total" in body
        assert telemetry.prometheus.scrapes == 1
    finally:
        assert telemetry.finish(budget_s=1) == []


@pytest.mark.parametrize(
    ("messages", "expected"),
    [
        (["Failed to export spans batch code: 404, reason: Not Found"], "HTTP 404 Not Found"),
        (
            ["Transient error HTTPConnectionPool(...) [Errno 111] Connection refused"],
            "connection refused",
        ),
        (
            ["Transient error Service Unavailable encountered while exporting"],
            "Service Unavailable (still failing after retries)",
        ),
        (["Read timed out. (read timeout=3.0)"], "timed out"),
        ([], ""),
    ],
)
def test_failure_reasons(messages: list[str], expected: str) -> None:
    assert reason(messages) == expected

"""The options ``run`` and ``proxy`` share: the experiment file, and how a run's result is
reported and exported.

Each is an ``Annotated`` type for a Typer parameter, declared once so that the two commands
take the same flags with the same help, bounds and defaults.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

__all__ = [
    "ExperimentFile",
    "JsonOutput",
    "JunitXml",
    "OtlpEndpoint",
    "OtlpProtocol",
    "OtlpProtocolOption",
    "Output",
    "PrometheusHost",
    "PrometheusLinger",
    "PrometheusPort",
    "Repeat",
    "Seed",
    "ServiceName",
]


class OtlpProtocol(StrEnum):
    http_protobuf = "http/protobuf"
    grpc = "grpc"


ExperimentFile = Annotated[
    str,
    typer.Option(
        "--experiment",
        "-e",
        metavar="FILE",
        help="Experiment file (YAML or JSON).",
        show_default=False,
    ),
]
JsonOutput = Annotated[
    bool, typer.Option("--json-output", help="Print the full result as one JSON document.")
]
Output = Annotated[
    str | None,
    typer.Option("--output", "-o", metavar="PATH", help="Also write the result as JSON."),
]
JunitXml = Annotated[
    str | None,
    typer.Option(
        "--junit-xml",
        metavar="PATH",
        help="Also write a JUnit XML report: a test case per objective and per fault.",
    ),
]
Seed = Annotated[
    int | None,
    typer.Option(min=0, max=2**63 - 1, help="Seed the fault draws, to replay a run."),
]
Repeat = Annotated[
    int | None,
    typer.Option(
        metavar="N",
        help="Run N trials, seeds seed+i: pass rate and pass^k (overrides the file).",
        show_default=False,
    ),
]
OtlpEndpoint = Annotated[
    str | None,
    typer.Option(metavar="URL", help="Export traces and metrics to this OTLP collector."),
]
OtlpProtocolOption = Annotated[
    OtlpProtocol | None,
    typer.Option(help="OTLP protocol (default: OTEL_EXPORTER_OTLP_PROTOCOL, else http/protobuf)."),
]
ServiceName = Annotated[
    str | None,
    typer.Option(help="service.name (default: OTEL_SERVICE_NAME, else aumai-chaos)."),
]
PrometheusPort = Annotated[
    int | None,
    typer.Option(min=0, max=65535, help="Serve the run's metrics for Prometheus on this port."),
]
PrometheusHost = Annotated[str, typer.Option(help="Address to serve Prometheus metrics on.")]
PrometheusLinger = Annotated[
    float,
    typer.Option(
        min=0, max=3600, help="After the run, keep serving until scraped, at most this long."
    ),
]

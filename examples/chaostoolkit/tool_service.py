"""The tool service of the Chaos Toolkit example (and the cross-service tests):
``python -m examples.chaostoolkit.tool_service``.

uvicorn and starlette on 127.0.0.1, port 0 (the port is printed as ``PORT <n>``), one
``@chaos_target`` handler, experiments armed through ``AUMAI_CHAOS_ARMED``. It has no OpenTelemetry
server instrumentation of its own: each request's context comes from
``aumai_chaos.propagation.extract`` and its server span is opened here. With ``TOOL_OTLP`` set,
spans are exported there (OTLP/HTTP), one at a time; with ``TOOL_PROMETHEUS`` set, ``/metrics``
serves the metrics in Prometheus' text format.
"""

from __future__ import annotations

import os
import signal
import socket
import sys

from opentelemetry import trace

if os.environ.get("TOOL_OTLP"):  # the SDK before aumai_chaos: what it arms traces through it
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": "tool-service"}))
    exporter = OTLPSpanExporter(endpoint=os.environ["TOOL_OTLP"] + "/v1/traces")
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)

if os.environ.get("TOOL_PROMETHEUS"):  # /metrics: the metrics aumai-chaos records, live
    from opentelemetry import metrics
    from opentelemetry.exporter.prometheus import PrometheusMetricReader
    from opentelemetry.sdk.metrics import MeterProvider

    metrics.set_meter_provider(MeterProvider(metric_readers=[PrometheusMetricReader()]))

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

import aumai_chaos
from aumai_chaos import propagation

calls = {"lookup": 0}
tracer = trace.get_tracer("tool-service")


@aumai_chaos.chaos_target("tool.lookup")
def lookup(query: str) -> dict[str, str]:
    calls["lookup"] += 1
    return {"answer": query.upper()}


async def tool(request: Request) -> JSONResponse:
    ctx = propagation.extract(request.headers)
    with (
        propagation.attached(ctx),
        tracer.start_as_current_span("POST /tool", kind=trace.SpanKind.SERVER),
    ):
        try:
            return JSONResponse(lookup(request.query_params.get("q", "")))
        except aumai_chaos.InjectedFaultError as exc:
            return JSONResponse({"error": str(exc)}, status_code=503)


async def stats(request: Request) -> JSONResponse:
    return JSONResponse(
        {"armed": aumai_chaos.armed(), "ignored": propagation.ignored(), "calls": calls}
    )


async def prometheus(request: Request) -> Response:
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


app = Starlette(
    routes=[
        Route("/tool", tool, methods=["POST"]),
        Route("/stats", stats),
        Route("/metrics", prometheus),
    ]
)


def main() -> None:
    # uvicorn re-raises SIGTERM once it has shut down; exit normally then, so that the atexit
    # handlers run: aumai-chaos disarms what is still armed and writes its results.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)  # connections wait in the backlog until uvicorn accepts them
    print(f"PORT {sock.getsockname()[1]}", flush=True)
    config = uvicorn.Config(app, log_level="warning", lifespan="off")
    uvicorn.Server(config).run(sockets=[sock])
    sys.exit(0)


if __name__ == "__main__":
    main()

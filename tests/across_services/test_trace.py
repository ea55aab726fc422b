"""One trace across both processes: the caller's experiment span, the tool service's server span
under it, and the fault under that server span; both services export to one OTLP receiver."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

import aumai_chaos
from tests.across_services.conftest import TOOL_ERRORS, start_tool_service
from tests.cli.support import attrs, collect_stream, free_port

pytestmark = pytest.mark.integration


def _call_in_block(url: str, endpoint: str) -> list[int]:
    provider = TracerProvider(resource=Resource.create({"service.name": "agent"}))
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    aumai_chaos.instrument(tracer_provider=provider)
    try:
        with (
            httpx.Client() as client,
            aumai_chaos.experiment(
                experiment_id="tool-errors", scope="baggage", tracer_provider=provider
            ),
        ):
            return [client.post(url + "/tool", params={"q": "x"}).status_code for _ in range(2)]
    finally:
        aumai_chaos.uninstrument()
        provider.shutdown()


@pytest.mark.asyncio
async def test_one_trace_holds_both_services_and_the_fault_under_the_server_span(
    tmp_path: Path,
) -> None:
    from oteltap import OtelTapHttpProtobufReceiver, OtelTapHttpProtobufReceiverSettings

    port = free_port()
    spans: list[Any] = []
    settings = OtelTapHttpProtobufReceiverSettings(http_port=port)
    async with OtelTapHttpProtobufReceiver(settings) as receiver:
        task = asyncio.create_task(collect_stream(receiver.stream_traces(), spans))
        await asyncio.sleep(0.1)  # the stream subscribes when it starts iterating
        armed = tmp_path / "armed"
        armed.mkdir()
        (armed / "t.yaml").write_text(TOOL_ERRORS.format(duration=600), encoding="utf-8")
        service = start_tool_service(tmp_path, TOOL_OTLP=f"http://127.0.0.1:{port}")
        try:
            await asyncio.to_thread(service.wait_armed, ["tool-errors"])
            codes = await asyncio.to_thread(
                _call_in_block, service.url, f"http://127.0.0.1:{port}/v1/traces"
            )
        finally:
            await asyncio.to_thread(service.stop)  # disarms: its experiment span ends
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if sum(s.name == "chaos.experiment" for s in spans) == 2:
                break
            await asyncio.sleep(0.1)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert codes == [503, 503]
    by_id = {s.span_id: s for s in spans}
    servers = [s for s in spans if s.name == "POST /tool"]
    faults = [s for s in spans if s.name == "chaos.fault"]
    assert len(servers) == 2
    caller = by_id[servers[0].parent_span_id]  # the caller's block, in the other process
    assert caller.name == "chaos.experiment"
    assert len(faults) == 2
    assert {s.trace_id for s in servers + faults} == {caller.trace_id}
    for server in servers:
        assert server.parent_span_id == caller.span_id  # across the process boundary
    for fault in faults:
        ancestors = []
        parent = by_id.get(fault.parent_span_id)
        while parent is not None:
            ancestors.append(parent)
            parent = by_id.get(parent.parent_span_id)
        assert any(a.name == "POST /tool" for a in ancestors)
    chaos_spans = [s for s in spans if s.name.startswith("chaos.") or s.name == "tool.lookup"]
    assert {attrs(s)["chaos.experiment.id"] for s in chaos_spans} == {"tool-errors"}
    # Both services' experiment spans: the caller's block and the tool service's armed run.
    assert len([s for s in spans if s.name == "chaos.experiment"]) == 2

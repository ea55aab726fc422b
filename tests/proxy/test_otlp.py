"""``aumai-chaos proxy --otlp-endpoint``: the proxy's server span continues the client's W3C
trace, and the fault it injected sits in the same trace, as a receiver nobody on the team wrote
(oteltap) gets them from the proxy's own process."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from aumai_chaos.testing import ProviderServer
from tests.cli.support import collect_stream, free_port
from tests.proxy.support import proxy, write_experiment

pytestmark = pytest.mark.integration

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"
EXPERIMENT = """\
experiment_id: proxy-otlp
name: Proxy OTLP
duration_seconds: {duration}
faults:
  - fault_type: rate_limit
    times: 1
    affected_components: [openai.chat.completions]
"""


async def _traced_run(tmp_path: Path) -> tuple[list[int], list[Any], list[Any]]:
    from oteltap import OtelTapHttpProtobufReceiver, OtelTapHttpProtobufReceiverSettings

    port = free_port()
    spans: list[Any] = []
    metrics: list[Any] = []
    async with OtelTapHttpProtobufReceiver(
        OtelTapHttpProtobufReceiverSettings(http_port=port)
    ) as receiver:
        tasks = [
            asyncio.create_task(collect_stream(receiver.stream_traces(), spans)),
            asyncio.create_task(collect_stream(receiver.stream_metrics(), metrics)),
        ]
        await asyncio.sleep(0.1)

        def session() -> list[int]:
            exp = write_experiment(tmp_path, EXPERIMENT)
            extra = ("--otlp-endpoint", f"http://127.0.0.1:{port}")
            with ProviderServer() as server, proxy(exp, server.url, extra=extra) as run:
                headers = {"traceparent": f"00-{TRACE_ID}-{PARENT_ID}-01"}
                body = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
                url = run.url + "/v1/chat/completions"
                return [
                    httpx.post(url, json=body, headers=headers, timeout=10).status_code
                    for _ in range(2)
                ]

        statuses = await asyncio.to_thread(session)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not any(s.name == "chaos.fault" for s in spans):
            await asyncio.sleep(0.1)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return statuses, spans, metrics


def test_the_clients_trace_goes_through_the_proxy_to_the_fault(tmp_path: Path) -> None:
    statuses, spans, metrics = asyncio.run(_traced_run(tmp_path))
    assert statuses == [429, 200]
    servers = [s for s in spans if s.kind == 2]  # SPAN_KIND_SERVER
    assert len(servers) == 2
    for span in servers:
        assert span.name == "POST"
        assert span.trace_id.hex() == TRACE_ID
        assert span.parent_span_id.hex() == PARENT_ID
    [fault] = [s for s in spans if s.name == "chaos.fault"]
    assert fault.trace_id.hex() == TRACE_ID
    assert "chaos.fault.injections" in {m.name for m in metrics}

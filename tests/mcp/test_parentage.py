"""The ``chaos.fault`` span sits where the real failure shows on the SDK's own spans: under
the client's ``MCP send tools/call <tool>`` span (``instrument()``), under the server's
``tools/call <tool>`` span (``ChaosMiddleware``), with the SDK's attribute names and values.

The ``mcp`` SDK traces through the global tracer provider, so this runs in a fresh process.
"""

from __future__ import annotations

import json
from typing import Any

from tests.helpers import run_python

SCRIPT = """
import json, logging
import anyio
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

logging.disable(logging.CRITICAL)
exporter = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(exporter))
trace.set_tracer_provider(provider)

import aumai_chaos
from aumai_chaos import mcp as chaos_mcp
from mcp.shared.exceptions import MCPError
from tests.mcp.support import connect

async def main():
    chaos_mcp.instrument()
    own = [{"fault_type": "mcp_tool_error", "affected_components": ["mcp.tool.stats"]}]
    async with connect("memory", faults=own) as session:
        await session.call_tool("stats", {"n": 1})
        fault = {"fault_type": "jsonrpc_error", "error_code": -32050, "error_message": "busy"}
        async with aumai_chaos.experiment(
            faults=[fault], target_components=["mcp.tool.search_docs"], require_faults_fired=False
        ):
            try:
                await session.call_tool("search_docs", {"query": "q"})
            except MCPError:
                pass
    chaos_mcp.uninstrument()

anyio.run(main)
spans = exporter.get_finished_spans()
by_id = {s.context.span_id: s for s in spans}
def chain(s):
    names = []
    while s.parent is not None and s.parent.span_id in by_id:
        s = by_id[s.parent.span_id]
        names.append(s.name)
    return names
print(json.dumps([
    {"name": s.name, "ancestors": chain(s), "attributes": dict(s.attributes)}
    for s in spans
]))
"""


def _spans() -> list[dict[str, Any]]:
    done = run_python(SCRIPT)
    assert done.returncode == 0, done.stderr
    spans: list[dict[str, Any]] = json.loads(done.stdout.strip().splitlines()[-1])
    return spans


def test_fault_spans_sit_under_the_sdks_own_spans_with_its_attributes() -> None:
    spans = _spans()
    faults = [s for s in spans if s["name"] == "chaos.fault"]
    assert len(faults) == 2
    client = next(f for f in faults if f["attributes"]["chaos.fault.type"] == "jsonrpc_error")
    server = next(f for f in faults if f["attributes"]["chaos.fault.type"] == "mcp_tool_error")

    # the client side: a child of the SDK's client span, inside the component-call span
    assert client["ancestors"][:2] == ["MCP send tools/call search_docs", "mcp.tool.search_docs"]
    sdk_client = next(s for s in spans if s["name"] == "MCP send tools/call search_docs")
    expected = {
        "mcp.method.name": "tools/call",
        "gen_ai.tool.name": "search_docs",
        "gen_ai.operation.name": "execute_tool",
        "jsonrpc.request.id": sdk_client["attributes"]["jsonrpc.request.id"],
        "error.type": "-32050",
        "rpc.response.status_code": "-32050",
    }
    assert {k: client["attributes"][k] for k in expected} == expected
    for key in ("error.type", "rpc.response.status_code"):  # as the SDK set them for it
        assert sdk_client["attributes"][key] == expected[key]

    # the server side: a child of the server's span, which the SDK marks as a tool error
    assert server["ancestors"][0] == "tools/call stats"
    sdk_server = next(s for s in spans if s["name"] == "tools/call stats")
    assert server["attributes"]["error.type"] == sdk_server["attributes"]["error.type"]
    assert sdk_server["attributes"]["error.type"] == "tool_error"
    assert server["attributes"]["gen_ai.tool.name"] == "stats"
    assert (
        server["attributes"]["jsonrpc.request.id"] == sdk_server["attributes"]["jsonrpc.request.id"]
    )

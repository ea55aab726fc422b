"""``ChaosMiddleware``: a server you own fails as it would itself, seen by the real client
(the server a subprocess over stdio, uvicorn on loopback, or in memory); bad faults are
refused at construction; experiments running in the server process reach it."""

from __future__ import annotations

import time
from typing import Any

import pytest
from mcp.shared.exceptions import MCPError

import aumai_chaos
from aumai_chaos.errors import ConfigError
from aumai_chaos.mcp import ChaosMiddleware
from tests.mcp.support import TRANSPORTS, connect, texts

QUERY = {"query": "retries"}
ON_SEARCH = {"affected_components": ["mcp.tool.search_docs"]}


async def _error(coro: Any) -> MCPError:
    with pytest.raises(MCPError) as caught:
        await coro
    return caught.value


@pytest.mark.parametrize(
    ("fault", "problem"),
    [
        ({"fault_type": "mcp_disconnect"}, "cannot inject mcp_disconnect: a server cannot die"),
        ({"fault_type": "rate_limit"}, "cannot inject rate_limit: it is no MCP failure"),
        ({"fault_type": "error"}, "cannot inject error: it is no MCP failure"),
        (
            {"fault_type": "mcp_tool_error", "affected_components": ["mcp.tool."]},
            "'mcp.tool.' names no tool",
        ),
        (
            {"fault_type": "mcp_tool_error", "affected_components": ["search"]},
            "acts on mcp.\\* components only, not on search",
        ),
        ({"fault_type": "jsonrpc_error", "error_code": "x"}, r"faults\[0\]\.jsonrpc_error"),
        ({"fault_type": "nope"}, r"faults\[0\]: Input tag 'nope'"),
    ],
)
def test_a_bad_fault_is_refused_at_construction(fault: dict[str, Any], problem: str) -> None:
    with pytest.raises(ConfigError, match=problem) as caught:
        ChaosMiddleware(faults=[fault])
    assert "\n" not in str(caught.value)


@pytest.mark.asyncio
@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_tool_faults_are_the_servers_own_failures(transport: str) -> None:
    async with connect(transport) as session:
        raised = await session.call_tool("broken", {})
        unknown = await session.call_tool("search_docz", QUERY)
        missing = await _error(session.read_resource("docs://missing"))
    faults = [
        {"fault_type": "mcp_tool_error", "times": 1, **ON_SEARCH},
        {"fault_type": "tool_vanished", "after_calls": 1, "times": 1, **ON_SEARCH},
        {
            "fault_type": "jsonrpc_error",
            "error_code": missing.error.code,
            "error_message": missing.error.message,
            "affected_components": ["mcp.resources.read"],
        },
    ]
    async with connect(transport, faults=faults) as session:
        as_raised = await session.call_tool("search_docs", QUERY)
        as_unknown = await session.call_tool("search_docs", QUERY)
        then = await session.call_tool("search_docs", QUERY)
        as_missing = await _error(session.read_resource("docs://readme"))
    assert as_raised.model_dump() == raised.model_dump() | {
        "content": [
            {**raised.model_dump()["content"][0], "text": "Error executing tool search_docs"}
        ]
    }
    assert as_unknown.model_dump() == unknown.model_dump() | {
        "content": [{**unknown.model_dump()["content"][0], "text": "Unknown tool: search_docs"}]
    }
    assert texts(then) == ["3 pages about retries"]
    assert type(as_missing) is type(missing)
    assert (as_missing.error.code, as_missing.error.message) == (
        missing.error.code,
        missing.error.message,
    )


@pytest.mark.asyncio
@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_hung_server_times_the_client_out_as_a_slow_tool_does(transport: str) -> None:
    async with connect(transport) as session:
        real = await _error(session.call_tool("slow", {"seconds": 5}, read_timeout_seconds=0.3))
    faults = [{"fault_type": "mcp_timeout", "duration_ms": 5000, "times": 1, **ON_SEARCH}]
    async with connect(transport, faults=faults) as session:
        hung = await _error(session.call_tool("search_docs", QUERY, read_timeout_seconds=0.3))
        after = await session.call_tool("search_docs", QUERY, read_timeout_seconds=5)
    assert type(hung) is type(real)
    assert (hung.error.code, hung.error.message) == (real.error.code, real.error.message)
    assert texts(after) == ["3 pages about retries"]


@pytest.mark.asyncio
async def test_latency_and_output_faults_on_the_servers_answer() -> None:
    faults = [
        {"fault_type": "latency", "duration_ms": 200, "affected_components": ["mcp.tool.stats"]},
        {"fault_type": "truncated_output", "affected_components": ["mcp.tool.stats"]},
        {"fault_type": "tool_vanished", "tool_name": "die", "affected_components": ["mcp.tools.*"]},
    ]
    async with connect("memory", faults=faults) as session:
        t0 = time.monotonic()
        half = await session.call_tool("stats", {"n": 4})
        waited = time.monotonic() - t0
        names = {t.name for t in (await session.list_tools()).tools}
    assert waited >= 0.2
    assert half.structured_content == {"title": "xx", "pages": [0, 1]}
    assert "die" not in names
    assert "search_docs" in names


@pytest.mark.asyncio
async def test_an_experiment_in_the_server_process_reaches_the_middleware() -> None:
    fault = {"fault_type": "mcp_tool_error", "error_message": "index offline"}
    async with connect("memory", faults=[{"fault_type": "latency", "duration_ms": 0}]) as session:
        async with aumai_chaos.experiment(
            faults=[fault], target_components=["mcp.tool.*"], scope="process"
        ) as exp:
            result = await session.call_tool("search_docs", QUERY)
        after = await session.call_tool("search_docs", QUERY)
    assert result.is_error
    assert texts(result) == ["index offline"]
    assert exp.fired("mcp.tool.search_docs") == 1
    assert not after.is_error

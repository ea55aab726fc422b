"""MCP components in the plugin: ``chaos.inject("mcp.tool.<name>", ...)`` instruments the
``mcp`` client sessions for that test only, as HTTP components turn the transport on."""

from __future__ import annotations

import pytest

from tests.pytest_plugin.conftest import Run

AGENT = """
import pytest
from mcp.client._memory import InMemoryTransport
from mcp.client.session import ClientSession
from mcp.server.mcpserver import MCPServer

from aumai_chaos.mcp import is_instrumented

server = MCPServer("docs")

@server.tool()
def search_docs(query: str) -> str:
    return f"3 pages about {query}"

async def ask(times=3):
    async with InMemoryTransport(server) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            return [
                (await session.call_tool("search_docs", {"query": "q"})).is_error
                for _ in range(times)
            ]
"""


def test_inject_on_an_mcp_tool_fails_it_for_that_test_only(
    pytester: pytest.Pytester, run: Run
) -> None:
    pytester.makepyfile(
        test_agent=AGENT
        + """
def test_before():
    assert not is_instrumented()

@pytest.mark.asyncio
async def test_one_tool_error(chaos):
    chaos.inject("mcp.tool.search_docs", fault_type="mcp_tool_error", times=1)
    assert is_instrumented()
    assert await ask() == [True, False, False]
    assert chaos.fired("mcp.tool.search_docs", "mcp_tool_error") == 1

@pytest.mark.asyncio
@pytest.mark.chaos("mcp.tool.*", fault_type="tool_vanished", every=2)
async def test_marker_with_a_glob():
    assert await ask(4) == [False, True, False, True]

def test_after():
    assert not is_instrumented()

def test_a_bad_component(chaos):
    with pytest.raises(ValueError, match="names no tool"):
        chaos.inject("mcp.tool.", fault_type="mcp_tool_error")
"""
    )
    run("--chaos-seed", "5", subprocess=True).assert_outcomes(passed=5)

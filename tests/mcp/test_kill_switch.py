"""Under the kill switch nothing fires, and an experiment still counts every call it watches:
a decorated component, an HTTP transport component and an MCP component, in one block, over
real clients and servers."""

from __future__ import annotations

import httpx
import pytest

import aumai_chaos
from aumai_chaos import chaos_target
from aumai_chaos.testing import ProviderServer
from aumai_chaos.transport import ChaosTransport
from tests.experiments.support import unique
from tests.mcp.support import connect, texts

pytestmark = pytest.mark.asyncio


@pytest.mark.usefixtures("instrumented")
async def test_decorated_transport_and_mcp_components_are_all_counted() -> None:
    tool_name, llm, docs = unique("tool"), unique("llm"), "mcp.tool.search_docs"

    @chaos_target(tool_name)
    async def tool() -> int:
        return 1

    aumai_chaos.disable()
    with (
        ProviderServer() as server,
        httpx.Client(transport=ChaosTransport(component=llm)) as http,
    ):
        async with (
            connect("memory") as session,
            aumai_chaos.experiment(
                faults=[
                    {"fault_type": "error", "affected_components": [tool_name]},
                    {"fault_type": "error", "error_code": 503, "affected_components": [llm]},
                    {"fault_type": "mcp_tool_error", "affected_components": [docs]},
                ],
            ) as run,
        ):
            assert await tool() == 1
            response = http.post(f"{server.openai_base_url}/chat/completions", json={"m": 1})
            assert response.status_code == 200
            for _ in range(2):
                result = await session.call_tool("search_docs", {"query": "retries"})
                assert texts(result) == ["3 pages about retries"]
    assert run.result is not None
    summary = run.result.summary
    assert summary["total_faults_fired"] == 0
    calls = {n: s["calls"] for n, s in summary["components"].items()}
    assert calls == {tool_name: 1, llm: 1, docs: 2}
    assert run.result.injection_disabled

"""An experiment armed in an MCP server (``AUMAI_CHAOS_ARMED``) faults only the requests whose
caller's baggage names it: the ``mcp`` SDK carries the baggage in ``_meta``, and
``ChaosMiddleware`` reads it there. Two processes: the client here, the server over stdio."""

from __future__ import annotations

from pathlib import Path

import pytest

import aumai_chaos
from tests.mcp.support import connect, texts

QUERY = {"query": "retries"}
EXPERIMENT = """\
experiment_id: mcp-armed
name: MCP tool error, armed in the server
duration_seconds: 600
faults:
  - fault_type: mcp_tool_error
    error_message: armed in the server
    affected_components: [mcp.tool.search_docs]
"""


@pytest.mark.asyncio
async def test_only_the_requests_whose_baggage_names_the_armed_experiment_fail(
    tmp_path: Path,
) -> None:
    armed = tmp_path / "armed.yaml"
    armed.write_text(EXPERIMENT, encoding="utf-8")
    env = {"AUMAI_CHAOS_ARMED": str(armed)}
    async with connect("stdio", faults=[], env=env) as session:
        before = await session.call_tool("search_docs", QUERY)
        async with aumai_chaos.experiment(
            experiment_id="mcp-armed",
            name="the caller's side",
            faults=[],
            scope="baggage",
            require_faults_fired=False,
        ):
            inside = [await session.call_tool("search_docs", QUERY) for _ in range(3)]
        after = await session.call_tool("search_docs", QUERY)
    assert not before.is_error
    assert [texts(r) for r in inside] == [["armed in the server"]] * 3
    assert all(r.is_error for r in inside)
    assert not after.is_error

"""examples/mcp_agent: the openai-SDK agent with its tools behind a real MCP server over stdio,
against ProviderServer, offline: the robust agent answers every question under the same seeded
MCP faults that cost the fragile one half of them."""

from __future__ import annotations

import pytest

from tests.helpers import run_python


@pytest.mark.slow
def test_the_mcp_agent_demo_runs_as_written() -> None:
    done = run_python(
        "import runpy; runpy.run_module('examples.mcp_agent.demo', run_name='__main__')",
        timeout=110,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "fragile agent: 4/8 questions answered (4 faults)",
        "robust agent: 8/8 questions answered (6 faults)",
    ]

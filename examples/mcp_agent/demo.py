"""The MCP agent, fragile and robust, under the same seeded MCP faults, offline.

``python -m examples.mcp_agent.demo`` starts ``ProviderServer`` (a scripted OpenAI-compatible
model) on loopback, points the ``openai`` SDK at it, and asks each agent the same questions
while an experiment fails its ``search_docs`` tool, which a real MCP server serves over stdio:
every third call answers ``isError`` (``mcp_tool_error``), one call times out
(``mcp_timeout``) and the server's connection dies once (``mcp_disconnect``).
"""

from __future__ import annotations

import asyncio
import logging

from openai import AsyncOpenAI

import aumai_chaos
from aumai_chaos import mcp as chaos_mcp
from aumai_chaos.testing import ProviderServer
from examples.mcp_agent.agent import FRAGILE, ROBUST, AgentError, McpAgent, Resilience

QUESTIONS = [
    f"What does the handbook say about {topic}?"
    for topic in ("retries", "timeouts", "fallbacks", "retries", "timeouts", "fallbacks")
] + ["retries and timeouts?", "fallbacks and retries?"]

FAULTS = [
    {"fault_type": "mcp_tool_error", "error_message": "index offline", "every": 3},
    {"fault_type": "mcp_timeout", "duration_ms": 300, "after_calls": 4, "times": 1},
    {"fault_type": "mcp_disconnect", "after_calls": 7, "times": 1},
]


async def run(server: ProviderServer, name: str, resilience: Resilience) -> int:
    client = AsyncOpenAI(base_url=server.openai_base_url, api_key="demo", max_retries=0)
    answered = 0
    experiment = aumai_chaos.experiment(
        faults=FAULTS, target_components=["mcp.tool.search_docs"], seed=21
    )
    async with client, McpAgent(client, resilience) as agent, experiment as exp:
        for question in QUESTIONS:
            try:
                await agent.ask(question)
                answered += 1
            except AgentError:
                pass
        fired = exp.fired("mcp.tool.search_docs")
    print(f"{name} agent: {answered}/{len(QUESTIONS)} questions answered ({fired} faults)")
    return answered


async def main() -> None:
    logging.getLogger("mcp").setLevel(logging.CRITICAL)
    chaos_mcp.instrument()
    try:
        with ProviderServer() as server:
            await run(server, "fragile", FRAGILE)
            await run(server, "robust", ROBUST)
    finally:
        chaos_mcp.uninstrument()


if __name__ == "__main__":
    asyncio.run(main())

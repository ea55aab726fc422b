"""An agent on the ``openai`` SDK whose tools live behind an MCP server reached over stdio.

The model offers to call the MCP server's tools (listed with ``tools/list``); each tool call
is a ``tools/call`` on the agent's ``mcp`` client session. :class:`Resilience` names what a
careful team adds around those calls:

- ``tool_timeout_s``: a deadline on each tool call (the SDK's ``read_timeout_seconds``);
- ``tool_retries``: call again when the tool answers ``isError`` or the call fails;
- ``reconnect``: when the server's connection is gone (``MCPError`` -32000), start the server
  again and open a new session, as after a crash;
- ``fallback``: when the tool keeps failing, tell the model so and let it answer anyway.

:data:`ROBUST` has them all; :data:`FRAGILE` has none, as a first prototype would.
"""

from __future__ import annotations

import contextlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.shared.exceptions import MCPError
from openai import AsyncOpenAI

__all__ = ["FRAGILE", "ROBUST", "AgentError", "McpAgent", "Resilience"]

REPO = Path(__file__).resolve().parents[2]
MODEL = "demo-model"
MAX_TURNS = 4
CONNECTION_CLOSED = -32000


@dataclass(frozen=True, slots=True)
class Resilience:
    tool_timeout_s: float | None = 1.0
    tool_retries: int = 2
    reconnect: bool = True
    fallback: bool = True


ROBUST = Resilience()
FRAGILE = Resilience(tool_timeout_s=None, tool_retries=0, reconnect=False, fallback=False)


class AgentError(RuntimeError):
    """The agent could not answer."""


class McpAgent:
    """``async with McpAgent(client, resilience) as agent: await agent.ask("...")``."""

    def __init__(self, client: AsyncOpenAI, resilience: Resilience = ROBUST) -> None:
        self.client = client
        self.resilience = resilience
        self._stack = contextlib.AsyncExitStack()
        self._session: ClientSession | None = None
        self._tools: list[dict[str, Any]] = []

    async def __aenter__(self) -> McpAgent:
        await self._connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._stack.aclose()

    async def _connect(self) -> None:
        """Start the MCP server (a subprocess over stdio) and open a session to it."""
        params = StdioServerParameters(
            command=sys.executable, args=["-m", "examples.mcp_agent.server"], cwd=REPO
        )
        read, write = await self._stack.enter_async_context(stdio_client(params))
        session = await self._stack.enter_async_context(ClientSession(read, write))
        await session.initialize()
        self._session = session
        listed = await session.list_tools()
        self._tools = [
            {
                "type": "function",
                "function": {
                    "name": t.name,
                    "description": t.description or "",
                    "parameters": t.input_schema,
                },
            }
            for t in listed.tools
        ]

    async def ask(self, question: str) -> str:
        messages: list[Any] = [{"role": "user", "content": question}]
        for _ in range(MAX_TURNS):
            reply = await self.client.chat.completions.create(
                model=MODEL, messages=messages, tools=self._tools
            )
            message = reply.choices[0].message
            if not message.tool_calls:
                return message.content or ""
            messages.append(message.model_dump(exclude_none=True))
            for call in message.tool_calls:
                result = await self._call_tool(call.function.name, call.function.arguments)
                messages.append({"role": "tool", "tool_call_id": call.id, "content": result})
        raise AgentError("no answer within the turn limit")

    async def _call_tool(self, name: str, arguments: str) -> str:
        args = json.loads(arguments or "{}")
        failure = ""
        for _ in range(self.resilience.tool_retries + 1):
            assert self._session is not None
            try:
                result = await self._session.call_tool(
                    name, args, read_timeout_seconds=self.resilience.tool_timeout_s
                )
            except MCPError as exc:
                failure = f"{name} failed: {exc.error.message} ({exc.error.code})"
                if exc.error.code == CONNECTION_CLOSED and self.resilience.reconnect:
                    await self._connect()
                continue
            text = " ".join(getattr(c, "text", "") for c in result.content)
            if not result.is_error:
                return text
            failure = f"{name} answered an error: {text}"
        if self.resilience.fallback:
            return f"The tool could not be used ({failure}). Answer without it."
        raise AgentError(failure)

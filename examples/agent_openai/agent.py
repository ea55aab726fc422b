"""The agent: an ``openai.AsyncOpenAI`` tool-calling loop, with or without its resilience.

One loop serves both variants; :class:`Resilience` names each safeguard a careful team adds:

- ``max_retries``: the SDK's own retries of 429, 5xx and connection errors, which honour the
  provider's ``Retry-After``;
- ``timeout_s``: the client's timeout, so that a stream that stalls raises instead of hanging
  (the SDK's default waits up to ten minutes);
- ``stream_retries``: ask again when a stream breaks or times out midway, which the SDK never
  retries once the response has started;
- ``argument_retries``: ask again when a tool call's arguments are not valid JSON;
- ``retrieval_fallback``: when the document search fails, tell the model so and let it answer
  anyway, instead of failing the whole question.

:data:`ROBUST` has them all; :data:`FRAGILE` has none, as a first prototype would.
Every wait is an ``await``: a fault that delays the model never blocks the event loop.

The agent traces itself with the OpenTelemetry API, in the GenAI conventions' names: an
``invoke_agent`` span per question and an ``execute_tool`` span per tool call. With
``opentelemetry-instrumentation-openai-v2`` the SDK's ``chat`` spans join them, and the
``chaos.fault`` spans of aumai-chaos sit under those: a trace shows where each fault hit.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import openai
from opentelemetry import trace

from examples.agent_openai.tools import TOOLS, calculate, search_docs

if TYPE_CHECKING:
    from openai import AsyncOpenAI
    from openai.types.chat import ChatCompletionMessageFunctionToolCallParam
    from openai.types.chat import ChatCompletionMessageParam as Message
    from opentelemetry.trace import TracerProvider

__all__ = ["FRAGILE", "ROBUST", "Agent", "AgentError", "Resilience", "make_client"]

log = logging.getLogger(__name__)

AGENT_NAME = "docs-agent"
MODEL = "demo-model"
#: Model turns per question, at most: the loop is bounded even if the model never stops.
MAX_TURNS = 4
SYSTEM = "You answer questions about resilient agents. Use the tools; be brief."


@dataclass(frozen=True, slots=True)
class Resilience:
    """The agent's safeguards (see the module docstring)."""

    max_retries: int = 3
    timeout_s: float | None = 1.0
    stream_retries: int = 2
    argument_retries: int = 3
    retrieval_fallback: bool = True


ROBUST = Resilience()
#: No retries, the SDK's default timeout (600 s), no fallback.
FRAGILE = Resilience(
    max_retries=0, timeout_s=None, stream_retries=0, argument_retries=0, retrieval_fallback=False
)


class AgentError(RuntimeError):
    """The agent could not answer."""


def make_client(resilience: Resilience = ROBUST, **kwargs: Any) -> AsyncOpenAI:
    """An ``AsyncOpenAI`` client with ``resilience``'s retries and timeout.

    The base URL and API key come from ``OPENAI_BASE_URL`` and ``OPENAI_API_KEY``, as for any
    openai client, unless given in ``kwargs``.
    """
    if resilience.timeout_s is not None:
        kwargs.setdefault("timeout", resilience.timeout_s)
    return openai.AsyncOpenAI(max_retries=resilience.max_retries, **kwargs)


@dataclass(slots=True)
class _ToolCall:
    id: str
    name: str
    arguments: str = ""


@dataclass(slots=True)
class _Turn:
    """One streamed model response, put back together."""

    content: str = ""
    tool_calls: list[_ToolCall] = field(default_factory=list)

    def message(self) -> Message:
        if not self.tool_calls:
            return {"role": "assistant", "content": self.content}
        calls: list[ChatCompletionMessageFunctionToolCallParam] = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
            for c in self.tool_calls
        ]
        return {"role": "assistant", "content": self.content or None, "tool_calls": calls}


class Agent:
    """Answers a question with the model and its tools, streaming every response."""

    def __init__(
        self,
        client: AsyncOpenAI,
        resilience: Resilience = ROBUST,
        *,
        model: str = MODEL,
        tracer_provider: TracerProvider | None = None,
    ) -> None:
        self.client = client
        self.resilience = resilience
        self.model = model
        self.tracer = trace.get_tracer(__name__, tracer_provider=tracer_provider)

    async def answer(self, question: str) -> str:
        attributes = {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": AGENT_NAME}
        with self.tracer.start_as_current_span(f"invoke_agent {AGENT_NAME}", attributes=attributes):
            messages: list[Message] = [
                {"role": "system", "content": SYSTEM},
                {"role": "user", "content": question},
            ]
            for _ in range(MAX_TURNS):
                turn, arguments = await self._ask(messages)
                if not turn.tool_calls:
                    return turn.content
                messages.append(turn.message())
                for call, args in zip(turn.tool_calls, arguments, strict=True):
                    result = await self._run_tool(call, args)
                    messages.append({"role": "tool", "tool_call_id": call.id, "content": result})
            raise AgentError(f"no answer after {MAX_TURNS} model turns")

    async def _ask(self, messages: list[Message]) -> tuple[_Turn, list[dict[str, Any]]]:
        """One model turn and its parsed tool arguments, asking again as ``resilience`` allows."""
        broken = malformed = 0
        while True:
            try:
                turn = await self._stream(messages)
            except openai.APIConnectionError:  # includes APITimeoutError: a stalled stream
                if broken >= self.resilience.stream_retries:
                    raise
                broken += 1
                log.info("stream broke; asking again (%d)", broken)
                continue
            try:
                return turn, [json.loads(c.arguments or "{}") for c in turn.tool_calls]
            except json.JSONDecodeError:
                if malformed >= self.resilience.argument_retries:
                    raise
                malformed += 1
                log.info("malformed tool arguments; asking again (%d)", malformed)

    async def _stream(self, messages: list[Message]) -> _Turn:
        stream = await self.client.chat.completions.create(
            model=self.model,
            messages=messages,
            tools=TOOLS,
            stream=True,
        )
        turn = _Turn()
        async with stream:
            async for chunk in stream:
                if not chunk.choices:
                    continue
                delta = chunk.choices[0].delta
                turn.content += delta.content or ""
                for part in delta.tool_calls or ():
                    if part.index == len(turn.tool_calls):
                        turn.tool_calls.append(_ToolCall(part.id or "", ""))
                    call = turn.tool_calls[part.index]
                    if part.function is not None:
                        call.name += part.function.name or ""
                        call.arguments += part.function.arguments or ""
        return turn

    async def _run_tool(self, call: _ToolCall, args: dict[str, Any]) -> str:
        attributes = {
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.name": call.name,
            "gen_ai.tool.call.id": call.id,
        }
        with self.tracer.start_as_current_span(f"execute_tool {call.name}", attributes=attributes):
            return await self._tool(call.name, args)

    async def _tool(self, name: str, args: dict[str, Any]) -> str:
        if name == "calculator":
            try:
                return calculate(str(args.get("expression", "")))
            except ValueError as exc:
                return f"error: {exc}"
        if name == "search_docs":
            try:
                return await search_docs(str(args.get("query", "")))
            except Exception as exc:
                if not self.resilience.retrieval_fallback:
                    raise
                log.info("document search failed (%s); answering without it", exc)
                trace.get_current_span().add_event("fallback", {"exception.message": str(exc)})
                return "The document search is unavailable; answer from what you know."
        raise AgentError(f"the model asked for an unknown tool {name!r}")

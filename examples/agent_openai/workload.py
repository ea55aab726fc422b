"""The workload entry points that experiment files name: one question per iteration.

``examples.agent_openai.workload:run_robust`` and ``...:run_fragile`` are async: an
experiment runs ``concurrency`` of them as tasks on one event loop, and each keeps one
``AsyncOpenAI`` client per loop, as an application keeps one client for its lifetime. The
model server is whatever ``OPENAI_BASE_URL`` points at.
"""

from __future__ import annotations

import asyncio
import itertools
import weakref

from examples.agent_openai.agent import FRAGILE, ROBUST, Agent, Resilience, make_client

__all__ = ["QUESTIONS", "run_fragile", "run_robust"]

#: What users ask. The scripted model calls the tool named in the question (else the first
#: one offered, ``search_docs``) and passes the question as its argument.
QUESTIONS: tuple[str, ...] = (
    "How should an agent honour retry-after when it gets a 429 rate limit?",
    "Use the calculator: what is 1234 * 56 + 78?",
    "What should an agent do when a stream stalls?",
    "Why ask the model again when tool call arguments are malformed?",
    "Use the calculator: what is (17 + 25) * 3 - 6 / 2?",
    "What is a good fallback when vector search fails?",
)

_questions = itertools.cycle(QUESTIONS)
_agents: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[Resilience, Agent]] = (
    weakref.WeakKeyDictionary()
)


def _agent(resilience: Resilience) -> Agent:
    per_loop = _agents.setdefault(asyncio.get_running_loop(), {})
    agent = per_loop.get(resilience)
    if agent is None:
        agent = per_loop[resilience] = Agent(make_client(resilience), resilience)
    return agent


async def run_robust() -> None:
    """One question for the agent with its retries, timeout and fallback."""
    await _agent(ROBUST).answer(next(_questions))


async def run_fragile() -> None:
    """One question for the same agent without them."""
    await _agent(FRAGILE).answer(next(_questions))

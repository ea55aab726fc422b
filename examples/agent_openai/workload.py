"""The workload entry points that experiment files name: one question per iteration.

``examples.agent_openai.workload:run_robust`` and ``...:run_fragile`` are async: an
experiment runs ``concurrency`` of them as tasks on one event loop, and each keeps one
``AsyncOpenAI`` client per loop, as an application keeps one client for its lifetime. The
model server is whatever ``OPENAI_BASE_URL`` points at.

Each run (each event loop) asks the questions in the same order from the first, whatever ran
before it in the process: with one worker and a seed, the n-th question of every run meets the
same faults.
"""

from __future__ import annotations

import asyncio
import itertools
import weakref
from collections.abc import Iterator

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

_Asker = tuple[Agent, Iterator[str]]
_agents: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[Resilience, _Asker]] = (
    weakref.WeakKeyDictionary()
)


def _asker(resilience: Resilience) -> _Asker:
    """This loop's agent and its questions, in order from the first."""
    per_loop = _agents.setdefault(asyncio.get_running_loop(), {})
    asker = per_loop.get(resilience)
    if asker is None:
        agent = Agent(make_client(resilience), resilience)
        asker = per_loop[resilience] = (agent, itertools.cycle(QUESTIONS))
    return asker


async def run_robust() -> None:
    """One question for the agent with its retries, timeout and fallback."""
    agent, questions = _asker(ROBUST)
    await agent.answer(next(questions))


async def run_fragile() -> None:
    """One question for the same agent without them."""
    agent, questions = _asker(FRAGILE)
    await agent.answer(next(questions))

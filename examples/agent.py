"""A small async agent to run chaos experiments against.

It answers a question in three steps: retrieve context from a vector store, ask the LLM, and
call a tool. Each dependency is a component marked with ``@chaos_target``; the agent has the
resilience an agent should have: a timeout and retries with backoff around the LLM, and a
cached fallback when the vector store fails.

Run an experiment against it::

    aumai-chaos run --experiment examples/experiments/agent-experiment.yaml

or from Python: ``python -m examples.agent``.
"""

from __future__ import annotations

import asyncio
import random

from aumai_chaos import ChaosError, InjectedFaultError, chaos_target

LLM_TIMEOUT_S = 0.25
LLM_ATTEMPTS = 4


@chaos_target("vector_db")
async def retrieve(question: str) -> list[str]:
    """The vector-store lookup (a real agent would query its index here)."""
    await asyncio.sleep(0.002)
    return [f"doc about {question}"]


@chaos_target("llm")
async def complete(prompt: str) -> str:
    """The LLM call (a real agent would call its model provider here)."""
    await asyncio.sleep(0.005)
    return f"answer({len(prompt)} chars of prompt)"


@chaos_target("search_tool")
async def search(query: str) -> str:
    """A tool the agent calls."""
    await asyncio.sleep(0.001)
    return f"top result for {query}"


async def ask_llm(prompt: str) -> str:
    """Timeout plus retries with jittered backoff: what makes the agent robust."""
    for attempt in range(LLM_ATTEMPTS):
        try:
            return await asyncio.wait_for(complete(prompt), timeout=LLM_TIMEOUT_S)
        except (TimeoutError, ChaosError):
            if attempt == LLM_ATTEMPTS - 1:
                raise
            await asyncio.sleep(0.01 * (2**attempt) * (1 + random.random()))
    raise AssertionError("unreachable")


async def answer(question: str) -> str:
    try:
        context = await retrieve(question)
    except InjectedFaultError:
        context = ["(cached context)"]  # fallback: degrade, don't fail
    reply = await ask_llm(f"{context}\n{question}")
    tool = await search(question)
    return f"{reply} + {tool}"


async def run_once() -> None:
    """One workload iteration: the agent answers one question."""
    await answer("what is chaos engineering?")


async def run_once_fragile() -> None:
    """The same agent without its timeout, retries and fallback: it should deviate."""
    context = await retrieve("q")
    reply = await complete(f"{context}")
    await search(reply)


if __name__ == "__main__":  # pragma: no cover - a demo entry point
    from aumai_chaos import ChaosExperiment, ExperimentScheduler, FaultConfig

    experiment = ChaosExperiment(
        experiment_id="agent-demo",
        name="Agent under flaky dependencies",
        duration_seconds=3,
        seed=7,
        faults=[
            FaultConfig(
                fault_type="latency", probability=0.3, duration_ms=400, affected_components=["llm"]
            ),
            FaultConfig(
                fault_type="error",
                probability=0.2,
                error_code=503,
                affected_components=["vector_db"],
            ),
        ],
    )
    scheduler = ExperimentScheduler()
    result = scheduler.run(scheduler.schedule(experiment), workload=run_once)
    print(result.model_dump_json(indent=2, exclude={"observations"}))

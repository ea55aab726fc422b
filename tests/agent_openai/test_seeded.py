"""The demo is seeded per question: with one worker, the n-th question of every run meets the
same faults, however long the run and whatever ran before it in the process.

Two runs of demo-fragile.yaml (shortened, in this process, against ProviderServer): the
fragile agent fails a question with the error of the fault it met, so the list of outcomes,
question by question, is the run's fault sequence as users see it. A timed run answers as
many questions as fit in its duration, so two runs agree on the questions both asked.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Coroutine
from typing import Any

import pytest
from examples.agent_openai import workload as demo_workload
from examples.agent_openai.demo import EXPERIMENTS

from aumai_chaos import ExperimentScheduler, load_experiment_file
from aumai_chaos.testing import ProviderServer
from aumai_chaos.transport import instrument, uninstrument

pytestmark = pytest.mark.slow

FRAGILE_FILE = EXPERIMENTS[1][0]


def _outcomes(server: ProviderServer, seconds: float) -> list[str]:
    """Each question's outcome in order, ``ok`` or the exception's type, for the questions
    that ended inside the fault window (the one in flight at its end may escape its fault)."""
    experiment = load_experiment_file(FRAGILE_FILE)
    experiment = experiment.model_copy(update={"duration_seconds": seconds})
    seen: list[tuple[float, str]] = []
    started: list[float] = []

    def recorded(
        ask: Callable[[], Coroutine[Any, Any, None]],
    ) -> Callable[[], Coroutine[Any, Any, None]]:
        async def once() -> None:
            if not started:
                started.append(time.monotonic())  # the window opened just before
            try:
                await ask()
            except Exception as exc:
                seen.append((time.monotonic(), type(exc).__name__))
                raise
            seen.append((time.monotonic(), "ok"))

        return once

    scheduler = ExperimentScheduler()
    instrument()
    try:
        scheduler.run(scheduler.schedule(experiment), workload=recorded(demo_workload.run_fragile))
    finally:
        uninstrument()
    return [outcome for ended, outcome in seen if ended < started[0] + seconds]


def test_one_seed_gives_each_question_the_same_faults_in_every_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with ProviderServer() as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.openai_base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "dummy")
        first = _outcomes(server, 1.5)
        second = _outcomes(server, 2.5)
    both = min(len(first), len(second))
    assert both >= 8, (first, second)
    assert first[:both] == second[:both]
    # Not a vacuous match: the questions met different faults, and some none.
    assert len(set(first[:both])) >= 3, first

"""Calls that escape a ``scope="context"`` block (a ``ThreadPoolExecutor``, a
``loop.run_in_executor``, a plain thread) get no faults and are not counted: the block says so,
once per component, in a warning and in the result's notes, naming ``scope="process"``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import TracerProvider

import aumai_chaos
from aumai_chaos import ChaosError, chaos_target
from tests.experiments.support import unique


@pytest.fixture
def providers(tracer_provider: TracerProvider, meter_provider: MeterProvider) -> dict[str, Any]:
    return {"tracer_provider": tracer_provider, "meter_provider": meter_provider}


def _target(name: str) -> Any:
    @chaos_target(name)
    def tool() -> str:
        return "ok"

    return tool


def _escape_notes(notes: list[str]) -> list[str]:
    return [n for n in notes if "outside the block's context" in n]


def test_a_thread_pool_inside_a_context_block_is_named_once(
    providers: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    name, other = unique("tool"), unique("quiet")
    tool, quiet = _target(name), _target(other)
    caplog.set_level(logging.WARNING, logger="aumai_chaos")
    with aumai_chaos.experiment(
        faults=[{"fault_type": "error", "affected_components": [name, other]}],
        require_faults_fired=False,
        **providers,
    ) as run:
        with ThreadPoolExecutor(2) as pool:
            outcomes = list(pool.map(lambda _: tool(), range(5)))
        with contextlib.suppress(ChaosError):
            quiet()  # in the block's own context: faulted
    assert outcomes == ["ok"] * 5  # no fault reached the pool's threads
    result = run.result
    assert result is not None
    [note] = _escape_notes(result.summary.notes)
    assert f"component {name!r} was called during the block from outside" in note
    assert 'scope="process"' in note
    warnings = [r for r in caplog.records if "outside the block's context" in r.getMessage()]
    assert len(warnings) == 1
    assert repr(name) in warnings[0].getMessage()
    assert result.summary.components[other].calls == 1


def test_run_in_executor_inside_an_async_block_is_named(providers: dict[str, Any]) -> None:
    name = unique("tool")
    tool = _target(name)

    async def scenario() -> Any:
        async with aumai_chaos.experiment(
            faults=[{"fault_type": "latency", "duration_ms": 0, "affected_components": [name]}],
            require_faults_fired=False,
            **providers,
        ) as run:
            loop = asyncio.get_running_loop()
            for _ in range(3):
                await loop.run_in_executor(None, tool)
        return run.result

    result = asyncio.run(scenario())
    [note] = _escape_notes(result.summary.notes)
    assert repr(name) in note


def test_to_thread_and_process_scope_are_not_escapes(providers: dict[str, Any]) -> None:
    name = unique("tool")
    tool = _target(name)
    faults = [{"fault_type": "latency", "duration_ms": 0, "affected_components": [name]}]

    async def in_context() -> Any:
        async with aumai_chaos.experiment(faults=faults, **providers) as run:
            await asyncio.to_thread(tool)  # copies the context
        return run.result

    result = asyncio.run(in_context())
    assert _escape_notes(result.summary.notes) == []
    assert result.summary.components[name].calls == 1

    with (
        aumai_chaos.experiment(faults=faults, scope="process", **providers) as run,
        ThreadPoolExecutor(2) as pool,
    ):
        list(pool.map(lambda _: tool(), range(4)))
    assert run.result is not None
    assert _escape_notes(run.result.summary.notes) == []
    assert run.result.summary.components[name].calls == 4


def test_another_blocks_calls_are_not_escapes(providers: dict[str, Any]) -> None:
    """Two blocks in two tasks stay independent: the other block's calls are its own."""
    name = unique("tool")
    tool = _target(name)
    faults = [{"fault_type": "latency", "duration_ms": 0, "affected_components": [name]}]

    async def one(started: asyncio.Event, go: asyncio.Event) -> Any:
        async with aumai_chaos.experiment(faults=faults, **providers) as run:
            started.set()
            await go.wait()
            tool()
            await asyncio.sleep(0)
        return run.result

    async def scenario() -> list[Any]:
        a, b, go = asyncio.Event(), asyncio.Event(), asyncio.Event()
        tasks = [asyncio.create_task(one(a, go)), asyncio.create_task(one(b, go))]
        await a.wait()
        await b.wait()
        go.set()
        return list(await asyncio.gather(*tasks))

    for result in asyncio.run(scenario()):
        assert _escape_notes(result.summary.notes) == []
        assert result.summary.components[name].calls == 1


def test_requests_an_armed_experiment_does_not_select_are_not_escapes() -> None:
    """An armed experiment is scoped too, but a request without its baggage is simply not
    selected: nothing to name."""
    from tests.experiments.test_arming import _call, _config

    assert aumai_chaos.arm(_config("armed-escapes")) == ["armed-escapes"]
    try:
        assert [_call(), _call()] == ["ok", "ok"]
    finally:
        result = aumai_chaos.disarm("armed-escapes")
    assert result is not None
    assert _escape_notes(result.summary.notes) == []

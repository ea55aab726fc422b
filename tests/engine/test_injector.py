"""FaultInjector: seeding, the sync and async drivers, the kill switch."""

from __future__ import annotations

import asyncio
import random
import time

import pytest

import aumai_chaos
from aumai_chaos import (
    ChaosError,
    ChaosTimeoutError,
    FaultConfig,
    FaultInjector,
    FaultType,
    ResourceExhaustedError,
)
from tests.helpers import within_sigmas

HALF = FaultConfig(fault_type=FaultType.error, probability=0.5)


def draws(injector: FaultInjector, n: int = 200, fault: FaultConfig = HALF) -> list[bool]:
    return [injector.should_inject(fault) for _ in range(n)]


def test_random_seed_makes_should_inject_deterministic() -> None:
    """The guide's FAQ: ``random.seed(42)`` makes should_inject() deterministic."""
    injector = FaultInjector()
    random.seed(42)
    first = draws(injector)
    random.seed(42)
    second = draws(FaultInjector())  # any default injector follows the module-level random
    assert first == second
    random.seed(42)
    assert first == [random.random() < 0.5 for _ in range(200)]
    random.seed(43)
    assert draws(injector) != first


def test_seeded_injector_is_an_independent_stream() -> None:
    random.seed(1)
    first = draws(FaultInjector(seed=7))
    random.seed(999)  # the module-level random does not affect it...
    state = random.getstate()
    second = draws(FaultInjector(seed=7))
    assert first == second
    assert random.getstate() == state  # ...and it does not consume the module-level random
    assert draws(FaultInjector(seed=8)) != first


def test_rng_argument() -> None:
    assert draws(FaultInjector(rng=random.Random(5))) == draws(FaultInjector(seed=5))


def test_seed_and_rng_together_rejected() -> None:
    with pytest.raises(ValueError, match="seed or rng"):
        FaultInjector(seed=1, rng=random.Random(1))


def test_should_inject_frequency() -> None:
    n, p = 20_000, 0.3
    fault = FaultConfig(fault_type="error", probability=p)
    hits = sum(draws(FaultInjector(seed=2024), n, fault))
    assert within_sigmas(hits, n, p)


@pytest.mark.parametrize("probability", [0.0, 1.0])
def test_edge_probabilities(probability: float) -> None:
    fault = FaultConfig(fault_type="error", probability=probability)
    assert set(draws(FaultInjector(seed=3), 500, fault)) == {probability == 1.0}


def test_inject_latency_sleeps_then_returns_true() -> None:
    fault = FaultConfig(fault_type="latency", duration_ms=50)
    start = time.perf_counter()
    assert FaultInjector().inject(fault) is True
    assert time.perf_counter() - start >= 0.05


def test_inject_not_firing_returns_false() -> None:
    fault = FaultConfig(fault_type="error", probability=0.0)
    assert FaultInjector().inject(fault) is False


@pytest.mark.parametrize(
    ("fault", "exc_type"),
    [
        (FaultConfig(fault_type="error", error_code=503), ChaosError),
        (FaultConfig(fault_type="timeout"), ChaosTimeoutError),
        (FaultConfig(fault_type="resource_exhaustion"), ResourceExhaustedError),
    ],
)
def test_inject_raising_faults(fault: FaultConfig, exc_type: type[Exception]) -> None:
    with pytest.raises(exc_type):
        FaultInjector().inject(fault)


def test_timeout_waits_then_raises() -> None:
    fault = FaultConfig(fault_type="timeout", duration_ms=50)
    start = time.perf_counter()
    with pytest.raises(ChaosTimeoutError, match="50 ms"):
        FaultInjector().inject(fault)
    assert time.perf_counter() - start >= 0.05


def test_chaos_error_code_and_message() -> None:
    fault = FaultConfig(fault_type="error", error_code=429, error_message="Rate limited")
    with pytest.raises(ChaosError) as info:
        FaultInjector().inject(fault)
    assert (info.value.error_code, info.value.error_message) == (429, "Rate limited")


def test_kill_switch() -> None:
    fault = FaultConfig(fault_type="error")
    injector = FaultInjector(seed=1)
    aumai_chaos.disable()
    assert aumai_chaos.is_enabled() is False
    assert injector.should_inject(fault) is False
    assert injector.inject(fault) is False
    assert asyncio.run(injector.ainject(fault)) is False
    aumai_chaos.enable()
    assert aumai_chaos.is_enabled() is True
    with pytest.raises(ChaosError):
        injector.inject(fault)


@pytest.mark.asyncio
async def test_ainject_raises() -> None:
    with pytest.raises(ChaosTimeoutError):
        await FaultInjector().ainject(FaultConfig(fault_type="timeout", duration_ms=10))
    assert await FaultInjector().ainject(FaultConfig(fault_type="error", probability=0)) is False


@pytest.mark.asyncio
async def test_ainject_does_not_block_the_event_loop() -> None:
    """A 200 ms latency fault awaited in one task; another task keeps ticking meanwhile."""
    ticks = 0
    stop = asyncio.Event()

    async def ticker() -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            await asyncio.sleep(0.01)

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0)  # let the ticker start
    start = time.perf_counter()
    fired = await FaultInjector().ainject(FaultConfig(fault_type="latency", duration_ms=200))
    elapsed = time.perf_counter() - start
    stop.set()
    await task
    assert fired is True
    assert elapsed >= 0.2
    assert ticks >= 5  # about 20; a blocking sleep would allow one at most


@pytest.mark.asyncio
async def test_many_concurrent_ainjects_overlap() -> None:
    injector = FaultInjector()
    fault = FaultConfig(fault_type="latency", duration_ms=100)
    start = time.perf_counter()
    results = await asyncio.gather(*(injector.ainject(fault) for _ in range(100)))
    assert all(results)
    assert time.perf_counter() - start < 5.0  # 10 s if the waits ran one after another


def test_component_keyword(tracer_provider, span_exporter) -> None:  # type: ignore[no-untyped-def]
    injector = FaultInjector(tracer_provider=tracer_provider)
    injector.inject(FaultConfig(fault_type="latency", duration_ms=0), component="search_tool")
    injector.inject(FaultConfig(fault_type="latency", duration_ms=0))
    spans = span_exporter.get_finished_spans()
    assert [s.attributes.get("chaos.component") for s in spans] == ["search_tool", None]


def test_repr() -> None:
    assert "random" in repr(FaultInjector())
    assert "Random" in repr(FaultInjector(seed=1))

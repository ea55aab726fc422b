"""@chaos_monkey, @resilience_test and @chaos_target on every kind of callable.

The matrix decorates the same bodies as plain functions, methods, classmethods and staticmethods
(both decorator orders), each sync and async, plus generators and async generators, and checks
that each keeps its metadata, passes values and its own exceptions through untouched, and fires.
"""

from __future__ import annotations

import asyncio
import inspect
import random
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from pydantic import ValidationError

import aumai_chaos
from aumai_chaos import (
    ChaosError,
    ChaosTimeoutError,
    FaultConfig,
    FaultType,
    InjectedFaultError,
    ResourceExhaustedError,
    chaos_monkey,
    chaos_target,
    resilience_test,
)
from aumai_chaos._engine.registry import registered_components
from tests.helpers import (
    RecordingTracerProvider,
    clean_env,
    counter_sum,
    fault_spans,
    run_python,
    within_sigmas,
)

Deco = Callable[[Any], Any]

# ---------------------------------------------------------------------------------------------
# The bodies. Each records that it was entered, returns its argument (the very object), or
# raises it when it is an exception. Generators yield it, then yield whatever is sent in.

ENTERED: list[object] = []


class BoomError(Exception):
    """The decorated function's own exception."""


def _body(x: Any) -> Any:
    ENTERED.append(x)
    if isinstance(x, BaseException):
        raise x
    return x


def sync_fn(x: Any) -> Any:
    """Sync body."""
    return _body(x)


def sync_meth(self: Any, x: Any) -> Any:
    """Sync method body."""
    return _body(x)


async def async_fn(x: Any) -> Any:
    """Async body."""
    await asyncio.sleep(0)
    return _body(x)


async def async_meth(self: Any, x: Any) -> Any:
    """Async method body."""
    await asyncio.sleep(0)
    return _body(x)


def gen_fn(x: Any) -> Iterator[Any]:
    """Generator body."""
    got = yield _body(x)
    yield got


def gen_meth(self: Any, x: Any) -> Iterator[Any]:
    """Generator method body."""
    got = yield _body(x)
    yield got


async def agen_fn(x: Any) -> AsyncIterator[Any]:
    """Async generator body."""
    got = yield _body(x)
    yield got


async def agen_meth(self: Any, x: Any) -> AsyncIterator[Any]:
    """Async generator method body."""
    got = yield _body(x)
    yield got


BODIES = {
    "sync": (sync_fn, sync_meth),
    "async": (async_fn, async_meth),
    "gen": (gen_fn, gen_meth),
    "agen": (agen_fn, agen_meth),
}


def _owner(name: str, member: Any) -> type:
    return type("Owner", (), {name: member})


SHAPES: dict[str, Callable[[Deco, Any, Any], Any]] = {
    # shape: (decorator, plain body, method body) -> the callable as a caller reaches it
    "function": lambda d, fn, meth: d(fn),
    "method": lambda d, fn, meth: _owner("m", d(meth))().m,
    # @deco over @classmethod / @staticmethod, and under them
    "classmethod_outer": lambda d, fn, meth: _owner("m", d(classmethod(meth))).m,
    "classmethod_inner": lambda d, fn, meth: _owner("m", classmethod(d(meth))).m,
    "staticmethod_outer": lambda d, fn, meth: _owner("m", d(staticmethod(fn)))().m,
    "staticmethod_inner": lambda d, fn, meth: _owner("m", staticmethod(d(fn))).m,
}

CASES = [(shape, flavour) for flavour in ("sync", "async") for shape in SHAPES] + [
    ("function", "gen"),
    ("method", "gen"),
    ("staticmethod_outer", "gen"),
    ("function", "agen"),
    ("method", "agen"),
    ("classmethod_outer", "agen"),
]
CASE_IDS = [f"{flavour}-{shape}" for shape, flavour in CASES]

MODES: dict[str, Callable[[], Deco]] = {
    "monkey_fires_latency": lambda: chaos_monkey(
        fault_type=FaultType.latency, probability=1.0, duration_ms=0
    ),
    "monkey_never_fires": lambda: chaos_monkey(fault_type=FaultType.error, probability=0.0),
    "resilience_fires_latency": lambda: resilience_test(
        faults=[
            FaultConfig(fault_type=FaultType.error, probability=0.0),
            FaultConfig(fault_type=FaultType.latency, probability=1.0, duration_ms=0),
        ]
    ),
    "target": lambda: chaos_target,
    "target_named": lambda: chaos_target("search_tool"),
}
FIRING_MODES: dict[str, Callable[[], Deco]] = {
    "monkey_fires_error": lambda: chaos_monkey(
        fault_type=FaultType.error, probability=1.0, error_code=503
    ),
    "resilience_fires_error": lambda: resilience_test(
        faults=[
            FaultConfig(fault_type=FaultType.latency, probability=1.0, duration_ms=0),
            FaultConfig(fault_type=FaultType.error, probability=1.0, error_code=503),
        ]
    ),
}


def build(shape: str, flavour: str, deco: Deco) -> Any:
    fn, meth = BODIES[flavour]
    return SHAPES[shape](deco, fn, meth)


def identity(f: Any) -> Any:
    return f


async def _alist(agen: Any) -> list[Any]:
    first = await agen.__anext__()
    rest = [item async for item in agen]
    return [first, *rest]


def invoke(flavour: str, f: Any, x: Any) -> Any:
    """Call ``f(x)`` as its kind wants and return what the caller gets."""
    if flavour == "sync":
        return f(x)
    if flavour == "async":
        return asyncio.run(f(x))
    if flavour == "gen":
        return list(f(x))
    return asyncio.run(_alist(f(x)))


@pytest.fixture(autouse=True)
def _clear_entered() -> Iterator[None]:
    ENTERED.clear()
    yield
    ENTERED.clear()


# ---------------------------------------------------------------------------------------------
# The matrix


@pytest.mark.parametrize("mode", [*MODES, *FIRING_MODES])
@pytest.mark.parametrize(("shape", "flavour"), CASES, ids=CASE_IDS)
def test_metadata_preserved(shape: str, flavour: str, mode: str) -> None:
    deco = {**MODES, **FIRING_MODES}[mode]()
    decorated = build(shape, flavour, deco)
    plain = build(shape, flavour, identity)
    assert decorated.__name__ == plain.__name__
    assert decorated.__qualname__ == plain.__qualname__
    assert decorated.__doc__ == plain.__doc__
    assert decorated.__module__ == plain.__module__
    assert inspect.signature(decorated) == inspect.signature(plain)
    assert inspect.iscoroutinefunction(decorated) is (flavour == "async")
    assert inspect.isgeneratorfunction(decorated) is (flavour == "gen")
    assert inspect.isasyncgenfunction(decorated) is (flavour == "agen")


@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize(("shape", "flavour"), CASES, ids=CASE_IDS)
def test_return_value_passes_through(shape: str, flavour: str, mode: str) -> None:
    decorated = build(shape, flavour, MODES[mode]())
    value = object()
    result = invoke(flavour, decorated, value)
    if flavour in ("gen", "agen"):
        assert result[0] is value
        assert result[1:] == [None]
    else:
        assert result is value
    assert [value] == ENTERED


@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize(("shape", "flavour"), CASES, ids=CASE_IDS)
def test_own_exception_passes_through(shape: str, flavour: str, mode: str) -> None:
    decorated = build(shape, flavour, MODES[mode]())
    own = BoomError("the function's own failure")
    with pytest.raises(BoomError) as info:
        invoke(flavour, decorated, own)
    assert info.value is own
    assert [own] == ENTERED


@pytest.mark.parametrize("mode", list(FIRING_MODES))
@pytest.mark.parametrize(("shape", "flavour"), CASES, ids=CASE_IDS)
def test_raising_fault_fires_instead_of_the_call(shape: str, flavour: str, mode: str) -> None:
    decorated = build(shape, flavour, FIRING_MODES[mode]())
    with pytest.raises(ChaosError) as info:
        invoke(flavour, decorated, object())
    assert info.value.error_code == 503
    assert ENTERED == []


@pytest.mark.parametrize(("shape", "flavour"), CASES, ids=CASE_IDS)
def test_kill_switch_disables_firing(shape: str, flavour: str) -> None:
    decorated = build(shape, flavour, FIRING_MODES["monkey_fires_error"]())
    value = object()
    aumai_chaos.disable()
    result = invoke(flavour, decorated, value)
    assert value is (result[0] if flavour in ("gen", "agen") else result)
    aumai_chaos.enable()
    with pytest.raises(ChaosError):
        invoke(flavour, decorated, value)


def test_methods_bind_self_and_cls() -> None:
    seen: list[Any] = []

    class Owner:
        @chaos_monkey(fault_type=FaultType.latency, probability=1.0, duration_ms=0)
        def method(self, x: int) -> int:
            seen.append(self)
            return x

        @chaos_monkey(fault_type=FaultType.latency, probability=1.0, duration_ms=0)
        @classmethod
        def outer_cm(cls, x: int) -> int:
            seen.append(cls)
            return x

        @classmethod
        @chaos_monkey(fault_type=FaultType.latency, probability=1.0, duration_ms=0)
        def inner_cm(cls, x: int) -> int:
            seen.append(cls)
            return x

        @chaos_monkey(fault_type=FaultType.latency, probability=1.0, duration_ms=0)
        @staticmethod
        def outer_sm(x: int) -> int:
            return x

        @staticmethod
        @chaos_monkey(fault_type=FaultType.latency, probability=1.0, duration_ms=0)
        def inner_sm(x: int) -> int:
            return x

    class Child(Owner):
        pass

    obj = Owner()
    assert obj.method(1) == 1
    assert Owner.method(obj, 2) == 2  # the unbound method called through the class
    assert Owner.outer_cm(3) == 3
    assert obj.inner_cm(4) == 4
    assert Child.outer_cm(5) == 5
    assert Child().inner_cm(6) == 6
    assert seen == [obj, obj, Owner, Owner, Child, Child]
    assert (Owner.outer_sm(7), obj.outer_sm(8), Owner.inner_sm(9), obj.inner_sm(10)) == (
        7,
        8,
        9,
        10,
    )


# ---------------------------------------------------------------------------------------------
# Generators and async generators


@pytest.mark.parametrize("shape", ["function", "method"])
def test_generator_fault_fires_at_first_item_not_at_creation(shape: str) -> None:
    gen = build(shape, "gen", FIRING_MODES["monkey_fires_error"]())(object())
    assert ENTERED == []
    with pytest.raises(ChaosError):
        next(gen)
    assert ENTERED == []
    with pytest.raises(StopIteration):
        next(gen)


@pytest.mark.parametrize("shape", ["function", "method"])
@pytest.mark.asyncio
async def test_async_generator_fault_fires_at_first_item_not_at_creation(shape: str) -> None:
    agen = build(shape, "agen", FIRING_MODES["monkey_fires_error"]())(object())
    assert ENTERED == []
    with pytest.raises(ChaosError):
        await agen.__anext__()
    assert ENTERED == []
    with pytest.raises(StopAsyncIteration):
        await agen.__anext__()


def test_generator_latency_waits_before_the_first_item() -> None:
    @chaos_monkey(fault_type=FaultType.latency, probability=1.0, duration_ms=600)
    def numbers() -> Iterator[int]:
        yield from range(3)

    start = time.perf_counter()
    gen = numbers()
    # Creating the generator does not wait: far less than the 600 ms delay, even under load.
    assert time.perf_counter() - start < 0.3
    assert next(gen) == 0
    assert time.perf_counter() - start >= 0.6
    assert list(gen) == [1, 2]


GEN_MODES = ["monkey_fires_latency", "monkey_never_fires", "target"]


def _echo_factory(log: list[str]) -> Callable[[], Iterator[str]]:
    def echo() -> Iterator[str]:
        """Echo what is sent; report what is thrown in; record closing."""
        value = yield "ready"
        try:
            while True:
                try:
                    if value == "stop":
                        return
                    value = yield f"got {value}"
                except ValueError as exc:
                    value = yield f"caught {exc}"
        finally:
            log.append("closed")
        return

    return echo


@pytest.mark.parametrize("mode", GEN_MODES)
def test_generator_send_throw_close_forwarded(mode: str) -> None:
    log: list[str] = []
    echo = MODES[mode]()(_echo_factory(log))
    gen = echo()
    assert next(gen) == "ready"
    assert gen.send(1) == "got 1"
    assert gen.throw(ValueError("v")) == "caught v"
    assert gen.send(2) == "got 2"
    gen.close()
    assert log == ["closed"]
    with pytest.raises(StopIteration):
        next(gen)


@pytest.mark.parametrize("mode", GEN_MODES)
def test_generator_uncaught_throw_and_return_value(mode: str) -> None:
    log: list[str] = []
    echo = MODES[mode]()(_echo_factory(log))
    gen = echo()
    next(gen)
    assert gen.send(1) == "got 1"
    error = KeyError("not handled inside")
    with pytest.raises(KeyError) as info:
        gen.throw(error)
    assert info.value is error
    assert log == ["closed"]

    @MODES[mode]()
    def returns() -> Iterator[int]:
        yield 1
        return 42

    def consumer() -> Iterator[int]:
        result = yield from returns()
        yield result

    assert list(consumer()) == [1, 42]


def _aecho_factory(log: list[str]) -> Callable[[], AsyncIterator[str]]:
    async def aecho() -> AsyncIterator[str]:
        """Echo what is sent; report what is thrown in; record closing."""
        value = yield "ready"
        try:
            while True:
                try:
                    await asyncio.sleep(0)
                    value = yield f"got {value}"
                except ValueError as exc:
                    value = yield f"caught {exc}"
        finally:
            await asyncio.sleep(0)
            log.append("closed")

    return aecho


@pytest.mark.parametrize("mode", GEN_MODES)
@pytest.mark.asyncio
async def test_async_generator_asend_athrow_aclose_forwarded(mode: str) -> None:
    log: list[str] = []
    aecho = MODES[mode]()(_aecho_factory(log))
    agen = aecho()
    assert await agen.__anext__() == "ready"
    assert await agen.asend(1) == "got 1"
    assert await agen.athrow(ValueError("v")) == "caught v"
    assert await agen.asend(2) == "got 2"
    await agen.aclose()
    assert log == ["closed"]
    with pytest.raises(StopAsyncIteration):
        await agen.__anext__()


@pytest.mark.parametrize("mode", GEN_MODES)
@pytest.mark.asyncio
async def test_async_generator_uncaught_athrow(mode: str) -> None:
    log: list[str] = []
    agen = MODES[mode]()(_aecho_factory(log))()
    await agen.__anext__()
    await agen.asend(1)
    error = KeyError("not handled inside")
    with pytest.raises(KeyError) as info:
        await agen.athrow(error)
    assert info.value is error
    assert log == ["closed"]


# ---------------------------------------------------------------------------------------------
# Async: waits never block the event loop


@pytest.mark.asyncio
async def test_hundred_concurrent_coroutines_with_100ms_latency() -> None:
    @chaos_monkey(fault_type=FaultType.latency, probability=1.0, duration_ms=100)
    async def tool(i: int) -> int:
        return i

    start = time.perf_counter()
    results = await asyncio.gather(*(tool(i) for i in range(100)))
    elapsed = time.perf_counter() - start
    assert results == list(range(100))
    # 10 s if each wait blocked the loop; the bound holds on a loaded machine (speed is for
    # the benchmarks' 1,000-coroutine run).
    assert 0.1 <= elapsed < 5.0


@pytest.mark.asyncio
async def test_concurrent_async_methods_and_generators_with_latency() -> None:
    class Agent:
        @chaos_monkey(fault_type=FaultType.latency, probability=1.0, duration_ms=100)
        async def step(self, i: int) -> int:
            return i

        @chaos_monkey(fault_type=FaultType.latency, probability=1.0, duration_ms=100)
        async def stream(self, i: int) -> AsyncIterator[int]:
            yield i

    agent = Agent()

    async def first(i: int) -> int:
        async for item in agent.stream(i):
            return item
        raise AssertionError("empty")  # pragma: no cover

    start = time.perf_counter()
    results = await asyncio.gather(*(agent.step(i) for i in range(50)), *map(first, range(50)))
    assert results == [*range(50), *range(50)]
    assert time.perf_counter() - start < 5.0  # 10 s if the waits ran one after another


@pytest.mark.asyncio
async def test_async_timeout_fault_waits_without_blocking() -> None:
    @chaos_monkey(fault_type=FaultType.timeout, probability=1.0, duration_ms=200)
    async def slow() -> None:
        raise AssertionError("never runs")  # pragma: no cover

    async def expect_timeout() -> None:
        with pytest.raises(ChaosTimeoutError):
            await slow()

    start = time.perf_counter()
    await asyncio.gather(*(expect_timeout() for _ in range(50)))
    assert 0.2 <= time.perf_counter() - start < 5.0  # 10 s if the waits ran one by one


# ---------------------------------------------------------------------------------------------
# Sync semantics of each fault type


def test_sync_latency_waits_then_runs() -> None:
    @chaos_monkey(fault_type=FaultType.latency, probability=1.0, duration_ms=50)
    def tool() -> str:
        return "done"

    start = time.perf_counter()
    assert tool() == "done"
    assert time.perf_counter() - start >= 0.05


def test_sync_timeout_waits_then_raises() -> None:
    @chaos_monkey(fault_type=FaultType.timeout, probability=1.0, duration_ms=50)
    def tool() -> str:
        raise AssertionError("never runs")  # pragma: no cover

    start = time.perf_counter()
    with pytest.raises(ChaosTimeoutError) as info:
        tool()
    assert time.perf_counter() - start >= 0.05
    assert isinstance(info.value, TimeoutError)
    assert info.value.fault is not None
    assert info.value.fault.duration_ms == 50


@pytest.mark.parametrize(
    ("fault_type", "exc_type"),
    [
        (FaultType.error, ChaosError),
        (FaultType.timeout, ChaosTimeoutError),
        (FaultType.resource_exhaustion, ResourceExhaustedError),
    ],
)
def test_exception_carries_the_fault(
    fault_type: FaultType, exc_type: type[InjectedFaultError]
) -> None:
    @chaos_monkey(fault_type=fault_type, error_message="custom")
    def tool() -> None:
        raise AssertionError("never runs")  # pragma: no cover

    with pytest.raises(exc_type, match="custom") as info:
        tool()
    assert info.value.fault is not None
    assert info.value.fault.fault_type is fault_type


def test_chaos_monkey_accepts_string_fault_type() -> None:
    @chaos_monkey(fault_type="error", error_code=418)
    def tool() -> None:
        raise AssertionError("never runs")  # pragma: no cover

    with pytest.raises(ChaosError) as info:
        tool()
    assert info.value.error_code == 418


@pytest.mark.parametrize(
    "kwargs",
    [
        {"fault_type": "latency"},  # no duration_ms
        {"fault_type": "error", "probability": 1.5},
        {"fault_type": "error", "probability": True},
        {"fault_type": "slow"},
        {"fault_type": "latency", "duration_ms": -1},
    ],
)
def test_chaos_monkey_validates_when_built(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        chaos_monkey(**kwargs)


def test_chaos_monkey_rejects_unknown_keyword() -> None:
    with pytest.raises(TypeError, match="probabilty"):
        chaos_monkey(fault_type="error", probabilty=0.5)  # type: ignore[call-arg]


def test_resilience_test_accepts_mappings_and_validates_them() -> None:
    @resilience_test(faults=[{"fault_type": "resource_exhaustion"}])  # type: ignore[list-item]
    def tool() -> None:
        raise AssertionError("never runs")  # pragma: no cover

    with pytest.raises(ResourceExhaustedError):
        tool()
    with pytest.raises(ValidationError, match="probabilty"):
        resilience_test(faults=[{"fault_type": "error", "probabilty": 0.5}])  # type: ignore[list-item]


def test_resilience_test_with_no_faults_is_a_passthrough() -> None:
    @resilience_test(faults=[])
    def tool(x: int) -> int:
        return x

    assert tool(3) == 3


# ---------------------------------------------------------------------------------------------
# resilience_test: ordering and precedence


def test_delays_run_before_the_raising_fault(
    tracer_provider: TracerProvider, span_exporter: InMemorySpanExporter
) -> None:
    @resilience_test(
        faults=[
            FaultConfig(fault_type=FaultType.error, probability=1.0, error_code=502),
            FaultConfig(fault_type=FaultType.latency, probability=1.0, duration_ms=30),
            FaultConfig(fault_type=FaultType.latency, probability=1.0, duration_ms=20),
        ],
        tracer_provider=tracer_provider,
    )
    def tool() -> None:
        raise AssertionError("never runs")  # pragma: no cover

    start = time.perf_counter()
    with pytest.raises(ChaosError) as info:
        tool()
    assert time.perf_counter() - start >= 0.05  # both delays, even though the error is first
    assert info.value.error_code == 502
    spans = fault_spans(span_exporter)
    assert [s.attributes["chaos.fault.type"] for s in spans] == ["latency", "latency", "error"]
    assert [s.attributes.get("chaos.fault.duration_ms") for s in spans[:2]] == [30, 20]
    assert spans[0].end_time <= spans[1].start_time
    assert spans[1].end_time <= spans[2].start_time


@pytest.mark.parametrize(
    ("order", "expected"),
    [
        (["timeout", "error", "resource_exhaustion"], ChaosTimeoutError),
        (["error", "timeout", "resource_exhaustion"], ChaosError),
        (["resource_exhaustion", "error", "timeout"], ResourceExhaustedError),
    ],
)
def test_first_declared_raising_fault_wins(
    order: list[str],
    expected: type[Exception],
    tracer_provider: TracerProvider,
    span_exporter: InMemorySpanExporter,
) -> None:
    faults = [FaultConfig(fault_type=t) for t in order]

    @resilience_test(faults=faults, tracer_provider=tracer_provider)
    def tool() -> None:
        raise AssertionError("never runs")  # pragma: no cover

    for _ in range(20):
        with pytest.raises(expected) as info:
            tool()
        assert type(info.value) is expected
        assert info.value.fault is faults[0]  # type: ignore[attr-defined]
    # a call fails once: the losing raising faults leave no span
    assert [s.attributes["chaos.fault.type"] for s in fault_spans(span_exporter)] == [order[0]] * 20


# ---------------------------------------------------------------------------------------------
# Seeded statistics


def _outcomes(f: Callable[[], Any], n: int) -> list[str]:
    results = []
    for _ in range(n):
        try:
            f()
        except InjectedFaultError as exc:
            results.append(type(exc).__name__)
        else:
            results.append("ok")
    return results


def test_probability_with_rng_is_reproducible_and_binomial() -> None:
    n, p = 20_000, 0.3

    def make() -> Callable[[], None]:
        @chaos_monkey(fault_type=FaultType.error, probability=p, rng=random.Random(1234))
        def tool() -> None:
            return None

        return tool

    first = _outcomes(make(), n)
    random.seed(0)  # an rng= stream ignores the module-level random
    assert _outcomes(make(), n) == first
    assert within_sigmas(first.count("ChaosError"), n, p)


def test_probability_follows_random_seed() -> None:
    """Without rng=, draws come from the module-level random: random.seed() replays them."""
    n, p = 5_000, 0.25

    @chaos_monkey(fault_type=FaultType.error, probability=p)
    def tool() -> None:
        return None

    random.seed(42)
    first = _outcomes(tool, n)
    random.seed(42)
    assert _outcomes(tool, n) == first
    random.seed(7)
    assert _outcomes(tool, n) != first
    assert within_sigmas(first.count("ChaosError"), n, p)


@pytest.mark.parametrize("probability", [0.0, 1.0])
def test_edge_probabilities_are_exact(probability: float) -> None:
    @chaos_monkey(fault_type=FaultType.error, probability=probability, rng=random.Random(3))
    def tool() -> None:
        return None

    assert set(_outcomes(tool, 2_000)) == {"ChaosError" if probability else "ok"}


def test_resilience_test_faults_are_independent() -> None:
    """Four faults drawn independently on each call: check marginals and the joint law.

    Only the first declared raising fault that fires is raised, so with raising faults
    (error p_e, timeout p_t, exhaustion p_r) the outcome is error with p_e, timeout with
    (1-p_e) p_t, exhaustion with (1-p_e)(1-p_t) p_r; the latency fault (p_l) fires
    independently of all that.
    """
    n = 40_000
    p_l, p_e, p_t, p_r = 0.3, 0.2, 0.25, 0.1
    provider = RecordingTracerProvider()

    @resilience_test(
        faults=[
            FaultConfig(fault_type=FaultType.latency, probability=p_l, duration_ms=0),
            FaultConfig(fault_type=FaultType.error, probability=p_e),
            FaultConfig(fault_type=FaultType.timeout, probability=p_t),
            FaultConfig(fault_type=FaultType.resource_exhaustion, probability=p_r),
        ],
        rng=random.Random(20240601),
        tracer_provider=provider,
    )
    def tool() -> None:
        return None

    cells: Counter[tuple[bool, str]] = Counter()
    for _ in range(n):
        try:
            tool()
        except InjectedFaultError as exc:
            outcome = type(exc).__name__
        else:
            outcome = "ok"
        fired = provider.fault_types()
        # at most one raising fault acts on a call, and only when the call raised
        assert len(fired) - fired.count("latency") == (outcome != "ok")
        cells["latency" in fired, outcome] += 1

    p_outcome = {
        "ChaosError": p_e,
        "ChaosTimeoutError": (1 - p_e) * p_t,
        "ResourceExhaustedError": (1 - p_e) * (1 - p_t) * p_r,
        "ok": (1 - p_e) * (1 - p_t) * (1 - p_r),
    }
    latency = sum(v for (lat, _), v in cells.items() if lat)
    assert within_sigmas(latency, n, p_l)
    for outcome, p in p_outcome.items():
        marginal = sum(v for (_, o), v in cells.items() if o == outcome)
        assert within_sigmas(marginal, n, p), outcome
        for lat, p_lat in ((True, p_l), (False, 1 - p_l)):
            assert within_sigmas(cells.get((lat, outcome), 0), n, p * p_lat), (lat, outcome)
    # each raising fault's own frequency, where it is observable (no earlier one fired)
    no_error = n - sum(v for (_, o), v in cells.items() if o == "ChaosError")
    timeouts = sum(v for (_, o), v in cells.items() if o == "ChaosTimeoutError")
    assert within_sigmas(timeouts, no_error, p_t)
    neither = no_error - timeouts
    exhausted = sum(v for (_, o), v in cells.items() if o == "ResourceExhaustedError")
    assert within_sigmas(exhausted, neither, p_r)


# ---------------------------------------------------------------------------------------------
# Components


def test_component_defaults_to_qualified_name(
    tracer_provider: TracerProvider, span_exporter: InMemorySpanExporter
) -> None:
    latency = {
        "fault_type": FaultType.latency,
        "duration_ms": 0,
        "tracer_provider": tracer_provider,
    }

    @chaos_monkey(**latency)
    def tool() -> None:
        return None

    class Agent:
        @chaos_monkey(**latency)
        def method(self) -> None:
            return None

        @chaos_monkey(**latency)
        @classmethod
        def outer_cm(cls) -> None:
            return None

        @staticmethod
        @chaos_monkey(**latency)
        def inner_sm() -> None:
            return None

        @chaos_monkey(**latency, component="planner")
        async def named(self) -> None:
            return None

    tool()
    Agent().method()
    Agent.outer_cm()
    Agent.inner_sm()
    asyncio.run(Agent().named())
    here = "test_component_defaults_to_qualified_name.<locals>"
    assert [s.attributes["chaos.component"] for s in fault_spans(span_exporter)] == [
        f"{here}.tool",
        f"{here}.Agent.method",
        f"{here}.Agent.outer_cm",
        f"{here}.Agent.inner_sm",
        "planner",
    ]
    assert tool.__qualname__ == f"{here}.tool"


def test_chaos_target_registers_components() -> None:
    @chaos_target
    def bare() -> None:
        return None

    @chaos_target()
    def called() -> None:
        return None

    @chaos_target("vector_db")
    def named() -> None:
        return None

    @resilience_test(faults=[], component="llm")
    def via_resilience() -> None:
        return None

    here = "test_chaos_target_registers_components.<locals>"
    assert {f"{here}.bare", f"{here}.called", "vector_db", "llm"} <= set(registered_components())


# ---------------------------------------------------------------------------------------------
# The kill switch


def test_kill_switch_functions_stop_all_firing() -> None:
    @resilience_test(
        faults=[
            FaultConfig(fault_type=FaultType.latency, duration_ms=60_000),
            FaultConfig(fault_type=FaultType.error),
        ]
    )
    def tool() -> str:
        return "ok"

    aumai_chaos.disable()
    assert aumai_chaos.is_enabled() is False
    start = time.perf_counter()
    assert [tool() for _ in range(100)] == ["ok"] * 100
    assert time.perf_counter() - start < 30.0  # a single 60 s delay would have run
    aumai_chaos.enable()
    assert aumai_chaos.is_enabled() is True
    with pytest.raises(ChaosError):
        tool()


@pytest.mark.parametrize(("value", "enabled"), [("1", False), ("true", False), ("0", True)])
def test_kill_switch_environment_variable(value: str, enabled: bool) -> None:
    code = """
        import asyncio
        import aumai_chaos
        from aumai_chaos import ChaosError, FaultConfig, FaultInjector, chaos_monkey

        @chaos_monkey(fault_type="error")
        def tool():
            return "ok"

        @chaos_monkey(fault_type="error")
        async def atool():
            return "ok"

        fired = []
        for call in (tool, lambda: asyncio.run(atool()),
                     lambda: FaultInjector().inject(FaultConfig(fault_type="error"))):
            try:
                call()
                fired.append(False)
            except ChaosError:
                fired.append(True)
        print(aumai_chaos.is_enabled(), fired)
        aumai_chaos.enable()
        try:
            tool()
        except ChaosError:
            print("fires after enable()")
    """
    result = run_python(code, env=clean_env(AUMAI_CHAOS_DISABLED=value))
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert lines == [f"{enabled} {[enabled] * 3}", "fires after enable()"]


# ---------------------------------------------------------------------------------------------
# Threads


def test_thread_safety(
    tracer_provider: TracerProvider,
    span_exporter: InMemorySpanExporter,
    meter_provider: MeterProvider,
    metric_reader: InMemoryMetricReader,
) -> None:
    """Eight threads hammer a decorated function and a decorated method sharing one rng."""
    p_error, p_latency, per_thread, threads = 0.2, 0.3, 1_000, 8
    providers = {"tracer_provider": tracer_provider, "meter_provider": meter_provider}
    faults = [
        FaultConfig(fault_type=FaultType.latency, probability=p_latency, duration_ms=0),
        FaultConfig(fault_type=FaultType.error, probability=p_error),
    ]

    @resilience_test(faults=faults, rng=random.Random(8), component="tool", **providers)
    def tool(x: int) -> int:
        return x

    class Agent:
        @resilience_test(faults=faults, rng=random.Random(9), component="agent", **providers)
        def step(self, x: int) -> int:
            return x

    agent = Agent()
    errors = [0] * threads
    unexpected: list[BaseException] = []
    barrier = threading.Barrier(threads)

    def hammer(index: int) -> None:
        barrier.wait()
        for i in range(per_thread):
            for f in (tool, agent.step):
                try:
                    assert f(i) == i
                except ChaosError:
                    errors[index] += 1
                except BaseException as exc:  # pragma: no cover - reported below
                    unexpected.append(exc)

    workers = [threading.Thread(target=hammer, args=(k,)) for k in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    assert unexpected == []
    calls = 2 * per_thread * threads
    assert within_sigmas(sum(errors), calls, p_error)
    types = [s.attributes["chaos.fault.type"] for s in fault_spans(span_exporter)]
    assert types.count("error") == sum(errors)
    assert within_sigmas(types.count("latency"), calls, p_latency)
    assert counter_sum(
        metric_reader, "chaos.fault.injections", {"chaos.fault.type": "error"}
    ) == sum(errors)
    assert counter_sum(metric_reader, "chaos.fault.injections") == len(types)

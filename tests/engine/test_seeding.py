"""``aumai_chaos.seed(n)`` and ``AUMAI_CHAOS_SEED``: a private stream that tracing cannot disturb,
beside the guide's ``random.seed``, which keeps working when no private seed is set."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator

import pytest
from opentelemetry.sdk.trace import TracerProvider

import aumai_chaos
from aumai_chaos import ChaosError, FaultInjector, chaos_monkey
from tests.helpers import clean_env, run_python


@pytest.fixture(autouse=True)
def _unseeded() -> Iterator[None]:
    aumai_chaos.seed(None)
    yield
    aumai_chaos.seed(None)


def pattern(
    call: Callable[[], None], n: int = 40, between: Callable[[], None] | None = None
) -> str:
    out = ""
    for _ in range(n):
        try:
            call()
            out += "."
        except ChaosError:
            out += "X"
        if between is not None:
            between()
    return out


@pytest.fixture
def flaky() -> Callable[[], None]:
    @chaos_monkey(fault_type="error", probability=0.5)
    def call() -> None:
        return None

    return call


def spans_drawing_ids() -> Callable[[], None]:
    """What tracing does between two calls: the SDK draws span ids from the global random."""
    tracer = TracerProvider().get_tracer("t")

    def trace() -> None:
        with tracer.start_as_current_span("agent step"):
            pass

    return trace


def seeded_pattern(seed: int) -> str:
    """What a fresh 50% decorator gives after ``aumai_chaos.seed(seed)``, with no tracing."""

    @chaos_monkey(fault_type="error", probability=0.5)
    def call() -> None:
        return None

    aumai_chaos.seed(seed)
    return pattern(call)


def test_a_private_seed_replays_the_draws_with_or_without_tracing(
    flaky: Callable[[], None],
) -> None:
    aumai_chaos.seed(42)
    quiet = pattern(flaky)
    aumai_chaos.seed(42)
    traced = pattern(flaky, between=spans_drawing_ids())
    assert quiet == traced
    assert "X" in quiet
    assert "." in quiet


def test_the_global_seed_still_replays_as_the_guide_promises(flaky: Callable[[], None]) -> None:
    random.seed(42)
    first = pattern(flaky)
    random.seed(42)
    assert pattern(flaky) == first


def test_the_global_seed_is_what_tracing_disturbs(flaky: Callable[[], None]) -> None:
    """Why the private seed exists: span ids drawn between the calls shift random.seed's draws."""
    random.seed(42)
    quiet = pattern(flaky)
    random.seed(42)
    assert pattern(flaky, between=spans_drawing_ids()) != quiet


def test_seed_applies_to_decorators_built_before_it_and_to_the_injector(
    flaky: Callable[[], None],
) -> None:
    expected = seeded_pattern(7)
    aumai_chaos.seed(7)
    random.seed(1)  # the global stream is not the one used now
    assert pattern(flaky) == expected
    injector = FaultInjector()
    fault = aumai_chaos.FaultConfig(fault_type="error", probability=0.5)
    aumai_chaos.seed(7)
    first = [injector.should_inject(fault) for _ in range(40)]
    random.seed(1)
    aumai_chaos.seed(7)
    assert [injector.should_inject(fault) for _ in range(40)] == first
    # The injector draws once per question: the private stream's own values.
    stream = random.Random(7)
    assert first == [stream.random() < 0.5 for _ in range(40)]


def test_seed_none_goes_back_to_the_global_random(flaky: Callable[[], None]) -> None:
    random.seed(42)
    expected = pattern(flaky)
    aumai_chaos.seed(3)
    aumai_chaos.seed(None)
    random.seed(42)
    assert pattern(flaky) == expected


def test_seed_refuses_what_is_not_an_int() -> None:
    with pytest.raises(TypeError):
        aumai_chaos.seed("42")  # type: ignore[arg-type]


def test_the_environment_variable_seeds_the_private_stream() -> None:
    code = """
from opentelemetry.sdk.trace import TracerProvider
from aumai_chaos import ChaosError, chaos_monkey

tracer = TracerProvider().get_tracer("t")

@chaos_monkey(fault_type="error", probability=0.5)
def call():
    return None

out = ""
for _ in range(40):
    with tracer.start_as_current_span("step"):
        try:
            call()
            out += "."
        except ChaosError:
            out += "X"
print(out)
"""
    result = run_python(code=code, env=clean_env(AUMAI_CHAOS_SEED="42"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == seeded_pattern(42)

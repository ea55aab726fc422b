"""What faults do at a decorated call, by action: ``after`` (rewrite the result), ``during``
(act at item N of a generator or async generator), and the site refusals; with the SDK's
in-memory exporter and reader."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from aumai_chaos import (
    FaultConfig,
    FaultInjector,
    InjectedFaultError,
    StreamCutError,
    chaos_monkey,
    resilience_test,
)
from tests.helpers import counter_sum, fault_spans


@pytest.fixture
def providers(tracer_provider: TracerProvider, meter_provider: MeterProvider) -> dict[str, Any]:
    return {"tracer_provider": tracer_provider, "meter_provider": meter_provider}


# -- after ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "empty"), [("text", ""), ([1, 2], []), ({"a": 1}, {})])
def test_empty_output_empties_the_result(
    value: Any,
    empty: Any,
    providers: dict[str, Any],
    span_exporter: InMemorySpanExporter,
    metric_reader: InMemoryMetricReader,
) -> None:
    @chaos_monkey(fault_type="empty_output", component="llm", **providers)
    def llm() -> Any:
        return value

    assert llm() == empty
    (span,) = fault_spans(span_exporter)
    assert span.attributes["chaos.fault.type"] == "empty_output"  # type: ignore[index]
    assert span.attributes["chaos.fault.occurrence"] == 1  # type: ignore[index]
    assert counter_sum(metric_reader, "chaos.fault.injections") == 1


def test_empty_output_that_cannot_apply_is_not_fired_and_keeps_its_times(
    providers: dict[str, Any], span_exporter: InMemorySpanExporter
) -> None:
    results: list[Any] = [42, "text", "more"]

    @chaos_monkey(fault_type="empty_output", times=1, **providers)
    def llm() -> Any:
        return results.pop(0)

    assert [llm(), llm(), llm()] == [42, "", "more"]
    (span,) = fault_spans(span_exporter)
    assert span.attributes["chaos.fault.occurrence"] == 2  # type: ignore[index]


@pytest.mark.parametrize(
    ("value", "cut"),
    [
        ("0123456789", "0123"),
        (b"0123456789", b"0123"),
        (list(range(10)), [0, 1, 2, 3]),
        (tuple(range(5)), (0, 1)),
        ({"a": 1, "b": 2, "c": 3, "d": 4, "e": 5}, {"a": 1, "b": 2}),
    ],
)
def test_truncated_output_cuts_a_tool_result_to_its_fraction(
    value: Any, cut: Any, providers: dict[str, Any], span_exporter: InMemorySpanExporter
) -> None:
    fault = FaultConfig(fault_type="truncated_output", keep_fraction=0.4)

    @resilience_test(faults=[fault], component="tool", **providers)
    def tool() -> Any:
        return value

    assert tool() == cut
    (span,) = fault_spans(span_exporter)
    assert span.attributes["chaos.fault.type"] == "truncated_output"  # type: ignore[index]


def test_truncated_output_that_cannot_apply_is_not_fired(
    providers: dict[str, Any], span_exporter: InMemorySpanExporter
) -> None:
    results: list[Any] = [42, "", "abcd"]

    @chaos_monkey(fault_type="truncated_output", times=1, **providers)
    async def tool() -> Any:
        return results.pop(0)

    async def main() -> list[Any]:
        return [await tool(), await tool(), await tool()]

    assert asyncio.run(main()) == [42, "", "ab"]
    (span,) = fault_spans(span_exporter)
    assert span.attributes["chaos.fault.occurrence"] == 3  # type: ignore[index]


def test_transform_rewrites_a_coroutine_result(
    providers: dict[str, Any], span_exporter: InMemorySpanExporter
) -> None:
    @resilience_test(
        faults=[FaultConfig(fault_type="transform", transform=lambda r: r.upper(), every=2)],
        **providers,
    )
    async def llm(text: str) -> str:
        return text

    async def main() -> list[str]:
        return [await llm("a"), await llm("b"), await llm("c"), await llm("d")]

    assert asyncio.run(main()) == ["a", "B", "c", "D"]
    assert [s.attributes["chaos.fault.occurrence"] for s in fault_spans(span_exporter)] == [2, 4]  # type: ignore[index]


def test_an_after_fault_does_not_act_when_the_call_raises(
    providers: dict[str, Any], span_exporter: InMemorySpanExporter
) -> None:
    @chaos_monkey(fault_type="empty_output", **providers)
    def llm() -> str:
        raise KeyError("own")

    with pytest.raises(KeyError):
        llm()
    assert fault_spans(span_exporter) == []


# -- during --------------------------------------------------------------------------------------


def test_stream_cut_on_an_async_generator_acts_exactly_at_item_n(
    providers: dict[str, Any],
    span_exporter: InMemorySpanExporter,
    metric_reader: InMemoryMetricReader,
) -> None:
    produced: list[int] = []

    @chaos_monkey(fault_type="stream_cut", after_chunks=2, component="tokens", **providers)
    async def tokens() -> AsyncIterator[int]:
        for i in range(5):
            produced.append(i)
            yield i

    async def consume(got: list[int]) -> None:
        async for item in tokens():
            got.append(item)
            assert fault_spans(span_exporter) == []  # nothing acts ahead of the consumer

    async def main() -> list[int]:
        got: list[int] = []
        with pytest.raises(StreamCutError) as info:
            await consume(got)
        assert isinstance(info.value, ConnectionError)
        assert info.value.fault is not None
        return got

    assert asyncio.run(main()) == [0, 1]
    assert produced == [0, 1]  # never read ahead of the consumer
    (span,) = fault_spans(span_exporter)
    attrs = dict(span.attributes or {})
    assert attrs["chaos.fault.type"] == "stream_cut"
    assert attrs["chaos.fault.after_chunks"] == 2
    assert attrs["chaos.fault.occurrence"] == 1
    assert attrs["error.type"] == "aumai_chaos.errors.StreamCutError"
    assert counter_sum(metric_reader, "chaos.fault.injections") == 1


def test_stream_stall_on_an_async_generator_waits_then_goes_on(
    providers: dict[str, Any], span_exporter: InMemorySpanExporter
) -> None:
    @chaos_monkey(fault_type="stream_stall", duration_ms=30, after_chunks=1, **providers)
    async def tokens() -> AsyncIterator[int]:
        for i in range(3):
            yield i

    async def main() -> list[int]:
        return [item async for item in tokens()]

    assert asyncio.run(main()) == [0, 1, 2]
    (span,) = fault_spans(span_exporter)
    assert span.attributes["chaos.fault.type"] == "stream_stall"  # type: ignore[index]
    assert (span.end_time or 0) - (span.start_time or 0) >= 30_000_000


def test_truncated_stream_ends_a_generator_early_without_error(
    providers: dict[str, Any], span_exporter: InMemorySpanExporter
) -> None:
    closed: list[bool] = []

    @chaos_monkey(fault_type="truncated_stream", after_chunks=3, **providers)
    def tokens() -> Iterator[int]:
        try:
            yield from range(10)
        finally:
            closed.append(True)

    assert list(tokens()) == [0, 1, 2]
    assert closed == [True]
    assert len(fault_spans(span_exporter)) == 1


def test_a_stream_shorter_than_the_fault_position_never_gets_it(
    providers: dict[str, Any], span_exporter: InMemorySpanExporter
) -> None:
    @chaos_monkey(fault_type="stream_cut", after_chunks=5, times=1, **providers)
    def tokens(n: int) -> Iterator[int]:
        yield from range(n)

    assert list(tokens(3)) == [0, 1, 2]
    assert fault_spans(span_exporter) == []
    with pytest.raises(StreamCutError):
        list(tokens(8))  # the budget was kept for this call


def test_send_and_throw_reach_the_wrapped_generator() -> None:
    @chaos_monkey(fault_type="stream_stall", duration_ms=0, after_chunks=1)
    def echo() -> Iterator[Any]:
        received = None
        while True:
            try:
                received = yield received
            except ValueError:
                received = "thrown"

    gen = echo()
    assert next(gen) is None
    assert gen.send("x") == "x"
    assert gen.throw(ValueError()) == "thrown"
    gen.close()


def test_during_faults_on_a_plain_function_are_skipped() -> None:
    @chaos_monkey(fault_type="stream_cut")
    def plain() -> str:
        return "ok"

    assert plain() == "ok"


# -- sites ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault_type", "reason"),
    [
        ("rate_limit", "it answers an HTTP request"),
        ("read_timeout", "on a decorated call use a timeout fault"),
        ("refusal", "it rewrites a model provider's response"),
        ("slow_stream", "it paces server-sent events"),
        ("stream_error_event", "it sends a provider's error event"),
        ("invalid_tool_arguments", "it rewrites a model provider's response"),
    ],
)
def test_transport_only_faults_are_refused_by_the_decorators(fault_type: str, reason: str) -> None:
    with pytest.raises(ValueError, match=f"@chaos_monkey cannot inject a '{fault_type}' fault: "):
        chaos_monkey(fault_type=fault_type)
    extra = {"duration_ms": 10} if fault_type == "slow_stream" else {}
    fault = FaultConfig(fault_type=fault_type, **extra)
    with pytest.raises(ValueError, match=reason):
        resilience_test(faults=[fault])
    with pytest.raises(ValueError, match=f"FaultInjector cannot inject a '{fault_type}'"):
        FaultInjector().inject(fault)


def test_injector_acts_by_position_rules() -> None:
    injector = FaultInjector()
    fault = FaultConfig(fault_type="error", times=1, after_calls=1)
    outcomes = []
    for _ in range(3):
        try:
            outcomes.append(injector.inject(fault))
        except InjectedFaultError:
            outcomes.append("raised")
    assert outcomes == [False, "raised", False]

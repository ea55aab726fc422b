"""The engine API a transport calls (``aumai_chaos._engine.calls``), with the SDK's in-memory
exporter and reader: decisions, telemetry begun and ended by the caller, skips, delays."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import aumai_chaos
from aumai_chaos import ExperimentScheduler, FaultConfig
from aumai_chaos._engine import switch
from aumai_chaos._engine.calls import FaultSet, decide
from aumai_chaos._engine.registry import state
from aumai_chaos.faults import Action, Site
from tests.experiments.support import experiment, unique
from tests.helpers import counter_sum, fault_spans

COMPONENT = "openai.chat.completions"


def _set(faults: list[dict[str, Any]], **kwargs: Any) -> FaultSet:
    return FaultSet([FaultConfig.model_validate(f) for f in faults], **kwargs)


def test_nothing_to_do_is_none() -> None:
    assert decide(unique("nobody")) is None
    assert (
        decide(unique("nobody"), _set([{"fault_type": "rate_limit", "probability": 0.0}])) is None
    )
    assert not state.routing


def test_a_call_only_fault_is_refused_with_its_reason() -> None:
    with pytest.raises(ValueError, match="ChaosTransport cannot inject a 'transform' fault: "):
        FaultSet([FaultConfig(fault_type="transform", transform=str)], where="ChaosTransport")


def test_times_fires_exactly_the_first_calls_and_the_caller_stamps_the_span(
    tracer_provider: TracerProvider,
    span_exporter: InMemorySpanExporter,
    meter_provider: MeterProvider,
    metric_reader: InMemoryMetricReader,
) -> None:
    faults = _set(
        [{"fault_type": "rate_limit", "retry_after_s": 2.0, "times": 2}],
        tracer_provider=tracer_provider,
        meter_provider=meter_provider,
    )
    acted: list[int] = []
    for _ in range(5):
        decision = decide(COMPONENT, faults)
        if decision is None:
            continue
        assert decision.call is None  # no experiment watches the component
        (firing,) = decision.of(Action.instead)
        assert firing.begin({"http.request.method": "POST", "server.address": "127.0.0.1"})
        firing.set_attributes({"http.response.status_code": 429})
        firing.end()
        acted.append(firing.occurrence)
    assert acted == [1, 2]
    spans = fault_spans(span_exporter)
    assert [s.attributes["chaos.fault.occurrence"] for s in spans] == [1, 2]  # type: ignore[index]
    attrs = dict(spans[0].attributes or {})
    assert attrs["chaos.fault.type"] == "rate_limit"
    assert attrs["chaos.fault.retry_after_s"] == 2.0
    assert attrs["http.request.method"] == "POST"
    assert attrs["http.response.status_code"] == 429
    assert attrs["chaos.component"] == COMPONENT
    assert counter_sum(metric_reader, "chaos.fault.injections") == 2


def test_a_skipped_fault_is_not_counted_and_keeps_its_budget(
    tracer_provider: TracerProvider,
    span_exporter: InMemorySpanExporter,
) -> None:
    faults = _set(
        [{"fault_type": "malformed_tool_call", "times": 1}], tracer_provider=tracer_provider
    )
    first = decide(COMPONENT, faults)
    assert first is not None
    first.firings[0].skip()  # the response had no tool call to corrupt
    second = decide(COMPONENT, faults)
    assert second is not None
    assert second.firings[0].occurrence == 2
    assert second.firings[0].begin()
    second.firings[0].end()
    assert decide(COMPONENT, faults) is None
    assert len(fault_spans(span_exporter)) == 1


def test_seeded_decisions_replay_per_component() -> None:
    def run() -> list[tuple[str, int]]:
        faults = _set([{"fault_type": "http_error", "probability": 0.3}], seed=11)
        out = []
        for component in ("a", "b"):
            for _ in range(40):
                decision = decide(component, faults)
                if decision is not None:
                    out.append((component, decision.firings[0].occurrence))
                    decision.firings[0].skip()
        return out

    first = run()
    assert first == run()
    assert 0 < len(first) < 80


def test_the_kill_switch_stops_decisions() -> None:
    faults = _set([{"fault_type": "connect_error"}])
    aumai_chaos.disable()
    assert decide(COMPONENT, faults) is None
    aumai_chaos.enable()
    assert decide(COMPONENT, faults) is not None


def test_a_fault_decided_before_the_kill_switch_does_not_act_after_it(
    tracer_provider: TracerProvider, span_exporter: InMemorySpanExporter
) -> None:
    # A thread that decided just before disable() returned acts afterwards: it must not fire.
    faults = _set([{"fault_type": "connect_error"}], tracer_provider=tracer_provider)
    decision = decide(COMPONENT, faults)
    assert decision is not None
    (firing,) = decision.of(Action.instead)
    aumai_chaos.disable()
    assert not firing.begin()
    aumai_chaos.enable()
    assert fault_spans(span_exporter) == []
    again = decide(COMPONENT, faults)
    assert again is not None
    (firing,) = again.of(Action.instead)
    assert firing.begin()
    firing.end()
    assert len(fault_spans(span_exporter)) == 1


class _HoldFaultStart(SpanProcessor):
    """Holds a ``chaos.fault`` span's start (a slow processor) until ``release`` is set."""

    def __init__(self, then: Any = None) -> None:
        self.started = threading.Event()
        self.release = threading.Event()
        self.then = then

    def on_start(self, span: Any, parent_context: Any = None) -> None:
        if span.name == "chaos.fault":
            self.started.set()
            if self.then is not None:
                self.then()
            self.release.wait(10)


def test_disable_returns_only_when_faults_already_starting_have_started() -> None:
    hold = _HoldFaultStart()
    provider = TracerProvider()
    provider.add_span_processor(hold)
    decision = decide(COMPONENT, _set([{"fault_type": "connect_error"}], tracer_provider=provider))
    assert decision is not None
    (firing,) = decision.of(Action.instead)
    began: list[bool] = []
    actor = threading.Thread(target=lambda: began.append(firing.begin()))
    actor.start()
    assert hold.started.wait(10)
    switched = threading.Event()
    switcher = threading.Thread(target=lambda: (aumai_chaos.disable(), switched.set()))
    switcher.start()
    try:
        # the fault passed the switch before disable() was called: disable() waits for it
        assert not switched.wait(0.3)
    finally:
        hold.release.set()
        actor.join(10)
        switcher.join(10)
        aumai_chaos.enable()
    assert switched.is_set()
    assert began == [True]
    firing.end()


def test_disable_called_while_a_fault_starts_on_the_same_thread_does_not_wait_for_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(switch, "SWITCH_OFF_WAIT_S", 60.0)  # waiting for itself would show
    hold = _HoldFaultStart(then=aumai_chaos.disable)
    hold.release.set()
    provider = TracerProvider()
    provider.add_span_processor(hold)
    decision = decide(COMPONENT, _set([{"fault_type": "connect_error"}], tracer_provider=provider))
    assert decision is not None
    (firing,) = decision.of(Action.instead)
    t0 = time.monotonic()
    try:
        assert firing.begin()  # it had passed the switch; disable() inside it returns at once
        firing.end()
        waited = time.monotonic() - t0
        assert not state.enabled
    finally:
        aumai_chaos.enable()
    assert waited < 30  # not the switch's whole wait for itself


def test_an_experiment_routes_its_transport_faults_and_counts_only_what_acts(
    tracer_provider: TracerProvider,
    span_exporter: InMemorySpanExporter,
) -> None:
    component = unique("provider.responses")
    exp = experiment(
        duration_seconds=30.0,
        faults=[
            {"fault_type": "rate_limit", "affected_components": [component], "times": 3},
            {"fault_type": "refusal", "affected_components": [component]},
            {"fault_type": "transform", "transform": str, "affected_components": [component]},
        ],
    )
    scheduler = ExperimentScheduler(tracer_provider=tracer_provider)
    scheduler.schedule(exp)
    seen: list[tuple[int, list[str]]] = []

    def workload() -> None:
        if len(seen) >= 5:
            scheduler.abort(exp.experiment_id)
            return
        decision = decide(component)
        assert decision is not None
        assert decision.call is not None
        decision.call.enter()
        try:
            kinds = [f.plan.fault_type.value for f in decision.firings]
            n = decision.firings[0].occurrence
            for firing in decision.firings:
                if firing.plan.action is Action.instead and firing.begin():
                    firing.end()
                else:
                    firing.skip()  # the refusal "found nothing to rewrite"
            seen.append((n, kinds))
        finally:
            decision.call.exit(None)

    result = scheduler.run(exp.experiment_id, workload=workload)
    # transform acts on Python calls only: never decided for the transport
    assert seen[:4] == [
        (1, ["rate_limit", "refusal"]),
        (2, ["rate_limit", "refusal"]),
        (3, ["rate_limit", "refusal"]),
        (4, ["refusal"]),
    ]
    assert result.summary["total_faults_fired"] == 3
    assert result.summary["faults_by_type"] == {"rate_limit": 3}
    assert result.summary["components"][component]["calls"] >= 5
    assert len([s for s in span_exporter.get_finished_spans() if s.name == component]) >= 5


def test_an_experiment_transport_fault_is_not_routed_to_a_decorated_component() -> None:
    component = unique("tool")
    calls = []

    @aumai_chaos.chaos_target(component)
    def tool() -> str:
        calls.append(1)
        return "ok"

    exp = experiment(
        duration_seconds=30.0,
        faults=[{"fault_type": "http_error", "affected_components": [component]}],
    )
    scheduler = ExperimentScheduler()
    scheduler.schedule(exp)

    def workload() -> None:
        assert tool() == "ok"
        if len(calls) >= 3:
            scheduler.abort(exp.experiment_id)

    result = scheduler.run(exp.experiment_id, workload=workload)
    assert result.summary["total_faults_fired"] == 0
    assert result.summary["components"][component]["calls"] == len(calls)


def test_delays_end_when_the_experiment_is_aborted() -> None:
    component = unique("provider.messages")
    exp = experiment(
        duration_seconds=30.0,
        faults=[
            {
                "fault_type": "read_timeout",
                "duration_ms": 60_000,
                "affected_components": [component],
            }
        ],
    )
    scheduler = ExperimentScheduler()
    scheduler.schedule(exp)
    waited: list[float] = []

    def workload() -> None:
        decision = decide(component)
        assert decision is not None
        firing = decision.firings[0]
        if not firing.begin(start=decision.start):
            return
        threading.Timer(0.2, scheduler.abort, (exp.experiment_id,)).start()
        t0 = time.monotonic()
        firing.sleep()
        waited.append(time.monotonic() - t0)
        firing.end()

    scheduler.run(exp.experiment_id, workload=workload)
    assert waited
    assert waited[0] < 30.0


def test_async_delay_helper_waits_the_fault_delay() -> None:
    faults = _set([{"fault_type": "read_timeout", "duration_ms": 20}])

    async def main() -> float:
        decision = decide(COMPONENT, faults)
        assert decision is not None
        firing = decision.firings[0]
        assert firing.begin(start=decision.start)
        await firing.asleep()
        firing.end()
        return time.perf_counter() - decision.start

    assert asyncio.run(main()) >= 0.02


def test_site_call_leaves_out_transport_faults() -> None:
    faults = _set([{"fault_type": "latency", "duration_ms": 1}], site=Site.call)
    decision = decide(unique("x"), faults, site=Site.call)
    assert decision is not None
    assert decision.firings[0].plan.action is Action.before


def test_a_fault_of_probability_zero_never_fires_and_calls_are_still_numbered() -> None:
    """A probability-0 fault costs no decision on a call, but the call is still numbered: a
    second fault's position rule (``after_calls``) sees every call, and the summary counts
    them all."""
    component = unique("tool")
    calls = []

    @aumai_chaos.chaos_target(component)
    def tool() -> str:
        calls.append(1)
        return "ok"

    exp = experiment(
        duration_seconds=30.0,
        faults=[
            {"fault_type": "error", "probability": 0.0, "affected_components": [component]},
            {
                "fault_type": "latency",
                "duration_ms": 0,
                "after_calls": 3,
                "times": 1,
                "affected_components": [component],
            },
        ],
    )
    scheduler = ExperimentScheduler()
    scheduler.schedule(exp)

    def workload() -> None:
        assert tool() == "ok"
        if len(calls) >= 6:
            scheduler.abort(exp.experiment_id)

    result = scheduler.run(exp.experiment_id, workload=workload)
    assert result.summary["faults_by_type"] == {"latency": 1}
    assert result.summary["components"][component]["calls"] == len(calls)
    fired = [o for o in result.observations if o.event == "fault_injected"]
    assert [o.details["chaos.fault.occurrence"] for o in fired] == [4]

"""The summary, the observations, the spans and the metrics of a run count the same things."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import Counter
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from aumai_chaos import (
    ExperimentResult,
    ExperimentScheduler,
    ExperimentStatus,
    FaultConfig,
    InjectedFaultError,
    chaos_target,
)
from tests.experiments.support import (
    Background,
    experiment,
    experiment_span,
    of_experiment,
    spans,
    unique,
    wait_until,
)
from tests.helpers import counter_sum, points, run_python

SYNC_DB = unique("cons.db")
ASYNC_LLM = unique("cons.llm")
TOOL = unique("cons.tool")
RAISING = {"error", "timeout", "resource_exhaustion"}


@chaos_target(SYNC_DB)
def db_lookup() -> str:
    return "row"


@chaos_target(ASYNC_LLM)
async def llm_complete() -> str:
    await asyncio.sleep(0)
    return "text"


@chaos_target(TOOL)
def tool() -> None:
    return None


def faults_for() -> list[FaultConfig]:
    return [
        FaultConfig(
            fault_type="latency", probability=0.3, duration_ms=2, affected_components=[ASYNC_LLM]
        ),
        FaultConfig(
            fault_type="error", probability=0.2, error_code=503, affected_components=[SYNC_DB]
        ),
        FaultConfig(
            fault_type="timeout", probability=0.1, duration_ms=1, affected_components=[ASYNC_LLM]
        ),
        FaultConfig(fault_type="resource_exhaustion", probability=0.05),  # -> the targets
        FaultConfig(fault_type="latency", probability=0.2, duration_ms=1),  # -> the targets
    ]


async def agent_step() -> None:
    with contextlib.suppress(InjectedFaultError):
        db_lookup()
    await llm_complete()  # its timeouts and exhaustion fail the iteration


def value_of(result: ExperimentResult, *path: str) -> Any:
    value: Any = result.summary
    for key in path:
        value = value[key]
    return value


def check_consistent(
    result: ExperimentResult,
    exporter: InMemorySpanExporter,
    reader: InMemoryMetricReader,
) -> None:
    """Every count of the summary against the observations, the spans and the metrics."""
    eid = result.experiment_id
    summary = result.summary
    assert result.dropped_observations == 0
    faults = of_experiment(spans(exporter, "chaos.fault"), eid)
    fault_obs = [o for o in result.observations if o.event == "fault_injected"]
    injections = counter_sum(reader, "chaos.fault.injections", {"chaos.experiment.id": eid})
    total = summary["total_faults_fired"]
    assert total > 0
    assert total == len(fault_obs) == injections == len(faults)

    by_type_spans = Counter((s.attributes or {})["chaos.fault.type"] for s in faults)
    by_type_obs = Counter(o.details["chaos.fault.type"] for o in fault_obs)
    by_type_metric = Counter[str]()
    by_component_metric = Counter[str]()
    for point in points(reader, "chaos.fault.injections"):
        attrs = dict(point.attributes or {})
        if attrs.get("chaos.experiment.id") == eid:
            by_type_metric[attrs["chaos.fault.type"]] += point.value
            by_component_metric[attrs["chaos.component"]] += point.value
    assert summary["faults_by_type"] == dict(by_type_spans) == dict(by_type_obs)
    assert summary["faults_by_type"] == dict(by_type_metric)
    assert summary["errors_by_type"] == {t: n for t, n in by_type_spans.items() if t in RAISING}
    raising_spans = [s for s in faults if s.status.status_code is StatusCode.ERROR]
    assert len(raising_spans) == sum(summary["errors_by_type"].values())

    delays = [
        p
        for p in points(reader, "chaos.fault.delay")
        if dict(p.attributes or {}).get("chaos.experiment.id") == eid
    ]
    assert sum(p.count for p in delays) == by_type_spans["latency"] + by_type_spans["timeout"]

    for name, stats in summary["components"].items():
        calls = [o for o in result.observations if (o.component, o.event) == (name, "call")]
        call_spans = of_experiment(spans(exporter, name), eid)
        assert stats["calls"] == len(calls) == len(call_spans)
        failed = [s for s in call_spans if s.status.status_code is StatusCode.ERROR]
        assert stats["errors"] == len(failed) == sum(c.details["status"] == "error" for c in calls)
        assert stats["error_types"] == dict(
            Counter((s.attributes or {})["error.type"] for s in failed)
        )
        assert (
            stats["faults"]
            == by_component_metric[name]
            == sum((s.attributes or {})["chaos.component"] == name for s in faults)
        )
    assert sum(s["faults"] for s in summary["components"].values()) == total
    if "workload" in summary:
        iterations = [o for o in result.observations if o.event == "iteration"]
        assert summary["workload"]["iterations"] == len(iterations)
        assert summary["workload"]["failures"] == sum(
            o.details["status"] == "error" for o in iterations
        )


def check_run_metrics(reader: InMemoryMetricReader, eid: str, status: str, duration: float) -> None:
    attrs = {"chaos.experiment.id": eid, "chaos.experiment.status": status}
    assert counter_sum(reader, "chaos.experiment.runs", {"chaos.experiment.id": eid}) == 1
    assert counter_sum(reader, "chaos.experiment.runs", attrs) == 1
    [hist] = [
        p for p in points(reader, "chaos.experiment.duration") if dict(p.attributes or {}) == attrs
    ]
    assert hist.count == 1
    assert hist.sum == pytest.approx(duration, abs=0.001)
    [active] = points(reader, "chaos.experiment.active")
    assert dict(active.attributes or {}) == {}
    assert active.value == 0


def test_a_seeded_run_agrees_with_itself_everywhere(
    tracer_provider: TracerProvider,
    span_exporter: InMemorySpanExporter,
    meter_provider: MeterProvider,
    metric_reader: InMemoryMetricReader,
) -> None:
    scheduler = ExperimentScheduler(tracer_provider=tracer_provider, meter_provider=meter_provider)
    exp = experiment(
        name="consistency",
        duration_seconds=0.6,
        seed=20240115,
        target_components=[SYNC_DB, ASYNC_LLM],
        faults=faults_for(),
        workload={"target": "x.y:z", "concurrency": 3},
    )
    active_during: list[int] = []

    def progress(elapsed: float, total: float) -> None:
        if not active_during:
            [point] = points(metric_reader, "chaos.experiment.active")
            active_during.append(point.value)

    eid = scheduler.schedule(exp)
    result = scheduler.run(eid, workload=agent_step, progress=progress)
    assert result.status is ExperimentStatus.completed
    assert set(result.summary["faults_by_type"]) == {
        "latency",
        "error",
        "timeout",
        "resource_exhaustion",
    }
    assert set(result.summary["components"]) == {SYNC_DB, ASYNC_LLM}
    check_consistent(result, span_exporter, metric_reader)
    check_run_metrics(metric_reader, eid, "completed", result.summary["duration_seconds"])
    assert active_during == [1]

    span = experiment_span(span_exporter, eid)
    attrs = dict(span.attributes or {})
    assert attrs["chaos.experiment.id"] == eid
    assert attrs["chaos.experiment.name"] == "consistency"
    assert attrs["chaos.experiment.status"] == "completed"
    assert attrs["chaos.seed"] == 20240115
    assert span.status.status_code is not StatusCode.ERROR
    assert not [e for e in span.events if e.name == "chaos.experiment.aborted"]
    # Every fault of the run is inside the experiment's trace.
    assert span.context is not None
    assert {
        s.context.trace_id
        for s in of_experiment(spans(span_exporter, "chaos.fault"), eid)
        if s.context
    } == {span.context.trace_id}


def test_an_unseeded_run_has_no_seed_attribute(
    tracer_provider: TracerProvider, span_exporter: InMemorySpanExporter
) -> None:
    scheduler = ExperimentScheduler(tracer_provider=tracer_provider)
    eid = scheduler.schedule(experiment(duration_seconds=0.1))
    scheduler.run(eid)
    assert "chaos.seed" not in (experiment_span(span_exporter, eid).attributes or {})


def test_an_aborted_run_says_so(
    tracer_provider: TracerProvider,
    span_exporter: InMemorySpanExporter,
    meter_provider: MeterProvider,
    metric_reader: InMemoryMetricReader,
) -> None:
    scheduler = ExperimentScheduler(tracer_provider=tracer_provider, meter_provider=meter_provider)
    exp = experiment(duration_seconds=600, seed=5, faults=[FaultConfig(fault_type="error")])
    eid = scheduler.schedule(exp)
    bg = Background(scheduler, eid).start()
    wait_until(lambda: scheduler.get_result(eid).summary.get("total_faults_fired", 0) >= 2)
    scheduler.abort(eid)
    result = bg.join()
    assert result.status is ExperimentStatus.aborted
    span = experiment_span(span_exporter, eid)
    assert [e.name for e in span.events] == ["chaos.experiment.aborted"]
    assert (span.attributes or {})["chaos.experiment.status"] == "aborted"
    assert (span.attributes or {})["chaos.seed"] == 5
    check_run_metrics(metric_reader, eid, "aborted", result.summary["duration_seconds"])
    check_consistent(result, span_exporter, metric_reader)


def test_a_failed_run_is_counted_as_failed(
    tracer_provider: TracerProvider,
    span_exporter: InMemorySpanExporter,
    meter_provider: MeterProvider,
    metric_reader: InMemoryMetricReader,
) -> None:
    scheduler = ExperimentScheduler(tracer_provider=tracer_provider, meter_provider=meter_provider)
    eid = scheduler.schedule(experiment(duration_seconds=5, workload="no_such_module_x:run"))
    result = scheduler.run(eid)
    assert result.status is ExperimentStatus.failed
    check_run_metrics(metric_reader, eid, "failed", result.summary["duration_seconds"])
    span = experiment_span(span_exporter, eid)
    assert span.status.status_code is StatusCode.ERROR
    assert [e.name for e in span.events] == ["exception"]


def test_the_same_seed_replays_the_same_faults() -> None:
    def run_once(eid: str) -> list[tuple[str, str]]:
        scheduler = ExperimentScheduler()
        exp = experiment(
            experiment_id=eid,
            duration_seconds=1.0,  # thousands of calls when idle; > 20 faults even under load
            seed=77,
            target_components=[SYNC_DB, TOOL],
            faults=[
                FaultConfig(fault_type="error", probability=0.3),
                FaultConfig(fault_type="latency", probability=0.3, duration_ms=1),
            ],
        )

        def workload() -> None:
            for call in (db_lookup, tool):
                with contextlib.suppress(InjectedFaultError):
                    call()

        result = scheduler.run(scheduler.schedule(exp), workload=workload)
        return [
            (o.component, o.details["chaos.fault.type"])
            for o in result.observations
            if o.event == "fault_injected"
        ]

    first, second = run_once(unique("replay")), run_once(unique("replay"))
    shortest = min(len(first), len(second))
    assert shortest > 20
    assert first[:shortest] == second[:shortest]


def test_concurrent_runs_each_count_only_their_own(
    tracer_provider: TracerProvider,
    span_exporter: InMemorySpanExporter,
    meter_provider: MeterProvider,
    metric_reader: InMemoryMetricReader,
) -> None:
    scheduler = ExperimentScheduler(tracer_provider=tracer_provider, meter_provider=meter_provider)
    on_db = experiment(
        duration_seconds=0.5,
        seed=1,
        faults=[FaultConfig(fault_type="error", probability=0.4, affected_components=[SYNC_DB])],
    )
    on_tool = experiment(
        duration_seconds=0.4,
        seed=2,
        faults=[
            FaultConfig(
                fault_type="latency", probability=0.4, duration_ms=1, affected_components=[TOOL]
            )
        ],
    )

    def call_db() -> None:
        db_lookup()

    ids = [scheduler.schedule(on_db), scheduler.schedule(on_tool)]
    runs = [
        Background(scheduler, ids[0], workload=call_db).start(),
        Background(scheduler, ids[1], workload=tool).start(),
    ]
    db_result, tool_result = (r.join() for r in runs)
    check_consistent(db_result, span_exporter, metric_reader)
    check_consistent(tool_result, span_exporter, metric_reader)
    assert set(db_result.summary["components"]) == {SYNC_DB}
    assert set(tool_result.summary["components"]) == {TOOL}
    assert db_result.summary["faults_by_type"].keys() == {"error"}
    assert tool_result.summary["faults_by_type"].keys() == {"latency"}
    assert counter_sum(metric_reader, "chaos.fault.injections") == (
        db_result.summary["total_faults_fired"] + tool_result.summary["total_faults_fired"]
    )


def test_without_an_sdk_tracer_provider_the_run_still_observes_everything() -> None:
    """No SDK tracer provider anywhere (the global one is the API's no-op proxy): the
    scheduler observes through a private provider, and never sets the global one."""
    result = run_python(
        """
        import asyncio, json
        from collections import Counter
        from opentelemetry import trace
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import InMemoryMetricReader
        from aumai_chaos import (
            ChaosExperiment, ExperimentScheduler, FaultConfig, InjectedFaultError, chaos_target,
        )

        @chaos_target("db")
        def db():
            return 1

        @chaos_target("llm")
        async def llm():
            await asyncio.sleep(0)

        async def step():
            try:
                db()
            except InjectedFaultError:
                pass
            await llm()

        reader = InMemoryMetricReader()
        scheduler = ExperimentScheduler(meter_provider=MeterProvider(metric_readers=[reader]))
        exp = ChaosExperiment(
            experiment_id="no-sdk", name="no sdk", duration_seconds=0.4, tick_seconds=0.1, seed=3,
            target_components=["db", "llm"],
            faults=[
                FaultConfig(fault_type="error", probability=0.3),
                FaultConfig(fault_type="latency", probability=0.3, duration_ms=1),
            ],
        )
        result = scheduler.run(scheduler.schedule(exp), workload=step)
        injections = sum(
            p.value
            for rm in reader.get_metrics_data().resource_metrics
            for sm in rm.scope_metrics
            for m in sm.metrics if m.name == "chaos.fault.injections"
            for p in m.data.data_points
            if dict(p.attributes).get("chaos.experiment.id") == "no-sdk"
        )
        obs = result.observations
        print(json.dumps({
            "status": result.status.value,
            "global": type(trace.get_tracer_provider()).__name__,
            "total": result.summary["total_faults_fired"],
            "fault_obs": sum(o.event == "fault_injected" for o in obs),
            "injections": injections,
            "faults_by_type": result.summary["faults_by_type"],
            "obs_by_type": Counter(
                o.details["chaos.fault.type"] for o in obs if o.event == "fault_injected"
            ),
            "calls": {n: s["calls"] for n, s in result.summary["components"].items()},
            "call_obs": Counter(o.component for o in obs if o.event == "call"),
            "iterations": result.summary["workload"]["iterations"],
            "iteration_obs": sum(o.event == "iteration" for o in obs),
        }))
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    out = json.loads(result.stdout)
    assert out["status"] == "completed"
    assert out["global"] == "ProxyTracerProvider"  # never set by the library
    assert out["total"] > 0
    assert out["total"] == out["fault_obs"] == out["injections"]
    assert out["faults_by_type"] == out["obs_by_type"]
    assert out["calls"] == out["call_obs"]
    assert set(out["calls"]) == {"db", "llm"}
    assert out["iterations"] == out["iteration_obs"] > 0


def test_the_in_process_global_provider_is_untouched() -> None:
    """The tests run experiments without a tracer provider too; none of them may set the
    global one (tests/README.md)."""
    from opentelemetry import trace

    scheduler = ExperimentScheduler()
    scheduler.run(scheduler.schedule(experiment(duration_seconds=0.1)))
    assert type(trace.get_tracer_provider()).__name__ == "ProxyTracerProvider"


def test_a_delay_cancelled_by_the_caller_still_ends_its_fault_span(
    tracer_provider: TracerProvider,
    span_exporter: InMemorySpanExporter,
    meter_provider: MeterProvider,
    metric_reader: InMemoryMetricReader,
) -> None:
    """The caller's own timeout cancels a 10-minute delay: its chaos.fault span ends then, so
    the spans still agree with the summary and the metrics."""
    scheduler = ExperimentScheduler(tracer_provider=tracer_provider, meter_provider=meter_provider)
    exp = experiment(
        duration_seconds=0.3,
        seed=9,
        faults=[
            FaultConfig(
                fault_type="latency",
                probability=0.5,
                duration_ms=600_000,
                affected_components=[ASYNC_LLM],
            )
        ],
    )

    async def impatient() -> None:
        await asyncio.wait_for(llm_complete(), timeout=0.01)

    result = scheduler.run(scheduler.schedule(exp), workload=impatient)
    assert result.status is ExperimentStatus.completed
    check_consistent(result, span_exporter, metric_reader)
    faults = of_experiment(spans(span_exporter, "chaos.fault"), result.experiment_id)
    assert len(faults) > 3
    for span in faults:
        assert span.end_time is not None
        assert span.start_time is not None
        assert (span.end_time - span.start_time) / 1e9 < 60.0  # cut short, not 10 minutes
    wl = result.summary["workload"]
    assert wl["failure_types"] == {"TimeoutError": wl["failures"]}
    assert result.summary["components"][ASYNC_LLM]["error_types"] == {
        "asyncio.exceptions.CancelledError": wl["failures"]
    }

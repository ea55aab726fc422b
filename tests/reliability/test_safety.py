"""Safety defaults: the kill switch works everywhere and at once, experiments have a maximum
duration, and nothing is sent anywhere unless the application configures it."""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
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
    ChaosExperiment,
    ExperimentScheduler,
    ExperimentStatus,
    FaultConfig,
    FaultInjector,
    FaultType,
    InjectedFaultError,
    WorkloadConfig,
    chaos_monkey,
    chaos_target,
    resilience_test,
)
from aumai_chaos.experiments.models import MAX_EXPERIMENT_SECONDS
from aumai_chaos.faults import MAX_DURATION_MS
from tests.experiments.support import Background, unique, wait_until
from tests.helpers import clean_env, counter_sum, run_python

# -- the kill switch: decorators and the injector ------------------------------------------------


def test_the_kill_switch_stops_every_decorator_and_the_injector(
    tracer_provider: TracerProvider,
    meter_provider: MeterProvider,
    span_exporter: InMemorySpanExporter,
    metric_reader: InMemoryMetricReader,
) -> None:
    providers: dict[str, Any] = {
        "tracer_provider": tracer_provider,
        "meter_provider": meter_provider,
    }
    slow = {"fault_type": "latency", "duration_ms": 200, **providers}

    @chaos_monkey(fault_type="error", **providers)
    def sync_fn() -> str:
        return "ok"

    @chaos_monkey(**slow)
    async def async_fn() -> str:
        return "ok"

    @chaos_monkey(fault_type="timeout", **providers)
    def gen_fn() -> Iterator[str]:
        yield "ok"

    @chaos_monkey(fault_type="resource_exhaustion", **providers)
    async def agen_fn() -> AsyncIterator[str]:
        yield "ok"

    class Agent:
        @chaos_monkey(fault_type="error", **providers)
        def method(self) -> str:
            return "ok"

        @classmethod
        @chaos_monkey(fault_type="error", **providers)
        def klass(cls) -> str:
            return "ok"

    @resilience_test(
        faults=[
            FaultConfig(fault_type="latency", duration_ms=200),
            FaultConfig(fault_type="error"),
        ],
        **providers,
    )
    def many() -> str:
        return "ok"

    injector = FaultInjector(seed=3, **providers)
    error = FaultConfig(fault_type="error")
    delay = FaultConfig(fault_type="latency", duration_ms=60_000)

    async def agen_first() -> str:
        async for item in agen_fn():
            return item
        raise AssertionError("empty")

    calls: list[Callable[[], Any]] = [
        sync_fn,
        lambda: asyncio.run(async_fn()),
        lambda: next(iter(gen_fn())),
        lambda: asyncio.run(agen_first()),
        Agent().method,
        Agent.klass,
        many,
        lambda: "ok" if injector.inject(error) is False else "fired",
        lambda: "ok" if injector.inject(delay, component="llm") is False else "fired",
        lambda: "ok" if asyncio.run(injector.ainject(error)) is False else "fired",
        lambda: "ok" if injector.should_inject(error) is False else "fired",
    ]

    aumai_chaos.disable()
    assert aumai_chaos.is_enabled() is False
    start = time.perf_counter()
    for _ in range(20):
        assert [call() for call in calls] == ["ok"] * len(calls)
    assert time.perf_counter() - start < 30.0  # no 60 s delay ran
    assert span_exporter.get_finished_spans() == ()
    assert counter_sum(metric_reader, "chaos.fault.injections") == 0

    aumai_chaos.enable()
    outcomes = []
    for call in calls:
        try:
            outcomes.append(call())
        except InjectedFaultError as exc:
            outcomes.append(type(exc).__name__)
    assert outcomes == [
        "ChaosError",
        "ok",  # latency only: the call runs after the delay
        "ChaosTimeoutError",
        "ResourceExhaustedError",
        "ChaosError",
        "ChaosError",
        "ChaosError",
        "ChaosError",
        "fired",
        "ChaosError",
        "fired",
    ]
    assert counter_sum(metric_reader, "chaos.fault.injections") > 0


# -- the kill switch inside a running experiment ---------------------------------------------------

TARGET = unique("safety.target")
ATARGET = unique("safety.atarget")
SYNTHETIC = unique("safety.synthetic")


@chaos_target(TARGET)
def target(value: int) -> int:
    return value


@chaos_target(ATARGET)
async def atarget(value: int) -> int:
    await asyncio.sleep(0)
    return value


@dataclass
class Callers:
    """Two threads calling ``target`` and twenty asyncio tasks calling ``atarget``, each call
    recorded as (start ns, end ns, component, raised)."""

    stop: threading.Event = field(default_factory=threading.Event)
    calls: list[tuple[int, int, str, bool]] = field(default_factory=list)
    unexpected: list[BaseException] = field(default_factory=list)
    first_fault: threading.Event = field(default_factory=threading.Event)
    threads: list[threading.Thread] = field(default_factory=list)

    def record(self, t0: int, name: str, raised: bool) -> None:
        self.calls.append((t0, time.time_ns(), name, raised))
        if raised:
            self.first_fault.set()

    def sync_caller(self) -> None:
        for i in itertools.count():
            if self.stop.is_set():
                return
            t0 = time.time_ns()
            try:
                target(i)
            except ChaosError:
                self.record(t0, TARGET, True)
            except BaseException as exc:
                self.unexpected.append(exc)
            else:
                self.record(t0, TARGET, False)

    async def task(self) -> None:
        while not self.stop.is_set():
            t0 = time.time_ns()
            try:
                await atarget(1)
            except ChaosError:
                self.record(t0, ATARGET, True)
            except BaseException as exc:
                self.unexpected.append(exc)
            else:
                self.record(t0, ATARGET, False)
            await asyncio.sleep(0)

    def async_caller(self) -> None:
        async def main() -> None:
            await asyncio.gather(*(self.task() for _ in range(20)))

        asyncio.run(main())

    def start(self) -> Callers:
        for fn in (self.sync_caller, self.sync_caller, self.async_caller):
            thread = threading.Thread(target=fn, daemon=True)
            self.threads.append(thread)
            thread.start()
        return self

    def join(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(10)
            assert not thread.is_alive()

    def wait_for_more(self, count: int) -> None:
        mark = len(self.calls)
        wait_until(lambda: len(self.calls) - mark >= count, 20)


def ns(value: datetime) -> int:
    """A datetime as integer nanoseconds since the epoch, exactly (no float rounding)."""
    return (value - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1) * 1000


@pytest.mark.parametrize("mode", ["workload", "ticks"])
def test_the_kill_switch_stops_a_running_experiment_at_once_and_enable_resumes_it(
    mode: str,
) -> None:
    scheduler = ExperimentScheduler(max_observations=1_000_000)
    exp = ChaosExperiment(
        experiment_id=unique("safety-kill"),
        name="kill switch",
        duration_seconds=600,
        tick_seconds=0.01,
        seed=4,
        faults=[
            FaultConfig(fault_type="error", affected_components=[TARGET, ATARGET]),
            FaultConfig(fault_type="error", affected_components=[SYNTHETIC]),
        ],
    )
    kwargs: dict[str, Any] = {"workload": lambda: time.sleep(0.005)} if mode == "workload" else {}
    eid = scheduler.schedule(exp)
    callers = Callers().start()
    try:
        background = Background(scheduler, eid, **kwargs).start()
        assert callers.first_fault.wait(10), "no fault fired"
        callers.wait_for_more(1000)

        aumai_chaos.disable()
        disabled_ns = time.time_ns()
        callers.wait_for_more(3000)
        time.sleep(0.1)  # ten ticks
        enabling_ns = time.time_ns()
        aumai_chaos.enable()
        enabled_ns = time.time_ns()
        callers.wait_for_more(3000)
        time.sleep(0.1)
        aborting_ns = time.time_ns()
        scheduler.abort(eid)
        result = background.join(60)  # a hang guard: the abort time is a benchmark budget
    finally:
        callers.join()
        aumai_chaos.enable()

    assert not callers.unexpected, callers.unexpected
    assert result.status is ExperimentStatus.aborted
    calls = callers.calls
    while_off = [c for c in calls if c[0] > disabled_ns and c[1] < enabling_ns]
    after_on = [c for c in calls if c[0] > enabled_ns and c[1] < aborting_ns]
    assert len(while_off) > 1000
    assert len(after_on) > 1000
    assert not [c for c in while_off if c[3]], "a fault fired after disable() returned"
    assert all(c[3] for c in after_on), "a call after enable() did not get the experiment's fault"
    for name in (TARGET, ATARGET):
        assert any(c[2] == name for c in while_off), name
        assert any(c[2] == name for c in after_on), name

    # The experiment's own record agrees: no fault between disable() and enable().
    faults = [o for o in result.observations if o.event == "fault_injected"]
    assert result.dropped_observations == 0
    assert not [o for o in faults if disabled_ns < ns(o.timestamp) < enabling_ns - 1000]
    assert any(ns(o.timestamp) > enabled_ns for o in faults)
    components = result.summary["components"]
    # Each error a caller saw is one the experiment counted (a call that ended after the run
    # is not one of its calls); in tick mode the synthetic calls (each tick, each fault, each of
    # its components) come on top, equally for each component.
    for name in (TARGET, ATARGET):
        raised = [c for c in calls if c[2] == name and c[3]]
        ended_in_run = sum(1 for c in raised if c[1] < aborting_ns)
        ticks = components[SYNTHETIC]["errors"] if mode == "ticks" else 0
        # (a tick that disable(), enable() or abort() cut in two: at most one apart each)
        slack = 3 if mode == "ticks" else 0
        assert ended_in_run + ticks - slack <= components[name]["errors"], name
        assert components[name]["errors"] <= len(raised) + ticks + slack, name
    if mode == "ticks":
        assert components[SYNTHETIC]["errors"] > 10
    assert result.summary["total_faults_fired"] == sum(f["fired"] for f in result.summary["faults"])
    if mode == "ticks":
        synthetic = [o for o in faults if o.component == SYNTHETIC]
        assert any(ns(o.timestamp) < disabled_ns for o in synthetic)
        assert any(ns(o.timestamp) > enabled_ns for o in synthetic)


def test_the_environment_variable_disables_everything_in_a_fresh_process() -> None:
    code = """
        import asyncio, json
        import aumai_chaos
        from aumai_chaos import (
            ChaosError, ChaosExperiment, ExperimentScheduler, FaultConfig, FaultInjector,
            InjectedFaultError, chaos_monkey, chaos_target,
        )

        @chaos_monkey(fault_type="error")
        def tool():
            return "ok"

        @chaos_target("env.target")
        def target():
            return "ok"

        def workload():
            try:
                target()
            except InjectedFaultError:
                pass

        def experiment(n):
            scheduler = ExperimentScheduler()
            exp = ChaosExperiment(
                experiment_id=f"env-{n}", name="env", duration_seconds=0.2, tick_seconds=0.05,
                faults=[
                    FaultConfig(fault_type="error", affected_components=["env.target"]),
                    FaultConfig(fault_type="error", affected_components=["env.synthetic"]),
                ],
            )
            a = scheduler.run(scheduler.schedule(exp), workload=workload)
            exp2 = exp.model_copy(update={"experiment_id": f"env-{n}-ticks"})
            b = scheduler.run(scheduler.schedule(exp2))
            return [a.status.value, a.summary["total_faults_fired"],
                    b.status.value, b.summary["total_faults_fired"]]

        def fired(call):
            try:
                call()
            except ChaosError:
                return True
            return False

        out = {"enabled": aumai_chaos.is_enabled()}
        out["tool"] = fired(tool)
        out["injector"] = fired(lambda: FaultInjector().inject(FaultConfig(fault_type="error")))
        out["experiment"] = experiment(1)
        aumai_chaos.enable()
        out["after_enable"] = [fired(tool), experiment(2)]
        print(json.dumps(out))
    """
    result = run_python(code, env=clean_env(AUMAI_CHAOS_DISABLED="1"))
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["enabled"] is False
    assert out["tool"] is False
    assert out["injector"] is False
    assert out["experiment"] == ["completed", 0, "completed", 0]
    after_tool, (status_a, fired_a, status_b, fired_b) = out["after_enable"]
    assert after_tool is True
    assert (status_a, status_b) == ("completed", "completed")
    assert fired_a > 0
    assert fired_b > 0


# -- the maximum duration --------------------------------------------------------------------------

BASE: dict[str, Any] = {"experiment_id": "safety-max", "name": "max"}


@pytest.mark.parametrize(
    "fields",
    [
        {"duration_seconds": MAX_EXPERIMENT_SECONDS + 0.001},
        {"duration_seconds": MAX_EXPERIMENT_SECONDS * 365},
        {"duration_seconds": float("inf")},
        {"duration_seconds": float("nan")},
        {"duration_seconds": 0},
        {"duration_seconds": -1},
        {"duration_seconds": 10, "tick_seconds": 10.5},
        {"duration_seconds": 10, "baseline_seconds": MAX_EXPERIMENT_SECONDS + 1},
        {"duration_seconds": 10, "workload": {"target": "a:b", "interval_seconds": 3601}},
        {"duration_seconds": 10, "workload": {"target": "a:b", "concurrency": 1025}},
        {
            "duration_seconds": 10,
            "faults": [{"fault_type": "latency", "duration_ms": MAX_DURATION_MS + 1}],
        },
    ],
    ids=lambda f: ",".join(f"{k}={v}" for k, v in f.items())[:60],
)
def test_values_beyond_the_limits_are_refused(fields: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        ChaosExperiment.model_validate({**BASE, **fields})


def test_the_limits_themselves_are_accepted() -> None:
    exp = ChaosExperiment.model_validate(
        {
            **BASE,
            "duration_seconds": MAX_EXPERIMENT_SECONDS,
            "tick_seconds": MAX_EXPERIMENT_SECONDS,
            "baseline_seconds": MAX_EXPERIMENT_SECONDS,
            "faults": [{"fault_type": "latency", "duration_ms": MAX_DURATION_MS}],
            "workload": WorkloadConfig(target="a:b", concurrency=1024, interval_seconds=3600),
        }
    )
    assert exp.duration_seconds == 86_400
    assert (
        FaultConfig(fault_type=FaultType.timeout, duration_ms=MAX_DURATION_MS).delay_seconds == 3600
    )


def test_the_limits_cannot_be_bypassed_after_validation() -> None:
    """Assigning, copying with ``update=`` or constructing without validation cannot smuggle an
    over-long experiment into a run: the run checks the limits again and refuses it."""
    exp = ChaosExperiment.model_validate({**BASE, "duration_seconds": 5})
    with pytest.raises(ValidationError):
        exp.duration_seconds = MAX_EXPERIMENT_SECONDS * 10
    assert exp.duration_seconds == 5
    smuggled = [
        exp.model_copy(update={"duration_seconds": MAX_EXPERIMENT_SECONDS * 10}),
        exp.model_copy(update={"tick_seconds": 10.0}),
        ChaosExperiment.model_construct(**{**BASE, "duration_seconds": 1e12}),
    ]
    for n, bad in enumerate(smuggled):
        scheduler = ExperimentScheduler()
        eid = scheduler.schedule(bad.model_copy(update={"experiment_id": f"smuggled-{n}"}))
        t0 = time.perf_counter()
        with pytest.raises(ValidationError):
            scheduler.run(eid)
        assert time.perf_counter() - t0 < 30.0  # refused, not run for days
        assert scheduler.status(eid) is ExperimentStatus.pending  # never ran


# -- nothing sent anywhere without configuration --------------------------------------------------

NO_NETWORK = """
    import json, socket, sys, threading

    attempts = []

    def recorder(name, original):
        def record(*args, **kwargs):
            attempts.append([name, repr(args[1:] if name.startswith("socket.") else args)[:200]])
            return original(*args, **kwargs)
        return record

    for name in ("connect", "connect_ex", "sendto", "sendmsg"):
        setattr(socket.socket, name, recorder("socket." + name, getattr(socket.socket, name)))
    for name in ("create_connection", "getaddrinfo", "gethostbyname"):
        setattr(socket, name, recorder(name, getattr(socket, name)))

    import asyncio
    from opentelemetry import metrics, trace
    import aumai_chaos
    from aumai_chaos import (
        ChaosExperiment, ExperimentObserver, ExperimentScheduler, FaultConfig, FaultInjector,
        InjectedFaultError, chaos_monkey, chaos_target, resilience_test,
    )

    @chaos_monkey(fault_type="error")
    def tool():
        return "ok"

    @resilience_test(faults=[FaultConfig(fault_type="latency", duration_ms=1),
                             FaultConfig(fault_type="timeout", duration_ms=1)])
    async def atool():
        return "ok"

    @chaos_target("net.target")
    def target():
        return "ok"

    fired = 0
    for call in (tool, lambda: asyncio.run(atool()), target,
                 lambda: FaultInjector().inject(FaultConfig(fault_type="resource_exhaustion"))):
        try:
            call()
        except InjectedFaultError:
            fired += 1

    def workload():
        try:
            target()
        except InjectedFaultError:
            pass

    scheduler = ExperimentScheduler()
    exp = ChaosExperiment(
        experiment_id="net", name="net", duration_seconds=0.2, tick_seconds=0.05, seed=1,
        faults=[
            FaultConfig(fault_type="error", probability=0.5, affected_components=["net.target"]),
            FaultConfig(fault_type="latency", duration_ms=1),
        ],
    )
    with_workload = scheduler.run(scheduler.schedule(exp), workload=workload)
    ticks = scheduler.run(scheduler.schedule(exp.model_copy(update={"experiment_id": "net-2"})))
    observer = ExperimentObserver()
    observer.observe("net.target", "custom", {"k": 1})

    print(json.dumps({
        "attempts": attempts,
        "fired": fired,
        "runs": [with_workload.status.value, with_workload.summary["total_faults_fired"] > 0,
                 ticks.status.value, ticks.summary["total_faults_fired"] > 0],
        "tracer_provider": type(trace.get_tracer_provider()).__name__,
        "meter_provider": type(metrics.get_meter_provider()).__name__,
        "threads": sorted(t.name for t in threading.enumerate()),
        "exporters": sorted(
            m for m in sys.modules if "exporter" in m or m in ("grpc", "requests", "urllib3")
        ),
    }))
"""


@pytest.mark.parametrize("otel_env", ["none", "otlp-configured"])
def test_nothing_is_sent_anywhere_and_no_global_provider_is_set(otel_env: str) -> None:
    """The library alone opens no connection and sets no global provider. Exporting is the
    application's choice (the CLI, or the user's own SDK setup): even with ``OTEL_*`` variables
    that name a collector, importing and using the library sends nothing."""
    env = {k: v for k, v in clean_env().items() if not k.startswith("OTEL_")}
    if otel_env == "otlp-configured":
        env.update(
            OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:9",
            OTEL_TRACES_EXPORTER="otlp",
            OTEL_METRICS_EXPORTER="otlp",
            OTEL_SERVICE_NAME="safety",
        )
    result = run_python(NO_NETWORK, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    out = json.loads(result.stdout)
    assert out["attempts"] == []
    assert out["fired"] == 3
    assert out["runs"] == ["completed", True, "completed", True]
    assert out["tracer_provider"] == "ProxyTracerProvider"
    assert out["meter_provider"] == "_ProxyMeterProvider"
    assert out["threads"] == ["MainThread"]  # no exporter or worker thread left behind
    assert out["exporters"] == []

"""Which calls an experiment's faults reach: only affected components, only inside the run,
never after it, never under the kill switch; and the component-call spans that show it."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

import aumai_chaos
from aumai_chaos import (
    ChaosError,
    ExperimentScheduler,
    ExperimentStatus,
    FaultConfig,
    InjectedFaultError,
    chaos_target,
)
from aumai_chaos._engine.registry import slot_for
from tests.experiments.support import (
    Background,
    experiment,
    experiment_span,
    of_experiment,
    spans,
    unique,
    wait_until,
)
from tests.helpers import counter_sum, within_sigmas

ALPHA = unique("tgt.alpha")
BETA = unique("tgt.beta")
WINDOW = unique("tgt.window")
BYSTANDER = unique("tgt.bystander")
SPANNED = unique("tgt.spanned")
ASPANNED = unique("tgt.aspanned")


@chaos_target(ALPHA)
def alpha(value: object = None) -> object:
    return value


@chaos_target(BETA)
def beta() -> str:
    return "beta"


@chaos_target(WINDOW)
def window_call() -> None:
    return None


@chaos_target(BYSTANDER)
def bystander() -> None:
    return None


class OwnError(Exception):
    """A component's own failure."""


@chaos_target(SPANNED)
def spanned(fail: bool) -> None:
    if fail:
        raise OwnError("the component's own failure")


@chaos_target(ASPANNED)
async def aspanned() -> str:
    await asyncio.sleep(0)
    return "ok"


def outcome(fn: Callable[[], object]) -> str:
    try:
        fn()
    except ChaosError:
        return "fault"
    return "ok"


# -- which components --------------------------------------------------------------------------


def run_and_probe(
    faults: list[FaultConfig],
    targets: list[str],
    probes: dict[str, Callable[[], object]],
    progress: Callable[[float, float], None] | None = None,
) -> dict[str, list[str]]:
    """Run an experiment whose workload calls every probe once per iteration; return each
    probe's outcomes in order."""
    seen: dict[str, list[str]] = {name: [] for name in probes}

    def workload() -> None:
        for name, probe in probes.items():
            seen[name].append(outcome(probe))

    scheduler = ExperimentScheduler()
    exp = experiment(duration_seconds=0.2, seed=8, faults=faults, target_components=targets)
    result = scheduler.run(scheduler.schedule(exp), workload=workload, progress=progress)
    assert result.status is ExperimentStatus.completed
    assert all(seen.values())
    return seen


def always_faulted(outcomes: list[str]) -> bool:
    """Every call failed (p = 1) until the firing window closed, and none after: one or more
    faults, then only oks.

    The window closes when the run thread stops the workload at the end of the duration (the
    iteration in flight then finishes without faults), or on its own at its deadline, 0.25 s
    later, whichever comes first. A run thread that is late (a loaded machine, a slow progress
    hook) lets the workload go on past the deadline, fault-free, for as long as it is late:
    then more than the last call is ``ok``. A fault after an ``ok`` would be a fault outside the
    window."""
    first_ok = outcomes.index("ok") if "ok" in outcomes else len(outcomes)
    return first_ok >= 1 and set(outcomes[first_ok:]) <= {"ok"}


def test_faults_reach_only_their_affected_components() -> None:
    seen = run_and_probe(
        [FaultConfig(fault_type="error", affected_components=[ALPHA])],
        [BETA],  # the targets do not widen a fault that names its components
        {"alpha": alpha, "beta": beta},
    )
    assert always_faulted(seen["alpha"])
    assert set(seen["beta"]) == {"ok"}


def test_a_run_thread_held_past_the_deadline_still_stops_the_faults_on_time() -> None:
    """What a loaded machine does by chance, done on purpose: a progress hook holds the run
    thread for a second near the end, past the window's deadline, while the workload goes on."""
    held: list[float] = []

    def hold(elapsed: float, total: float) -> None:
        if elapsed >= 0.1 and not held:
            held.append(elapsed)
            time.sleep(1.0)

    seen = run_and_probe(
        [FaultConfig(fault_type="error", affected_components=[ALPHA])],
        [],
        {"alpha": alpha},
        progress=hold,
    )
    assert held
    assert always_faulted(seen["alpha"])
    assert seen["alpha"].count("ok") > 1  # the workload ran on after the deadline, fault-free


def test_a_fault_without_components_falls_back_to_the_targets() -> None:
    seen = run_and_probe([FaultConfig(fault_type="error")], [BETA], {"alpha": alpha, "beta": beta})
    assert always_faulted(seen["beta"])
    assert set(seen["alpha"]) == {"ok"}


def test_a_fault_without_components_or_targets_reaches_every_component() -> None:
    late: list[Callable[[], object]] = []

    def decorated_during_the_run() -> object:
        if not late:
            late.append(chaos_target(unique("tgt.late"))(lambda: None))
        return late[0]()

    seen = run_and_probe(
        [FaultConfig(fault_type="error")],
        [],
        {"alpha": alpha, "beta": beta, "late": decorated_during_the_run},
    )
    for name in ("alpha", "beta", "late"):
        assert always_faulted(seen[name]), name


def test_faults_fire_with_their_probability() -> None:
    errors = 0
    calls = 0

    def workload() -> None:
        nonlocal errors, calls
        for _ in range(50):
            calls += 1
            if outcome(alpha) == "fault":
                errors += 1

    scheduler = ExperimentScheduler()
    exp = experiment(
        duration_seconds=0.4,
        seed=1234,
        faults=[FaultConfig(fault_type="error", probability=0.3, affected_components=[ALPHA])],
    )
    result = scheduler.run(scheduler.schedule(exp), workload=workload)
    assert calls >= 200
    assert within_sigmas(errors, calls, 0.3)
    stats = result.summary["components"][ALPHA]
    assert (stats["calls"], stats["faults"], stats["errors"]) == (calls, errors, errors)


# -- only inside the window --------------------------------------------------------------------


@dataclass
class Caller:
    """A thread that calls ``WINDOW`` and ``BYSTANDER`` in turn until stopped, recording
    every call as (start ns, end ns, component, raised)."""

    stop: threading.Event
    calls: list[tuple[int, int, str, bool]] = field(default_factory=list)
    thread: threading.Thread | None = None

    def run(self) -> None:
        record = self.calls.append
        while not self.stop.is_set():
            time.sleep(0)  # let the other threads have the GIL now and then, as real I/O would
            for name, fn in ((WINDOW, window_call), (BYSTANDER, bystander)):
                t0 = time.time_ns()
                try:
                    fn()
                except ChaosError:
                    record((t0, time.time_ns(), name, True))
                else:
                    record((t0, time.time_ns(), name, False))


@pytest.fixture
def callers() -> Iterator[list[Caller]]:
    stop = threading.Event()
    group = [Caller(stop) for _ in range(8)]
    for caller in group:
        caller.thread = threading.Thread(target=caller.run, daemon=True)
        caller.thread.start()
    yield group
    stop.set()
    for caller in group:
        assert caller.thread is not None
        caller.thread.join(5)


def calls_after(group: list[Caller], t_ns: int) -> list[tuple[int, int, str, bool]]:
    return [c for caller in group for c in list(caller.calls) if c[0] > t_ns]


def wait_for_calls(group: list[Caller], count: int) -> None:
    """Wait until the threads have made ``count`` more calls (cheaply: only list lengths)."""
    marks = [len(caller.calls) + 1 for caller in group]  # +1: a call may be in flight now
    wait_until(
        lambda: sum(len(c.calls) - m for c, m in zip(group, marks, strict=True)) >= count, 20
    )


@pytest.mark.parametrize("ending", ["completed", "aborted"])
def test_faults_fire_only_inside_the_run_from_eight_threads(
    callers: list[Caller],
    tracer_provider: TracerProvider,
    span_exporter: InMemorySpanExporter,
    meter_provider: MeterProvider,
    metric_reader: InMemoryMetricReader,
    ending: str,
) -> None:
    scheduler = ExperimentScheduler(tracer_provider=tracer_provider, meter_provider=meter_provider)
    exp = experiment(
        duration_seconds=0.4 if ending == "completed" else 600,
        seed=99,
        faults=[
            FaultConfig(fault_type="error", probability=0.2, affected_components=[WINDOW]),
            FaultConfig(
                fault_type="latency", probability=0.05, duration_ms=5, affected_components=[WINDOW]
            ),
        ],
    )
    eid = scheduler.schedule(exp)
    wait_for_calls(callers, 2000)  # the threads are calling
    before_ns = time.time_ns()
    bg = Background(scheduler, eid, workload=lambda: time.sleep(0.01))
    bg.start()
    if ending == "aborted":
        time.sleep(0.3)
        scheduler.abort(eid)
    result = bg.join(10)
    assert result.status.value == ending
    assert bg.returned_ns is not None
    after_ns = bg.returned_ns

    # Keep calling: at least 10,000 calls after run() returned.
    wait_for_calls(callers, 10_000)
    for caller in callers:
        caller.stop.set()
    everything = [c for caller in callers for c in caller.calls]

    faults = of_experiment(spans(span_exporter, "chaos.fault"), eid)
    assert faults, "no fault fired during the run"
    for span in faults:
        assert span.start_time is not None
        assert span.end_time is not None
        assert before_ns <= span.start_time <= span.end_time <= after_ns
        assert span.attributes is not None
        assert span.attributes["chaos.component"] == WINDOW
    raised = [c for c in everything if c[3]]
    assert all(c[2] == WINDOW for c in raised), "a fault reached the bystander"
    assert all(before_ns <= c[1] and c[0] <= after_ns for c in raised)
    assert not [c for c in everything if c[0] > after_ns and c[3]]
    assert len(calls_after(callers, after_ns)) >= 10_000
    # Each error fault raised into exactly one call; each latency fault into none.
    types = Counter((s.attributes or {})["chaos.fault.type"] for s in faults)
    assert len(raised) == types["error"]
    # The run counted the same faults, even those of calls still running as it ended.
    injections = counter_sum(metric_reader, "chaos.fault.injections", {"chaos.experiment.id": eid})
    assert result.summary["total_faults_fired"] == len(faults) == injections
    assert result.summary["faults_by_type"] == dict(types)
    assert result.summary["components"][WINDOW]["faults"] == len(faults)
    # Nothing is traced after the run, but for the span of a call that passed the gate just
    # before the end and was preempted (at most one per thread); nothing fired in it.
    late = [s for s in spans(span_exporter) if (s.start_time or 0) > after_ns]
    assert len(late) <= len(callers)
    assert all(s.name == WINDOW and not s.events for s in late)
    assert not list(spans(span_exporter, BYSTANDER))
    assert len(slot_for(WINDOW)) == 0  # the gate is closed again


def test_outside_any_experiment_a_target_is_a_passthrough(
    tracer_provider: TracerProvider, span_exporter: InMemorySpanExporter
) -> None:
    token = object()
    assert len(slot_for(ALPHA)) == 0
    assert alpha(token) is token
    with pytest.raises(OwnError) as info:
        spanned(True)
    assert isinstance(info.value, OwnError)

    scheduler = ExperimentScheduler(tracer_provider=tracer_provider)
    exp = experiment(
        duration_seconds=0.1, faults=[FaultConfig(fault_type="error", affected_components=[ALPHA])]
    )
    scheduler.run(scheduler.schedule(exp), workload=lambda: outcome(alpha))
    during = len(span_exporter.get_finished_spans())
    assert during > 0
    for _ in range(1000):
        assert alpha(token) is token
    assert asyncio.run(aspanned()) == "ok"
    assert len(span_exporter.get_finished_spans()) == during  # no span outside the run
    assert alpha.__name__ == "alpha"
    assert alpha.__wrapped__(token) is token  # type: ignore[attr-defined]


# -- the kill switch ----------------------------------------------------------------------------


def test_kill_switch_stops_an_experiments_faults_at_once(callers: list[Caller]) -> None:
    scheduler = ExperimentScheduler()
    exp = experiment(
        duration_seconds=600,
        seed=3,
        faults=[FaultConfig(fault_type="error", probability=1.0, affected_components=[WINDOW])],
    )
    eid = scheduler.schedule(exp)
    bg = Background(scheduler, eid, workload=lambda: time.sleep(0.01)).start()
    wait_until(lambda: any(c[3] for caller in callers for c in list(caller.calls)))
    faulting_ns = time.time_ns()  # the experiment is certainly routing its fault by now
    wait_for_calls(callers, 200)
    disabling_ns = time.time_ns()
    aumai_chaos.disable()
    disabled_ns = time.time_ns()
    assert not aumai_chaos.is_enabled()
    wait_for_calls(callers, 5000)
    scheduler.abort(eid)
    result = bg.join()
    assert result.status is ExperimentStatus.aborted
    everything = [c for caller in callers for c in caller.calls]
    assert not [c for c in everything if c[0] > disabled_ns and c[3]], (
        "a fault fired after disable()"
    )
    assert len([c for c in everything if c[0] > disabled_ns]) >= 5000
    # Until the switch, every call into WINDOW failed (p = 1).
    meanwhile = [
        c for c in everything if c[2] == WINDOW and faulting_ns < c[0] < c[1] < disabling_ns
    ]
    assert meanwhile
    assert all(c[3] for c in meanwhile)


def test_kill_switch_stops_synthetic_faults_too() -> None:
    scheduler = ExperimentScheduler()
    eid = scheduler.schedule(
        experiment(
            duration_seconds=600, tick_seconds=0.02, faults=[FaultConfig(fault_type="error")]
        )
    )
    bg = Background(scheduler, eid).start()
    wait_until(lambda: scheduler.get_result(eid).summary.get("total_faults_fired", 0) >= 3)
    aumai_chaos.disable()
    time.sleep(0.05)  # a tick that was already firing finishes
    frozen = scheduler.get_result(eid).summary["total_faults_fired"]
    time.sleep(0.2)  # ten more ticks
    assert scheduler.get_result(eid).summary["total_faults_fired"] == frozen
    scheduler.abort(eid)
    result = bg.join()
    assert result.summary["total_faults_fired"] == frozen
    calls = result.summary["components"]["synthetic"]["calls"]
    assert calls >= frozen + 5  # the ticks went on, without faults


# -- component-call spans -----------------------------------------------------------------------


def test_component_call_spans(
    tracer_provider: TracerProvider, span_exporter: InMemorySpanExporter
) -> None:
    scheduler = ExperimentScheduler(tracer_provider=tracer_provider)
    exp = experiment(
        duration_seconds=0.3,
        seed=21,
        faults=[
            FaultConfig(fault_type="latency", probability=0.3, duration_ms=1),
            FaultConfig(fault_type="error", probability=0.2, error_code=503),
            FaultConfig(fault_type="timeout", probability=0.1, duration_ms=1),
        ],
        target_components=[SPANNED, ASPANNED],
    )
    n = 0
    raised_own = 0

    async def workload() -> None:
        nonlocal n, raised_own
        n += 1
        # The first call too, which seed 21 leaves unfaulted: an own failure shows however few
        # iterations a loaded machine runs in 0.3 s (it once ran fewer than 8).
        try:
            spanned(n == 1 or n % 4 == 0)
        except OwnError:
            raised_own += 1
        except InjectedFaultError:
            pass
        with contextlib.suppress(InjectedFaultError):
            await aspanned()

    eid = scheduler.schedule(exp)
    result = scheduler.run(eid, workload=workload)
    assert result.status is ExperimentStatus.completed
    root = experiment_span(span_exporter, eid)
    assert root.context is not None
    trace_id = root.context.trace_id

    calls = spans(span_exporter, SPANNED) + spans(span_exporter, ASPANNED)
    assert len(calls) == 2 * n
    by_id = {s.context.span_id: s for s in calls if s.context is not None}
    for span in calls:
        attrs = span.attributes or {}
        assert attrs["chaos.component"] == span.name
        assert attrs["chaos.experiment.id"] == eid
        assert span.context is not None
        assert span.context.trace_id == trace_id
        assert span.parent is not None
        assert span.parent.span_id == root.context.span_id
        events = [e for e in span.events if e.name == "chaos.fault.injected"]
        raised = [e for e in span.events if e.name == "exception"]
        if span.status.status_code is StatusCode.ERROR:
            assert attrs["error.type"] in {
                f"{__name__}.OwnError",
                "aumai_chaos.errors.ChaosError",
                "aumai_chaos.errors.ChaosTimeoutError",
            }
            assert len(raised) == 1
        else:
            assert "error.type" not in attrs
            assert not raised
            assert all((e.attributes or {})["chaos.fault.type"] == "latency" for e in events)

    faults = spans(span_exporter, "chaos.fault")
    assert len(faults) == result.summary["total_faults_fired"] > 0
    for fault in faults:
        assert fault.context is not None
        assert fault.context.trace_id == trace_id
        assert fault.parent is not None
        parent = by_id[fault.parent.span_id]
        fault_attrs = fault.attributes or {}
        assert fault_attrs["chaos.component"] == parent.name
        assert fault_attrs["chaos.experiment.id"] == eid
        matching = [
            e
            for e in parent.events
            if e.name == "chaos.fault.injected"
            and (e.attributes or {})["chaos.fault.type"] == fault_attrs["chaos.fault.type"]
        ]
        assert len(matching) == 1
        # The event carries the fault's attributes (the span adds error.type when it raises).
        fault_attrs_at_start = {k: v for k, v in fault_attrs.items() if k != "error.type"}
        assert dict(matching[0].attributes or {}) == fault_attrs_at_start
        if fault_attrs["chaos.fault.type"] != "latency":
            assert parent.status.status_code is StatusCode.ERROR
            assert fault.status.status_code is StatusCode.ERROR
    own = [s for s in calls if (s.attributes or {}).get("error.type") == f"{__name__}.OwnError"]
    assert len(own) == raised_own >= 1  # the component's own failures show too, each one

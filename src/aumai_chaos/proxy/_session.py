"""One proxy run: the experiment checked for a proxy, its faults routed while the proxy serves,
and the result, as ``aumai-chaos run`` makes it.

The run is the experiment's own :class:`~aumai_chaos.experiments._run.ExperimentRun` with its
faults routed to every thread (as an ``aumai_chaos.experiment()`` block with no scope): the
proxied requests are its calls, named by the transport's routes. No workload and no synthetic
ticks: the traffic is the clients'.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from fnmatch import fnmatchcase
from typing import Any

from opentelemetry.metrics import MeterProvider
from opentelemetry.trace import TracerProvider

from aumai_chaos.errors import ConfigError
from aumai_chaos.experiments._run import ExperimentRun
from aumai_chaos.experiments.models import ChaosExperiment, ExperimentResult
from aumai_chaos.experiments.observer import DEFAULT_MAX_OBSERVATIONS
from aumai_chaos.experiments.steady_state import WORKLOAD
from aumai_chaos.faults import FaultType, Site
from aumai_chaos.proxy._exchange import RequestClassifier
from aumai_chaos.proxy._upstreams import Upstreams
from aumai_chaos.transport.routes import BUILTIN_ROUTES

__all__ = ["ProxyRun", "check_for_proxy", "visible", "with_duration"]

_POLL = 0.1


def visible(name: str, upstreams: Upstreams, classifiers: Sequence[RequestClassifier]) -> bool:
    """Whether a proxied request can ever be the component ``name`` (or, for a glob such as
    ``mcp.tool.*``, one of the components it matches)."""
    known = (*BUILTIN_ROUTES, *upstreams.hosts)
    if name in known or any(fnmatchcase(k, name) for k in known):
        return True
    return any(c.sees(name) for c in classifiers)


def check_for_proxy(
    experiment: ChaosExperiment,
    source: str,
    upstreams: Upstreams,
    classifiers: Sequence[RequestClassifier] = (),
    *,
    warn: Callable[[str], None] | None = None,
) -> ChaosExperiment:
    """``experiment`` as the proxy runs it, or one :class:`ConfigError` with every problem.

    A fault must be able to act on an HTTP request, on a component a proxied request can be;
    objectives and stop conditions must watch such components. A ``workload`` is left out
    (the clients are the workload; the same file can serve ``run``), with a warning."""
    problems: list[ConfigError] = []

    def bad(field: str, problem: str) -> None:
        problems.append(ConfigError(problem, source=source, field=field))

    def sees(name: str) -> bool:
        return visible(name, upstreams, classifiers)

    named = [c.hint for c in classifiers if c.hint]
    hint = ", ".join([*BUILTIN_ROUTES, *sorted(upstreams.hosts), *named])
    for i, fault in enumerate(experiment.faults):
        kind = fault.fault_type
        if Site.transport not in fault.sites and Site.mcp not in fault.sites:
            why = fault.site_reason
            bad(f"faults[{i}]", f"{kind.value} cannot act on a proxied request: {why}")
            continue
        if getattr(fault, "server", None) is not None:
            bad(
                f"faults[{i}].server",
                "the proxy does not read the servers' names; aim the fault at the MCP "
                "upstream's components instead",
            )
            continue
        code = getattr(fault, "error_code", None) if kind is FaultType.error else None
        if code is not None and not 100 <= code <= 599:
            bad(f"faults[{i}].error_code", f"{code} is not an HTTP status (100-599)")
        field = "affected_components" if fault.affected_components else "target_components"
        for name in experiment.components_of(fault):
            if not sees(name):
                bad(
                    f"faults[{i}].{field}" if field == "affected_components" else field,
                    f"the proxy never sees a component {name!r} (it sees {hint})",
                )
    for i, objective in enumerate(experiment.steady_state):
        if objective.component is None:  # a recovery objective on a fault type
            continue
        if objective.component == WORKLOAD or not sees(objective.component):
            bad(
                f"steady_state[{i}].component",
                f"the proxy never sees a component {objective.component!r} (it sees {hint})",
            )
    for i, stop in enumerate(experiment.stop_conditions):
        if stop.component is not None and (stop.component == WORKLOAD or not sees(stop.component)):
            bad(
                f"stop_conditions[{i}].component",
                f"the proxy never sees a component {stop.component!r} (it sees {hint})",
            )
    if experiment.baseline_seconds is not None:
        bad("baseline_seconds", "the proxy has no workload to measure a baseline with")
    if problems:
        first, *more = problems
        raise ConfigError(first.problem, source=source, field=first.field, more=more)
    if experiment.workload is not None:
        if warn is not None:
            warn(f"{source}: workload: ignored by the proxy (its clients are the workload)")
        experiment = experiment.model_copy(update={"workload": None})
    return experiment


class ProxyRun:
    """The experiment's run while the proxy serves: :meth:`start`, :meth:`wait`, :meth:`finish`."""

    def __init__(
        self,
        experiment: ChaosExperiment,
        *,
        tracer_provider: TracerProvider | None = None,
        meter_provider: MeterProvider | None = None,
    ) -> None:
        self.run = ExperimentRun(
            experiment,
            tracer_provider=tracer_provider,
            meter_provider=meter_provider,
            max_observations=DEFAULT_MAX_OBSERVATIONS,
        )
        self._key: object | None = None

    @property
    def experiment(self) -> ChaosExperiment:
        return self.run.experiment

    def start(self) -> None:
        """Open the run and route its faults to every proxied request (from now on)."""
        self.run.start()
        self._key = self.run.open_block(scope=None, key=object(), watch_all=True)

    def abort(self) -> None:
        """Stop now; safe from any thread (a signal handler)."""
        self.run.abort()

    def wait(self, progress: Callable[[float, float], None] | None = None) -> None:
        """Until the duration is up, the run is aborted, or a stop condition is crossed."""
        run = self.run
        until = run.t0 + self.experiment.duration_seconds
        while True:
            now = time.monotonic()
            if progress is not None:
                progress(min(now - run.t0, run.total_seconds), run.total_seconds)
            if run.check_stop_conditions() or now >= until:
                break
            if run.wait_aborted(min(_POLL, until - now)):
                break
        self.close()

    def close(self) -> None:
        """No fault fires any more (the requests still in flight pass through)."""
        if self._key is not None:
            self.run.close_block(self._key)
            self._key = None

    def finish(self, error: BaseException | None = None) -> ExperimentResult:
        self.close()
        result: ExperimentResult = self.run.finish(error)
        return result


def with_duration(experiment: ChaosExperiment, seconds: float | None) -> ChaosExperiment:
    """``experiment`` with ``--duration`` (its ticks, unused by the proxy, shortened to fit)."""
    if seconds is None:
        return experiment
    updates: dict[str, Any] = {"duration_seconds": seconds}
    if experiment.tick_seconds > seconds:
        updates["tick_seconds"] = seconds
    return experiment.model_copy(update=updates)

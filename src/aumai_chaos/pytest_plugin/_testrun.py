"""One test's chaos: its seed, its faults, its experiment while the body runs, its report.

Created (cheaply) when a test uses the ``chaos`` fixture or marker; the experiment engine is
imported only by :meth:`TestChaos.begin`, as the body starts.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from aumai_chaos.pytest_plugin._marker import TestSpec
from aumai_chaos.pytest_plugin._seed import test_seed

if TYPE_CHECKING:
    from aumai_chaos.experiments.models import ExperimentResult, Observation
    from aumai_chaos.experiments.recovery import FaultOutcome
    from aumai_chaos.experiments.summary import RecoveryRow
    from aumai_chaos.experiments.units import Unit
    from aumai_chaos.faults import FaultConfig
    from aumai_chaos.pytest_plugin._block import Block, FiredFault
    from aumai_chaos.pytest_plugin._transport import McpScope, TransportScope

__all__ = ["ChaosUsageError", "TestChaos", "replay_command"]


class ChaosUsageError(ValueError):
    """The test used the ``chaos`` fixture or marker wrongly (the message says how)."""


def _explain(exc: Exception) -> str:
    """A validation error in one line per problem: ``field: message``."""
    errors = getattr(exc, "errors", None)
    if not callable(errors):
        return str(exc)
    parts = []
    for err in errors():
        # The first part of a tagged union's location is the tag (the fault type).
        loc = ".".join(str(p) for p in err.get("loc", ()))
        parts.append(f"{loc}: {err.get('msg', '')}" if loc else str(err.get("msg", "")))
    return "; ".join(parts)


def replay_command(nodeid: str, run_seed: int) -> str:
    """The command that reruns one test with the same faults."""
    return f"pytest {shlex.quote(nodeid)} --chaos-seed {run_seed}"


def _fault(component: str | None, fault: Any) -> FaultConfig:
    from aumai_chaos.faults import FaultConfig

    if isinstance(fault, FaultConfig):
        given: FaultConfig = fault
        if component is not None:
            given = given.model_copy(update={"affected_components": (component,)})
        _check_in_experiment(given)
        return given
    if not isinstance(fault, Mapping):
        raise ChaosUsageError(f"expected a FaultConfig or fault keywords, got {fault!r}")
    fields = dict(fault)
    if component is not None:
        fields["affected_components"] = (component,)
    try:
        built: FaultConfig = FaultConfig.model_validate(fields)
    except ValueError as exc:  # pydantic's ValidationError
        raise ChaosUsageError(f"fault on {component!r}: {_explain(exc)}") from None
    _check_in_experiment(built)
    return built


def _check_in_experiment(fault: FaultConfig) -> None:
    """What an experiment checks of a fault (a provider route's name, a fault that cannot act
    on a route), checked as the fault is made, wherever it is added."""
    from aumai_chaos.transport.routes import check_fault_on_route, check_route_name

    for name in fault.affected_components:
        why = check_route_name(name) or check_fault_on_route(fault, name)
        if why is not None:
            raise ChaosUsageError(why)


class TestChaos:
    """Everything the plugin knows about one test that uses chaos."""

    __test__ = False  # not a test class

    def __init__(self, nodeid: str, run_seed: int, spec: TestSpec, *, disabled: bool) -> None:
        self.nodeid = nodeid
        self.run_seed = run_seed
        self.seed = test_seed(run_seed, nodeid)
        self.spec = spec
        self.disabled = disabled
        self.pending: list[FaultConfig] = []
        self.expected_verdicts: tuple[str, ...] = spec.expected_verdicts
        self.block: Block | None = None
        self.transport: TransportScope | None = None
        self.mcp: McpScope | None = None
        self._was_enabled = True
        self._ended = False
        #: Why the test's markers cannot be used (reported when the body would start).
        self.problem: str | None = None

    # -- the body ------------------------------------------------------------------------------

    def inject(self, component: str, fault: Any, *, required: bool = True) -> FaultConfig:
        if self._ended:
            raise ChaosUsageError("chaos.inject() after the test's experiment ended")
        built = _fault(component, fault)
        if not required:
            self.spec.optional.add(component)
        self._wants_transport(built)
        if self.block is None:
            self.pending.append(built)
        else:
            self.block.add(built)
        return built

    def instrument(self, routes: Mapping[str, Any] | None = None) -> None:
        from aumai_chaos.pytest_plugin._transport import TransportScope

        if self.transport is None:
            self.transport = TransportScope()
        self.transport.on(routes)

    def _wants_transport(self, fault: FaultConfig) -> None:
        from aumai_chaos.pytest_plugin._transport import McpScope, needs_mcp, needs_transport

        if needs_transport(fault):
            self.instrument()
        elif needs_mcp(fault) and self.mcp is None:
            self.mcp = McpScope()

    def begin(self) -> None:
        """The body starts: validate the markers and open the test's experiment."""
        from aumai_chaos._engine import registry
        from aumai_chaos.experiments.steady_state import Objective
        from aumai_chaos.pytest_plugin._block import open_block

        if self.problem is not None:
            raise ChaosUsageError(self.problem)
        try:
            faults = [_fault(c, f) for c, f in self.spec.faults]
            objectives = [Objective.model_validate(o) for o in self.spec.steady_state]
        except ValueError as exc:
            raise ChaosUsageError(f"@pytest.mark.chaos: {_explain(exc)}") from None
        for fault in faults:
            self._wants_transport(fault)
        faults += self.pending
        self.pending = []
        if self.disabled:
            self._was_enabled = registry.is_enabled()
            registry.disable()
        self.block = open_block(
            experiment_id=f"pytest:{self.nodeid}",
            seed=self.seed,
            faults=faults,
            steady_state=objectives,
            require_faults_fired=self.spec.require_faults_fired,
        )

    def end(self, error: BaseException | None = None) -> ExperimentResult | None:
        """The body ended (with ``error``, when it raised): close the experiment and the
        transport. Idempotent."""
        if self._ended:
            return self.block.result if self.block is not None else None
        self._ended = True
        try:
            return self.block.close(error) if self.block is not None else None
        finally:
            if self.transport is not None:
                self.transport.off()
            if self.mcp is not None:
                self.mcp.off()
            if self.disabled and self._was_enabled:
                from aumai_chaos._engine import registry

                registry.enable()

    # -- reading -------------------------------------------------------------------------------

    def fired(self) -> list[FiredFault]:
        return self.block.fired() if self.block is not None else []

    def count(self, component: str | None = None, fault_type: str | None = None) -> int:
        return self.block.count(component, fault_type) if self.block is not None else 0

    def result(self) -> ExperimentResult:
        if self.block is None:
            raise ChaosUsageError("chaos.result is available once the test's body has started")
        return self.block.snapshot()

    def observations(self) -> list[Observation]:
        return self.block.observations() if self.block is not None else []

    def unreached_problem(self) -> str | None:
        """Why the test tested nothing: a fault's component that no call reached during the
        body (unless declared ``required=False``), with a "did you mean" among the components
        seen or marked; ``None`` when every such component was called."""
        from aumai_chaos._engine import registry
        from aumai_chaos.experiments._verdict import never_called, reached

        result = self.end()
        if result is None or self.disabled:
            return None  # with the kill switch on, calls are not even counted
        calls = {name: stats.calls for name, stats in result.summary.components.items()}
        known = sorted({*calls, *registry.registered_components()})
        named = [
            name
            for fault in result.summary.faults
            for name in fault.affected_components
            if name not in self.spec.optional
        ]
        lines = [
            "chaos: " + never_called(name, "a fault", known)
            for name in dict.fromkeys(named)
            if not reached(name, calls)
        ]
        if not lines:
            return None
        lines.append(
            "  (a fault that no call may reach: chaos.inject(..., required=False), or "
            "required=False on its marker)"
        )
        return "\n".join(lines)

    # -- recovery (docs/recovery.md) -------------------------------------------------------------

    def recovery(self) -> list[RecoveryRow]:
        return self.block.recovery() if self.block is not None else []

    def propagated(self) -> list[FaultOutcome]:
        return self.block.propagated() if self.block is not None else []

    def unit(self, name: str) -> Unit:
        if self.block is None or self._ended:
            raise ChaosUsageError("chaos.unit() needs the test's body running")
        return self.block.unit(name)

    def recovery_problem(
        self, fault_type: str | None, component: str | None, min_rate: float
    ) -> str | None:
        """Why the faults of ``fault_type`` on ``component`` did not recover at ``min_rate``
        (``None`` when they did): each propagated fault with its call number, and the replay."""
        rows = [
            r
            for r in self.recovery()
            if (fault_type is None or r.fault_type == fault_type)
            and (component is None or r.component == component)
        ]
        fired = sum(r.fired for r in rows)
        recovered = sum(r.recovered for r in rows)
        what = " on ".join(x for x in (fault_type, component) if x) or "every fault"
        if fired == 0:
            return f"no fault fired ({what}): nothing to recover from"
        rate = recovered / fired
        if rate >= min_rate:
            return None
        lines = [
            f"recovered {recovered} of {fired} faults ({what}): rate {rate:.2f} < {min_rate:g}"
        ]
        for o in self.propagated():
            if (fault_type is None or o.fault_type == fault_type) and (
                component is None or o.component == component
            ):
                call = f"call #{o.occurrence}" if o.occurrence is not None else "a call"
                lines.append(
                    f"  propagated: {o.fault_type} on {o.component}, {call}, "
                    f"in {o.unit!r}, ended by {o.error_type}"
                )
        unknown = sum(r.unknown for r in rows)
        if unknown:
            lines.append(f"  unknown: {unknown} (fired outside every unit of work)")
        lines.append(f"  replay: {replay_command(self.nodeid, self.run_seed)}")
        return "\n".join(lines)

    def verdict_problem(self, expected: tuple[str, ...]) -> str | None:
        """Why the verdict is not one of ``expected`` (``None`` when it is)."""
        result = self.end()
        if result is None or result.verdict is None:
            return "the test's experiment has no verdict"
        if result.verdict.value in expected:
            return None
        lines = [f"chaos verdict {result.verdict.value!r}, expected {' or '.join(expected)}"]
        if result.verdict_reason:
            lines.append(f"  {result.verdict_reason}")
        for obj in result.objectives:
            if not obj.passed:
                lines.append(
                    f"  {obj.component}: {obj.limit} {obj.threshold:g}, observed {obj.observed:g}"
                )
        unfired = [f for f in result.summary.faults if f.fired == 0]
        for f in unfired:
            lines.append(f"  fault {f.fault_type} on {f.affected_components} never fired")
        return "\n".join(lines)

"""The one place the plugin talks to the experiment engine: a test's experiment, for its body.

:func:`open_block` enters ``aumai_chaos.experiment(...)`` as the body starts and returns a
:class:`Block`: faults can be added while it runs (``chaos.inject`` in the body), its fired
faults and its result so far can be read, and :meth:`Block.close` leaves the experiment, which
gives its verdict. Imported only when a test uses chaos (it imports the experiment engine, and so
the OpenTelemetry SDK).

The experiment is routed to the whole process (``scope="process"``): a test runs alone in its
process (or its xdist worker), and the agent under test may call its components from threads
or from an event loop that a plugin started before the body (anyio's runner does).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from aumai_chaos._engine import telemetry as tm
from aumai_chaos.experiments import experiment
from aumai_chaos.experiments.models import ExperimentResult, Observation

if TYPE_CHECKING:
    from aumai_chaos.experiments.block import ExperimentBlock
    from aumai_chaos.experiments.recovery import FaultOutcome
    from aumai_chaos.experiments.steady_state import Objective
    from aumai_chaos.experiments.summary import RecoveryRow
    from aumai_chaos.experiments.units import Unit
    from aumai_chaos.faults import FaultConfig

__all__ = ["Block", "FiredFault", "open_block"]

_FAULT_EVENT = "fault_injected"
_OCCURRENCE = getattr(tm, "ATTR_FAULT_OCCURRENCE", "chaos.fault.occurrence")


@dataclass(frozen=True, slots=True)
class FiredFault:
    """One fault that fired: on which component, of which type, on which call into it."""

    component: str
    fault_type: str
    occurrence: int | None


def fired_from(observations: list[Observation]) -> list[FiredFault]:
    """The fired faults recorded in ``observations``, in the order they fired."""
    out: list[FiredFault] = []
    for obs in observations:
        if obs.event != _FAULT_EVENT:
            continue
        occurrence = obs.details.get(_OCCURRENCE)
        out.append(
            FiredFault(
                component=obs.component,
                fault_type=str(obs.details.get(tm.ATTR_FAULT_TYPE, "unknown")),
                occurrence=occurrence if isinstance(occurrence, int) else None,
            )
        )
    return out


class Block:
    """A test's experiment while its body runs."""

    def __init__(self, block: ExperimentBlock) -> None:
        self._block = block
        self.result: ExperimentResult | None = None

    def add(self, fault: FaultConfig) -> None:
        self._block.add_fault(fault)

    def fired(self) -> list[FiredFault]:
        """Each fault that fired, with its call number (from the kept observations)."""
        return fired_from(self.observations())

    def count(self, component: str | None = None, fault_type: str | None = None) -> int:
        """How many faults fired (exact, whatever the observations' bound dropped)."""
        return self._block.fired(component, fault_type)

    def observations(self) -> list[Observation]:
        return list(self._block.observations())

    def snapshot(self) -> ExperimentResult:
        """The result so far (the final one once closed)."""
        return self.result if self.result is not None else self._block.snapshot()

    def unit(self, name: str) -> Unit:
        return self._block.unit(name)

    def recovery(self) -> list[RecoveryRow]:
        """The recovery rows so far: the test's own faults judged as if it ended now."""
        return self.result.summary.recovery if self.result is not None else self._block.recovery()

    def propagated(self) -> list[FaultOutcome]:
        """The propagated faults, one by one (bounded), with their call numbers."""
        return self._block.recovery_tracker.propagated()

    def close(self, error: BaseException | None = None) -> ExperimentResult:
        """Leave the experiment (idempotent): every fault stops at once; then the verdict."""
        if self.result is None:
            block = self._block
            # The test is a unit of work: its faults propagated when its body raised.
            block.recovery_tracker.close_default(
                None if error is None else tm.qualified_name(type(error)),
                error,
            )
            if error is None:
                block.__exit__(None, None, None)
            else:
                block.__exit__(type(error), error, error.__traceback__)
            assert block.result is not None
            self.result = block.result
        return self.result


def open_block(
    *,
    experiment_id: str,
    seed: int,
    faults: list[FaultConfig],
    steady_state: list[Objective],
    require_faults_fired: bool,
) -> Block:
    """Start a test's experiment now."""
    block = experiment(
        scope="process",
        experiment_id=experiment_id,
        name=experiment_id,
        seed=seed,
        faults=list(faults),
        steady_state=list(steady_state),
        require_faults_fired=require_faults_fired,
    )
    block.__enter__()
    block.recovery_tracker.open_default(experiment_id)
    return Block(block)

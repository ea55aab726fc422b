"""The ``chaos`` fixture's object: inject faults into the test's body and read what fired."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from aumai_chaos.pytest_plugin._testrun import ChaosUsageError, TestChaos

if TYPE_CHECKING:
    from aumai_chaos.experiments.models import ExperimentResult, Observation
    from aumai_chaos.experiments.summary import RecoveryRow
    from aumai_chaos.faults import FaultConfig

__all__ = ["ChaosFixture", "fixture_for"]


class ChaosFixture:
    """What a test gets from the ``chaos`` fixture.

    The test's body runs inside one aumai-chaos experiment, seeded with :attr:`seed`: its
    spans, metrics and summary are those of any experiment. Faults apply to the body only.
    """

    __slots__ = ("_test",)

    _test: TestChaos

    def __init__(self) -> None:
        raise TypeError("a ChaosFixture comes from the chaos fixture")

    @property
    def seed(self) -> int:
        """This test's seed, derived from ``--chaos-seed`` and the test's node id."""
        return self._test.seed

    @property
    def run_seed(self) -> int:
        """The run's ``--chaos-seed`` (given, or drawn at random and shown in the header)."""
        return self._test.run_seed

    @property
    def replay(self) -> str:
        """The command that reruns this test with the same faults."""
        from aumai_chaos.pytest_plugin._testrun import replay_command

        return replay_command(self._test.nodeid, self._test.run_seed)

    def inject(
        self,
        component: str,
        fault: FaultConfig | None = None,
        /,
        *,
        required: bool = True,
        **fields: Any,
    ) -> FaultConfig:
        """Add a fault on ``component``, from the next call into it until the body ends.

        Either a :class:`~aumai_chaos.FaultConfig` or its fields as keywords, with the fault
        engine's position rules: ``inject("db", fault_type="error", times=2)`` fails the next
        two calls into ``db``. A fault on a provider route (``openai.chat.completions``...) or
        a transport fault (``rate_limit``...) turns the HTTP transport on for the test.
        Returns the fault, validated.

        When the body ends and no call reached ``component``, the test fails, naming it with a
        "did you mean" (a misspelt name would otherwise test nothing); ``required=False`` says
        that a call may legitimately never reach it.
        """
        if fault is not None and fields:
            raise ChaosUsageError("chaos.inject(): give a FaultConfig or keywords, not both")
        return self._test.inject(
            component, fault if fault is not None else fields, required=required
        )

    def instrument(self, routes: Mapping[str, Any] | None = None) -> None:
        """Send every httpx and httpx2 request through aumai-chaos until the test ends.

        ``routes`` names your own services (``{"vector_db": "http://qdrant:6333/*"}``), so that
        faults can target them. Faults on provider routes turn this on by themselves.
        """
        self._test.instrument(routes)

    def fired(self, component: str | None = None, fault_type: str | None = None) -> int:
        """How many faults fired so far in this test, on ``component``, of ``fault_type``."""
        wanted = str(getattr(fault_type, "value", fault_type)) if fault_type is not None else None
        return self._test.count(component, wanted)

    @property
    def result(self) -> ExperimentResult:
        """The test's :class:`~aumai_chaos.ExperimentResult` so far (final, with the verdict,
        after :meth:`assert_verdict` or once the body has ended)."""
        return self._test.result()

    def observations(self) -> list[Observation]:
        """Everything the test's experiment observed so far: faults and component calls."""
        return self._test.observations()

    def assert_verdict(self, *expected: str) -> ExperimentResult:
        """End the test's experiment now and assert its verdict (``"passed"`` by default).

        Faults stop at once; the rest of the body runs without them. The verdict is the
        experiment's: ``deviated`` when a ``steady_state`` objective of the marker was not
        met, ``inconclusive`` when a declared fault never fired.
        """
        wanted = tuple(str(getattr(v, "value", v)) for v in expected) or ("passed",)
        problem = self._test.verdict_problem(wanted)
        if problem is not None:
            raise AssertionError(problem)
        return self._test.result()

    # -- did the agent recover? (docs/recovery.md) ---------------------------------------------

    def unit(self, name: str) -> Any:
        """``with chaos.unit("question 3"):`` (or ``async with``): a unit of work inside the
        test, which is one itself. Its faults recovered when the block ends without error."""
        return self._test.unit(name)

    def recovery(self) -> list[RecoveryRow]:
        """One row per fault type and component: fired, recovered (by ``retry``, ``fallback``
        or ``absorbed``), propagated, unknown, the rate with its Wilson 95% interval. From the
        body, the test's own faults count as if it ended now without error."""
        return self._test.recovery()

    def assert_recovered(
        self,
        fault_type: str | None = None,
        component: str | None = None,
        min_rate: float = 1.0,
    ) -> list[RecoveryRow]:
        """Assert that the faults fired so far (of ``fault_type``, on ``component``) recovered
        at ``min_rate`` at least; the failure lists each propagated fault with its call number,
        and the replay command."""
        if not 0.0 <= min_rate <= 1.0:
            raise ChaosUsageError(f"min_rate must be in [0, 1], got {min_rate!r}")
        wanted = str(getattr(fault_type, "value", fault_type)) if fault_type is not None else None
        problem = self._test.recovery_problem(wanted, component, min_rate)
        if problem is not None:
            raise AssertionError(problem)
        return self.recovery()

    def __repr__(self) -> str:
        return f"<chaos seed={self.seed} fired={self.fired()}>"


def fixture_for(test: TestChaos) -> ChaosFixture:
    """The ``chaos`` fixture's object for ``test``."""
    fixture = ChaosFixture.__new__(ChaosFixture)
    fixture._test = test
    return fixture

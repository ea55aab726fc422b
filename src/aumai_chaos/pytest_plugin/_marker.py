"""``@pytest.mark.chaos(...)``: what one marker declares, read from its arguments.

A marker declares at most one fault (its fields as keywords, or a ``FaultConfig`` as a
positional argument) on a component (the first positional argument, or ``component=``), with
``required=False`` when no call may reach that component, plus any of the test's experiment
keywords: ``steady_state``, ``assert_verdict`` and
``require_faults_fired``. Markers repeat and stack from the module (``pytestmark``) through the
class to the function; their faults keep that order, outermost first, which fixes each fault's
position for seeded replay.

Only the plain reading happens here (no pydantic): it is validated when the test runs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["MARKER_HELP", "MarkerError", "TestSpec", "read_markers"]

MARKER_HELP = (
    "chaos(component=None, *, fault_type=..., probability=..., times=..., after_calls=..., "
    "every=..., <fault fields>, required=True, steady_state=[...], assert_verdict='passed', "
    "require_faults_fired=True): run the test inside an aumai-chaos experiment with this fault; "
    "repeatable; see docs/pytest.md"
)

_TEST_KEYS = frozenset({"steady_state", "assert_verdict", "require_faults_fired"})


class MarkerError(ValueError):
    """A ``chaos`` marker that cannot be read; the message names the marker's problem."""


@dataclass(slots=True)
class TestSpec:
    """What a test's markers declare: its faults (unvalidated), objectives and expectations."""

    __test__ = False  # not a test class, whatever imports it

    #: (component or None, FaultConfig or a mapping of its fields), outermost marker first.
    faults: list[tuple[str | None, Any]] = field(default_factory=list)
    steady_state: list[Any] = field(default_factory=list)
    #: The verdicts the test accepts; empty means the verdict is not checked.
    expected_verdicts: tuple[str, ...] = ()
    require_faults_fired: bool = True
    #: Components whose faults were declared ``required=False`` (they may never be called).
    optional: set[str] = field(default_factory=set)


def _verdicts(value: Any) -> tuple[str, ...]:
    items = (value,) if isinstance(value, str) else tuple(value)
    return tuple(str(getattr(v, "value", v)) for v in items)


def read_markers(marks: Iterable[Any]) -> TestSpec:
    """Read ``chaos`` marks (``pytest.Mark`` objects, any order given: closest first, as
    ``item.iter_markers`` yields them)."""
    spec = TestSpec()
    for mark in reversed(list(marks)):
        args: tuple[Any, ...] = tuple(mark.args)
        kwargs: dict[str, Any] = dict(mark.kwargs)
        component = kwargs.pop("component", None)
        fault: Any = None
        for arg in args:
            if isinstance(arg, str) and component is None:
                component = arg
            elif not isinstance(arg, str | Mapping) and fault is None:
                fault = arg  # a FaultConfig, validated later
            elif isinstance(arg, Mapping) and fault is None:
                fault = dict(arg)
            else:
                raise MarkerError(f"chaos marker: unexpected positional argument {arg!r}")
        if "steady_state" in kwargs:
            value = kwargs.pop("steady_state")
            spec.steady_state.extend([value] if isinstance(value, Mapping) else list(value))
        if "assert_verdict" in kwargs:
            spec.expected_verdicts = _verdicts(kwargs.pop("assert_verdict"))
        if "require_faults_fired" in kwargs:
            spec.require_faults_fired = bool(kwargs.pop("require_faults_fired"))
        required = bool(kwargs.pop("required", True))
        if not required and component is not None:
            spec.optional.add(component)
        if kwargs:
            if fault is not None:
                raise MarkerError(
                    "chaos marker: give a FaultConfig or fault keywords, not both "
                    f"(extra: {', '.join(sorted(kwargs))})"
                )
            fault = kwargs
        if fault is not None:
            if isinstance(fault, Mapping) and "fault_type" not in fault:
                raise MarkerError(
                    "chaos marker: a fault needs fault_type= "
                    f"(got {', '.join(sorted(fault)) or 'no keywords'}; "
                    f"test keywords are {', '.join(sorted(_TEST_KEYS))})"
                )
            spec.faults.append((component, fault))
        elif component is not None:
            raise MarkerError(f"chaos marker: component {component!r} without a fault_type")
    if spec.steady_state and not spec.expected_verdicts:
        spec.expected_verdicts = ("passed",)
    return spec

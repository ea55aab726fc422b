"""``affected_components`` and ``target_components`` take globs (``calc.*``), for every kind
of component; a fault that several of its names match applies once; an impossible glob is a
one-line error at load."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

import aumai_chaos
from aumai_chaos import ChaosError, ChaosExperiment, chaos_target
from tests.experiments.support import unique

PREFIX = unique("glob")


@chaos_target(f"{PREFIX}.add")
def add() -> str:
    return "add"


@chaos_target(f"{PREFIX}.sub")
def sub() -> str:
    return "sub"


@chaos_target(f"{unique('other')}.add")
def other() -> str:
    return "other"


def _fails(fn: object) -> bool:
    try:
        fn()  # type: ignore[operator]
    except ChaosError:
        return True
    return False


def test_a_glob_reaches_every_component_it_matches_and_no_other() -> None:
    fault = {"fault_type": "error", "affected_components": [f"{PREFIX}.*"]}
    with aumai_chaos.experiment(faults=[fault], require_faults_fired=False) as exp:
        assert (_fails(add), _fails(sub), _fails(other)) == (True, True, False)
    assert exp.fired(f"{PREFIX}.add") == exp.fired(f"{PREFIX}.sub") == 1


def test_a_fault_matched_by_a_name_and_a_glob_applies_once() -> None:
    fault = {
        "fault_type": "error",
        "times": 2,
        "affected_components": [f"{PREFIX}.add", f"{PREFIX}.*"],
    }
    with aumai_chaos.experiment(faults=[fault], require_faults_fired=False) as exp:
        outcomes = [_fails(add) for _ in range(3)]
    assert outcomes == [True, True, False]
    assert exp.fired(f"{PREFIX}.add") == 2


def test_target_components_take_globs_too() -> None:
    with aumai_chaos.experiment(
        faults=[{"fault_type": "error"}],
        target_components=["?" + PREFIX[1:] + ".s*"],
        require_faults_fired=False,
    ):
        assert (_fails(add), _fails(sub)) == (False, True)


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("mcp.tool.", "'mcp.tool.' names no tool"),
        ("calc..*", "an empty part between dots"),
        ("openai.chat.*.x", "matches no provider route"),
    ],
)
def test_a_glob_that_matches_no_known_shape_is_refused_at_load(name: str, problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        ChaosExperiment(
            experiment_id="x",
            name="x",
            duration_seconds=1,
            faults=[{"fault_type": "latency", "duration_ms": 1, "affected_components": [name]}],
        )

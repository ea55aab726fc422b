"""What pytest shows of a test's chaos: the report section, JUnit properties, the summary line.

Properties travel on ``report.user_properties``, which pytest writes into JUnit XML and
pytest-xdist carries from its workers to the controller, where the summary line is counted.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Iterable
from typing import Any

from aumai_chaos.pytest_plugin._testrun import TestChaos, replay_command

__all__ = [
    "PROP_FAULTS",
    "PROP_FIRED",
    "PROP_REPLAY",
    "PROP_RUN_SEED",
    "PROP_SEED",
    "RunTally",
    "properties",
    "section",
]

PROP_SEED = "chaos.seed"
PROP_RUN_SEED = "chaos.run_seed"
PROP_FAULTS = "chaos.faults_fired"
PROP_FIRED = "chaos.fired"
PROP_REPLAY = "chaos.replay"


def _fired_text(test: TestChaos) -> list[str]:
    """One line per (component, fault type), with the calls it fired on, in firing order."""
    groups: dict[tuple[str, str], list[int | None]] = {}
    for f in test.fired():
        groups.setdefault((f.component, f.fault_type), []).append(f.occurrence)
    lines = []
    for (component, fault_type), occurrences in groups.items():
        known = [n for n in occurrences if n is not None]
        where = f" on call {', '.join(f'#{n}' for n in known)}" if known else ""
        lines.append(f"{component}: {fault_type} x{len(occurrences)}{where}")
    return lines


def properties(test: TestChaos) -> list[tuple[str, Any]]:
    """The test's chaos as (name, value) properties, for JUnit XML and the controller."""
    fired = test.fired()
    compact = "; ".join(
        f"{f.component}:{f.fault_type}" + (f"#{f.occurrence}" if f.occurrence is not None else "")
        for f in fired
    )
    return [
        (PROP_SEED, test.seed),
        (PROP_RUN_SEED, test.run_seed),
        (PROP_FAULTS, test.count()),
        (PROP_FIRED, compact),
        (PROP_REPLAY, replay_command(test.nodeid, test.run_seed)),
    ]


def section(test: TestChaos) -> str:
    """The "chaos" section of a failed test's report."""
    lines = [f"seed: {test.seed} (from --chaos-seed {test.run_seed} and the test's node id)"]
    if test.disabled:
        lines.append("faults: off (--chaos-disable)")
    fired = test.fired()
    total = test.count()
    if total:
        by_component = Counter(f.component for f in fired)
        counts = ", ".join(f"{c} {n}" for c, n in sorted(by_component.items()))
        lines.append(f"faults fired: {total} ({counts})")
        lines.extend(f"  {line}" for line in _fired_text(test))
        if len(fired) < total:
            lines.append(f"  ({total - len(fired)} more not kept: the observations are bounded)")
    else:
        lines.append("faults fired: 0")
    for o in test.propagated():
        call = f"call #{o.occurrence}" if o.occurrence is not None else "a call"
        lines.append(
            f"  propagated: {o.fault_type} on {o.component}, {call}, in {o.unit!r}, "
            f"ended by {o.error_type}"
        )
    lines.append(f"replay: {replay_command(test.nodeid, test.run_seed)}")
    return "\n".join(lines)


class RunTally:
    """The run's totals for the summary line, counted from each test's call report."""

    __slots__ = ("faults", "tests")

    def __init__(self) -> None:
        self.tests = 0
        self.faults = 0

    def add(self, user_properties: Iterable[tuple[str, Any]]) -> None:
        props = dict(user_properties)
        if PROP_SEED not in props:
            return
        self.tests += 1
        with contextlib.suppress(TypeError, ValueError):
            self.faults += int(props.get(PROP_FAULTS, 0))

    def line(self, run_seed: int, disabled: bool) -> str:
        tests = "1 test" if self.tests == 1 else f"{self.tests} tests"
        faults = "1 fault" if self.faults == 1 else f"{self.faults} faults"
        off = ", faults off (--chaos-disable)" if disabled else ""
        return f"aumai-chaos: {tests} with chaos, {faults} fired, --chaos-seed {run_seed}{off}"

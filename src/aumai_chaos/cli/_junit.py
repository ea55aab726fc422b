"""JUnit XML for CI systems: one test case per checked objective and per declared fault.

CI systems (GitHub Actions test reporters, GitLab, Jenkins, Buildkite) show JUnit natively, so
an experiment gating a pipeline reads like a test suite: each steady-state limit passes or
fails with its observed value, each declared fault proves it fired, and a stop condition or a
failed run shows as a failure or an error of its own.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from aumai_chaos.experiments.models import ChaosExperiment, ExperimentResult
from aumai_chaos.experiments.recovery import wilson_interval
from aumai_chaos.experiments.steady_state import Verdict

__all__ = ["render_junit"]


def _case(suite: ET.Element, classname: str, name: str, seconds: float = 0.0) -> ET.Element:
    return ET.SubElement(suite, "testcase", classname=classname, name=name, time=f"{seconds:.3f}")


def render_junit(result: ExperimentResult, experiment: ChaosExperiment) -> str:
    """The result as a JUnit XML document (one ``testsuite`` inside ``testsuites``)."""
    duration = result.summary.duration_seconds or 0.0
    suites = ET.Element("testsuites", name="aumai-chaos")
    suite = ET.SubElement(
        suites,
        "testsuite",
        name=f"chaos experiment {result.experiment_id}",
        timestamp=result.start_time.isoformat() if result.start_time else "",
        time=f"{duration:.3f}",
    )
    props = ET.SubElement(suite, "properties")
    for key, value in (
        ("experiment.name", result.name),
        ("status", result.status.value),
        ("verdict", result.verdict.value if result.verdict else ""),
        ("seed", "" if result.seed is None else str(result.seed)),
    ):
        ET.SubElement(props, "property", name=key, value=value)
    base = f"aumai-chaos.{result.experiment_id}"
    tests = failures = errors = 0

    for o in result.objectives:
        op = ">=" if o.limit.startswith("min_") else "<="
        case = _case(suite, f"{base}.{o.phase}", f"{o.component} {o.limit} {op} {o.threshold:g}")
        tests += 1
        if not o.passed:
            failures += 1
            failure = ET.SubElement(
                case,
                "failure",
                type="ObjectiveNotMet",
                message=f"observed {o.observed:g}, limit {op} {o.threshold:g}",
            )
            failure.text = f"{o.phase}: {o.component} {o.limit}: observed {o.observed:g}"

    for i, fault in enumerate(result.summary.faults):
        where = ", ".join(fault.affected_components) or "every component"
        case = _case(suite, f"{base}.injected", f"fault {i} ({fault.fault_type} on {where}) fired")
        tests += 1
        if fault.fired:
            continue
        if result.verdict is Verdict.baseline_not_met:
            ET.SubElement(case, "skipped", message="not injected: the baseline was not met")
        elif experiment.require_faults_fired and experiment.steady_state:
            failures += 1
            ET.SubElement(
                case,
                "failure",
                type="FaultNeverFired",
                message="the fault never fired: nothing was proven about it (inconclusive)",
            )
        else:
            # No hypothesis was stated: as with the exit code, an unfired fault is not a failure.
            ET.SubElement(case, "skipped", message="the fault never fired")

    tests += _recovery_cases(suite, base, result)

    if result.stopped_by is not None:
        case = _case(suite, f"{base}.safety", "stop conditions")
        tests += 1
        failures += 1
        stop = result.stopped_by
        ET.SubElement(
            case,
            "failure",
            type="StopConditionCrossed",
            message=f"{stop.condition}: observed {stop.observed:g} at {stop.at.isoformat()}",
        )
    if result.error:
        case = _case(suite, f"{base}.run", "experiment run")
        tests += 1
        errors += 1
        ET.SubElement(case, "error", type="ExperimentFailed", message=result.error)

    for element in (suite, suites):
        element.set("tests", str(tests))
        element.set("failures", str(failures))
        element.set("errors", str(errors))
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


def _recovery_cases(suite: ET.Element, base: str, result: ExperimentResult) -> int:
    """One test case per fault type with its recovery rate and interval (docs/recovery.md).
    They report; a ``min_recovery_rate`` objective is what fails a run."""
    by_type: dict[str, list[int]] = {}
    for row in result.summary.recovery:
        counts = by_type.setdefault(row.fault_type, [0, 0, 0, 0, 0, 0])
        for i, n in enumerate(
            (
                row.fired,
                row.recovered,
                row.propagated,
                row.mechanisms.get("retry", 0),
                row.mechanisms.get("fallback", 0),
                row.mechanisms.get("absorbed", 0),
            )
        ):
            counts[i] += n
    for fault_type, (fired, recovered, propagated, retry, fallback, absorbed) in sorted(
        by_type.items()
    ):
        low, high = wilson_interval(recovered, fired)
        rate = recovered / fired if fired else 0.0
        # A stable name (CI systems follow a test case by its name); the rate in its output.
        case = _case(suite, f"{base}.recovery", f"recovery from {fault_type}")
        out = ET.SubElement(case, "system-out")
        out.text = (
            f"rate {rate:.2f} [{low:.2f}, {high:.2f}] (Wilson 95%): fired {fired}, "
            f"recovered {recovered} (retry {retry}, fallback {fallback}, "
            f"absorbed {absorbed}), propagated {propagated}, unknown "
            f"{fired - recovered - propagated}"
        )
    return len(by_type)

"""The recovery table and the trials, as the text, Markdown, HTML and JUnit reports show them
(docs/recovery.md)."""

from __future__ import annotations

from aumai_chaos.experiments.models import ExperimentResult
from aumai_chaos.experiments.summary import RecoveryRow, TrialsSummary

__all__ = [
    "RECOVERY_COLUMNS",
    "mechanisms_text",
    "pass_hat_k_text",
    "rate_text",
    "recovery_rows",
    "trials_line",
]

RECOVERY_COLUMNS = (
    "fault type",
    "component",
    "fired",
    "recovered",
    "propagated",
    "unknown",
    "rate (95% CI)",
    "how",
    "p50 ms",
    "p95 ms",
)


def rate_text(row: RecoveryRow) -> str:
    """``0.83 [0.44, 0.97]``: the rate and its Wilson 95% interval."""
    return f"{row.rate:.2f} [{row.rate_low:.2f}, {row.rate_high:.2f}]"


def mechanisms_text(row: RecoveryRow) -> str:
    """How the recovered faults recovered, e.g. ``retry 5, fallback 1``."""
    found = [f"{name} {n}" for name, n in row.mechanisms.items() if n]
    return ", ".join(found) or "-"


def recovery_rows(result: ExperimentResult) -> list[list[str]]:
    """One row per fault type and component, in :data:`RECOVERY_COLUMNS` order."""
    return [
        [
            r.fault_type,
            r.component,
            str(r.fired),
            str(r.recovered),
            str(r.propagated),
            str(r.unknown),
            rate_text(r),
            mechanisms_text(r),
            f"{r.recovery_ms_p50:.3f}",
            f"{r.recovery_ms_p95:.3f}",
        ]
        for r in result.summary.recovery
    ]


def pass_hat_k_text(trials: TrialsSummary) -> str:
    """``pass^1 0.80, pass^2 0.60, ...``"""
    return ", ".join(f"pass^{k} {v:.2f}" for k, v in enumerate(trials.pass_hat_k, start=1))


def trials_line(trials: TrialsSummary) -> str:
    n = len(trials.trials)
    return (
        f"{trials.passed} of {n} passed, pass rate {trials.pass_rate:.2f} "
        f"[{trials.pass_rate_low:.2f}, {trials.pass_rate_high:.2f}]; {pass_hat_k_text(trials)}"
    )

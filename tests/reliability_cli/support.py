"""Experiments for the command-line reliability tests."""

from __future__ import annotations

import textwrap

from tests.cli.support import SHORT_EXPERIMENT


def experiment_text(*, exp_id: str = "rel-cli", duration: float = 1, tick: float = 0.2) -> str:
    return textwrap.dedent(SHORT_EXPERIMENT).format(exp_id=exp_id, duration=duration, tick=tick)


#: Always-firing errors against an objective of no errors: the verdict is "deviated", exit 1.
DEVIATING_EXPERIMENT = """\
experiment_id: "{exp_id}"
name: "Deviates"
duration_seconds: {duration}
tick_seconds: {tick}
faults:
  - fault_type: error
    probability: 1.0
    affected_components: [tool_executor]
steady_state:
  - component: tool_executor
    max_error_rate: 0.0
"""

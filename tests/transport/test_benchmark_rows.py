"""The transport rows of ``make bench`` stay runnable (timings are not asserted here)."""

from __future__ import annotations

from benchmarks import transport

from aumai_chaos.transport import is_instrumented


def test_the_transport_section_yields_budgeted_rows() -> None:
    rows = transport.run(quick=True)
    assert len(rows) == 6
    budgeted = [r for r in rows if r.budget is not None]
    assert [r.budget.limit for r in budgeted] == [1.02, 1.05]  # type: ignore[union-attr]
    assert all(r.value is not None and r.value > 0 for r in rows)
    assert all(r.ratio is not None and r.ratio > 0 for r in budgeted)
    assert not is_instrumented()

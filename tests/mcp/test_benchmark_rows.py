"""The MCP rows of ``make bench`` stay runnable (timings are not asserted here)."""

from __future__ import annotations

from benchmarks import mcp_client

from aumai_chaos import mcp as chaos_mcp


def test_the_mcp_section_yields_its_rows() -> None:
    rows = mcp_client.run(quick=True)
    assert len(rows) == 4
    assert all(r.value is not None and r.value > 0 for r in rows)
    budgeted = [r for r in rows if r.budget is not None]
    assert [r.budget.limit for r in budgeted] == [1.02]  # type: ignore[union-attr]
    assert all(r.ratio is not None and r.ratio > 0 for r in rows[1:])
    assert "SDK span" in rows[3].note
    assert not chaos_mcp.is_instrumented()

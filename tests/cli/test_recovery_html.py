"""The recovery table and the outcomes chart of the HTML report, in headless Chromium: the DOM
Chromium builds carries the summary's numbers, and the screenshot shows the chart's bars.
``make integration-deps`` installs Debian's ``chromium``."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import pytest
from scripts.browser import FLAGS, chromium, read_png, screenshot

from aumai_chaos import ExperimentResult
from aumai_chaos.cli._html import render_html
from aumai_chaos.cli._html._recovery import OUTCOME_COLORS
from tests.cli.html_support import Page, real_result

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def browser() -> str:
    found = chromium()
    if found is None:
        pytest.fail("chromium is not installed: run `make integration-deps` (Debian: chromium)")
    return found


@pytest.fixture(scope="module")
def result() -> ExperimentResult:
    found = real_result(duration_seconds=0.8)
    # sync_iteration lets the error out (propagated); a latency fault is absorbed (recovered).
    kinds = {r.fault_type: r for r in found.summary.recovery}
    assert kinds["error"].propagated > 0
    assert kinds["latency"].recovered > 0
    return found


def _dom(binary: str, page: Path) -> str:
    with tempfile.TemporaryDirectory(prefix="aumai-chromium-") as profile:
        proc = subprocess.run(
            [binary, *FLAGS, f"--user-data-dir={profile}", "--dump-dom", page.resolve().as_uri()],
            capture_output=True,
            text=True,
            timeout=90,
            check=False,
        )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def _rgb(color: str) -> tuple[int, int, int]:
    return (int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16))


def test_chromium_s_dom_has_the_recovery_table_of_the_summary(
    browser: str, result: ExperimentResult, tmp_path: Path
) -> None:
    page = tmp_path / "report.html"
    page.write_text(render_html(result), encoding="utf-8")
    dom = Page(_dom(browser, page))
    (table,) = dom.find("table", id="recovery")
    rows = [
        el
        for el in dom.find("tr")
        if el.ancestor(id="recovery") is table and "data-fault-type" in el.attrs
    ]
    assert rows
    shown = {(r.attrs["data-fault-type"], r.attrs["data-component"]): dom.cells(r) for r in rows}
    expected = {
        (r.fault_type, r.component): {
            "fired": str(r.fired),
            "recovered": str(r.recovered),
            "propagated": str(r.propagated),
            "unknown": str(r.unknown),
            "rate": str(r.rate),
            "recovery_ms_p50": str(r.recovery_ms_p50),
            "recovery_ms_p95": str(r.recovery_ms_p95),
        }
        for r in result.summary.recovery
    }
    assert {k: {f: v[f] for f in expected[k]} for k, v in shown.items()} == expected
    bars = {
        (b.attrs["data-fault-type"], b.attrs["data-outcome"]): int(b.attrs["data-value"])
        for b in dom.find("rect")
        if "data-outcome" in b.attrs
    }
    totals: dict[tuple[str, str], int] = {}
    for r in result.summary.recovery:
        for outcome in ("recovered", "propagated", "unknown"):
            n = getattr(r, outcome)
            if n:
                key = (r.fault_type, outcome)
                totals[key] = totals.get(key, 0) + n
    assert bars == totals


def test_the_screenshot_shows_the_outcome_bars_and_the_check_can_fail(
    browser: str, result: ExperimentResult, tmp_path: Path
) -> None:
    text = render_html(result)
    page, png = tmp_path / "report.html", tmp_path / "report.png"
    page.write_text(text, encoding="utf-8")
    screenshot(page, png, width=1280, height=3000)
    colors = read_png(png).colors(step=2)
    for outcome in ("recovered", "propagated"):
        assert colors.get(_rgb(OUTCOME_COLORS[outcome]), 0) >= 50, outcome
    # Without the section, those colours are nowhere on the page.
    start = text.index("<section><h2>Recovery</h2>")
    end = text.index("</section>", start) + len("</section>")
    bare = tmp_path / "bare.html"
    bare.write_text(text[:start] + text[end:], encoding="utf-8")
    screenshot(bare, png, width=1280, height=3000)
    colors = read_png(png).colors(step=2)
    assert colors.get(_rgb(OUTCOME_COLORS["recovered"]), 0) == 0

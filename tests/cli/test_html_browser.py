"""The HTML report in a real browser: headless Chromium renders it to a PNG, which must show the
page, not a blank or broken one. ``make integration-deps`` installs Debian's ``chromium``."""

from __future__ import annotations

from pathlib import Path

import pytest
from scripts.browser import Image, chromium, read_png, screenshot

from aumai_chaos.cli._html import render_html
from aumai_chaos.cli._html._style import CSS, VERDICT_COLORS, fault_color
from tests.cli.html_support import real_result

pytestmark = pytest.mark.integration

WIDTH, HEIGHT = 1280, 2000


def _rgb(color: str) -> tuple[int, int, int]:
    return (int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16))


def _background() -> tuple[int, int, int]:
    return _rgb(CSS.split("--bg:")[1][:7])


def check_render(image: Image, verdict: str, fault_types: list[str]) -> None:
    """Raise AssertionError unless the screenshot shows the styled page with its charts."""
    assert (image.width, image.height) == (WIDTH, HEIGHT)
    colors = image.colors(step=2)
    assert len(colors) > 1, "a single colour: a blank render"
    assert len(colors) >= 60, f"only {len(colors)} colours: text and charts are missing"
    # The style sheet applied: the page background, not the browser's white.
    assert image.pixel(5, 5) == _background(), image.pixel(5, 5)
    # The verdict badge, in its colour, large.
    badge = colors.get(_rgb(VERDICT_COLORS[verdict][0]), 0)
    assert badge >= 2_000, f"the {verdict} badge is missing ({badge} pixels)"
    # The SVG charts drew: the fault marks in their colours, and the line of a chart.
    for fault_type in fault_types:
        marks = colors.get(_rgb(fault_color(fault_type)), 0)
        assert marks >= 50, f"no {fault_type} marks on the timeline ({marks} pixels)"
    assert colors.get(_rgb("#2563eb"), 0) >= 50, "no chart line"


@pytest.fixture(scope="module")
def browser() -> str:
    found = chromium()
    if found is None:
        pytest.fail("chromium is not installed: run `make integration-deps` (Debian: chromium)")
    return found


def test_chromium_renders_the_report(browser: str, tmp_path: Path) -> None:
    result = real_result()
    assert result.verdict is not None
    page, png = tmp_path / "report.html", tmp_path / "report.png"
    page.write_text(render_html(result), encoding="utf-8")
    screenshot(page, png, width=WIDTH, height=HEIGHT)
    check_render(read_png(png), result.verdict.value, ["error", "latency"])


def test_a_blank_or_broken_page_fails_the_check(browser: str, tmp_path: Path) -> None:
    """The check can fail: an empty page, and the page without its style sheet and charts."""
    result = real_result(duration_seconds=0.5)
    assert result.verdict is not None
    blank = tmp_path / "blank.html"
    blank.write_text("<!DOCTYPE html><html><body></body></html>", encoding="utf-8")
    broken = tmp_path / "broken.html"
    text = render_html(result)
    broken.write_text(text.split("<style>")[0] + text.split("</style>")[1].split("<svg")[0])
    for page in (blank, broken):
        png = page.with_suffix(".png")
        screenshot(page, png, width=WIDTH, height=HEIGHT)
        with pytest.raises(AssertionError):
            check_render(read_png(png), result.verdict.value, ["error", "latency"])

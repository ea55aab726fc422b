"""``report --format html``: the numbers on the page are the result's, and the page stands alone."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aumai_chaos import ExperimentResult
from aumai_chaos.cli._html import render_html
from aumai_chaos.cli._report import render_markdown, render_text
from aumai_chaos.cli.commands import app
from tests.cli.html_support import NAME, Page, real_result
from tests.experiments import workloads


@pytest.fixture(scope="module")
def result() -> ExperimentResult:
    return real_result()


@pytest.fixture(scope="module")
def page(result: ExperimentResult) -> Page:
    return Page(render_html(result))


def test_the_verdict_and_the_run_are_named(result: ExperimentResult, page: Page) -> None:
    assert result.verdict is not None
    (badge,) = page.find(data_verdict=result.verdict.value)
    assert badge.attrs["data-status"] == result.status.value
    assert result.verdict.value in badge.text  # in words, not only in colour
    (h1,) = page.find("h1")
    assert h1.text == NAME
    assert result.experiment_id in page.find("dl")[0].text
    assert f"{result.seed}" in page.find("dl")[0].text


def test_the_cards_show_the_totals(result: ExperimentResult, page: Page) -> None:
    summary = result.summary
    values = {
        el.attrs["data-field"]: el.attrs["data-value"]
        for el in page.find("div")
        if "data-field" in el.attrs
    }
    assert int(values["total_faults_fired"]) == summary["total_faults_fired"] > 0
    assert int(values["iterations"]) == summary["workload"]["iterations"] > 0
    assert float(values["failure_rate"]) == summary["workload"]["failure_rate"]
    assert float(values["latency_p95_ms"]) == summary["workload"]["latency_ms"]["p95"]


def test_the_components_table_matches_the_summary(result: ExperimentResult, page: Page) -> None:
    (table,) = page.find("table", id="components")
    rows = {
        r.attrs["data-component"]: page.cells(r)
        for r in page.find("tr")
        if r.ancestor(id="components") and "data-component" in r.attrs
    }
    assert table is not None
    assert set(rows) == set(result.summary["components"])
    for name, stats in result.summary["components"].items():
        cells = rows[name]
        assert int(cells["calls"]) == stats["calls"]
        assert int(cells["faults"]) == stats["faults"]
        assert int(cells["errors"]) == stats["errors"]
        assert float(cells["error_rate"]) == stats["error_rate"]
        assert float(cells["latency_p95_ms"]) == stats["latency_ms"]["p95"]


def test_the_faults_table_counts_every_fault_by_component(
    result: ExperimentResult, page: Page
) -> None:
    rows = [r for r in page.find("tr") if r.ancestor(id="faults") and "data-fault-type" in r.attrs]
    fired = {(r.attrs["data-component"], r.attrs["data-fault-type"]): page.cells(r) for r in rows}
    assert set(fired) == {(workloads.COMPONENT, "error"), (workloads.COMPONENT, "latency")}
    assert fired[(workloads.COMPONENT, "error")]["probability"] == "0.3"
    assert fired[(workloads.COMPONENT, "latency")]["probability"] == "0.4"
    by_type = {t: int(c["fired"]) for (_, t), c in fired.items()}
    assert by_type == result.summary["faults_by_type"]
    assert sum(by_type.values()) == result.summary["total_faults_fired"]
    # Each declared fault names one component here, so its own count is the row's.
    for fault in result.summary["faults"]:
        assert by_type[fault["fault_type"]] == fault["fired"]


def test_the_objectives_table_is_the_results(result: ExperimentResult, page: Page) -> None:
    rows = [r for r in page.find("tr") if r.ancestor(id="objectives") and "data-limit" in r.attrs]
    assert len(rows) == len(result.objectives) >= 3
    for row, objective in zip(rows, result.objectives, strict=True):
        assert row.attrs["data-component"] == objective.component
        assert row.attrs["data-limit"] == objective.limit
        assert row.attrs["data-phase"] == objective.phase
        cells = page.cells(row)
        assert float(cells["threshold"]) == objective.threshold
        assert float(cells["observed"]) == objective.observed
        assert cells["passed"] == str(objective.passed).lower()
        assert ("passed" if objective.passed else "FAILED") in row.text


def test_the_timeline_marks_add_up_to_each_components_faults(
    result: ExperimentResult, page: Page
) -> None:
    series = result.summary["series"]
    (svg,) = page.find("svg", role="img", aria_labelledby="timeline-t timeline-d")
    assert svg is not None
    marks = [el for el in page.find("rect") if "data-count" in el.attrs]
    assert marks
    assert all(m.ancestor(data_component=workloads.COMPONENT) for m in marks)
    for fault_type, values in series["components"][workloads.COMPONENT]["faults_by_type"].items():
        drawn = {
            int(m.attrs["data-bucket"]): int(m.attrs["data-count"])
            for m in marks
            if m.attrs["data-fault-type"] == fault_type
        }
        assert drawn == {i: n for i, n in enumerate(values) if n}
    assert all(any(c.tag == "title" and c.text for c in m.children) for m in marks)


def test_the_charts_draw_each_bucket_and_the_objectives_thresholds(
    result: ExperimentResult, page: Page
) -> None:
    workload = result.summary["series"]["workload"]
    error_points = [
        el for el in page.find("circle") if el.ancestor(aria_labelledby="error-rate-t error-rate-d")
    ]
    expected = {
        i: f / n
        for i, (f, n) in enumerate(zip(workload["failures"], workload["iterations"], strict=True))
        if n
    }
    assert {int(p.attrs["data-bucket"]): float(p.attrs["data-value"]) for p in error_points} == (
        pytest.approx(expected, rel=1e-5)
    )
    latency_points = [
        el for el in page.find("circle") if el.ancestor(aria_labelledby="latency-t latency-d")
    ]
    assert [float(p.attrs["data-value"]) for p in latency_points] == [
        p for p, n in zip(workload["latency_p95_ms"], workload["iterations"], strict=True) if n
    ]
    thresholds = {
        el.attrs["data-threshold"] for el in page.find("g") if "data-threshold" in el.attrs
    }
    assert thresholds == {"0.01", "500"}
    failed = [el for el in page.find("g") if el.attrs.get("class") == "threshold fail"]
    assert [el.attrs["data-threshold"] for el in failed] == ["0.01"]  # the deviation
    assert "missed" in failed[0].text


def test_the_page_stands_alone_and_escapes_what_the_user_wrote(result: ExperimentResult) -> None:
    text = render_html(result)
    assert text.startswith("<!DOCTYPE html>")
    assert "<script" not in text.lower()
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &quot;friends&quot;" in text
    # No external resource of any kind: no links, sources or imports.
    assert not re.search(r"\b(src|href)\s*=", text)
    assert "@import" not in text
    assert "url(" not in text
    assert "http://" not in text
    assert "https://" not in text


def test_an_older_result_without_a_series_still_renders(result: ExperimentResult) -> None:
    data = result.model_dump(mode="json")
    del data["summary"]["series"]
    old = ExperimentResult.model_validate(data)
    page = Page(render_html(old))
    assert page.find(data_verdict=old.verdict.value if old.verdict else "")
    assert "no per-second series" in render_html(old)
    rows = [r for r in page.find("tr") if r.ancestor(id="faults") and "data-fault-type" in r.attrs]
    fired = {r.attrs["data-fault-type"]: int(page.cells(r)["fired"]) for r in rows}
    assert fired == {f["fault_type"]: f["fired"] for f in old.summary["faults"]}


def test_the_text_and_markdown_reports_leave_the_series_out(result: ExperimentResult) -> None:
    assert "series" not in render_text(result)
    assert "series" not in render_markdown(result)


def test_the_command_writes_the_page_to_a_file_or_stdout(
    result: ExperimentResult, tmp_path: Path
) -> None:
    saved = tmp_path / "result.json"
    saved.write_text(result.model_dump_json(), encoding="utf-8")
    runner = CliRunner()
    out = tmp_path / "report.html"
    done = runner.invoke(app, ["report", str(saved), "--format", "html", "--output", str(out)])
    assert done.exit_code == 0, done.output
    assert done.stdout == ""
    assert out.read_text(encoding="utf-8") == render_html(result)
    done = runner.invoke(app, ["report", str(saved), "-f", "html"])
    assert done.exit_code == 0
    assert done.stdout == render_html(result)
    missing = runner.invoke(
        app, ["report", str(saved), "-f", "html", "-o", str(tmp_path / "no" / "x.html")]
    )
    assert missing.exit_code == 2


def test_a_glob_is_reported_as_the_components_it_reached() -> None:
    from aumai_chaos import ExperimentScheduler, FaultConfig
    from tests.experiments.support import experiment

    glob = workloads.COMPONENT[:2] + "*"
    exp = experiment(
        seed=21,
        duration_seconds=1.0,
        workload={"target": "tests.experiments.workloads:sync_iteration", "concurrency": 1},
        faults=[
            FaultConfig(fault_type="error", probability=0.5, affected_components=[glob]),
        ],
        require_faults_fired=False,
    )
    scheduler = ExperimentScheduler()
    result = scheduler.run(scheduler.schedule(exp))
    page = Page(render_html(result))
    rows = [r for r in page.find("tr") if r.ancestor(id="faults") and "data-fault-type" in r.attrs]
    cells = {(r.attrs["data-component"], r.attrs["data-fault-type"]): page.cells(r) for r in rows}
    assert set(cells) == {(workloads.COMPONENT, "error")}  # no row for the glob itself
    assert cells[(workloads.COMPONENT, "error")]["probability"] == "0.5"
    assert int(cells[(workloads.COMPONENT, "error")]["fired"]) == result.summary.total_faults_fired
    assert result.summary.total_faults_fired > 0

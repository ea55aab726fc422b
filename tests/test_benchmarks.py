"""The benchmark suite stays runnable (CI also runs the whole of it with ``make bench-quick``)."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from benchmarks import report
from benchmarks.harness import Budget, Row, Variant, interleave
from benchmarks.variants import SHAPES, AlwaysMiss, build, timer_for, wraps_passthrough

from aumai_chaos import chaos_monkey, chaos_target


def test_interleaved_rounds_time_every_variant_of_every_shape() -> None:
    decorators = {
        "wraps": lambda comp: wraps_passthrough,
        "target": chaos_target,
        "monkey": lambda comp: chaos_monkey(
            fault_type="error", probability=0.5, rng=AlwaysMiss(), component=comp
        ),
    }
    variants = [
        Variant(
            f"{name}/{shape.slug}",
            timer_for(shape, build(shape, deco(f"bench-test.{name}.{shape.slug}"))),
            n=50,
        )
        for shape, (name, deco) in itertools.product(SHAPES, decorators.items())
    ]
    samples = interleave(variants, rounds=3, target_ns=50_000)
    assert set(samples) == {v.key for v in variants}
    for sample in samples.values():
        assert len(sample.per_call) == 3
        assert all(0 < ns < 1e6 for ns in sample.per_call)


def test_report_marks_each_row_against_its_budget() -> None:
    budget = Budget(1.2, "<= 1.2x functools.wraps")
    rows = [
        Row("Per-call cost", "fast", 90.0, ratio=0.9, floor="functools.wraps", budget=budget),
        Row("Per-call cost", "slow", 300.0, ratio=3.0, floor="functools.wraps", budget=budget),
        Row("Peers", "a peer", note="unavailable: not installed"),
    ]
    text = report.render("# header", rows)
    assert "1 of 2 budgeted rows pass. Failing: slow." in text
    assert "| fast | 90 |  | 0.90x functools.wraps | <= 1.2x functools.wraps | pass |" in text
    assert "**FAIL**" in text
    assert "a peer (unavailable: not installed)" in text


# -- enforcement (issue 11: a missed budget fails CI) -------------------------------------------


def test_enforced_budgets_fail_only_beyond_their_tolerance() -> None:
    budget = Budget(1.5, "≤ 1.5x functools.wraps", tolerance=0.25)
    within = Row("Per-call cost", "within", 100.0, ratio=1.8, budget=budget)  # 1.8 <= 1.875
    beyond = Row("Per-call cost", "beyond", 100.0, ratio=1.9, budget=budget)
    unmeasured = Row("Per-call cost", "unmeasured", None, budget=budget)
    reported = Row("Per-call cost", "reported", 100.0, ratio=9.0, budget=Budget(1.5, "≤ 1.5x"))
    rows = [within, beyond, unmeasured, reported]
    assert [r.name for r in report.missed_enforced(rows)] == ["beyond", "unmeasured"]
    assert reported.ok is False
    assert reported.enforced_ok is None
    text = report.render("# header", rows)
    assert "Enforced (`--enforce`, which CI runs): 1 of 3 pass within their tolerance." in text


def test_enforce_exits_1_when_an_enforced_budget_is_missed(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import benchmarks.__main__ as cli

    slow = Budget(100.0, "< 100 ms", ratio=False, tolerance=0.5)

    def abort(*, quick: bool) -> list[Row]:
        return [Row("Abort latency", "abort → run() returns", 151.0, "ms", budget=slow)]

    monkeypatch.setattr(cli.latency, "abort", abort)
    argv = ["--quick", "--only", "abort", "--output", str(tmp_path / "q.md")]
    assert cli.main(argv) == 0  # reported, not enforced
    assert cli.main([*argv, "--enforce"]) == 1
    monkeypatch.setattr(
        cli.latency,
        "abort",
        lambda *, quick: [Row("Abort latency", "abort", 149.0, "ms", budget=slow)],
    )
    assert cli.main([*argv, "--enforce"]) == 0


def test_the_stable_budgets_are_the_enforced_ones() -> None:
    from benchmarks import percall

    assert {"monkey_p0", "target_idle", "target_other"} == percall.ENFORCED_IDLE
    assert percall.IDLE_TOLERANCE == 0.25


def test_the_quick_run_soaks_45_seconds_with_its_rss_bound_enforced(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import benchmarks.__main__ as cli

    asked: list[dict[str, object]] = []

    def soak(**kwargs: object) -> list[Row]:
        asked.append(kwargs)
        return []

    monkeypatch.setattr(cli.soak, "run", soak)
    out = str(tmp_path / "q.md")
    assert cli.main(["--quick", "--enforce", "--only", "soak", "--output", out]) == 0
    assert cli.main(["--only", "soak", "--output", out]) == 0
    assert asked == [
        {"seconds": 45.0, "warmup": 15.0, "enforce": True},
        {"seconds": 600.0},
    ]

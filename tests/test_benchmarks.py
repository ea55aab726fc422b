"""The benchmark suite stays runnable (CI also runs the whole of it with ``make bench-quick``)."""

from __future__ import annotations

import itertools

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

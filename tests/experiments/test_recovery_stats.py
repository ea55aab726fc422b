"""The Wilson interval and pass^k against values computed by hand.

Wilson (1927): centre = (p + z²/2n) / (1 + z²/n), half = z·√(p(1-p)/n + z²/4n²) / (1 + z²/n),
z = 1.959964 (z² = 3.841459). The same numbers are what statsmodels'
``proportion_confint(count, nobs, method="wilson")`` gives (checked by hand, not a dependency).
"""

from __future__ import annotations

import pytest

from aumai_chaos.experiments.recovery import pass_hat_k, wilson_interval


@pytest.mark.parametrize(
    ("k", "n", "low", "high"),
    [
        # 0/n: low = 0, high = z²/(n + z²).  n = 10: 3.841459/13.841459 = 0.277533.
        (0, 10, 0.0, 0.277533),
        # n/n: low = n/(n + z²) = 10/13.841459 = 0.722467, high = 1.
        (10, 10, 0.722467, 1.0),
        # 1/1: low = 1/4.841459 = 0.206549.
        (1, 1, 0.206549, 1.0),
        # 3/10: centre = (0.3 + 0.192073)/1.384146 = 0.355507;
        # half = 1.959964·√(0.021 + 0.0096036)/1.384146 = 0.247716 → (0.107791, 0.603223);
        # statsmodels: (0.10779, 0.60322).
        (3, 10, 0.107791, 0.603222),
        # 5/10: centre 0.5, half = 1.959964·√(0.025 + 0.0096036)/1.384146 = 0.263407.
        (5, 10, 0.236593, 0.763407),
    ],
)
def test_wilson_matches_the_hand_computed_interval(k: int, n: int, low: float, high: float) -> None:
    got_low, got_high = wilson_interval(k, n)
    assert got_low == pytest.approx(low, abs=2e-6)
    assert got_high == pytest.approx(high, abs=2e-6)


def test_wilson_of_nothing_says_nothing_and_refuses_impossible_counts() -> None:
    assert wilson_interval(0, 0) == (0.0, 1.0)
    with pytest.raises(ValueError, match="successes"):
        wilson_interval(3, 2)


def test_pass_hat_k_is_the_tau_bench_estimator() -> None:
    # Three tasks tried 4 times each: passed 4, 2 and 0 times.
    trials = [(4, 4), (4, 2), (4, 0)]
    # k=1: (4/4 + 2/4 + 0)/3 = 0.5
    assert pass_hat_k(trials, 1) == pytest.approx(0.5)
    # k=2: (C(4,2)/C(4,2) + C(2,2)/C(4,2) + 0)/3 = (1 + 1/6)/3 = 0.388889
    assert pass_hat_k(trials, 2) == pytest.approx(7 / 18)
    # k=3: (1 + 0 + 0)/3
    assert pass_hat_k(trials, 3) == pytest.approx(1 / 3)
    assert pass_hat_k(trials, 4) == pytest.approx(1 / 3)


def test_pass_hat_k_at_the_edges() -> None:
    assert pass_hat_k([(5, 5)], 5) == 1.0  # n/n: every k passes
    assert pass_hat_k([(5, 0)], 1) == 0.0  # 0/n
    # One task, 5 trials, 3 passed: k=1 is 3/5, k=2 is C(3,2)/C(5,2) = 3/10, k=4 is 0.
    assert pass_hat_k([(5, 3)], 2) == pytest.approx(0.3)
    assert pass_hat_k([(5, 3)], 4) == 0.0
    assert pass_hat_k([(2, 2)], 3) == 0.0  # fewer trials than k: no estimate
    with pytest.raises(ValueError, match="k"):
        pass_hat_k([(2, 2)], 0)

"""Verdicts between methods (spindrop.stats.verdicts): the paired t-test over seeds holds its 95 %,
the old bootstrap over seeds does not, and Holm's correction holds the family-wise error rate.

The coverage numbers docs/design.md "Statistics" quotes come from these simulations (issue 21)."""
from __future__ import annotations

import math

import numpy as np
import pytest

from spindrop.stats import MIN_SEEDS, holm, paired_t, significant

SEED_SD, IMAGE_SD = 1.0, 0.2
"""The simulated truth: true difference 0, seed-to-seed sd 1 of the paired difference, image noise 0.2."""


def _differences(rng: np.random.Generator, experiments: int, seeds: int) -> tuple[np.ndarray, np.ndarray]:
    """(S per-seed differences, their image-level noise sd) of ``experiments`` simulated comparisons."""
    return rng.normal(0, SEED_SD, (experiments, seeds)) + rng.normal(0, IMAGE_SD, (experiments, seeds)), \
        np.full((experiments, seeds), IMAGE_SD)


def t_coverage(seeds: int, experiments: int = 4000) -> float:
    rng = np.random.default_rng(seeds)
    d, _ = _differences(rng, experiments, seeds)
    tests = [paired_t(row, np.zeros(seeds)) for row in d]
    return float(np.mean([t.low <= 0.0 <= t.high for t in tests]))


def old_bootstrap_coverage(seeds: int, experiments: int = 2000, resamples: int = 1000) -> float:
    """The interval that decided "significant" before issue 21: each replicate draws S seeds with
    replacement and adds the seed's image-bootstrap noise; the 2.5/97.5 % percentiles."""
    rng = np.random.default_rng(100 + seeds)
    d, sd = _differences(rng, experiments, seeds)
    covered = 0
    for row, noise in zip(d, sd):
        reps = row[:, None] + rng.normal(0, noise[:, None], (seeds, resamples))      # (S, B) replicates
        drawn = rng.integers(0, seeds, (resamples, seeds))
        replicates = reps[drawn, np.arange(resamples)[:, None]].mean(1)
        low, high = np.percentile(replicates, [2.5, 97.5])
        covered += low <= 0.0 <= high
    return covered / experiments


@pytest.mark.parametrize("seeds", [3, 5, 10])
def test_paired_t_interval_covers_95_percent(seeds):
    """4,000 experiments: the Monte-Carlo sd of the coverage is 0.0034, so [0.93, 0.97] is ±6 sd."""
    assert 0.93 <= t_coverage(seeds) <= 0.97


@pytest.mark.parametrize("seeds", [3, 5])
def test_old_bootstrap_over_seeds_undercovers(seeds):
    """The replaced interval: 0.78–0.81 at 3 seeds and 0.85–0.86 at 5 seeds in the issue's run; it
    fails the [0.93, 0.97] band (2,000 experiments: sd 0.008)."""
    assert old_bootstrap_coverage(seeds) < 0.93


def test_paired_t_reproduces_the_issue_examples():
    """Issue 21: per-seed differences +8.16, +21.26, +6.57 give the t-interval [−8.0, +32.0]; −5.62,
    −1.75, −2.09 give [−8.5, +2.2]; mean ± t_{0.975, 2} · sd/√3 by hand."""
    for d, expected in (([8.16, 21.26, 6.57], (-8.0, 32.0)), ([-5.62, -1.75, -2.09], (-8.5, 2.2))):
        got = paired_t(d, [0.0, 0.0, 0.0])
        x = np.array(d)
        half = 4.302652729911275 * x.std(ddof=1) / math.sqrt(3)
        assert (got.low, got.high) == pytest.approx((x.mean() - half, x.mean() + half))
        assert (got.low, got.high) == pytest.approx(expected, abs=0.06)
        assert got.p > 0.05 and got.seeds == 3


def test_paired_t_p_value_by_hand():
    d = np.array([0.3, 0.5, 0.4, 0.6, 0.2])
    got = paired_t(d + 1.0, np.ones(5))
    t = d.mean() / (d.std(ddof=1) / math.sqrt(5))
    from scipy.stats import t as student_t
    assert got.p == pytest.approx(2 * student_t.sf(t, 4))
    assert got.estimate == pytest.approx(d.mean())


def test_paired_t_without_spread_is_no_test():
    got = paired_t([0.9, 0.9, 0.9], [0.8, 0.8, 0.8])
    assert got.estimate == pytest.approx(0.1) and math.isnan(got.p) and math.isnan(got.low)
    assert not significant(holm([got.p])[0], got.seeds)
    with pytest.raises(ValueError, match="at least 2 seeds"):
        paired_t([0.9], [0.8])


def test_holm_by_hand():
    """m = 4: sorted 0.005, 0.01, 0.03, 0.04 → 4·0.005, 3·0.01, max(0.03, 2·0.03), max(0.06, 1·0.04)."""
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])
    nan_kept = holm([0.01, math.nan])
    assert nan_kept[0] == pytest.approx(0.02) and math.isnan(nan_kept[1])
    assert holm([]) == []


def test_holm_controls_the_family_wise_error_rate():
    """20,000 families of 10 true nulls (uniform p-values; the worst case for Holm is independence):
    P(any rejection) ≤ 0.05 within 3 Monte-Carlo sds (0.0015), and the unadjusted rate is ≈ 0.40."""
    rng = np.random.default_rng(1)
    p = rng.uniform(size=(20_000, 10))
    rejected_any = np.array([min(holm(row)) < 0.05 for row in p])
    assert rejected_any.mean() <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / 20_000)
    assert (p < 0.05).any(1).mean() == pytest.approx(1 - 0.95 ** 10, abs=0.015)


def test_no_verdict_below_three_seeds():
    assert MIN_SEEDS == 3
    assert not significant(1e-6, 2) and significant(1e-6, 3) and not significant(0.05, 10)
    assert not significant(None, 5)

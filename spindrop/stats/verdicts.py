"""Verdicts between methods: a paired test over training seeds, and Holm's correction over a family
(docs/design.md "Statistics").

The unit of replication of a method is a trained network, so whether two methods differ is judged
over the seeds both have, by the **paired t-test** on the per-seed differences d_s = a_s − b_s
(Student 1908): t = mean(d) / (sd(d)/√S) with S − 1 degrees of freedom, two-sided; its 95 %
interval mean(d) ± t_{0.975, S−1} · sd(d)/√S (``scipy.stats.ttest_rel`` and its
``confidence_interval``). Image-level bootstrap intervals describe one network; they decide nothing.

A report states many verdicts at once, so each section that states them declares its family and
controls the family-wise error rate with **Holm's step-down method** (Holm, *Scand. J. Statist.* 6,
1979): with the m raw p-values in ascending order p_(1) ≤ … ≤ p_(m), the adjusted p-value is
p̃_(i) = max_{j ≤ i} min(1, (m − j + 1) p_(j)), and a hypothesis is rejected when p̃ < α. It is
valid under any dependence between the tests (scipy has no Holm; the seven lines below are it).

Below :data:`MIN_SEEDS` seeds no verdict is stated: with one seed there is no estimate of the
seed-to-seed spread at all (an image bootstrap then describes one network, not a method), and with
two the t-quantile has one degree of freedom (t_{0.975, 1} = 12.7).
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .intervals import LEVEL

ALPHA = 0.05
"""Family-wise error rate of the verdicts (two-sided tests at level 1 − ALPHA = :data:`LEVEL`)."""
MIN_SEEDS = 3
"""Fewest paired seeds for a verdict ("significant", bold)."""
PAIRED_T = "paired t"
"""The test's name as ``comparisons.csv`` writes it."""


@dataclass(frozen=True)
class PairedTest:
    """The paired t-test of ``a − b`` over ``seeds`` seeds: the mean difference, its t-interval at
    ``level`` and the two-sided p-value (NaN when the differences have no spread: no test exists)."""

    estimate: float
    low: float
    high: float
    p: float
    seeds: int
    test: str = PAIRED_T


def paired_t(a: Sequence[float], b: Sequence[float], level: float = LEVEL) -> PairedTest:
    """The paired t-test of per-seed values ``a`` and ``b`` (same seeds, same order, S ≥ 2)."""
    x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1 or x.size < 2:
        raise ValueError(f"a paired t-test needs two equal-length vectors of at least 2 seeds, got {x.shape}, "
                         f"{y.shape}")
    d = x - y
    mean = float(d.mean())
    if not np.ptp(d) > 0:  # no spread: t is 0/0 or ±∞, which is no evidence either way
        return PairedTest(mean, math.nan, math.nan, math.nan, x.size)
    from scipy import stats as scipy_stats  # imported on use: the runner's CLI starts without scipy

    result = scipy_stats.ttest_rel(x, y)
    ci = result.confidence_interval(level)
    return PairedTest(mean, float(ci.low), float(ci.high), float(result.pvalue), x.size)


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm-adjusted p-values of one family, in the order given. A NaN p-value (no test) stays NaN
    and still counts in the family's size m (conservative)."""
    p = np.asarray(pvalues, dtype=np.float64)
    m = p.size
    order = np.argsort(np.where(np.isnan(p), np.inf, p), kind="stable")
    adjusted = np.full(m, math.nan)
    running = 0.0
    for rank, i in enumerate(order):
        if math.isnan(p[i]):
            break
        running = max(running, min(1.0, (m - rank) * p[i]))
        adjusted[i] = running
    return [float(v) for v in adjusted]


def significant(adjusted_p: float | None, seeds: int, alpha: float = ALPHA) -> bool:
    """The verdict: at least :data:`MIN_SEEDS` paired seeds and a Holm-adjusted p below ``alpha``."""
    return seeds >= MIN_SEEDS and adjusted_p is not None and not math.isnan(adjusted_p) and adjusted_p < alpha

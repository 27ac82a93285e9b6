"""Intervals from bootstrap replicates and over training seeds (docs/design.md "Statistics").

* :func:`percentile_interval`: the 95 % percentile interval of B replicates, the quantiles at
  2.5 % and 97.5 % with linear interpolation (Efron & Tibshirani 1993, §13.3; what
  ``scipy.stats.bootstrap(method="percentile")`` computes from its replicates).
* :func:`t_interval`: mean ± t_{(1+level)/2, S−1} · s/√S over S ≥ 2 seeds (Student 1908), s the
  sample standard deviation (ddof = 1).
* :func:`paired_difference`: the difference Δ = mean_s (a_s − b_s) of two methods over their
  common seeds s, with a two-level paired bootstrap: replicate b draws S seeds with replacement
  (each seed keeps its pair of networks) and uses the image resample b of every set for both
  methods (:mod:`spindrop.stats.bootstrap`), so Δ_b = mean over the drawn seeds of
  (a_{s,b} − b_{s,b}). With one seed it is the paired bootstrap over images alone.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

LEVEL = 0.95
SEED_RESAMPLING_SEED = 0
"""Seed of the seed-level draws of :func:`paired_difference` (fixed: a report renders the same twice)."""


@dataclass(frozen=True)
class Interval:
    """A value with its interval [low, high] at ``level``."""

    value: float
    low: float
    high: float

    def excludes_zero(self) -> bool:
        return self.low > 0.0 or self.high < 0.0


def percentile_interval(replicates: np.ndarray, level: float = LEVEL) -> tuple[float, float]:
    """(low, high): the (1 − level)/2 and (1 + level)/2 quantiles of ``replicates`` along the last
    axis, linear interpolation between order statistics (numpy's default)."""
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), not {level}")
    r = np.asarray(replicates, dtype=np.float64)
    low, high = np.percentile(r, [50 * (1 - level), 50 * (1 + level)], axis=-1)
    return float(low), float(high)


def t_interval(values: Sequence[float], level: float = LEVEL) -> tuple[float, float, float, float]:
    """(mean, std, low, high) of S ≥ 2 values: the sample mean, the sample std (ddof = 1) and the
    Student-t interval mean ± t_{(1+level)/2, S−1} · std/√S."""
    x = np.asarray(values, dtype=np.float64)
    if x.size < 2:
        raise ValueError(f"a t-interval needs at least 2 values, got {x.size}")
    from scipy import stats as scipy_stats  # imported on use: the runner's CLI starts without scipy

    mean, std = float(x.mean()), float(x.std(ddof=1))
    half = float(scipy_stats.t.ppf(0.5 + level / 2, x.size - 1)) * std / math.sqrt(x.size)
    return mean, std, mean - half, mean + half


def paired_difference(a: np.ndarray, b: np.ndarray, reps_a: np.ndarray, reps_b: np.ndarray,
                      level: float = LEVEL, seed: int = SEED_RESAMPLING_SEED) -> Interval:
    """Δ = mean_s (a_s − b_s) over S paired seeds with its two-level paired bootstrap interval.

    ``a``, ``b``: (S,) point values per seed; ``reps_a``, ``reps_b``: (S, B) replicates of the same
    seeds on shared image resamples (replicate j of both is computed on the same images)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    diff = np.asarray(reps_a, dtype=np.float64) - np.asarray(reps_b, dtype=np.float64)
    if diff.ndim != 2 or diff.shape[0] != a.size or a.shape != b.shape:
        raise ValueError(f"expected (S,) values and (S, B) replicates, got {a.shape}, {b.shape}, {diff.shape}")
    s, n_rep = diff.shape
    drawn = np.random.default_rng(seed).integers(0, s, size=(n_rep, s))          # (B, S) seeds per replicate
    replicates = diff[drawn, np.arange(n_rep)[:, None]].mean(1)
    return Interval(float((a - b).mean()), *percentile_interval(replicates, level))

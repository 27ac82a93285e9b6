"""Intervals from bootstrap replicates and over training seeds (docs/design.md "Statistics").

* :func:`percentile_interval`: the 95 % percentile interval of B replicates, the quantiles at
  2.5 % and 97.5 % with linear interpolation (Efron & Tibshirani 1993, §13.3; what
  ``scipy.stats.bootstrap(method="percentile")`` computes from its replicates).
* :func:`t_interval`: mean ± t_{(1+level)/2, S−1} · s/√S over S ≥ 2 seeds (Student 1908), s the
  sample standard deviation (ddof = 1).
* :func:`paired_difference`: the difference a − b of two networks trained with the same seed, with
  the percentile interval of its paired bootstrap over images: replicate j of both is computed on
  the same image resample (:mod:`spindrop.stats.bootstrap`). It describes that pair of networks
  only; verdicts between methods come from the seeds (:mod:`spindrop.stats.verdicts`).
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

LEVEL = 0.95


@dataclass(frozen=True)
class Interval:
    """A value with its interval [low, high] at ``level``."""

    value: float
    low: float
    high: float


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


def paired_difference(a: float, b: float, reps_a: np.ndarray, reps_b: np.ndarray, level: float = LEVEL) -> Interval:
    """a − b of one pair of networks with the percentile interval of ``reps_a − reps_b``, their (B,)
    replicates on shared image resamples (replicate j of both computed on the same images)."""
    diff = np.asarray(reps_a, dtype=np.float64) - np.asarray(reps_b, dtype=np.float64)
    if diff.ndim != 1:
        raise ValueError(f"expected (B,) replicates of one pair of networks, got shape {diff.shape}")
    return Interval(float(a) - float(b), *percentile_interval(diff, level))

"""Per-image terms of the metrics whose value is a mean over images (spindrop.metrics), the
quantities the bootstrap resamples: metric = (1/N) Σ_i term_i (tests/metrics/test_stats.py checks
each mean against its metric)."""
from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

NLL_EPS = 1e-12
"""The clamp of :func:`spindrop.metrics.nll`."""


def correct(probs: Tensor, labels: Tensor) -> Tensor:
    """1[argmax_c p_ic = y_i] (float64): its mean is the accuracy."""
    return (probs.argmax(1) == labels).double()


def nll_terms(probs: Tensor, labels: Tensor) -> Tensor:
    """−log max(p_{i,y_i}, 1e-12) in float64: its mean is :func:`spindrop.metrics.nll`."""
    return -probs.double().gather(1, labels.unsqueeze(1)).squeeze(1).clamp_min(NLL_EPS).log()


def brier_terms(probs: Tensor, labels: Tensor) -> Tensor:
    """Σ_c (p_ic − 1[c = y_i])² in float64: its mean is :func:`spindrop.metrics.brier`."""
    return (probs.double() - F.one_hot(labels, probs.shape[1]).double()).square().sum(1)


def confidence(probs: Tensor) -> Tensor:
    """max_c p_ic, the top-label confidence of the calibration metrics."""
    return probs.max(1).values

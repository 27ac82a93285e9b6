"""Uncertainty summaries of MC samples (Gal 2016, "Uncertainty in Deep Learning", §3.3).

All take per-sample probabilities ``probs`` of shape (T, B, C) and return shape (B,) or (B, C).
NOTE for the metrics author: spindrop/mc.py imports predictive_mean, predictive_entropy,
expected_entropy, mutual_information and max_softmax from here; keep these names.
"""
from __future__ import annotations

import torch
from torch import Tensor

_EPS = 1e-12


def _entropy(p: Tensor) -> Tensor:
    """H[p] = −Σ_c p_c log p_c over the last dimension (nats), with 0·log 0 = 0."""
    return -(p * p.clamp_min(_EPS).log()).sum(-1)


def predictive_mean(probs: Tensor) -> Tensor:
    """p̄ = (1/T) Σ_t p_t."""
    return probs.mean(0)


def predictive_entropy(probs: Tensor) -> Tensor:
    """Total uncertainty H[p̄]."""
    return _entropy(predictive_mean(probs))


def expected_entropy(probs: Tensor) -> Tensor:
    """Aleatoric part (1/T) Σ_t H[p_t]."""
    return _entropy(probs).mean(0)


def mutual_information(probs: Tensor) -> Tensor:
    """Epistemic part I = H[p̄] − (1/T) Σ_t H[p_t] ≥ 0 (clamped against rounding)."""
    return (predictive_entropy(probs) - expected_entropy(probs)).clamp_min(0.0)


def max_softmax(probs: Tensor) -> Tensor:
    """Maximum softmax probability of the predictive mean, max_c p̄_c."""
    return predictive_mean(probs).max(-1).values

"""Classification metrics of a predictive distribution (DESIGN.md "Metrics").

``probs`` is (N, C) (for MC models the predictive mean p̄ = (1/T) Σ_t p_t) and ``labels`` (N,)
int64. Each function computes over the whole set at once and returns a Python float.
"""
from __future__ import annotations

import torch
from torch import Tensor


def _check(probs: Tensor, labels: Tensor) -> None:
    if probs.dim() != 2 or labels.dim() != 1 or len(probs) != len(labels) or len(labels) == 0:
        raise ValueError(f"expected probs (N, C) and labels (N,) with N > 0, got "
                         f"{tuple(probs.shape)} and {tuple(labels.shape)}")


def accuracy(probs: Tensor, labels: Tensor) -> float:
    """(1/N) Σ_i 1[argmax_c p_ic = y_i]."""
    _check(probs, labels)
    return (probs.argmax(1) == labels).double().mean().item()


def nll(probs: Tensor, labels: Tensor, eps: float = 1e-12) -> float:
    """Negative log-likelihood −(1/N) Σ_i log max(p_{i,y_i}, eps), in nats.

    With p̄ this is −log (1/T) Σ_t p_t(y), the MC estimate of the predictive NLL. The clamp keeps a
    zero probability finite (−log eps ≈ 27.6 for eps = 1e-12).
    """
    _check(probs, labels)
    p_true = probs.double().gather(1, labels.view(-1, 1)).squeeze(1)
    return -p_true.clamp_min(eps).log().mean().item()


def brier(probs: Tensor, labels: Tensor) -> float:
    """Brier score (Brier 1950, multi-class form): (1/N) Σ_i Σ_c (p_ic − 1[c = y_i])², in [0, 2]."""
    _check(probs, labels)
    onehot = torch.nn.functional.one_hot(labels, probs.shape[1]).double()
    return (probs.double() - onehot).square().sum(1).mean().item()

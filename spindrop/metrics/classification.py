"""Classification metrics of a predictive distribution (docs/design.md "Metrics").

``probs`` is (N, C) (for MC models the predictive mean p̄ = (1/T) Σ_t p_t) and ``labels`` (N,)
int64. Each function computes over the whole set at once and returns a Python float.
Accuracy is torchmetrics' functional ``multiclass_accuracy``; torchmetrics (1.9) has no NLL and
no multi-class Brier score, so those two are written out here with torch.
"""
from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor


def _check(probs: Tensor, labels: Tensor) -> None:
    if probs.dim() != 2 or labels.dim() != 1 or len(probs) != len(labels) or len(labels) == 0:
        raise ValueError(f"expected probs (N, C) and labels (N,) with N > 0, got "
                         f"{tuple(probs.shape)} and {tuple(labels.shape)}")


def accuracy(probs: Tensor, labels: Tensor) -> float:
    """(1/N) Σ_i 1[argmax_c p_ic = y_i] (torchmetrics ``multiclass_accuracy``, micro average;
    float32, so exact to ≈ 1e-7)."""
    _check(probs, labels)
    from torchmetrics.functional.classification import multiclass_accuracy  # on first use (spindrop.metrics.ood)
    return multiclass_accuracy(probs, labels, num_classes=probs.shape[1], average="micro").item()


def nll(probs: Tensor, labels: Tensor, eps: float = 1e-12) -> float:
    """Negative log-likelihood −(1/N) Σ_i log max(p_{i,y_i}, eps), in nats.

    With p̄ this is −log (1/T) Σ_t p_t(y), the MC estimate of the predictive NLL. The clamp keeps a
    zero probability finite (−log eps ≈ 27.6 for eps = 1e-12). torch's ``nll_loss`` on the clamped
    log-probabilities, in float64 (torchmetrics has no NLL metric).
    """
    _check(probs, labels)
    return F.nll_loss(probs.double().clamp_min(eps).log(), labels).item()


def brier(probs: Tensor, labels: Tensor) -> float:
    """Brier score (Brier 1950, multi-class form): (1/N) Σ_i Σ_c (p_ic − 1[c = y_i])², in [0, 2]
    (torchmetrics has no multi-class Brier score)."""
    _check(probs, labels)
    onehot = F.one_hot(labels, probs.shape[1]).double()
    return (probs.double() - onehot).square().sum(1).mean().item()
